"""Broadcasts in memory, for the services' tests and the broadcast benchmark: the contract of adapters/broadcast_store
(tests/contract/test_broadcast_store_contract.py holds both to it)."""

from __future__ import annotations

import copy
import math
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.broadcast import hour_key, last_day_hours
from chalicelib.domain.times import epoch_milliseconds, to_iso


class InMemoryBroadcasts:
    def __init__(self) -> None:
        self._meta: dict[str, dict[str, Any]] = {}
        self._listed: dict[str, dict[str, Any]] = {}
        self._chunks: set[tuple[str, str, str, str]] = set()
        self._records: dict[tuple[str, str], dict[str, Any]] = {}
        self._next_ms: dict[str, int] = {}
        self._hours: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def start(self, meta: dict[str, Any]) -> bool:
        with self._lock:
            if meta["id"] in self._meta:
                return False
            self._meta[meta["id"]] = copy.deepcopy(meta)
            self._listed[f"{meta['started_at']}#{meta['id']}"] = copy.deepcopy(meta)
            return True

    def broadcast(self, broadcast_id: str) -> dict[str, Any] | None:
        with self._lock:
            return copy.deepcopy(self._meta.get(broadcast_id))

    def broadcasts_since(self, since: datetime) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(v) for k, v in sorted(self._listed.items()) if k >= to_iso(since)]

    def save_rollup(self, meta: dict[str, Any], rollup: dict[str, Any], now: datetime) -> None:
        with self._lock:
            listed = self._listed[f"{meta['started_at']}#{meta['id']}"]
            listed.update(rollup=copy.deepcopy(rollup), rolled_up_at=to_iso(now))

    def pass_on(self, broadcast_id: str, constituency: str, shard: str, after: str, now: datetime) -> bool:
        with self._lock:
            key = (broadcast_id, constituency, shard, after)
            if key in self._chunks:
                return False
            self._chunks.add(key)
            return True

    def claim(self, broadcast_id: str, digest: str, constituency: str, now: datetime, max_sends: int) -> bool:
        with self._lock:
            record = self._records.get((broadcast_id, digest))
            if record is not None and not (record["status"] == "retry" and record["attempts"] < max_sends):
                return False
            attempts = (record["attempts"] if record else 0) + 1
            self._records[(broadcast_id, digest)] = {**(record or {}), "sk": digest, "status": "sending", "level": 0,
                                                     "constituency": constituency, "at": to_iso(now),
                                                     "attempts": attempts}
            return True

    def settle(self, broadcast_id: str, digest: str, status: str, level: int, now: datetime, *,
               wamid: str | None = None, reason: str | None = None, uncount: bool = False) -> bool:
        with self._lock:
            record = self._records.get((broadcast_id, digest))
            if record is None or record["status"] != "sending":
                return False
            self._set(record, status, level, now, wamid, reason)
            record["attempts"] -= int(uncount)
            return True

    def reopen(self, broadcast_id: str, digest: str, reason: str, now: datetime) -> bool:
        with self._lock:
            record = self._records.get((broadcast_id, digest))
            if record is None or not (record["status"] in ("sending", "ambiguous") or 1 <= record["level"] <= 3):
                return False
            self._set(record, "retry", 0, now, None, reason)
            return True

    def advance(self, broadcast_id: str, digest: str, status: str, level: int, now: datetime, *,
                wamid: str | None = None, reason: str | None = None) -> bool:
        with self._lock:
            record = self._records.get((broadcast_id, digest))
            if record is None or record["level"] >= level:
                return False
            self._set(record, status, level, now, wamid, reason)
            return True

    @staticmethod
    def _set(record: dict[str, Any], status: str, level: int, now: datetime, wamid: str | None,
             reason: str | None) -> None:
        record.update(status=status, level=level, at=to_iso(now))
        if wamid is not None:
            record["wamid"] = wamid
        if reason is not None:
            record["reason"] = reason

    def record(self, broadcast_id: str, digest: str) -> dict[str, Any] | None:
        with self._lock:
            return copy.deepcopy(self._records.get((broadcast_id, digest)))

    def records(self, broadcast_id: str) -> Iterator[dict[str, Any]]:
        with self._lock:
            found = [copy.deepcopy(r) for (b, _), r in self._records.items() if b == broadcast_id]
        yield from found

    def reserve_sends(self, account_id: str, count: int, every: timedelta, now: datetime) -> datetime:
        with self._lock:
            start = max(self._next_ms.get(account_id, 0), epoch_milliseconds(now))
            self._next_ms[account_id] = start + math.ceil(count * every.total_seconds() * 1000)
            return datetime.fromtimestamp(start / 1000, UTC)

    def take_messaging_room(self, account_id: str, count: int, limit: int, now: datetime) -> bool:
        with self._lock:
            used = sum(self._hours.get((account_id, h), 0) for h in last_day_hours(now))
            if used + count > limit:
                return False
            self._hours[(account_id, hour_key(now))] = self._hours.get((account_id, hour_key(now)), 0) + count
            return True
