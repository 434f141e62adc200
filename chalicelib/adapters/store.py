"""DynamoDB: one table holds the campaign, content, posts and the activity log.

Keys (pk / sk):
  CAMPAIGN            / ACTIVE                 the active campaign config
  CONTENT#<id>        / #CONTENT               an uploaded manifest, its revision and checksum
  CONTENT#<id>        / POST#<account>         one post: that content for that account
  ACTIVITY#<IST date> / <UTC time>#<random>    one activity-log entry
Indexes:
  wake      (wake_pk, wake_at)   sparse: only posts the publishing clock must look at, by when
  by_scope  (scope_pk, scope_sk) every post of a scope by due time, for reports and the dashboard
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo_codec import from_item, to_item, to_value
from chalicelib.domain.account_state import AccountState, Health
from chalicelib.domain.post import Post, PostStatus
from chalicelib.domain.times import from_iso, local_date, to_iso
from chalicelib.errors import PersistenceError

WAKE_INDEX = "wake"
SCOPE_INDEX = "by_scope"
WAKE_PARTITION = "WAKE"


@dataclass(frozen=True)
class ContentRecord:
    content_id: str
    key: str
    scope: str
    title: str
    revision: int
    sha256: str
    manifest: dict[str, Any]
    uploaded_at: datetime
    series: str | None = None
    uploaded_by: str | None = None          # the member who uploaded it, when the config maps principals
    approval: dict[str, Any] | None = None  # {"needed", "status": pending|approved|rejected, "by", "at", "note"}


@dataclass(frozen=True)
class ActiveCampaign:
    document: dict[str, Any]
    version: str
    key: str
    activated_at: datetime


@dataclass(frozen=True)
class ActivityEntry:
    at: datetime
    kind: str
    scope: str
    message: str
    level: str = "info"
    content_id: str | None = None
    account_id: str | None = None
    key: str | None = None
    details: dict[str, Any] | None = None
    entry_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = {"id": self.entry_id, "at": to_iso(self.at), "kind": self.kind, "level": self.level,
                "scope": self.scope, "message": self.message, "content_id": self.content_id,
                "account_id": self.account_id, "key": self.key, "details": self.details}
        return {k: v for k, v in data.items() if v is not None}


class Store:
    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    # ---- campaign -------------------------------------------------------------------------------
    def active_campaign(self) -> ActiveCampaign | None:
        item = self._get("CAMPAIGN", "ACTIVE")
        if item is None:
            return None
        return ActiveCampaign(document=json.loads(item["document"]), version=item["version"],
                              key=item["key"], activated_at=from_iso(item["activated_at"]))

    def activate_campaign(self, campaign: ActiveCampaign) -> None:
        self._put({"pk": "CAMPAIGN", "sk": "ACTIVE", "document": json.dumps(campaign.document),
                   "version": campaign.version, "key": campaign.key,
                   "activated_at": to_iso(campaign.activated_at)})

    # ---- content --------------------------------------------------------------------------------
    def content(self, content_id: str) -> ContentRecord | None:
        item = self._get(f"CONTENT#{content_id}", "#CONTENT")
        return _content_from(item) if item else None

    def save_content(self, record: ContentRecord, previous_revision: int | None) -> bool:
        """Write a new revision; False if another writer got there first."""
        condition = ("attribute_not_exists(pk)" if previous_revision is None else "revision = :previous")
        values = {} if previous_revision is None else {":previous": to_value(previous_revision)}
        return self._put({
            "pk": f"CONTENT#{record.content_id}", "sk": "#CONTENT", "kind": "content",
            "content_id": record.content_id, "key": record.key, "scope": record.scope, "title": record.title,
            "revision": record.revision, "sha256": record.sha256, "manifest": json.dumps(record.manifest),
            "uploaded_at": to_iso(record.uploaded_at), "series": record.series, "uploaded_by": record.uploaded_by,
            "approval": json.dumps(record.approval) if record.approval else None,
        }, condition=condition, values=values)

    def decide(self, content_id: str, revision: int, decision: dict[str, Any]) -> bool:
        """Record an approval decision on the revision the approver saw; False if it changed meanwhile."""
        return self._update(f"CONTENT#{content_id}", "#CONTENT", "SET approval = :a", "revision = :r", {},
                            _encoded({":a": json.dumps(decision), ":r": revision}))

    def series_cursor(self, scope: str, series: str) -> datetime | None:
        item = self._get(f"SERIES#{scope}", series)
        return from_iso(item["last_slot"]) if item else None

    def take_series_slot(self, scope: str, series: str, previous: datetime | None, slot: datetime) -> bool:
        """Move the series' cursor from `previous` to `slot`; False if another upload took a slot meanwhile."""
        condition = "attribute_not_exists(pk)" if previous is None else "last_slot = :previous"
        values = {} if previous is None else _encoded({":previous": to_iso(previous)})
        return self._put({"pk": f"SERIES#{scope}", "sk": series, "last_slot": to_iso(slot)}, condition=condition,
                         values=values)

    def calendar_rows(self, key: str) -> list[str]:
        item = self._get(f"CALENDAR#{key}", "ROWS")
        return list(item.get("content_ids", [])) if item else []

    def remember_calendar_rows(self, key: str, content_ids: list[str]) -> None:
        self._put({"pk": f"CALENDAR#{key}", "sk": "ROWS", "content_ids": content_ids})

    def content_with_posts(self, content_id: str) -> tuple[ContentRecord | None, list[Post]]:
        content, posts = None, []
        for item in self._query(KeyConditionExpression="pk = :pk",
                                ExpressionAttributeValues={":pk": to_value(f"CONTENT#{content_id}")}):
            if item["sk"] == "#CONTENT":
                content = _content_from(item)
            elif item["sk"].startswith("POST#"):
                posts.append(_post_from(item))
        return content, posts

    # ---- posts ----------------------------------------------------------------------------------
    def post(self, content_id: str, account_id: str) -> Post | None:
        item = self._get(f"CONTENT#{content_id}", f"POST#{account_id}")
        return _post_from(item) if item else None

    def place_post(self, post: Post, replaceable: Iterable[PostStatus]) -> bool:
        """Create the post, or replace it if it has not gone out yet; False if it already has."""
        statuses = list(replaceable)
        names = {f":r{i}": to_value(str(s)) for i, s in enumerate(statuses)}
        condition = f"attribute_not_exists(pk) OR #status IN ({', '.join(names)})"
        return self._put(_post_item(post), condition=condition, values=names, names={"#status": "status"})

    def move_post(self, content_id: str, account_id: str, *, expected: Iterable[PostStatus],
                  status: PostStatus, now: datetime, wake_at: datetime | None = None,
                  fields: dict[str, Any] | None = None, claim: str | None = None,
                  increment_attempts: bool = False) -> bool:
        """The one way a post changes state: a conditional write from an expected state (and claim)."""
        expected = list(expected)
        values: dict[str, Any] = {f":e{i}": str(s) for i, s in enumerate(expected)}
        names = {"#status": "status"}
        condition = f"#status IN ({', '.join(values)})"
        if claim is not None:
            condition += " AND claim = :claim"
            values[":claim"] = claim
        sets = {"status": str(status), "updated_at": to_iso(now), **(fields or {})}
        removes = [k for k, v in sets.items() if v is None]
        sets = {k: v for k, v in sets.items() if v is not None}
        if wake_at is None:
            removes += ["wake_pk", "wake_at"]
        else:
            sets.update(wake_pk=WAKE_PARTITION, wake_at=to_iso(wake_at))
        assignments = []
        for index, (name, value) in enumerate(sets.items()):
            names[f"#s{index}"] = name
            values[f":s{index}"] = value
            assignments.append(f"#s{index} = :s{index}")
        expression = "SET " + ", ".join(assignments)
        if increment_attempts:
            expression += ", attempts = if_not_exists(attempts, :zero) + :one"
            values.update({":zero": 0, ":one": 1})
        if removes:
            for index, name in enumerate(removes):
                names[f"#r{index}"] = name
            expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removes)))
        return self._update(f"CONTENT#{content_id}", f"POST#{account_id}", expression, condition,
                            names, _encoded(values))

    def claim_post(self, content_id: str, account_id: str, claim: str, now: datetime, wake_at: datetime) -> bool:
        """queued → publishing under our claim id; False if another worker (or a state change) got there first."""
        return self.move_post(content_id, account_id, expected=[PostStatus.QUEUED], status=PostStatus.PUBLISHING,
                              now=now, wake_at=wake_at, fields={"claim": claim, "claimed_at": to_iso(now)},
                              increment_attempts=True)

    # ---- the kill switch --------------------------------------------------------------------------
    def pause(self, key: str, by: str, reason: str, now: datetime) -> None:
        self._put({"pk": "PAUSE", "sk": key, "by": by, "reason": reason, "since": to_iso(now)})

    def resume(self, key: str) -> bool:
        try:
            self._call("delete_item", Key=to_item({"pk": "PAUSE", "sk": key}),
                       ConditionExpression="attribute_exists(pk)", raise_conditional=True)
        except _ConditionFailed:
            return False
        return True

    def pauses(self) -> dict[str, dict[str, Any]]:
        return {item["sk"]: item for item in self._query(KeyConditionExpression="pk = :p",
                                                          ExpressionAttributeValues={":p": to_value("PAUSE")})}

    def poll_closed(self, constituency_id: str) -> bool:
        return self._get("POLL", constituency_id) is not None

    def mark_poll_closed(self, constituency_id: str, now: datetime) -> None:
        self._put({"pk": "POLL", "sk": constituency_id, "closed_at": to_iso(now)})

    def wake_now(self, content_id: str, account_id: str, status: PostStatus, now: datetime) -> bool:
        return self.move_post(content_id, account_id, expected=[status], status=status, now=now, wake_at=now)

    def record_delivery(self, content_id: str, account_id: str, delivery_key: str, platform_id: str,
                        claim: str) -> bool:
        """Remember one platform call that succeeded, so a retry of the same post skips it."""
        return self._update(
            f"CONTENT#{content_id}", f"POST#{account_id}",
            "SET deliveries.#d = :id", "claim = :claim",
            {"#d": delivery_key}, {":id": to_value(platform_id), ":claim": to_value(claim)})

    def note_message_status(self, message_id: str, status: str, rank: int, reference: str | None,
                            now: datetime) -> bool:
        """The latest status of one sent message (sent < delivered < read; failed wins); False if older."""
        return self._update(
            f"WAMSG#{message_id}", "STATUS",
            "SET #status = :s, #rank = :r, #ref = :ref, updated_at = :now",
            "attribute_not_exists(pk) OR #rank < :r", {"#status": "status", "#rank": "rank", "#ref": "reference"},
            _encoded({":s": status, ":r": rank, ":ref": reference or "", ":now": to_iso(now)}))

    def settle_pending_delivery(self, content_id: str, account_id: str, delivery_key: str, outcome: str,
                                now: datetime) -> bool:
        """An ambiguous post's in-flight delivery is settled by the platform's word: record it and queue
        the post again so the rest of it goes out. False unless the post was waiting on exactly this."""
        return self._update(
            f"CONTENT#{content_id}", f"POST#{account_id}",
            "SET deliveries.#d = :outcome, #status = :queued, wake_pk = :wake, wake_at = :now, updated_at = :now, "
            "reason = :reason REMOVE pending_delivery, check_first, claim",
            "#status = :ambiguous AND pending_delivery = :key",
            {"#d": delivery_key, "#status": "status"},
            _encoded({
                ":outcome": outcome, ":queued": str(PostStatus.QUEUED), ":wake": WAKE_PARTITION, ":now": to_iso(now),
                ":reason": "settled by the platform's status webhook", ":ambiguous": str(PostStatus.AMBIGUOUS),
                ":key": delivery_key}))

    def wake_due(self, now: datetime, limit: int) -> list[tuple[str, str, PostStatus, str]]:
        """(content id, account id, status, wake_at) of posts whose wake time has come, oldest first."""
        due = []
        for item in self._query(IndexName=WAKE_INDEX, Limit=min(limit, 500),
                                KeyConditionExpression="wake_pk = :p AND wake_at <= :now",
                                ExpressionAttributeValues={":p": to_value(WAKE_PARTITION),
                                                           ":now": to_value(to_iso(now))}):
            due.append((item["pk"].removeprefix("CONTENT#"), item["sk"].removeprefix("POST#"),
                        PostStatus(item["status"]), item["wake_at"]))
            if len(due) >= limit:
                break
        return due

    def next_wake_at(self) -> datetime | None:
        response = self._call("query", IndexName=WAKE_INDEX, Limit=1,
                              KeyConditionExpression="wake_pk = :p",
                              ExpressionAttributeValues={":p": to_value(WAKE_PARTITION)})
        items = response.get("Items", [])
        return from_iso(items[0]["wake_at"]["S"]) if items else None

    def posts_in_scope(self, scope: str) -> Iterator[Post]:
        for item in self._query(IndexName=SCOPE_INDEX, KeyConditionExpression="scope_pk = :p",
                                ExpressionAttributeValues={":p": to_value(f"SCOPE#{scope}")}):
            yield _post_from(item)

    # ---- account state --------------------------------------------------------------------------
    def account_state(self, account_id: str) -> AccountState:
        item = self._get(f"ACCOUNT#{account_id}", "STATE")
        if item is None:
            return AccountState(account_id)
        return AccountState(account_id, Health(item["health"]),
                            from_iso(item["until"]) if item.get("until") else None, item.get("reason"),
                            from_iso(item["checked_at"]) if item.get("checked_at") else None)

    def throttle_account(self, account_id: str, until: datetime, reason: str, now: datetime) -> bool:
        """Throttled until `until`, unless already throttled for longer or waiting for a person."""
        return self._update(
            f"ACCOUNT#{account_id}", "STATE", "SET health = :t, #until = :u, reason = :r, updated_at = :now",
            "attribute_not_exists(pk) OR (health <> :bad AND (attribute_not_exists(#until) OR #until < :u))",
            {"#until": "until"}, _encoded({
                ":t": str(Health.THROTTLED), ":u": to_iso(until), ":r": reason, ":now": to_iso(now),
                ":bad": str(Health.UNHEALTHY)}))

    def mark_account_unhealthy(self, account_id: str, reason: str, now: datetime) -> bool:
        """True when this call is the one that found it unhealthy (so one alert is written, not many)."""
        return self._update(
            f"ACCOUNT#{account_id}", "STATE", "SET health = :bad, reason = :r, updated_at = :now REMOVE #until",
            "attribute_not_exists(pk) OR health <> :bad", {"#until": "until"},
            _encoded({":bad": str(Health.UNHEALTHY), ":r": reason, ":now": to_iso(now)}))

    def mark_account_healthy(self, account_id: str, now: datetime) -> bool:
        """Record a good check; True when it was unhealthy before."""
        before = self.account_state(account_id)
        if before.health is Health.THROTTLED and before.until and before.until > now:
            self._update(f"ACCOUNT#{account_id}", "STATE", "SET checked_at = :now", "attribute_exists(pk)", {},
                         {":now": to_value(to_iso(now))})  # a good token does not lift a rate limit
            return False
        self._put({"pk": f"ACCOUNT#{account_id}", "sk": "STATE", "health": str(Health.HEALTHY),
                   "checked_at": to_iso(now), "updated_at": to_iso(now)})
        return before.health is Health.UNHEALTHY

    # ---- activity -------------------------------------------------------------------------------
    def add_activity(self, entry: ActivityEntry) -> ActivityEntry:
        # Real nanoseconds break ties between entries written at one (possibly simulated) instant.
        entry_id = f"{to_iso(entry.at)}#{time.time_ns():016x}{secrets.token_hex(2)}"
        self._put({"pk": f"ACTIVITY#{local_date(entry.at).isoformat()}", "sk": entry_id, "kind": "activity",
                   "at": to_iso(entry.at), "event": entry.kind, "level": entry.level, "scope": entry.scope,
                   "message": entry.message, "content_id": entry.content_id, "account_id": entry.account_id,
                   "key": entry.key, "details": json.dumps(entry.details) if entry.details else None})
        return ActivityEntry(**{**entry.__dict__, "entry_id": entry_id})

    def activity_on(self, day: date, *, scope_prefix: str | None = None, after: str | None = None,
                    limit: int = 200, newest_first: bool = True) -> list[ActivityEntry]:
        condition = "pk = :pk" + (" AND sk > :after" if after else "")
        values = {":pk": to_value(f"ACTIVITY#{day.isoformat()}")}
        if after:
            values[":after"] = to_value(after)
        query: dict[str, Any] = {"KeyConditionExpression": condition, "ScanIndexForward": not newest_first}
        if scope_prefix:
            query["FilterExpression"] = "#scope = :scope OR begins_with(#scope, :child)"
            query["ExpressionAttributeNames"] = {"#scope": "scope"}
            values.update({":scope": to_value(scope_prefix), ":child": to_value(scope_prefix.rstrip("/") + "/")})
        query["ExpressionAttributeValues"] = values
        entries = []
        for item in self._query(**query):
            entries.append(ActivityEntry(
                at=from_iso(item["at"]), kind=item["event"], scope=item["scope"], message=item["message"],
                level=item.get("level", "info"), content_id=item.get("content_id"),
                account_id=item.get("account_id"), key=item.get("key"),
                details=json.loads(item["details"]) if item.get("details") else None, entry_id=item["sk"]))
            if len(entries) >= limit:
                break
        return entries

    # ---- plumbing -------------------------------------------------------------------------------
    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = self._call("get_item", Key=to_item({"pk": pk, "sk": sk}), ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def _put(self, item: dict[str, Any], *, condition: str | None = None,
             values: dict[str, Any] | None = None, names: dict[str, str] | None = None) -> bool:
        request: dict[str, Any] = {"Item": to_item(item)}
        if condition:
            request["ConditionExpression"] = condition
        if values:
            request["ExpressionAttributeValues"] = values
        if names:
            request["ExpressionAttributeNames"] = names
        try:
            self._call("put_item", raise_conditional=True, **request)
        except _ConditionFailed:
            return False
        return True

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        while True:
            response = self._call("query", **kwargs)
            for item in response.get("Items", []):
                yield from_item(item)
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _update(self, pk: str, sk: str, expression: str, condition: str, names: dict[str, str],
                values: dict[str, Any]) -> bool:
        request = {"Key": to_item({"pk": pk, "sk": sk}), "UpdateExpression": expression,
                   "ConditionExpression": condition, "ExpressionAttributeValues": values}
        if names:
            request["ExpressionAttributeNames"] = names
        try:
            self._call("update_item", raise_conditional=True, **request)
        except _ConditionFailed:
            return False
        return True

    def _call(self, operation: str, raise_conditional: bool = False, **kwargs: Any) -> dict[str, Any]:
        try:
            return getattr(self._db, operation)(TableName=self._table, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "ConditionalCheckFailedException" and raise_conditional:
                raise _ConditionFailed() from None
            raise PersistenceError(f"DynamoDB {operation} failed: {code}") from exc


class _ConditionFailed(Exception):
    pass


def _encoded(values: dict[str, Any]) -> dict[str, Any]:
    return {name: to_value(value) for name, value in values.items()}


def _post_item(post: Post) -> dict[str, Any]:
    item = {
        "pk": f"CONTENT#{post.content_id}", "sk": f"POST#{post.account_id}", "kind": "post",
        "content_id": post.content_id, "account_id": post.account_id, "platform": post.platform,
        "scope": post.scope, "status": str(post.status), "due_at": to_iso(post.due_at),
        "revision": post.revision, "payload": json.dumps(post.payload, ensure_ascii=False),
        "attempts": post.attempts, "claim": post.claim, "platform_post_id": post.platform_post_id,
        "published_at": to_iso(post.published_at) if post.published_at else None, "reason": post.reason,
        "deliveries": post.deliveries,
        "scope_pk": f"SCOPE#{post.scope}", "scope_sk": f"{to_iso(post.due_at)}#{post.content_id}#{post.account_id}",
    }
    if post.wake_at is not None:
        item.update(wake_pk=WAKE_PARTITION, wake_at=to_iso(post.wake_at))
    return item


def _post_from(item: dict[str, Any]) -> Post:
    return Post(
        content_id=item["content_id"], account_id=item["account_id"], platform=item["platform"],
        scope=item["scope"], status=PostStatus(item["status"]), due_at=from_iso(item["due_at"]),
        revision=int(item["revision"]), payload=json.loads(item["payload"]), attempts=int(item.get("attempts", 0)),
        wake_at=from_iso(item["wake_at"]) if item.get("wake_at") else None, claim=item.get("claim"),
        platform_post_id=item.get("platform_post_id"),
        published_at=from_iso(item["published_at"]) if item.get("published_at") else None,
        reason=item.get("reason"), deliveries=dict(item.get("deliveries") or {}),
        check_first=bool(item.get("check_first", False)), pending_delivery=item.get("pending_delivery"),
        ambiguous_since=from_iso(item["ambiguous_since"]) if item.get("ambiguous_since") else None,
        silence_cleared=bool(item.get("silence_cleared", False)),
        held_by_silence=bool(item.get("held_by_silence", False)),
        claimed_at=from_iso(item["claimed_at"]) if item.get("claimed_at") else None)


def _content_from(item: dict[str, Any]) -> ContentRecord:
    return ContentRecord(
        content_id=item["content_id"], key=item["key"], scope=item["scope"], title=item["title"],
        revision=int(item["revision"]), sha256=item["sha256"], manifest=json.loads(item["manifest"]),
        uploaded_at=from_iso(item["uploaded_at"]), series=item.get("series"), uploaded_by=item.get("uploaded_by"),
        approval=json.loads(item["approval"]) if item.get("approval") else None)
