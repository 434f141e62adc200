"""Purpose and storage limitation (DPDP Act 2023): a constituency's contacts are erased `retention_days` after its
counting day. Each contact carries a DynamoDB TTL for that moment, but TTL deletes "within a few days" (and the
emulator never does), so a daily schedule erases what is due and reports it. The suppression list stays: it holds
digests only, and it is what keeps a stopped number stopped in a later campaign's import."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from chalicelib.adapters.clock import Clock
from chalicelib.domain.contacts import SHARDS
from chalicelib.domain.times import IST, local_date, to_iso
from chalicelib.services.activity import ActivityLog

# Only a type here: the Lambdas read the campaign as domain/stored_campaign.py's classes, without pydantic.
if TYPE_CHECKING:
    from chalicelib.domain.campaign import Campaign
    from chalicelib.ports import AudienceRecords, AudienceUploads


@dataclass
class Retention:
    audience: AudienceRecords
    bucket: AudienceUploads
    activity: ActivityLog
    clock: Clock

    def purge(self, campaign: Campaign) -> dict[str, int]:
        """Contacts erased now, per constituency whose retention is over (a run that stops midway goes on tomorrow:
        what it erased is gone, the rest is found again)."""
        now, erased = self.clock.now(), {}
        for place in campaign.constituencies:
            if place.counting is None:
                continue
            due = datetime.combine(place.counting, time.min, tzinfo=IST) + timedelta(
                days=campaign.audience.retention_days)
            if now < due:
                continue
            count = 0
            for shard in SHARDS:
                digests = [contact.digest for contact in self.audience.contacts(place.id, shard)]
                if digests:
                    count += self.audience.delete_contacts(place.id, digests)
            if count:
                erased[place.id] = count
                self._report(place.id, place.name, count, due)
        return erased

    def _report(self, constituency: str, name: str, count: int, due: datetime) -> None:
        day = local_date(self.clock.now()).isoformat()
        key = f"reports/{day}/audience/purge-{constituency}.json"
        self.bucket.write_report(key, json.dumps({"constituency": constituency, "erased": count,
                                                  "retention_ended": to_iso(due), "at": to_iso(self.clock.now())},
                                                 indent=2).encode("utf-8"), "application/json; charset=utf-8")
        self.activity.record("audience.purged", f"constituency/{constituency}", f"{count:,} contact(s) of {name} "
                             f"erased: the campaign keeps them until {due:%Y-%m-%d} (its retention after counting); "
                             "only the stop list's digests remain", level="warning", key=key,
                             details={"erased": count})
