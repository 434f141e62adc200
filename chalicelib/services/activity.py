"""The activity log: every step the system takes, in words a coordinator can read."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.clock import Clock
from chalicelib.adapters.store import ActivityEntry, Store
from chalicelib.observability import emit, logger

# Entries that need a person: each is also a metric, which infra/resources.yaml alarms on (one alarm each).
ALARMING = ("account.unhealthy", "broadcast.halted", "post.needs_decision", "alert.not_sent")


class ActivityLog:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def record(self, kind: str, scope: str, message: str, *, level: str = "info", content_id: str | None = None,
               account_id: str | None = None, key: str | None = None,
               details: dict[str, Any] | None = None) -> ActivityEntry:
        entry = self._store.add_activity(ActivityEntry(
            at=self._clock.now(), kind=kind, scope=scope, message=message, level=level, content_id=content_id,
            account_id=account_id, key=key, details=details))
        # Only the ids this entry names: a None would hide the unit of work's own (logger.append_keys) on this line.
        ids = {"content_id": content_id, "account_id": account_id}
        logger.info(message, extra={"activity": kind, "scope": scope,
                                    **{name: value for name, value in ids.items() if value is not None}})
        if kind in ALARMING:
            emit("Alerts", kind=kind)
        return entry
