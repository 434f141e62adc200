"""Broadcasts in the campaign's table (DynamoDB).

- `BROADCAST#<id>` / `META`: what is sent (the template, the scope, the account) and when it began; `BROADCASTS` /
  `<started_at>#<id>`: the list the dashboard and the report read, with the latest roll-up.
- `BCAST#<id>#<shard>` / `<digest>`: one contact's message — claimed (`sending`) before the call, so no two
  publishers send it; then sent/delivered/read/failed as the call and the status webhooks say. Sixteen partitions.
- `BCHUNK#<id>` / `<constituency>#<shard>#<after>`: a chunk that has passed its successor on (once only).
- `RATE#<account>` / `RATE`: the sending number's schedule — when its next message may go (milliseconds).
- `LIMIT#<account>` / `<hour>`: recipients messaged in that hour (the rolling day's messaging limit).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.adapters.dynamo_codec import from_item, to_item, to_value
from chalicelib.adapters.table_calls import ConditionFailed, TableCalls
from chalicelib.domain.audience import SHARDS
from chalicelib.domain.broadcast import hour_key, last_day_hours
from chalicelib.domain.times import epoch_milliseconds, to_iso

KEEP_FOR = timedelta(days=60)   # a broadcast's per-contact records (digests only) outlive the campaign a little
RESERVE_TRIES = 20


def _values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: to_value(v) for k, v in values.items()}


class BroadcastStore(TableCalls):
    # ---- the broadcast ------------------------------------------------------------------------------
    def start(self, meta: dict[str, Any]) -> bool:
        """Record a broadcast once; False if it was already begun (a redelivered publish)."""
        try:
            self._call("put_item", Item=to_item({"pk": f"BROADCAST#{meta['id']}", "sk": "META", **meta}),
                       ConditionExpression="attribute_not_exists(pk)")
        except ConditionFailed:
            return False
        self._call("put_item", Item=to_item({"pk": "BROADCASTS", "sk": f"{meta['started_at']}#{meta['id']}",
                                             **meta}))
        return True

    def broadcast(self, broadcast_id: str) -> dict[str, Any] | None:
        return self._get({"pk": f"BROADCAST#{broadcast_id}", "sk": "META"})

    def broadcasts_since(self, since: datetime) -> list[dict[str, Any]]:
        """Broadcasts begun since `since`, oldest first, each with its latest roll-up."""
        items = self._call("query", KeyConditionExpression="pk = :p AND sk >= :s",
                           ExpressionAttributeValues=_values({":p": "BROADCASTS", ":s": to_iso(since)}))
        return [from_item(i) for i in items.get("Items", [])]

    def save_rollup(self, meta: dict[str, Any], rollup: dict[str, Any], now: datetime) -> None:
        self._call("update_item", Key=to_item({"pk": "BROADCASTS", "sk": f"{meta['started_at']}#{meta['id']}"}),
                   UpdateExpression="SET #r = :r, rolled_up_at = :at", ExpressionAttributeNames={"#r": "rollup"},
                   ExpressionAttributeValues=_values({":r": rollup, ":at": to_iso(now)}))

    def pass_on(self, broadcast_id: str, constituency: str, shard: str, after: str, now: datetime) -> bool:
        """True for the first chunk of (constituency, shard) after `after` to ask — that one queues the next."""
        try:
            self._call("put_item", Item=to_item({"pk": f"BCHUNK#{broadcast_id}", "sk": f"{constituency}#{shard}#"
                                                 f"{after}", "expires_at": int((now + KEEP_FOR).timestamp())}),
                       ConditionExpression="attribute_not_exists(pk)")
        except ConditionFailed:
            return False
        return True

    # ---- each contact's message ---------------------------------------------------------------------
    def claim(self, broadcast_id: str, digest: str, constituency: str, now: datetime, max_sends: int) -> bool:
        """Take the contact's message: only one never begun, or one waiting for a retry with attempts left."""
        try:
            self._call("update_item", Key=to_item(_record_key(broadcast_id, digest)),
                       UpdateExpression="SET #s = :sending, #l = :zero, constituency = :c, #at = :at, "
                                        "expires_at = :exp ADD attempts :one",
                       ConditionExpression="attribute_not_exists(pk) OR (#s = :retry AND attempts < :max)",
                       ExpressionAttributeNames={"#s": "status", "#l": "level", "#at": "at"},
                       ExpressionAttributeValues=_values({
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
        """A status webhook: move the contact's message on to `status` — never back (Meta does not order them)."""
        return self._move(broadcast_id, digest, status, level, now, wamid, reason,
                          "attribute_exists(pk) AND #l < :level", {})

    def reopen(self, broadcast_id: str, digest: str, reason: str, now: datetime) -> bool:
        """A failure Meta marks retryable, for a message on its way or sent: back to `retry` (once per failure)."""
        return self._move(broadcast_id, digest, "retry", 0, now, None, reason,
                          "#s IN (:sending, :ambiguous) OR #l BETWEEN :sent AND :read",
                          {":sending": "sending", ":ambiguous": "ambiguous", ":sent": 1, ":read": 3})

    def _move(self, broadcast_id: str, digest: str, status: str, level: int, now: datetime, wamid: str | None,
              reason: str | None, condition: str, condition_values: dict[str, Any], uncount: bool = False) -> bool:
        sets = ["#s = :status", "#l = :level", "#at = :at"]
        values: dict[str, Any] = {":status": status, ":level": level, ":at": to_iso(now), **condition_values}
        for name, value in (("wamid", wamid), ("reason", reason)):
            if value is not None:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = value
        update = "SET " + ", ".join(sets)
        if uncount:
            update += " ADD attempts :minus"
            values[":minus"] = -1
        try:
            self._call("update_item", Key=to_item(_record_key(broadcast_id, digest)), UpdateExpression=update,
                       ConditionExpression=condition, ExpressionAttributeNames={"#s": "status", "#l": "level",
                                                                                "#at": "at"},
                       ExpressionAttributeValues=_values(values))
        except ConditionFailed:
            return False
        return True

    def record(self, broadcast_id: str, digest: str) -> dict[str, Any] | None:
        return self._get(_record_key(broadcast_id, digest))

    def records(self, broadcast_id: str) -> Iterator[dict[str, Any]]:
        for shard in SHARDS:
            yield from self._query(f"BCAST#{broadcast_id}#{shard}")

    # ---- the sending number -------------------------------------------------------------------------
    def reserve_sends(self, account_id: str, count: int, every: timedelta, now: datetime) -> datetime:
        """Take the next `count` sending times of the number, `every` apart, shared by every publisher: the first
        of them is returned. One conditional write on the number's schedule (retried when another publisher took
        times in between)."""
        key = to_item({"pk": f"RATE#{account_id}", "sk": "RATE"})
        for _ in range(RESERVE_TRIES):
            item = self._get({"pk": f"RATE#{account_id}", "sk": "RATE"})
            free = int(item["next_ms"]) if item else 0
            start = max(free, epoch_milliseconds(now))
            until = start + math.ceil(count * every.total_seconds() * 1000)
            condition = ("attribute_not_exists(pk)" if item is None else "next_ms = :free")
            try:
                self._call("update_item", Key=key, UpdateExpression="SET next_ms = :until",
                           ConditionExpression=condition, ExpressionAttributeValues=_values(
                               {":until": until, **({":free": free} if item is not None else {})}))
            except ConditionFailed:
                continue
            return datetime.fromtimestamp(start / 1000, UTC)
        raise ConditionFailed("the number's schedule kept changing under us")

    def take_messaging_room(self, account_id: str, count: int, limit: int, now: datetime) -> bool:
        """Count `count` more recipients in this hour if the rolling day's total stays within `limit`."""
        hours = last_day_hours(now)
        earlier = sum(int(i.get("n", 0)) for i in self._batch_get(
            [{"pk": f"LIMIT#{account_id}", "sk": h} for h in hours[1:]]))
        room = limit - earlier - count
        if room < 0:
            return False
        try:
            self._call("update_item", Key=to_item({"pk": f"LIMIT#{account_id}", "sk": hour_key(now)}),
                       UpdateExpression="ADD n :k SET expires_at = :exp",
                       ConditionExpression="attribute_not_exists(n) OR n <= :room",
                       ExpressionAttributeValues=_values({":k": count, ":room": room,
                                                          ":exp": int((now + timedelta(days=2)).timestamp())}))
        except ConditionFailed:
            return False
        return True


def _record_key(broadcast_id: str, digest: str) -> dict[str, str]:
    return {"pk": f"BCAST#{broadcast_id}#{digest[0]}", "sk": digest}
