"""Import an audience file — `audience/<constituency>/…/<name>.csv` — into the constituency's opted-in contacts.

Row by row: the number made E.164, the consent checked (domain/audience), the number digested with the campaign's
keyed hash and looked up against the suppression list (a STOP or an erasure is never undone by a re-import), the
contact sealed and stored. Rows that cannot go in are reported in `errors/<key>.json` with masked numbers; counts
go to the activity log and to `reports/<date>/`. The file streams from S3 in chunks and, when the Lambda's time runs
short, the import saves where it is and continues in a new invocation (through the import queue). The same bytes
uploaded again change nothing.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.clock import Clock
from chalicelib.domain.audience import (
    Contact,
    Refusal,
    Sealed,
    StoredContact,
    check_header,
    check_row,
    constituency_of,
    empty_audience,
    masked_digits,
    not_a_constituency,
    unreadable_audience,
)
from chalicelib.domain.audience_file import NotText, rows
from chalicelib.domain.phone import mask
from chalicelib.domain.times import IST, local_date, to_iso
from chalicelib.errors import Problem
from chalicelib.services.activity import ActivityLog
from chalicelib.services.upload_answers import refusal

# Only a type here: the Lambdas read the campaign as domain/stored_campaign.py's classes, without pydantic.
if TYPE_CHECKING:
    from chalicelib.domain.campaign import Campaign
    from chalicelib.ports import AudienceRecords, AudienceUploads, ContactVaultPort

BATCH = 500               # rows between two looks at the clock (and two checkpoints at most)
TIME_TO_STOP = 60.0       # seconds of Lambda time left at which an import saves its place and continues later
MAX_LISTED = 1000         # problems listed in errors/<key>.json; the counts cover every refused row
MAX_LISTED_BYTES = 150_000  # and their size, well inside the state item's 400 KB
SUPPRESSED = {"stop": "opted_out", "marketing_stop": "opted_out", "erased": "erased"}
DONE = ("imported", "incomplete", "rejected")   # 'superseded' is not: those bytes were never read to the end
EMPTY = Sealed("", "")


@dataclass
class ImportOutcome:
    key: str
    outcome: str              # imported | continuing | unchanged | busy | rejected | superseded
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class AudienceImport:
    audience: AudienceRecords
    vault: ContactVaultPort
    bucket: AudienceUploads
    activity: ActivityLog
    clock: Clock
    continue_later: Callable[[str, str], None]   # (key, etag): deliver this import to a new invocation
    # (key, upload, answer): what became of a file refused before it was read (GET /api/uploads); a file that is
    # read is answered by its import state
    answer_refusal: Callable[[str, str, dict[str, Any]], Any] | None = None

    def run(self, campaign: Campaign, key: str, etag: str, time_left: Callable[[], float], *,
            uploaded_by: str | None = None, continued: bool = False, version: str | None = None) -> ImportOutcome:
        """Import (or go on importing) the upload `etag` (S3 version `version`) of `key`; `time_left`: seconds this
        invocation has."""
        constituency = constituency_of(key)
        scope = f"constituency/{constituency}"
        if refused := not_a_constituency(key, campaign):
            return self.refuse(key, [refused], version or etag)
        refused = None if continued else uploader_refused(campaign, uploaded_by, constituency)
        if refused is not None:
            return self.refuse(key, [refused], version or etag, scope)
        state = self.audience.import_state(key, etag)
        latest = state is not None and int(state.get("generation", 0)) == self.audience.generation(key)
        if state is not None and state["status"] in DONE and latest:
            self.activity.record("audience.unchanged", scope, f"{key} was imported before ({state['status']}); "
                                 "nothing to do", key=key)
            return ImportOutcome(key, "unchanged", state.get("counts", {}))
        if state is None or state["status"] not in ("running",) or not (latest or continued):
            # A new upload; or these bytes again after another upload of the key (or after being replaced mid-way):
            # read them whole again, as the latest upload. The header's names are absent until read (the table
            # does not keep a None).
            state = {"status": "running", "offset": 0, "row": 0, "counts": {}, "listed": [],
                     "started_at": to_iso(self.clock.now()), "version": state["version"] if state else 0}
        return self._continue(campaign, key, etag, scope, constituency, state, time_left)

    def _continue(self, campaign: Campaign, key: str, etag: str, scope: str, constituency: str,
                  state: dict[str, Any], time_left: Callable[[], float]) -> ImportOutcome:
        version = int(state.pop("version", 0))
        # Take the import before doing anything: of two invocations of one file, one goes on, the other stops.
        if not self.audience.save_import_state(key, etag, state, version=version):
            return ImportOutcome(key, "busy")
        version += 1
        if "generation" not in state:  # numbered once taken, so a duplicate event that loses takes no number
            state["generation"] = self.audience.next_generation(key)
            if not self.audience.save_import_state(key, etag, state, version=version):
                return ImportOutcome(key, "busy")
            version += 1
        generation = int(state["generation"])
        chunks = self.bucket.stream(key, etag, int(state["offset"]))
        if chunks is None:
            return self._finish(key, etag, scope, {**state, "status": "superseded"}, version)
        counts: Counter = Counter(state.get("counts") or {})
        listed = _Listed(state.get("listed") or [])
        notices = frozenset(campaign.audience.notices) or None
        expires = _expiry(campaign, constituency)
        names = state.get("names")  # absent until the header is read (the table does not keep a None)
        batch: list[Contact] = []
        now, read = self.clock.now(), 0
        try:
            for row in rows(chunks, start=int(state["offset"]), first_row=int(state["row"]) + 1):
                if names is None:
                    names, problems = check_header(row.cells)
                    if problems:
                        return self._reject(key, scope, problems, state={**state, "status": "rejected"},
                                            etag=etag, version=version)
                    state.update(names=names, offset=row.end, row=row.number)
                    continue
                checked = check_row(row.number, names, row.cells, now, notices)
                if isinstance(checked, Refusal):
                    counts[checked.reason] += 1
                    listed.add(checked.problems)
                elif checked is not None:
                    batch.append(checked)
                state.update(offset=row.end, row=row.number)
                read += 1
                if read % BATCH == 0:
                    self._store(constituency, key, generation, batch, counts, listed, expires)
                    batch = []
                    # Where it is, after every batch: a crash resumes here, and a second runner finds out it is one.
                    state.update(counts=dict(counts), listed=listed)
                    if not self.audience.save_import_state(key, etag, state, version=version):
                        return ImportOutcome(key, "busy", dict(counts))
                    version += 1
                    if time_left() < TIME_TO_STOP:
                        return self._pause(key, etag, scope, state, counts)
        except (NotText, csv.Error) as exc:
            self._store(constituency, key, generation, batch, counts, listed, expires)
            counts["unreadable"] += 1
            listed.add([unreadable_audience(int(state["row"]), exc)])
            return self._finish(key, etag, scope, {**state, "counts": dict(counts), "listed": listed,
                                                   "status": "incomplete"}, version)
        self._store(constituency, key, generation, batch, counts, listed, expires)
        if names is None:
            return self._reject(key, scope, [empty_audience()],
                                state={**state, "status": "rejected"}, etag=etag, version=version)
        return self._finish(key, etag, scope, {**state, "counts": dict(counts), "listed": listed,
                                               "status": "imported"}, version)

    def _store(self, constituency: str, key: str, generation: int, batch: list[Contact], counts: Counter,
               listed: _Listed, expires: int | None) -> None:
        if not batch:
            return
        # The same number twice in a file is one person: the latest consent wins.
        by_digest: dict[str, Contact] = {}
        for contact in batch:
            digest = self.vault.digest(contact.phone)
            if digest in by_digest:
                counts["merged"] += 1
                if contact.consent_at < by_digest[digest].consent_at:
                    continue
            by_digest[digest] = contact
        known, suppressed = self.audience.known(constituency, by_digest)
        now, fresh = self.clock.now(), {}
        self.vault.new_batch()
        for digest, contact in by_digest.items():
            if digest in suppressed:
                reason = SUPPRESSED.get(suppressed[digest].reason, "opted_out")
                counts[reason] += 1
                listed.add([Problem("phone", f"{mask(contact.phone)} asked not to be messaged"
                                       if reason == "opted_out" else f"{mask(contact.phone)} was erased on request",
                                       "leave them out: a new import never subscribes them again (they can send "
                                       "START themselves)", row=contact.row)])
                continue
            fields = {"phone": contact.phone, "name": contact.name, **contact.extra}
            record = StoredContact(
                constituency=constituency, digest=digest, sealed=EMPTY, consent_source=masked_digits(
                    contact.consent_source),  # kept readable, never with a number in it
                consent_at=contact.consent_at, notice_version=contact.notice_version, language=contact.language,
                source_key=key, updated_at=now, expires_at=expires, fingerprint=self.vault.fingerprint(fields),
                generation=generation, row=contact.row)
            counted, write = _outcome(known.get(digest), record)
            counts[counted] += 1
            if write:
                fresh[digest] = replace(record, sealed=self.vault.seal(digest, fields), counted=counted)
        for digest in self.audience.save_contacts(fresh.values()):
            # A newer record of the person landed meanwhile (a later upload of this file, a later consent): kept.
            _move(counts, fresh[digest].counted, "merged")
        # A STOP or an erasure that landed between the look-up above and this write must win: look again, and take
        # back what it concerns (the write cannot be conditional on another item).
        _, stopped_meanwhile = self.audience.known(constituency, list(fresh))
        if stopped_meanwhile:
            self.audience.delete_contacts(constituency, list(stopped_meanwhile))

    def _pause(self, key: str, etag: str, scope: str, state: dict[str, Any], counts: Counter) -> ImportOutcome:
        """Out of time: the place is saved (the last batch's checkpoint); a new invocation goes on from it."""
        self.activity.record("audience.progress", scope, f"{key}: {state['row']:,} rows read so far "
                             f"({_summary(counts)}); continuing", key=key, details={"counts": dict(counts)})
        self.continue_later(key, etag)
        return ImportOutcome(key, "continuing", dict(counts))

    def _finish(self, key: str, etag: str, scope: str, state: dict[str, Any], version: int) -> ImportOutcome:
        counts = Counter(state.get("counts", {}))
        state = {**state, "finished_at": to_iso(self.clock.now())}
        if not self.audience.save_import_state(key, etag, state, version=version):
            return ImportOutcome(key, "busy", dict(counts))
        if state["status"] == "superseded":
            return ImportOutcome(key, "superseded")
        refused = sum(n for reason, n in counts.items() if reason not in ("added", "updated", "unchanged", "merged"))
        if refused:
            problems = [Problem(**p) for p in state["listed"]]
            report = {"key": key, "rejected_at": to_iso(self.clock.now()),
                      "summary": f"{refused:,} row(s) not imported ({_summary(counts)}); the other rows were "
                                 "imported" + ("" if _all_listed(problems, refused) else
                                               f"; the problems of the first {len({p.row for p in problems}):,} "
                                               "are listed"),
                      "counts": dict(counts), "problems": [p.to_dict() for p in problems]}
            self.bucket.write_error_report(key, report)
        else:  # the report of the upload this one corrects would otherwise still say rows were refused
            self.bucket.clear_error_report(key)
        day = local_date(self.clock.now()).isoformat()
        report_key = f"reports/{day}/audience/{key.removeprefix('audience/').replace('/', '--')}.json"
        self.bucket.write_report(report_key, json.dumps(
            {"key": key, "status": state["status"], "rows": state["row"], "counts": dict(counts),
             "started_at": state["started_at"], "finished_at": state["finished_at"]},
            ensure_ascii=False, indent=2).encode("utf-8"), "application/json; charset=utf-8")
        level = "warning" if refused else "info"
        self.activity.record("audience.imported", scope, f"{key}: {_summary(counts)}" + (
            f"; see errors/{key}.json" if refused else ""), level=level, key=key,
                             details={"counts": dict(counts), "report": report_key, "status": state["status"]})
        return ImportOutcome(key, state["status"], dict(counts))

    def refuse(self, key: str, problems: list[Problem], upload: str | None, scope: str = "state") -> ImportOutcome:
        """Refused before a byte is read: answered apart from the import state, which is the import's own (a state
        here would pass for a finished import when someone allowed uploads the same bytes)."""
        if upload and self.answer_refusal is not None:
            self.answer_refusal(key, upload, refusal(key, problems, self.clock.now()))
        return self._reject(key, scope, problems)

    def _reject(self, key: str, scope: str, problems: list[Problem], *, state: dict[str, Any] | None = None,
                etag: str | None = None, version: int = 0) -> ImportOutcome:
        if state is not None and etag is not None:  # also the upload's answer (GET /api/uploads)
            self.audience.save_import_state(key, etag, {**state, "listed": [p.to_dict() for p in problems]},
                                            version=version)
        self.bucket.write_error_report(key, {"key": key, "rejected_at": to_iso(self.clock.now()),
                                             "summary": f"{len(problems)} problem(s); nothing from this file was "
                                                        "imported", "problems": [p.to_dict() for p in problems]})
        self.activity.record("audience.rejected", scope, f"{key} rejected: {problems[0].field}: "
                             f"{problems[0].message}", level="error", key=key)
        return ImportOutcome(key, "rejected")


def _outcome(before: StoredContact | None, record: StoredContact) -> tuple[str, bool]:
    """How importing `record` over the table's `before` counts (added, updated, merged, unchanged), and whether it is
    written."""
    if before is None:
        return "added", True
    if (before.source_key, before.generation, before.row) == (record.source_key, record.generation, record.row):
        # This very row, written before a crash (or by a duplicate invocation) and read again from the checkpoint:
        # counted as it was then, not written again.
        return before.counted or "added", False
    if before.consent_at > record.consent_at:
        return "merged", False  # the table holds a later consent of the person: it stays
    if (before.source_key, before.generation) == (record.source_key, record.generation):
        return "merged", True  # the same number further down this file, with a consent as late or later
    if (before.consent_source, before.consent_at, before.notice_version, before.language, before.fingerprint) == (
            record.consent_source, record.consent_at, record.notice_version, record.language, record.fingerprint):
        return "unchanged", before.expires_at != record.expires_at  # e.g. the counting day is now known
    return "updated", True


def _move(counts: Counter, source: str, target: str) -> None:
    counts[source] -= 1
    if counts[source] <= 0:
        del counts[source]
    counts[target] += 1


def _all_listed(problems: list[Problem], refused: int) -> bool:
    return len({p.row for p in problems}) >= refused


def _expiry(campaign: Campaign, constituency: str) -> int | None:
    """When the constituency's contacts are erased: `retention_days` after its counting day (DynamoDB's TTL)."""
    place = next(c for c in campaign.constituencies if c.id == constituency)
    counting = place.counting
    if counting is None:
        return None
    end = datetime.combine(counting, time.min, tzinfo=IST) + timedelta(days=campaign.audience.retention_days)
    return int(end.timestamp())


class _Listed(list):
    """The first problems, kept for errors/<key>.json — at most MAX_LISTED, and within MAX_LISTED_BYTES, since they
    ride on the import's state item (DynamoDB's limit is 400 KB per item). Its size is kept as it grows: a file of
    many refused rows must not add the whole list up again on every row."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        super().__init__(items)
        self.size = sum(_size(p) for p in self)
        self.full = len(self) >= MAX_LISTED

    def add(self, problems: tuple[Problem, ...] | list[Problem]) -> None:
        for problem in problems:
            if self.full:
                return
            item = {"field": problem.field, "message": problem.message, "fix": problem.fix, "row": problem.row}
            if len(self) >= MAX_LISTED or self.size + _size(item) > MAX_LISTED_BYTES:
                self.full = True
                return
            self.append(item)
            self.size += _size(item)


def _size(item: dict[str, Any]) -> int:
    return sum(len(str(v).encode("utf-8")) for v in item.values()) + 40


def _summary(counts: Counter) -> str:
    order = ("added", "updated", "unchanged", "merged", "no_consent", "not_consent", "invalid_number", "invalid_row",
             "opted_out", "erased", "unreadable")
    return ", ".join(f"{counts[name]:,} {name.replace('_', ' ')}" for name in order if counts.get(name))



def uploader_refused(campaign: Campaign, principal: str | None, constituency: str) -> Problem | None:
    """Contacts of a constituency come from its own team (or a coordinator) — when the config maps principals."""
    if not campaign.maps_principals:
        return None
    member = campaign.member_by_principal(principal) if principal else None
    if member is None:
        return Problem("(uploader)", f"the uploader ({principal or 'unknown'}) is not a member of the campaign",
                       "upload with your own campaign credentials")
    team = campaign.team_of(member.id)
    if member.role == "coordinator" or (team is not None and team.scope == f"constituency/{constituency}"):
        return None
    return Problem("(key)", f"{member.id} works for {team.id if team else 'no team'}, not for {constituency}'s "
                   "contacts", f"upload under audience/{team.scope.split('/')[-1]}/" if team and
                   team.scope.startswith("constituency/") else "ask the constituency's team to upload them")

