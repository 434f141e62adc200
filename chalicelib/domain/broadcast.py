"""A broadcast: one WhatsApp template message to every opted-in contact of a post's scope (`audience: subscribers`).

It goes out in chunks — one constituency's shard, CHUNK contacts at a time, each chunk one SQS message — so many
publishers share it; every contact is claimed before its message (exactly once per person per broadcast), and
every publisher takes its sending times from one schedule per sending number (services/broadcasts), so together
they stay under the number's throughput and WhatsApp never answers 130429.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.whatsapp_webhook import STATUS_ORDER

CHUNK = 50                  # contacts per chunk message: under a second of sending at the default 80/s
HEADROOM = 0.97             # of the number's throughput we schedule: WhatsApp counts arrivals, and ours jitter
DEFAULT_THROUGHPUT = 80     # messages a second per business number until Meta upgrades it (up to 1,000)
MAX_SENDS = 5               # attempts per contact; after them the contact is `failed`
RETRY_AFTER = timedelta(seconds=30)
MAX_AHEAD = timedelta(seconds=10)   # a chunk whose sending times would be further off comes back later, unclaimed
RECHECK_AFTER = timedelta(seconds=1)  # a chunk that waits longer for its times looks at the gates and stops again
# Meta's answers about the template itself (paused, deleted, wrong parameters): every subscriber would get the same,
# so the broadcast halts rather than fail each of them for good.
TEMPLATE_CODES = frozenset({132000, 132001, 132005, 132007, 132012, 132015, 132016, 132068, 132069})
MARKETING_STOPPED = 131050          # the person stopped marketing messages from us on WhatsApp: an opt-out
SKIPPED = "skipped"         # stopped, or erased, after the broadcast began: never sent
REFERENCE_TAG = "broadcast"


def broadcast_id(content_id: str) -> str:
    """One broadcast per content: a scope with two WhatsApp numbers still reaches each subscriber once."""
    return content_id


def reference(content_id: str, account_id: str, digest: str) -> str:
    """biz_opaque_callback_data of a broadcast message: four parts, so it is never read as a team kit's three."""
    return f"{REFERENCE_TAG}|{content_id}|{account_id}|{digest}"


def parse_reference(text: str | None) -> tuple[str, str, str] | None:
    parts = (text or "").split("|")
    if len(parts) == 4 and parts[0] == REFERENCE_TAG and all(parts[1:]):
        return parts[1], parts[2], parts[3]
    return None


def rank(status: str) -> int:
    """How far a contact's message got: waiting 0, sent 1, delivered 2, read 3, failed 4 (final)."""
    return STATUS_ORDER.get(status, 0)


def send_interval(throughput: int) -> float:
    """Seconds between two messages of one number, with headroom under its throughput."""
    return 1.0 / (throughput * HEADROOM)


def schedule(start: datetime, count: int, throughput: int) -> list[datetime]:
    """When each of `count` messages reserved from `start` goes: evenly, never two closer than send_interval."""
    step = send_interval(throughput)
    return [start + timedelta(seconds=i * step) for i in range(count)]


def hour_key(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H")


def last_day_hours(now: datetime) -> list[str]:
    """The hourly buckets that hold the rolling day ending now: this hour's and the 24 before it (the oldest is partly
    outside the day, so the count errs on the safe side)."""
    return [hour_key(now - timedelta(hours=h)) for h in range(25)]


def wait_for_room(now: datetime) -> timedelta:
    """Until the oldest hour of the rolling day leaves it (the next hour begins)."""
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1) - now


@dataclass
class Rollup:
    """Where a broadcast's messages are, counted from its contacts' records (each contact once)."""

    contacts: int = 0
    waiting: int = 0
    sent: int = 0         # at least sent: delivered and read count here too
    delivered: int = 0    # at least delivered
    read: int = 0
    failed: dict[str, int] = field(default_factory=dict)   # reason → contacts
    skipped: int = 0      # stopped or erased after it began
    in_doubt: int = 0     # a call that timed out: its status webhook will tell

    def add(self, status: str, reason: str | None = None) -> None:
        self.contacts += 1
        level = rank(status)
        if status == "failed":
            key = reason or "unknown"
            self.failed[key] = self.failed.get(key, 0) + 1
        elif status == SKIPPED:
            self.skipped += 1
        elif status == "ambiguous":
            self.in_doubt += 1
        elif level == 0:
            self.waiting += 1
        else:
            self.sent += 1
            self.delivered += level >= STATUS_ORDER["delivered"]
            self.read += level >= STATUS_ORDER["read"]

    def to_dict(self) -> dict[str, Any]:
        return {"contacts": self.contacts, "waiting": self.waiting, "sent": self.sent, "delivered": self.delivered,
                "read": self.read, "failed": dict(self.failed), "failed_total": sum(self.failed.values()),
                "skipped": self.skipped, "in_doubt": self.in_doubt}


STALE_SENDING = timedelta(minutes=5)  # a `sending` this old died mid-call: in doubt until its webhook says more


def rollup(records: Any, now: datetime | None = None) -> Rollup:
    total = Rollup()
    stale = (now - STALE_SENDING).strftime("%Y-%m-%dT%H:%M:%SZ") if now else None
    for record in records:
        status = record["status"]
        if status == "sending" and stale and record.get("at", "") < stale:
            status = "ambiguous"
        total.add(status, record.get("reason"))
    return total


def combine(parts: Any) -> dict[str, Any]:
    """One roll-up from the roll-ups of a broadcast's shards."""
    total: dict[str, Any] = Rollup().to_dict()
    for part in parts:
        for name, value in part.items():
            if name == "failed":
                for reason, n in value.items():
                    total["failed"][reason] = total["failed"].get(reason, 0) + int(n)
            elif name in total:
                total[name] += int(value)
    return total


def chunk_delay(seconds: float) -> int:
    """An SQS delay: whole seconds, at most 15 minutes (a longer wait is taken in steps)."""
    return max(0, min(900, math.ceil(seconds)))
