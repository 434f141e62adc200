"""An account's health as every Lambda sees it: throttled until a time, or waiting for a person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# A post held for an unhealthy account looks again this often; no platform call is made meanwhile.
RECHECK_UNHEALTHY = timedelta(minutes=15)
DEFAULT_THROTTLE = timedelta(minutes=15)


class Health(StrEnum):
    HEALTHY = "healthy"
    THROTTLED = "throttled"
    UNHEALTHY = "unhealthy"


@dataclass(frozen=True)
class AccountState:
    account_id: str
    health: Health = Health.HEALTHY
    until: datetime | None = None
    reason: str | None = None
    checked_at: datetime | None = None

    def blocks(self, now: datetime) -> bool:
        if self.health is Health.UNHEALTHY:
            return True
        return self.health is Health.THROTTLED and self.until is not None and self.until > now

    def wait_until(self, now: datetime) -> datetime:
        if self.health is Health.THROTTLED and self.until is not None:
            return self.until
        return now + RECHECK_UNHEALTHY
