"""Reading voters' contacts in the clear — only for those whose work needs it, and never without a trace.

A coordinator (any constituency) or the lead of a constituency's team (its own) exports the constituency's contacts
as a CSV: written under `exports/` (gone a day later: a lifecycle rule), handed over as a link valid for 15
minutes, and entered in the activity log with who, which constituency and how many — the access trail DPDP's
safeguards ask for. Nobody else can read a number: the table holds them sealed, the dashboard and every report
masked.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.clock import Clock
from chalicelib.domain.audience import COLUMNS, SHARDS
from chalicelib.domain.daily_report import safe_cell
from chalicelib.domain.times import to_iso
from chalicelib.errors import Forbidden, NotFound
from chalicelib.services.activity import ActivityLog

# Only a type here: the Lambdas read the campaign as domain/stored_campaign.py's classes, without pydantic.
if TYPE_CHECKING:
    from chalicelib.domain.campaign import Campaign, Member
    from chalicelib.ports import AudienceRecords, ContactVaultPort

LINK_SECONDS = 900


def may_read_contacts(campaign: Campaign, member: Member, constituency: str) -> str | None:
    """Why `member` may not read `constituency`'s contacts, or None if they may."""
    if member.role == "coordinator":
        return None
    team = campaign.team_of(member.id)
    if member.role == "lead" and team is not None and team.scope == f"constituency/{constituency}":
        return None
    return (f"{member.id} ({member.role}) may not read voters' contacts of {constituency}: only a coordinator, or "
            "the lead of that constituency's team")


@dataclass
class AudienceExport:
    audience: AudienceRecords
    vault: ContactVaultPort
    bucket: Any                   # adapters/bucket.ContentBucket: write_report, media_url
    activity: ActivityLog
    clock: Clock

    def export(self, campaign: Campaign, constituency: str, member: Member) -> dict[str, Any]:
        if not any(c.id == constituency for c in campaign.constituencies):
            raise NotFound(f"{constituency!r} is not a constituency of the campaign")
        refused = may_read_contacts(campaign, member, constituency)
        if refused:
            self.activity.record("audience.read_refused", f"constituency/{constituency}", refused, level="warning")
            raise Forbidden(refused)
        out, extras, rows = io.StringIO(), [], []
        for shard in SHARDS:
            for contact in self.audience.contacts(constituency, shard):
                opened = self.vault.open(contact.digest, contact.sealed)
                extras += [k for k in opened if k not in COLUMNS and k not in extras]
                rows.append({**opened, "consent_source": contact.consent_source,
                             "consent_at": to_iso(contact.consent_at), "notice_version": contact.notice_version,
                             "language": contact.language})
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*COLUMNS, *extras])
        for row in rows:
            # A spreadsheet would run a cell that starts like a formula; an E.164 number starts with + and stays as is.
            writer.writerow([row.get(name, "") if name == "phone" else safe_cell(row.get(name, ""))
                             for name in (*COLUMNS, *extras)])
        now = self.clock.now()
        key = f"exports/{constituency}/{now.strftime('%Y%m%dT%H%M%S')}-{member.id}.csv"
        self.bucket.write_report(key, out.getvalue().encode("utf-8"), "text/csv; charset=utf-8")
        # The trail: who read whose contacts, when, how many (never a number).
        self.activity.record("audience.exported", f"constituency/{constituency}", f"{member.id} exported "
                             f"{len(rows):,} contacts of {constituency} ({key}; the link lasts 15 minutes, the file "
                             "a day)", level="warning", key=key, details={"by": member.id, "contacts": len(rows)})
        return {"constituency": constituency, "contacts": len(rows), "key": key,
                "url": self.bucket.media_url(key, LINK_SECONDS), "expires_in": LINK_SECONDS}
