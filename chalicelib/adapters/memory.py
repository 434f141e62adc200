"""In-memory twins of the AWS adapters, for fast service tests and the chaos run.

`InMemoryStore` keeps the same items under the same keys as the DynamoDB `Store` and checks the same condition
on every write, under one lock; what it returns is always a copy. tests/contract/test_store_contract.py runs one
suite against both, so where they differ the fake is wrong. `InMemoryQueue`, `InMemoryBucket` and
`InMemorySecrets` do the same for the publish queue, the content bucket and the account secrets, plus the
helpers a test needs to play SQS, S3 or SSM (receive with a visibility timeout, put an object, seed a token).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from chalicelib.adapters.bucket import Superseded, TooLarge, Upload, error_report_key
from chalicelib.adapters.clock import Clock, SystemClock
from chalicelib.adapters.publish_queue import MAX_DELAY_SECONDS
from chalicelib.adapters.table_items import (
    KEPT_ON_PLACE,
    ON_ITS_WAY_PARTITION,
    WAKE_PARTITION,
    Item,
    account_state_from,
    activity_from,
    activity_item,
    campaign_from,
    campaign_item,
    content_from,
    content_item,
    due_from_scope_key,
    post_from,
    post_item,
    post_key,
)
from chalicelib.domain.account_state import AccountState, Health
from chalicelib.domain.post import DONE, Post, PostStatus
from chalicelib.domain.post_states import move_for, on_its_way
from chalicelib.domain.records import ActiveCampaign, ActivityEntry, ContentRecord, Placement
from chalicelib.domain.times import epoch_milliseconds, from_iso, to_iso
from chalicelib.domain.whatsapp_webhook import reach_stages
from chalicelib.errors import PersistenceError

_ABSENT = object()  # an attribute the item does not have (unlike one holding NULL)

Key = tuple[str, str]


class _Items:
    """The table's items by (pk, sk), and by partition too: reading one partition is a Query, not a walk through every
    item with the lock held (the broadcast benchmark keeps 20,000 pair-rate slots here)."""

    def __init__(self) -> None:
        self._all: dict[Key, Item] = {}
        self._partitions: dict[str, dict[str, Item]] = {}

    def get(self, key: Key, default: Item | None = None) -> Item | None:
        return self._all.get(key, default)

    def __setitem__(self, key: Key, item: Item) -> None:
        self._all[key] = item
        self._partitions.setdefault(key[0], {})[key[1]] = item

    def __delitem__(self, key: Key) -> None:
        del self._all[key]
        partition = self._partitions[key[0]]
        del partition[key[1]]
        if not partition:
            del self._partitions[key[0]]

    def pop(self, key: Key, default: Item | None = None) -> Item | None:
        if key not in self._all:
            return default
        item = self._all[key]
        del self[key]
        return item

    def values(self) -> Iterable[Item]:
        return self._all.values()

    def partition(self, pk: str) -> Iterable[Item]:
        return self._partitions.get(pk, {}).values()


class InMemoryStore:
    """Store's twin: items keyed (pk, sk), indexed by partition, every conditional write checked as DynamoDB would."""

    def __init__(self) -> None:
        self._items = _Items()
        self._lock = threading.RLock()
        self._last_entry_ns = 0

    # ---- campaign -------------------------------------------------------------------------------
    def active_campaign(self) -> ActiveCampaign | None:
        item = self._get("CAMPAIGN", "ACTIVE")
        return campaign_from(item) if item else None

    def activate_campaign(self, campaign: ActiveCampaign) -> None:
        self._put(campaign_item(campaign))

    # ---- content --------------------------------------------------------------------------------
    def content(self, content_id: str) -> ContentRecord | None:
        item = self._get(f"CONTENT#{content_id}", "#CONTENT")
        return content_from(item) if item else None

    def contents(self, content_ids: Iterable[str]) -> dict[str, ContentRecord]:
        with self._lock:
            found = {c: self.content(c) for c in dict.fromkeys(content_ids)}
        return {c: record for c, record in found.items() if record is not None}

    def save_content(self, record: ContentRecord, previous_revision: int | None) -> bool:
        item = content_item(record)
        with self._lock:
            old = self._items.get((item["pk"], item["sk"]))
            if previous_revision is None:
                allowed = old is None
            else:
                allowed = old is not None and _equal(_attr(old, "revision"), previous_revision)
            if allowed:
                self._put(item)
            return allowed

    def decide(self, content_id: str, revision: int, decision: dict[str, Any]) -> bool:
        approval = json.dumps(decision)
        return self._update((f"CONTENT#{content_id}", "#CONTENT"),
                            lambda old: _equal(_attr(old, "revision"), revision),
                            lambda new: new.update(approval=approval))

    def series_cursor(self, scope: str, series: str) -> datetime | None:
        item = self._get(f"SERIES#{scope}", series)
        return from_iso(item["last_slot"]) if item else None

    def take_series_slot(self, scope: str, series: str, previous: datetime | None, slot: datetime) -> bool:
        key = (f"SERIES#{scope}", series)
        with self._lock:
            old = self._items.get(key)
            allowed = old is None if previous is None else (
                old is not None and _equal(_attr(old, "last_slot"), to_iso(previous)))
            if allowed:
                self._put({"pk": key[0], "sk": key[1], "last_slot": to_iso(slot)})
            return allowed

    def calendar_rows(self, key: str) -> list[str]:
        item = self._get(f"CALENDAR#{key}", "ROWS")
        return list(item.get("content_ids", [])) if item else []

    def remember_calendar_rows(self, key: str, content_ids: list[str]) -> None:
        self._put({"pk": f"CALENDAR#{key}", "sk": "ROWS", "content_ids": content_ids})

    # ---- the system's answer to each upload (what `prachar upload` waits for) ------------------------------
    def record_upload_answer(self, key: str, upload: str, answer: dict[str, Any], expires_at: int) -> bool:
        item = {"pk": f"UPLOAD#{key}", "sk": f"ANSWER#{upload}", "answer": json.dumps(answer, ensure_ascii=False),
                "expires_at": expires_at}
        with self._lock:
            if self._items.get((item["pk"], item["sk"])) is not None:
                return False
            self._items[(item["pk"], item["sk"])] = item
        return True

    def upload_answer(self, key: str, upload: str) -> dict[str, Any] | None:
        item = self._get(f"UPLOAD#{key}", f"ANSWER#{upload}")
        return json.loads(item["answer"]) if item else None

    def content_with_posts(self, content_id: str) -> tuple[ContentRecord | None, list[Post]]:
        content, posts = None, []
        for item in self._partition(f"CONTENT#{content_id}"):
            if item["sk"] == "#CONTENT":
                content = content_from(item)
            elif item["sk"].startswith("POST#"):
                posts.append(post_from(item))
        return content, posts

    # ---- posts ----------------------------------------------------------------------------------
    def post(self, content_id: str, account_id: str) -> Post | None:
        item = self._get(f"CONTENT#{content_id}", f"POST#{account_id}")
        return post_from(item) if item else None

    def post_with_gates(self, content_id: str, account_id: str, pause_scopes: Iterable[str] = ()
                        ) -> tuple[Post | None, AccountState, dict[str, dict[str, Any]]]:
        with self._lock:
            pauses = self.pauses()
            return (self.post(content_id, account_id), self.account_state(account_id),
                    {s: pauses[s] for s in pause_scopes if s in pauses})

    def place_post(self, post: Post, replaceable: Iterable[PostStatus]) -> Placement:
        statuses = list(replaceable)
        move_for([None, *statuses], post.status, claimed=False)
        _refuse_empty_in(statuses)
        placed = {name: _stored(value) for name, value in post_item(post).items()}
        key = (placed["pk"], placed["sk"])
        with self._lock:
            old = self._items.get(key)
            if post.doubts:
                allowed = (old is not None and _status_in(old, statuses) and _equal(_attr(old, "check_first"), True)
                           and "pending_delivery" not in old
                           and _equal(_attr(old, "revision"), post.doubts[-1]["revision"]))
            else:
                allowed = old is None or (_status_in(old, statuses) and "check_first" not in old
                                          and "pending_delivery" not in old
                                          and ("revision" not in old or _less(old["revision"], post.revision)))
            if not allowed:
                return Placement(placed=False, previous=post_from(_stored(old)) if old is not None else None)
            new = _stored(old) if old is not None else {"pk": key[0], "sk": key[1]}
            new.update({name: value for name, value in placed.items() if name not in KEPT_ON_PLACE})
            new.setdefault("deliveries", {})
            new.setdefault("delivery_revisions", {})
            new.setdefault("attempts", 0)
            removes = ["claim", "claimed_at", "reason", "silence_cleared"] + ([] if post.doubts else ["doubts"])
            if post.wake_at is None:
                removes += ["wake_pk", "wake_at"]
            if "way_pk" not in placed:
                removes.append("way_pk")
            for name in removes:
                new.pop(name, None)
            self._items[key] = new
            return Placement(placed=True, previous=post_from(_stored(old)) if old is not None else None)

    def move_post(self, content_id: str, account_id: str, *, expected: Iterable[PostStatus],
                  status: PostStatus, now: datetime, wake_at: datetime | None = None,
                  fields: dict[str, Any] | None = None, claim: str | None = None,
                  increment_attempts: bool = False, expected_wake_at: str | None = None,
                  expected_revision: int | None = None, delivery: tuple[str, str, int] | None = None) -> bool:
        expected = list(expected)
        move_for(expected, status, claimed=claim is not None, fields=(fields or {}).keys())
        _refuse_empty_in(expected)
        sets = {"status": str(status), "updated_at": to_iso(now), **(fields or {})}
        removes = [name for name, value in sets.items() if value is None]
        sets = {name: _stored(value) for name, value in sets.items() if value is not None}
        if wake_at is None:
            removes += ["wake_pk", "wake_at"]
        else:
            sets.update(wake_pk=WAKE_PARTITION, wake_at=to_iso(wake_at))
        if on_its_way(status, wakes=wake_at is not None):
            sets["way_pk"] = ON_ITS_WAY_PARTITION
        else:
            removes.append("way_pk")
        if status in DONE:
            sets["done_at"] = to_iso(now)

        def allowed(old: Item) -> bool:
            return (_status_in(old, expected)
                    and (claim is None or _equal(_attr(old, "claim"), claim))
                    and (expected_wake_at is None or _equal(_attr(old, "wake_at"), expected_wake_at))
                    and (expected_revision is None or _equal(_attr(old, "revision"), expected_revision)))

        def change(new: Item) -> None:
            if increment_attempts:
                new["attempts"] = new.get("attempts", 0) + 1
            if delivery is not None:
                _set_in_map(new, "deliveries", delivery[0], delivery[1])
                _set_in_map(new, "delivery_revisions", delivery[0], delivery[2])
            new.update(sets)
            if status in DONE and "scope_pk" in new:
                new["done_pk"] = new["scope_pk"]
            for name in removes:
                new.pop(name, None)

        return self._update(post_key(content_id, account_id), allowed, change)

    def claim_post(self, content_id: str, account_id: str, claim: str, now: datetime, wake_at: datetime,
                   revision: int) -> Post | None:
        with self._lock:
            moved = self.move_post(content_id, account_id, expected=[PostStatus.QUEUED], status=PostStatus.PUBLISHING,
                                   now=now, wake_at=wake_at, fields={"claim": claim, "claimed_at": to_iso(now)},
                                   increment_attempts=True, expected_revision=revision)
            return self.post(content_id, account_id) if moved else None

    # ---- the kill switch --------------------------------------------------------------------------
    def pause(self, key: str, by: str, reason: str, now: datetime, *, replacing: str | None = None) -> bool:
        with self._lock:
            old = self._items.get(("PAUSE", key))
            if old is not None and not (replacing and _equal(_attr(old, "by"), replacing)):
                return False
            self._put({"pk": "PAUSE", "sk": key, "by": by, "reason": reason, "since": to_iso(now)})
            return True

    def resume(self, key: str, *, paused_by: str | None = None) -> bool:
        with self._lock:
            old = self._items.get(("PAUSE", key))
            if old is None or (paused_by and not _equal(_attr(old, "by"), paused_by)):
                return False
            del self._items[("PAUSE", key)]
            return True

    def pauses(self) -> dict[str, dict[str, Any]]:
        return {item["sk"]: item for item in self._partition("PAUSE")}

    def bind_members(self, subs: dict[str, str], now: datetime) -> None:
        self._put({"pk": "IDENTITY", "sk": "SUBS", "subs": dict(subs), "bound_at": to_iso(now)})

    def member_subs(self) -> dict[str, str]:
        item = self._get("IDENTITY", "SUBS")
        return dict(item.get("subs") or {}) if item else {}

    def poll_closed(self, constituency_id: str) -> bool:
        return self._get("POLL", constituency_id) is not None

    def mark_poll_closed(self, constituency_id: str, now: datetime) -> None:
        self._put({"pk": "POLL", "sk": constituency_id, "closed_at": to_iso(now)})

    def wake_now(self, content_id: str, account_id: str, status: PostStatus, now: datetime) -> bool:
        return self.move_post(content_id, account_id, expected=[status], status=status, now=now, wake_at=now)

    def begin_delivery(self, content_id: str, account_id: str, delivery_key: str, claim: str) -> bool:
        return self._update(post_key(content_id, account_id), lambda old: _equal(_attr(old, "claim"), claim),
                            lambda new: new.update(pending_delivery=delivery_key))

    def record_delivery(self, content_id: str, account_id: str, delivery_key: str, platform_id: str,
                        claim: str, revision: int) -> bool:
        def change(new: Item) -> None:
            _set_in_map(new, "deliveries", delivery_key, platform_id)
            _set_in_map(new, "delivery_revisions", delivery_key, revision)
            new.pop("pending_delivery", None)

        return self._update(post_key(content_id, account_id), lambda old: _equal(_attr(old, "claim"), claim),
                            change)

    def record_and_begin_delivery(self, content_id: str, account_id: str, recorded: tuple[str, str, int],
                                  delivery_key: str, claim: str) -> bool:
        def change(new: Item) -> None:
            _set_in_map(new, "deliveries", recorded[0], recorded[1])
            _set_in_map(new, "delivery_revisions", recorded[0], recorded[2])
            new["pending_delivery"] = delivery_key

        return self._update(post_key(content_id, account_id), lambda old: _equal(_attr(old, "claim"), claim),
                            change)

    def note_message_status(self, message_id: str, status: str, rank: int, reference: str | None,
                            now: datetime) -> bool:
        return self.advance_message_status(message_id, status, rank, reference, now) is not None

    def advance_message_status(self, message_id: str, status: str, rank: int, reference: str | None,
                               now: datetime) -> int | None:
        with self._lock:
            old = self._items.get((f"WAMSG#{message_id}", "STATUS"))
            before = int(_attr(old, "rank") or 0) if old is not None else 0
            moved = self._update(
                (f"WAMSG#{message_id}", "STATUS"), lambda old: _less(_attr(old, "rank"), rank),
                lambda new: new.update(status=status, rank=rank, reference=reference or "", updated_at=to_iso(now)),
                create=True)
            return before if moved else None

    def count_reach(self, content_id: str, account_id: str, member: str, rank: int, *,
                    read: dict[str, Any] | None = None) -> list[str]:
        # `read` (the caller's earlier read) is not needed here: the lock makes the read and the write one step.
        with self._lock:
            item = self._items.get((f"REACH#{content_id}", account_id)) or {}
            stages = reach_stages(int((item.get("members") or {}).get(member, 0)), rank)
            if not stages:
                return []

            def add(new: Item) -> None:
                new["members"] = {**(new.get("members") or {}), member: rank}
                for stage in stages:
                    new[stage] = int(new.get(stage) or 0) + 1

            self._update((f"REACH#{content_id}", account_id), lambda old: True, add, create=True)
            return stages

    def message_status_with_post(self, message_id: str, content_id: str, account_id: str
                                 ) -> tuple[str | None, Post | None, dict[str, Any]]:
        with self._lock:
            return (self.message_status(message_id), self.post(content_id, account_id),
                    self._get(f"REACH#{content_id}", account_id) or {})

    def reaches(self, posts: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[str, int]]:
        with self._lock:
            return {post: self.reach(*post) for post in dict.fromkeys(posts)
                    if self._items.get((f"REACH#{post[0]}", post[1])) is not None}

    def reach(self, content_id: str, account_id: str) -> dict[str, int]:
        item = self._get(f"REACH#{content_id}", account_id) or {}
        return {k: int(v) for k, v in item.items() if k not in ("pk", "sk", "members")}

    def record_metrics(self, content_id: str, account_id: str, metrics: dict[str, int], now: datetime) -> bool:
        return self._update(post_key(content_id, account_id),
                            lambda old: _equal(_attr(old, "status"), str(PostStatus.PUBLISHED)),
                            lambda new: new.update(metrics=dict(metrics), metrics_at=to_iso(now)))

    def mark_gone(self, content_id: str, account_id: str, now: datetime) -> bool:
        return self._update(post_key(content_id, account_id),
                            lambda old: _equal(_attr(old, "status"), str(PostStatus.PUBLISHED))
                            and _attr(old, "gone_at") is _ABSENT,
                            lambda new: new.update(gone_at=to_iso(now)))

    def message_status(self, message_id: str) -> str | None:
        with self._lock:
            item = self._items.get((f"WAMSG#{message_id}", "STATUS"))
            return item.get("status") if item else None

    def settle_pending_delivery(self, content_id: str, account_id: str, delivery_key: str, outcome: str | None,
                                now: datetime, reason: str = "settled by the platform's status webhook") -> bool:
        move_for([PostStatus.AMBIGUOUS], PostStatus.QUEUED, claimed=False)

        def change(new: Item) -> None:
            if outcome is not None:
                _set_in_map(new, "deliveries", delivery_key, outcome)
                _set_in_map(new, "delivery_revisions", delivery_key, _required(new, "revision"))
            new.update(status=str(PostStatus.QUEUED), wake_pk=WAKE_PARTITION, wake_at=to_iso(now),
                       way_pk=ON_ITS_WAY_PARTITION, updated_at=to_iso(now), reason=reason)
            for name in ("pending_delivery", "check_first", "claim"):
                new.pop(name, None)

        return self._update(post_key(content_id, account_id),
                            lambda old: (_status_in(old, [PostStatus.AMBIGUOUS])
                                         and _equal(_attr(old, "pending_delivery"), delivery_key)), change)

    def record_in_flight_delivery(self, content_id: str, account_id: str, delivery_key: str, message_id: str) -> bool:
        def change(new: Item) -> None:
            _set_in_map(new, "deliveries", delivery_key, message_id)
            _set_in_map(new, "delivery_revisions", delivery_key, _required(new, "revision"))
            new.pop("pending_delivery", None)

        return self._update(post_key(content_id, account_id),
                            lambda old: (_status_in(old, [PostStatus.PUBLISHING])
                                         and _equal(_attr(old, "pending_delivery"), delivery_key)), change)

    def reopen_delivery(self, content_id: str, account_id: str, delivery_key: str, message_id: str, now: datetime,
                        reason: str, waiting: Iterable[PostStatus]) -> str:
        move_for([PostStatus.PUBLISHED], PostStatus.QUEUED, claimed=False)
        key = post_key(content_id, account_id)

        def sent(old: Item) -> bool:
            return _equal(_map_attr(old, "deliveries", delivery_key), message_id)

        def forget(new: Item) -> None:  # the revision it carried stays until a new send overwrites it
            _remove_from_map(new, "deliveries", delivery_key)

        def requeue(new: Item) -> None:
            forget(new)
            new.update(status=str(PostStatus.QUEUED), wake_pk=WAKE_PARTITION, wake_at=to_iso(now),
                       way_pk=ON_ITS_WAY_PARTITION, updated_at=to_iso(now), reason=reason)

        with self._lock:
            if self._update(key, lambda old: _status_in(old, [PostStatus.PUBLISHED]) and sent(old), requeue):
                return "reopened"
            waiting = list(waiting)
            _refuse_empty_in(waiting)
            if self._update(key, lambda old: _status_in(old, waiting) and sent(old), forget):
                return "reopened"
            post = self.post(content_id, account_id)
        if post is not None and post.status is PostStatus.PUBLISHING and (
                post.deliveries.get(delivery_key) == message_id or post.pending_delivery == delivery_key):
            return "busy"
        return "gone"

    def wake_due(self, now: datetime, limit: int) -> list[tuple[str, str, PostStatus, str]]:
        if limit < 1:  # boto3 refuses Limit=0 before any call
            raise ValueError(f"limit must be at least 1, not {limit}")
        moment = to_iso(now)
        due = [item for item in self._wake_index() if item["wake_at"] <= moment][:limit]
        return [(item["pk"].removeprefix("CONTENT#"), item["sk"].removeprefix("POST#"), PostStatus(item["status"]),
                 item["wake_at"]) for item in due]

    def next_wake_at(self) -> datetime | None:
        index = self._wake_index()
        return from_iso(index[0]["wake_at"]) if index else None

    def oldest_due_on_its_way(self, now: datetime, excluding: Collection[tuple[str, str]] = ()) -> datetime | None:
        skip = {post_key(content_id, account_id) for content_id, account_id in excluding}
        with self._lock:
            keys = [item["scope_sk"] for item in self._items.values()
                    if item.get("way_pk") == ON_ITS_WAY_PARTITION and isinstance(item.get("scope_sk"), str)
                    and item["scope_sk"] < to_iso(now) and (item["pk"], item["sk"]) not in skip]
        return due_from_scope_key(min(keys)) if keys else None

    def posts_in_scope(self, scope: str, *, due_from: datetime | None = None,
                       due_before: datetime | None = None) -> Iterator[Post]:
        partition = f"SCOPE#{scope}"
        start, end = to_iso(due_from) if due_from else "0", to_iso(due_before) if due_before else "~"
        with self._lock:
            items = [_stored(item) for item in self._items.values()
                     if item.get("scope_pk") == partition and isinstance(item.get("scope_sk"), str)
                     and start <= item["scope_sk"] <= end]
        for item in sorted(items, key=lambda i: (i["scope_sk"], i["pk"], i["sk"])):
            yield post_from(item)

    def posts_done_in_scope(self, scope: str, *, done_from: datetime, done_before: datetime) -> Iterator[Post]:
        partition, start, end = f"SCOPE#{scope}", to_iso(done_from), to_iso(done_before)
        with self._lock:
            items = [_stored(item) for item in self._items.values()
                     if item.get("done_pk") == partition and isinstance(item.get("done_at"), str)
                     and start <= item["done_at"] <= end]
        for item in sorted(items, key=lambda i: (i["done_at"], i["pk"], i["sk"])):
            yield post_from(item)

    # ---- account state --------------------------------------------------------------------------
    def account_state(self, account_id: str) -> AccountState:
        return account_state_from(account_id, self._get(f"ACCOUNT#{account_id}", "STATE"))

    def account_states(self, account_ids: Iterable[str]) -> dict[str, AccountState]:
        with self._lock:
            return {account_id: self.account_state(account_id) for account_id in dict.fromkeys(account_ids)}

    def throttle_account(self, account_id: str, until: datetime, reason: str, now: datetime) -> bool:
        until_text = to_iso(until)
        return self._update(
            (f"ACCOUNT#{account_id}", "STATE"),
            lambda old: (not _equal(_attr(old, "health"), str(Health.UNHEALTHY))
                         and (_attr(old, "until") is _ABSENT or _less(old["until"], until_text))),
            lambda new: new.update(health=str(Health.THROTTLED), until=until_text, reason=reason,
                                   updated_at=to_iso(now)),
            create=True)

    def reserve_recipient(self, account_id: str, recipient: str, now: datetime, spacing: timedelta) -> bool:
        return self._update((f"PAIR#{account_id}", recipient),
                            lambda old: old["free_at_ms"] <= epoch_milliseconds(now),
                            lambda new: new.update(free_at_ms=epoch_milliseconds(now + spacing),
                                                   updated_at=to_iso(now)),
                            create=True)

    def forget_recipient(self, account_id: str, recipient: str) -> None:
        with self._lock:
            self._items.pop((f"PAIR#{account_id}", recipient), None)

    def free_recipient(self, account_id: str, recipient: str, now: datetime, spacing: timedelta) -> bool:
        with self._lock:
            old = self._items.get((f"PAIR#{account_id}", recipient))
            if old is None or old["free_at_ms"] != epoch_milliseconds(now + spacing):
                return False
            del self._items[(f"PAIR#{account_id}", recipient)]
            return True

    def mark_account_unhealthy(self, account_id: str, reason: str, now: datetime) -> bool:
        def change(new: Item) -> None:
            new.update(health=str(Health.UNHEALTHY), reason=reason, updated_at=to_iso(now))
            new.pop("until", None)

        return self._update((f"ACCOUNT#{account_id}", "STATE"),
                            lambda old: not _equal(_attr(old, "health"), str(Health.UNHEALTHY)), change, create=True)

    def mark_account_healthy(self, account_id: str, now: datetime) -> bool:
        with self._lock:
            before = self.account_state(account_id)
            if before.health is Health.THROTTLED and before.until and before.until > now:
                self._update((f"ACCOUNT#{account_id}", "STATE"), lambda old: True,
                             lambda new: new.update(checked_at=to_iso(now)))  # a good token does not lift a limit
                return False
            self._put({"pk": f"ACCOUNT#{account_id}", "sk": "STATE", "health": str(Health.HEALTHY),
                       "checked_at": to_iso(now), "updated_at": to_iso(now)})
            return before.health is Health.UNHEALTHY

    # ---- activity -------------------------------------------------------------------------------
    def add_activity(self, entry: ActivityEntry) -> ActivityEntry:
        with self._lock:
            # Never the same nanosecond twice: entries written in one call order stay in that order.
            self._last_entry_ns = max(time.time_ns(), self._last_entry_ns + 1)
            entry_id = f"{to_iso(entry.at)}#{self._last_entry_ns:016x}{secrets.token_hex(2)}"
            self._put(activity_item(entry, entry_id))
        return ActivityEntry(**{**entry.__dict__, "entry_id": entry_id})

    def activity_on(self, day: date, *, scope_prefix: str | None = None, scopes: Collection[str] | None = None,
                    after: str | None = None, limit: int = 200, newest_first: bool = True) -> list[ActivityEntry]:
        child = scope_prefix.rstrip("/") + "/" if scope_prefix else ""
        entries = []
        for item in self._partition(f"ACTIVITY#{day.isoformat()}", descending=newest_first):
            if after and not item["sk"] > after:
                continue
            scope = item.get("scope")
            if scope_prefix and not (scope == scope_prefix or (isinstance(scope, str) and scope.startswith(child))):
                continue
            if scopes is not None and scope not in scopes:
                continue
            entries.append(activity_from(item))
            if len(entries) >= limit:
                break
        return entries

    # ---- plumbing -------------------------------------------------------------------------------
    def _get(self, pk: str, sk: str) -> Item | None:
        with self._lock:
            item = self._items.get((pk, sk))
            return _stored(item) if item is not None else None

    def _put(self, item: Item) -> None:
        stored = {name: _stored(value) for name, value in item.items() if value is not None}
        with self._lock:
            self._items[(stored["pk"], stored["sk"])] = stored

    def _update(self, key: Key, allowed: Callable[[Item], bool], change: Callable[[Item], None], *,
                create: bool = False) -> bool:
        """An UpdateItem: `allowed` sees the item as it is (a missing one passes only `attribute_not_exists(pk)`
        conditions, i.e. when `create`); `change` edits a copy, which replaces it only if nothing raised."""
        with self._lock:
            old = self._items.get(key)
            if old is None and not create:
                return False
            if old is not None and not allowed(old):
                return False
            new = _stored(old) if old is not None else {"pk": key[0], "sk": key[1]}
            change(new)
            self._items[key] = _stored(new)
            return True

    def _partition(self, pk: str, *, descending: bool = False) -> list[Item]:
        with self._lock:
            items = [_stored(item) for item in self._items.partition(pk)]
        return sorted(items, key=lambda item: item["sk"], reverse=descending)

    def _wake_index(self) -> list[Item]:
        """The sparse `wake` index: posts with a wake time, soonest first (ties in table-key order)."""
        with self._lock:
            items = [{name: item[name] for name in ("pk", "sk", "wake_at", "status") if name in item}
                     for item in self._items.values()
                     if item.get("wake_pk") == WAKE_PARTITION and isinstance(item.get("wake_at"), str)]
        return sorted(items, key=lambda item: (item["wake_at"], item["pk"], item["sk"]))


# ---- DynamoDB's rules, as the fake applies them ---------------------------------------------------
def _stored(value: Any) -> Any:
    """A value as the table would hand it back (a fresh copy): str/int/bool/None/bytes, lists and maps of them."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {str(name): _stored(inner) for name, inner in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_stored(inner) for inner in value]
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    raise TypeError(f'Unsupported type "{type(value)}" for value "{value}"')


def _kind(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, (int, float)):
        return "N"
    return {str: "S", bytes: "B", dict: "M"}.get(type(value), "L")


def _attr(item: Item, name: str) -> Any:
    return item.get(name, _ABSENT)


def _map_attr(item: Item, name: str, key: str) -> Any:
    holder = item.get(name)
    return holder.get(key, _ABSENT) if isinstance(holder, dict) else _ABSENT


def _equal(stored: Any, operand: Any) -> bool:
    """`a = :v`: false when `a` is missing or of another type."""
    operand = _stored(operand)
    return stored is not _ABSENT and _kind(stored) == _kind(operand) and stored == operand


def _less(stored: Any, operand: Any) -> bool:
    """`a < :v`: only numbers with numbers and strings with strings; false when `a` is missing."""
    operand = _stored(operand)
    if stored is _ABSENT or _kind(stored) != _kind(operand) or _kind(stored) not in ("N", "S"):
        return False
    return stored < operand


def _status_in(item: Item, statuses: Iterable[PostStatus]) -> bool:
    return any(_equal(_attr(item, "status"), str(status)) for status in statuses)


def _refuse_empty_in(values: list[Any]) -> None:
    if not values:  # DynamoDB cannot parse "status IN ()"
        raise PersistenceError("DynamoDB update_item failed: ValidationException")


def _required(item: Item, name: str) -> Any:
    if name not in item:  # `SET x = name` with no such attribute
        raise PersistenceError("DynamoDB update_item failed: ValidationException")
    return item[name]


def _set_in_map(item: Item, name: str, key: str, value: Any) -> None:
    if not isinstance(item.get(name), dict):  # `SET name.key = …` needs the map to exist
        raise PersistenceError("DynamoDB update_item failed: ValidationException")
    item[name][key] = _stored(value)


def _remove_from_map(item: Item, name: str, key: str) -> None:
    if not isinstance(item.get(name), dict):  # `REMOVE name.key` needs the map to exist too
        raise PersistenceError("DynamoDB update_item failed: ValidationException")
    item[name].pop(key, None)


# ---- the publish queue ----------------------------------------------------------------------------
SQS_BATCH_SIZE = 10
SQS_MAX_BATCH_CHARACTERS = 1_048_576


@dataclass(frozen=True)
class ReceivedMessage:
    message_id: str
    receipt_handle: str
    body: str
    receive_count: int

    def json_body(self) -> dict[str, Any]:
        return json.loads(self.body)

    def lambda_record(self, queue_arn: str = "arn:aws:sqs:ap-south-1:000000000000:prachar-memory-publish",
                      ) -> dict[str, Any]:
        """The record an SQS-triggered Lambda would get for this message."""
        return {"messageId": self.message_id, "receiptHandle": self.receipt_handle, "body": self.body,
                "attributes": {"ApproximateReceiveCount": str(self.receive_count)}, "messageAttributes": {},
                "md5OfBody": hashlib.md5(self.body.encode("utf-8")).hexdigest(), "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn, "awsRegion": queue_arn.split(":")[3]}


@dataclass
class _Message:
    message_id: str
    body: str
    visible_at: datetime
    receive_count: int = 0
    receipt_handle: str | None = None


class InMemoryQueue:
    """PublishQueue's contract (send in batches of ten, return what was not taken; delay a received message) and
    SQS's behaviour for tests: receive hides a message for the visibility timeout on `clock`, counts receives,
    and after `max_receive_count` receives moves it to `dead_letters`. `refuse` picks messages to report failed;
    `available = False` fails every send, as an SQS outage would."""

    def __init__(self, clock: Clock | None = None, *, visibility_timeout_seconds: int = 30,
                 max_receive_count: int | None = None,
                 refuse: Callable[[dict[str, Any]], bool] | None = None) -> None:
        self._clock = clock or SystemClock()
        self._visibility = timedelta(seconds=visibility_timeout_seconds)
        self._max_receive_count = max_receive_count
        self._refuse = refuse
        self._messages: dict[str, _Message] = {}
        self._lock = threading.RLock()
        self.available = True
        self.batch_sizes: list[int] = []
        self.dead_letters: list[ReceivedMessage] = []

    def send(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        failed: list[dict[str, Any]] = []
        for start in range(0, len(messages), SQS_BATCH_SIZE):
            batch = messages[start:start + SQS_BATCH_SIZE]
            bodies = [json.dumps(message) for message in batch]
            with self._lock:
                if not self.available or sum(map(len, bodies)) > SQS_MAX_BATCH_CHARACTERS:
                    raise PersistenceError("SQS send_message_batch failed")
                self.batch_sizes.append(len(batch))
                now = self._clock.now()
                for message, body in zip(batch, bodies, strict=True):
                    if self._refuse is not None and self._refuse(message):
                        failed.append(message)
                        continue
                    message_id = str(uuid.uuid4())
                    self._messages[message_id] = _Message(message_id, body, visible_at=now)
        return failed

    def delay(self, receipt_handle: str, seconds: int) -> None:
        with self._lock:
            message = self._in_flight(receipt_handle)
            seconds = max(0, min(int(seconds), MAX_DELAY_SECONDS))
            message.visible_at = self._clock.now() + timedelta(seconds=seconds)

    # ---- what SQS and Lambda do, for tests ------------------------------------------------------
    def receive(self, max_messages: int = SQS_BATCH_SIZE) -> list[ReceivedMessage]:
        now = self._clock.now()
        received: list[ReceivedMessage] = []
        with self._lock:
            for message in list(self._messages.values()):
                if len(received) >= max_messages:
                    break
                if message.visible_at > now:
                    continue
                if self._max_receive_count is not None and message.receive_count >= self._max_receive_count:
                    del self._messages[message.message_id]
                    self.dead_letters.append(ReceivedMessage(message.message_id, "", message.body,
                                                             message.receive_count))
                    continue
                message.receive_count += 1
                message.receipt_handle = uuid.uuid4().hex
                message.visible_at = now + self._visibility
                received.append(ReceivedMessage(message.message_id, message.receipt_handle, message.body,
                                                message.receive_count))
        return received

    def delete(self, receipt_handle: str) -> bool:
        """Gone for good; False for a handle that is not the message's latest (SQS then keeps the message)."""
        with self._lock:
            for message in self._messages.values():
                if message.receipt_handle == receipt_handle:
                    del self._messages[message.message_id]
                    return True
        return False

    def redeliver(self, receipt_handle: str | None = None) -> int:
        """Make one received message (or every one) visible again now, as if its visibility timeout ran out
        while its worker was still busy: the at-least-once delivery a consumer must survive."""
        now = self._clock.now()
        with self._lock:
            hidden = [m for m in self._messages.values() if m.receipt_handle is not None and m.visible_at > now
                      and receipt_handle in (None, m.receipt_handle)]
            for message in hidden:
                message.visible_at = now
        return len(hidden)

    def visible_count(self) -> int:
        now = self._clock.now()
        with self._lock:
            return sum(1 for m in self._messages.values() if m.visible_at <= now)

    def __len__(self) -> int:
        with self._lock:
            return len(self._messages)

    def _in_flight(self, receipt_handle: str) -> _Message:
        for message in self._messages.values():
            if message.receipt_handle == receipt_handle:
                return message
        raise LookupError(f"no message in flight has receipt handle {receipt_handle}")  # SQS: ReceiptHandleIsInvalid


# ---- the content bucket ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Object:
    body: bytes
    metadata: dict[str, str]
    content_type: str


class InMemoryBucket:
    """ContentBucket's contract, plus put/get/keys for tests to play the uploader and read the reports."""

    def __init__(self, name: str = "prachar-memory-content") -> None:
        self.name = name
        self._objects: dict[str, _Object] = {}
        self._lock = threading.Lock()

    def read(self, key: str, max_bytes: int, *, etag: str | None = None) -> Upload | None:
        with self._lock:
            stored = self._objects.get(key)
        if stored is None:
            return None
        if etag and etag != hashlib.md5(stored.body).hexdigest():
            raise Superseded(key)
        if len(stored.body) > max_bytes:
            raise TooLarge(len(stored.body))
        return Upload(key=key, body=stored.body, size=len(stored.body), etag=hashlib.md5(stored.body).hexdigest(),
                      uploaded_by=stored.metadata.get("uploaded-by"))

    def size_of(self, key: str) -> int | None:
        with self._lock:
            stored = self._objects.get(key)
        return len(stored.body) if stored is not None else None

    def write_error_report(self, key: str, report: dict[str, Any]) -> str:
        report_key = error_report_key(key)
        self.put(report_key, json.dumps(report, ensure_ascii=False, indent=2).encode("utf-8"),
                 content_type="application/json; charset=utf-8")
        return report_key

    def clear_error_report(self, key: str) -> None:
        self.delete(error_report_key(key))

    def write_report(self, key: str, body: bytes, content_type: str) -> None:
        self.put(key, body, content_type=content_type)

    def media_url(self, key: str, expires_seconds: int = 3600) -> str:
        return f"https://{self.name}.s3.amazonaws.com/{quote(key)}?X-Amz-Expires={expires_seconds}"

    # ---- what an uploader and a reader of reports do, for tests -----------------------------------
    def put(self, key: str, body: bytes | str, *, uploaded_by: str | None = None,
            content_type: str = "binary/octet-stream") -> None:
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        metadata = {"uploaded-by": uploaded_by} if uploaded_by else {}
        with self._lock:
            self._objects[key] = _Object(data, metadata, content_type)

    def get(self, key: str) -> bytes | None:
        with self._lock:
            stored = self._objects.get(key)
        return stored.body if stored is not None else None

    def delete(self, key: str) -> None:
        with self._lock:
            self._objects.pop(key, None)

    def keys(self, prefix: str = "") -> list[str]:
        with self._lock:
            return sorted(key for key in self._objects if key.startswith(prefix))


# ---- account secrets ------------------------------------------------------------------------------
class InMemorySecrets:
    """SecretStore's contract: the token stored under a name, or Powertools' GetParameterError as SSM would."""

    def __init__(self, tokens: Mapping[str, str] | None = None) -> None:
        self._tokens = dict(tokens or {})
        self._lock = threading.Lock()

    def put(self, name: str, token: str) -> None:
        with self._lock:
            self._tokens[name] = token

    def token(self, name: str) -> str:
        with self._lock:
            found = self._tokens.get(name)
        if found is None:
            from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

            raise GetParameterError(f"no parameter or secret named {name}")
        return found
