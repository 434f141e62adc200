"""Broadcasts in the campaign's table (DynamoDB).

- `BROADCAST#<id>` / `META`: what is sent (the template, the scope, the account) and when it began; `BROADCASTS` /
  `<started_at>#<id>`: the list the dashboard and the report read, with the latest roll-up.
- `BCAST#<id>#<shard>` / `<digest>`: one contact's message — claimed (`sending`) before the call, so no two
  publishers send it; then sent/delivered/read/failed as the call and the status webhooks say. Sixteen partitions.
- `BCHUNK#<id>` / `<constituency>#<shard>#<after>`: a chunk that has passed its successor on (once only).
- `RATE#<account>` / `RATE`: the sending number's schedule — when its next message may go (milliseconds).
- `LIMIT#<portfolio>` / `LIMIT`: recipients messaged per hour of the rolling day, in one item (the messaging
  limit is the business portfolio's, and one conditional write keeps it across an hour's turn).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.adapters.dynamo_codec import from_item, to_item, to_values
from chalicelib.adapters.table_calls import ConditionFailed, TableCalls
from chalicelib.domain.broadcast import hour_key, last_day_hours, rank
from chalicelib.domain.contact_keys import SHARDS
from chalicelib.domain.times import epoch_milliseconds, to_iso

KEEP_FOR = timedelta(days=60)   # a broadcast's per-contact records (digests only) outlive the campaign a little
LIMIT_TRIES = 20
# A status is for the attempt on record (its message id), or for the call in flight — never an earlier attempt's.
THIS_ATTEMPT = ("(wamid = :w) OR (attribute_not_exists(wamid) AND (attribute_not_exists(wamids) OR "
                "NOT contains(wamids, :w)))")


class BroadcastStore(TableCalls):
    # ---- the broadcast ------------------------------------------------------------------------------
    def start(self, meta: dict[str, Any]) -> bool:
        """Record a broadcast once (False if it was already begun: a redelivered publish) and list it — again each
        time, with the first start's time, so a listing lost to a failed write is made good by the retry."""
        try:
            self._call("put_item", Item=to_item({"pk": f"BROADCAST#{meta['id']}", "sk": "META", **meta}),
                       ConditionExpression="attribute_not_exists(pk)")
            begun = True
        except ConditionFailed:
            meta, begun = self.broadcast(meta["id"]) or meta, False
        listing = {k: v for k, v in meta.items() if k not in ("pk", "sk")}
        self._call("update_item", Key=to_item(_listing_key(meta)),
                   UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(listing))),
                   ExpressionAttributeNames={f"#f{i}": k for i, k in enumerate(listing)},
                   ExpressionAttributeValues=to_values({f":v{i}": v for i, v in enumerate(listing.values())}))
        return begun

    def broadcast(self, broadcast_id: str) -> dict[str, Any] | None:
        return self._get({"pk": f"BROADCAST#{broadcast_id}", "sk": "META"})

    def broadcasts_since(self, since: datetime) -> list[dict[str, Any]]:
        """Broadcasts begun since `since`, oldest first, each with its latest roll-up."""
        return list(self._query("BROADCASTS", since=to_iso(since)))

    def halt(self, broadcast_id: str, reason: str, now: datetime) -> bool:
        """Stop a broadcast for good (its template was refused); True for the call that halted it."""
        try:
            self._call("update_item", Key=to_item({"pk": f"BROADCAST#{broadcast_id}", "sk": "META"}),
                       UpdateExpression="SET halted = :r, halted_at = :at",
                       ConditionExpression="attribute_exists(pk) AND attribute_not_exists(halted)",
                       ExpressionAttributeValues=to_values({":r": reason, ":at": to_iso(now)}))
        except ConditionFailed:
            return False
        meta = self.broadcast(broadcast_id)
        if meta is not None:
            self._call("update_item", Key=to_item(_listing_key(meta)), UpdateExpression="SET halted = :r",
                       ExpressionAttributeValues=to_values({":r": reason}))
        return True

    def save_rollup(self, meta: dict[str, Any], rollup: dict[str, Any], now: datetime) -> None:
        self._call("update_item", Key=to_item(_listing_key(meta)),
                   UpdateExpression="SET #r = :r, rolled_up_at = :at", ExpressionAttributeNames={"#r": "rollup"},
                   ExpressionAttributeValues=to_values({":r": rollup, ":at": to_iso(now)}))

    def shard_rollups(self, broadcast_id: str) -> dict[str, dict[str, Any]]:
        """Each shard's last count, with when it was made (`at`)."""
        return {item["sk"]: {k: v for k, v in item.items() if k not in ("pk", "sk", "expires_at")}
                for item in self._query(f"BROLL#{broadcast_id}")}

    def save_shard_rollup(self, broadcast_id: str, shard: str, counts: dict[str, Any]) -> None:
        self._call("put_item", Item=to_item({"pk": f"BROLL#{broadcast_id}", "sk": shard, **counts}))

    def pass_on(self, broadcast_id: str, constituency: str, shard: str, after: str, now: datetime) -> bool:
        """Note that the chunk of (constituency, shard) after `after` has queued its successor; False if one had."""
        try:
            self._call("put_item", Item=to_item({"pk": f"BCHUNK#{broadcast_id}", "sk": f"{constituency}#{shard}#"
                                                 f"{after}", "expires_at": int((now + KEEP_FOR).timestamp())}),
                       ConditionExpression="attribute_not_exists(pk)")
        except ConditionFailed:
            return False
        return True

    def passed_on(self, broadcast_id: str, constituency: str, shard: str, after: str) -> bool:
        return self._get({"pk": f"BCHUNK#{broadcast_id}", "sk": f"{constituency}#{shard}#{after}"}) is not None

    # ---- each contact's message ---------------------------------------------------------------------
    def claim(self, broadcast_id: str, digest: str, constituency: str, now: datetime, max_sends: int) -> bool:
        """Take the contact's message, right before its call: only one never begun, or one waiting for a retry with
        attempts left."""
        try:
            self._call("update_item", Key=to_item(_record_key(broadcast_id, digest)),
                       UpdateExpression="SET #s = :sending, #l = :zero, constituency = :c, #at = :at, "
                                        "expires_at = :exp ADD attempts :one REMOVE wamid",
                       ConditionExpression="attribute_not_exists(pk) OR (#s = :retry AND attempts < :max)",
                       ExpressionAttributeNames={"#s": "status", "#l": "level", "#at": "at"},
                       ExpressionAttributeValues=to_values({
                           ":sending": "sending", ":zero": 0, ":c": constituency, ":at": to_iso(now), ":one": 1,
                           ":exp": int((now + KEEP_FOR).timestamp()), ":retry": "retry", ":max": max_sends}))
        except ConditionFailed:
            return False
        return True

    def settle(self, broadcast_id: str, digest: str, status: str, level: int, now: datetime, *,
               wamid: str | None = None, reason: str | None = None, uncount: bool = False) -> bool:
        """What our call found (sent, failed, retry, ambiguous, skipped) — only over `sending`: a status webhook that
        came back first already said more. `uncount`: the attempt was a wait, not a try (pair rate, limits)."""
        return self._move(broadcast_id, digest, status, level, now, wamid, reason, "#s = :sending",
                          {":sending": "sending"}, uncount)

    def advance(self, broadcast_id: str, digest: str, status: str, level: int, now: datetime, *,
                wamid: str | None = None, reason: str | None = None) -> bool:
        """A status webhook: move this attempt's message on to `status` — never back (Meta does not order them), and
        never for an earlier attempt's message."""
        return self._move(broadcast_id, digest, status, level, now, wamid, reason,
                          f"attribute_exists(pk) AND #l < :level AND ({THIS_ATTEMPT})", {":w": wamid or ""})

    def reopen(self, broadcast_id: str, digest: str, wamid: str, reason: str, now: datetime,
               max_sends: int) -> str:
        """A failure Meta marks retryable, for this attempt's message: back to `retry` (reopened), or `failed` once
        the attempts are spent (gave_up); stale for an earlier attempt's or a repeated webhook."""
        sent = {":sent": rank("sent"), ":read": rank("read"), ":sending": "sending", ":ambiguous": "ambiguous",
                ":w": wamid, ":max": max_sends}
        current = ("((wamid = :w AND #l BETWEEN :sent AND :read) OR (#s IN (:sending, :ambiguous) AND "
                   "attribute_not_exists(wamid) AND (attribute_not_exists(wamids) OR NOT contains(wamids, :w))))")
        if self._move(broadcast_id, digest, "retry", 0, now, None, reason, f"attempts < :max AND {current}", sent,
                      forget_wamid=wamid):
            return "reopened"
        if self._move(broadcast_id, digest, "failed", rank("failed"), now, None,
                      f"gave up after {max_sends} attempts: {reason}", f"attempts >= :max AND {current}", sent,
                      forget_wamid=wamid):
            return "gave_up"
        return "stale"

    def _move(self, broadcast_id: str, digest: str, status: str, level: int, now: datetime, wamid: str | None,
              reason: str | None, condition: str, condition_values: dict[str, Any], uncount: bool = False,
              forget_wamid: str | None = None) -> bool:
        sets = ["#s = :status", "#l = :level", "#at = :at"]
        adds, removes = [], []
        values: dict[str, Any] = {":status": status, ":level": level, ":at": to_iso(now), **condition_values}
        if wamid is not None:
            sets.append("wamid = :w")
            adds.append("wamids :ws")
            values.update({":w": wamid, ":ws": {wamid}})
        if forget_wamid is not None:  # a failed attempt's id is kept among the earlier ones, no longer current
            removes.append("wamid")
            adds.append("wamids :ws")
            values[":ws"] = {forget_wamid}
        if reason is not None:
            sets.append("reason = :reason")
            values[":reason"] = reason
        if uncount:
            adds.append("attempts :minus")
            values[":minus"] = -1
        update = "SET " + ", ".join(sets) + (" ADD " + ", ".join(adds) if adds else "") + (
            " REMOVE " + ", ".join(removes) if removes else "")
        try:
            self._call("update_item", Key=to_item(_record_key(broadcast_id, digest)), UpdateExpression=update,
                       ConditionExpression=condition, ExpressionAttributeNames={"#s": "status", "#l": "level",
                                                                                "#at": "at"},
                       ExpressionAttributeValues=to_values(values))
        except ConditionFailed:
            return False
        return True

    def record(self, broadcast_id: str, digest: str) -> dict[str, Any] | None:
        return self._get(_record_key(broadcast_id, digest))

    def records_of(self, broadcast_id: str, digests: list[str]) -> dict[str, dict[str, Any]]:
        """The records of these contacts (one batch read per 100)."""
        return {item["sk"]: item for item in self._batch_get([_record_key(broadcast_id, d) for d in digests])}

    def records(self, broadcast_id: str, shard: str | None = None) -> Iterator[dict[str, Any]]:
        for one in ([shard] if shard else SHARDS):
            yield from self._query(f"BCAST#{broadcast_id}#{one}")

    def forget(self, digest: str) -> int:
        """An erasure: the person's record in every broadcast (digests only, but the person asked to be gone)."""
        keys = [_record_key(b["id"], digest) for b in self._query("BROADCASTS")]
        return self._batch_write([{"DeleteRequest": {"Key": to_item(k)}} for k in keys]) if keys else 0

    # ---- the sending number -------------------------------------------------------------------------
    def next_free(self, account_id: str) -> datetime | None:
        """When the number's schedule has its next free sending time (None: never used)."""
        item = self._get({"pk": f"RATE#{account_id}", "sk": "RATE"})
        return datetime.fromtimestamp(int(item["next_ms"]) / 1000, UTC) if item else None

    def reserve_sends(self, account_id: str, count: int, every: timedelta, now: datetime) -> datetime:
        """Take the number's next `count` sending times, `every` apart, shared by every publisher; the first of them.
        An idle schedule starts now (one conditional write); a busy one is extended by an atomic ADD — no
        read-then-write that concurrent publishers could make give up."""
        key = to_item({"pk": f"RATE#{account_id}", "sk": "RATE"})
        span, now_ms = math.ceil(count * every.total_seconds() * 1000), epoch_milliseconds(now)
        try:
            self._call("update_item", Key=key, UpdateExpression="SET next_ms = :until",
                       ConditionExpression="attribute_not_exists(next_ms) OR next_ms <= :now",
                       ExpressionAttributeValues=to_values({":until": now_ms + span, ":now": now_ms}))
            return now
        except ConditionFailed:
            pass
        answer = self._call("update_item", Key=key, UpdateExpression="ADD next_ms :span",
                            ExpressionAttributeValues=to_values({":span": span}), ReturnValues="UPDATED_NEW")
        start = int(from_item(answer["Attributes"])["next_ms"]) - span
        return max(now, datetime.fromtimestamp(start / 1000, UTC))

    def take_messaging_room(self, portfolio: str, count: int, limit: int, now: datetime) -> bool | None:
        """Count `count` more recipients in this hour if the rolling day's total stays within `limit` (True), or not
        (False); None when other publishers kept counting at the same moment (ask again shortly). The day's hours
        live in one item, written over the version read: two publishers either side of an hour's turn cannot both
        take the last room."""
        key = {"pk": f"LIMIT#{portfolio}", "sk": "LIMIT"}
        hours = set(last_day_hours(now))
        for attempt in range(LIMIT_TRIES):
            if attempt:
                self._sleep(random.uniform(0.005, 0.02 * attempt))
            item = self._get(key)
            kept = {h: int(n) for h, n in (item or {}).get("hours", {}).items() if h in hours}
            if sum(kept.values()) + count > limit:
                return False
            kept[hour_key(now)] = kept.get(hour_key(now), 0) + count
            version = int((item or {}).get("version", 0))
            try:
                self._call("put_item", Item=to_item({**key, "hours": kept, "version": version + 1}),
                           ConditionExpression="attribute_not_exists(pk) OR version = :v",
                           ExpressionAttributeValues=to_values({":v": version}))
                return True
            except ConditionFailed:
                continue
        return None


def _record_key(broadcast_id: str, digest: str) -> dict[str, str]:
    return {"pk": f"BCAST#{broadcast_id}#{digest[0]}", "sk": digest}


def _listing_key(meta: dict[str, Any]) -> dict[str, str]:
    return {"pk": "BROADCASTS", "sk": f"{meta['started_at']}#{meta['id']}"}
