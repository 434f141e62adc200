"""Broadcasts in memory, for the services' tests and the broadcast benchmark: the contract of adapters/broadcast_store
(tests/contract/test_broadcast_store_contract.py holds both to it)."""

from __future__ import annotations

import copy
import math
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.broadcast import hour_key, last_day_hours, rank
from chalicelib.domain.times import epoch_milliseconds, to_iso


class InMemoryBroadcasts:
    def __init__(self) -> None:
        self._meta: dict[str, dict[str, Any]] = {}
        self._listed: dict[str, dict[str, Any]] = {}
        self._chunks: set[tuple[str, str, str, str]] = set()
        self._records: dict[tuple[str, str], dict[str, Any]] = {}
        self._next_ms: dict[str, int] = {}
        self._limits: dict[str, dict[str, int]] = {}
        self._shard_rollups: dict[str, dict[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def start(self, meta: dict[str, Any]) -> bool:
        with self._lock:
            begun = meta["id"] not in self._meta
            if begun:
                self._meta[meta["id"]] = copy.deepcopy(meta)
            first = self._meta[meta["id"]]
            self._listed.setdefault(f"{first['started_at']}#{first['id']}", copy.deepcopy(first))
            return begun

    def broadcast(self, broadcast_id: str) -> dict[str, Any] | None:
        with self._lock:
            return copy.deepcopy(self._meta.get(broadcast_id))

    def broadcasts_since(self, since: datetime) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(v) for k, v in sorted(self._listed.items()) if k >= to_iso(since)]

    def halt(self, broadcast_id: str, reason: str, now: datetime) -> bool:
        with self._lock:
            meta = self._meta.get(broadcast_id)
            if meta is None or "halted" in meta:
                return False
            meta.update(halted=reason, halted_at=to_iso(now))
            self._listed[f"{meta['started_at']}#{meta['id']}"]["halted"] = reason
            return True

    def save_rollup(self, meta: dict[str, Any], rollup: dict[str, Any], now: datetime) -> None:
        with self._lock:
            listed = self._listed[f"{meta['started_at']}#{meta['id']}"]
            listed.update(rollup=copy.deepcopy(rollup), rolled_up_at=to_iso(now))

    def shard_rollups(self, broadcast_id: str) -> dict[str, dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._shard_rollups.get(broadcast_id, {}))

    def save_shard_rollup(self, broadcast_id: str, shard: str, counts: dict[str, Any]) -> None:
        with self._lock:
            self._shard_rollups.setdefault(broadcast_id, {})[shard] = copy.deepcopy(counts)

    def pass_on(self, broadcast_id: str, constituency: str, shard: str, after: str, now: datetime) -> bool:
        with self._lock:
            key = (broadcast_id, constituency, shard, after)
            if key in self._chunks:
                return False
            self._chunks.add(key)
            return True

    def passed_on(self, broadcast_id: str, constituency: str, shard: str, after: str) -> bool:
        with self._lock:
            return (broadcast_id, constituency, shard, after) in self._chunks

    def claim(self, broadcast_id: str, digest: str, constituency: str, now: datetime, max_sends: int) -> bool:
        with self._lock:
            record = self._records.get((broadcast_id, digest))
            if record is not None and not (record["status"] == "retry" and record["attempts"] < max_sends):
                return False
            record = record or {"sk": digest, "attempts": 0}
            record.pop("wamid", None)
            record.update(status="sending", level=0, constituency=constituency, at=to_iso(now),
                          attempts=record["attempts"] + 1)
            self._records[(broadcast_id, digest)] = record
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

    def advance(self, broadcast_id: str, digest: str, status: str, level: int, now: datetime, *,
                wamid: str | None = None, reason: str | None = None) -> bool:
        with self._lock:
            record = self._records.get((broadcast_id, digest))
            if record is None or record["level"] >= level or not _this_attempt(record, wamid or ""):
                return False
            self._set(record, status, level, now, wamid, reason)
            return True

    def reopen(self, broadcast_id: str, digest: str, wamid: str, reason: str, now: datetime,
               max_sends: int) -> str:
        with self._lock:
            record = self._records.get((broadcast_id, digest))
            if record is None or not _failed_attempt(record, wamid):
                return "stale"
            record.pop("wamid", None)
            record.setdefault("wamids", set()).add(wamid)
            if record["attempts"] < max_sends:
                self._set(record, "retry", 0, now, None, reason)
                return "reopened"
            self._set(record, "failed", rank("failed"), now, None, f"gave up after {max_sends} attempts: {reason}")
            return "gave_up"

    @staticmethod
    def _set(record: dict[str, Any], status: str, level: int, now: datetime, wamid: str | None,
             reason: str | None) -> None:
        record.update(status=status, level=level, at=to_iso(now))
        if wamid is not None:
            record["wamid"] = wamid
            record.setdefault("wamids", set()).add(wamid)
        if reason is not None:
            record["reason"] = reason

    def record(self, broadcast_id: str, digest: str) -> dict[str, Any] | None:
        with self._lock:
            return copy.deepcopy(self._records.get((broadcast_id, digest)))

    def records_of(self, broadcast_id: str, digests: list[str]) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {d: copy.deepcopy(self._records[(broadcast_id, d)]) for d in digests
                    if (broadcast_id, d) in self._records}

    def records(self, broadcast_id: str, shard: str | None = None) -> Iterator[dict[str, Any]]:
        with self._lock:
            found = [copy.deepcopy(r) for (b, d), r in self._records.items()
                     if b == broadcast_id and (shard is None or d[0] == shard)]
        yield from found

    def forget(self, digest: str) -> int:
        with self._lock:
            keys = [k for k in self._records if k[1] == digest]
            for key in keys:
                del self._records[key]
            return len(keys)

    def next_free(self, account_id: str) -> datetime | None:
        with self._lock:
            at = self._next_ms.get(account_id)
        return datetime.fromtimestamp(at / 1000, UTC) if at is not None else None

    def reserve_sends(self, account_id: str, count: int, every: timedelta, now: datetime) -> datetime:
        with self._lock:
            start = max(self._next_ms.get(account_id, 0), epoch_milliseconds(now))
            self._next_ms[account_id] = start + math.ceil(count * every.total_seconds() * 1000)
            return max(now, datetime.fromtimestamp(start / 1000, UTC))

    def take_messaging_room(self, portfolio: str, count: int, limit: int, now: datetime) -> bool | None:
        with self._lock:
            hours = set(last_day_hours(now))
            kept = {h: n for h, n in self._limits.get(portfolio, {}).items() if h in hours}
            if sum(kept.values()) + count > limit:
                return False
            kept[hour_key(now)] = kept.get(hour_key(now), 0) + count
            self._limits[portfolio] = kept
            return True


def _this_attempt(record: dict[str, Any], wamid: str) -> bool:
    return record.get("wamid") == wamid or ("wamid" not in record and wamid not in record.get("wamids", set()))


def _failed_attempt(record: dict[str, Any], wamid: str) -> bool:
    sent = record.get("wamid") == wamid and rank("sent") <= record["level"] <= rank("read")
    in_flight = (record["status"] in ("sending", "ambiguous") and "wamid" not in record
                 and wamid not in record.get("wamids", set()))
    return sent or in_flight
