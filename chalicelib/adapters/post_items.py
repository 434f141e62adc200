"""Posts and contents as table items, and back: the one layout the DynamoDB store and its in-memory twin share."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.domain.post import Post, PostStatus
from chalicelib.domain.records import ContentRecord
from chalicelib.domain.times import from_iso, to_iso

WAKE_PARTITION = "WAKE"  # the sparse index of posts the clock must look at (wake_pk, wake_at)
# What a re-upload never overwrites on a post: what went out, and how often it was tried.
KEPT_ON_PLACE = frozenset({"pk", "sk", "deliveries", "delivery_revisions", "attempts", "claim", "platform_post_id",
                           "published_at", "reason", "first_claimed_at"})

Item = dict[str, Any]


def post_key(content_id: str, account_id: str) -> tuple[str, str]:
    return f"CONTENT#{content_id}", f"POST#{account_id}"


def post_item(post: Post) -> Item:
    pk, sk = post_key(post.content_id, post.account_id)
    item = {
        "pk": pk, "sk": sk, "kind": "post",
        "content_id": post.content_id, "account_id": post.account_id, "platform": post.platform,
        "scope": post.scope, "status": str(post.status), "due_at": to_iso(post.due_at),
        "revision": post.revision, "payload": json.dumps(post.payload, ensure_ascii=False),
        "attempts": post.attempts, "claim": post.claim, "platform_post_id": post.platform_post_id,
        "published_at": to_iso(post.published_at) if post.published_at else None, "reason": post.reason,
        "deliveries": post.deliveries, "delivery_revisions": post.delivery_revisions,
        "scope_pk": f"SCOPE#{post.scope}", "scope_sk": f"{to_iso(post.due_at)}#{post.content_id}#{post.account_id}",
    }
    if post.wake_at is not None:
        item.update(wake_pk=WAKE_PARTITION, wake_at=to_iso(post.wake_at))
    if post.doubts:
        item["doubts"] = json.dumps(post.doubts, ensure_ascii=False)
    return item


def post_from(item: Item) -> Post:
    def moment(name: str) -> Any:
        return from_iso(item[name]) if item.get(name) else None

    return Post(
        content_id=item["content_id"], account_id=item["account_id"], platform=item["platform"],
        scope=item["scope"], status=PostStatus(item["status"]), due_at=from_iso(item["due_at"]),
        revision=int(item["revision"]), payload=json.loads(item["payload"]), attempts=int(item.get("attempts", 0)),
        wake_at=moment("wake_at"), claim=item.get("claim"), platform_post_id=item.get("platform_post_id"),
        published_at=moment("published_at"), reason=item.get("reason"), deliveries=dict(item.get("deliveries") or {}),
        delivery_revisions={k: int(v) for k, v in (item.get("delivery_revisions") or {}).items()},
        check_first=bool(item.get("check_first", False)), pending_delivery=item.get("pending_delivery"),
        ambiguous_since=moment("ambiguous_since"), ambiguous_until=moment("ambiguous_until"),
        silence_cleared=bool(item.get("silence_cleared", False)),
        held_by_silence=bool(item.get("held_by_silence", False)), claimed_at=moment("claimed_at"),
        first_claimed_at=moment("first_claimed_at"), doubts=json.loads(item["doubts"]) if item.get("doubts") else [])


def content_from(item: Item) -> ContentRecord:
    return ContentRecord(
        content_id=item["content_id"], key=item["key"], scope=item["scope"], title=item["title"],
        revision=int(item["revision"]), sha256=item["sha256"], manifest=json.loads(item["manifest"]),
        uploaded_at=from_iso(item["uploaded_at"]), series=item.get("series"), uploaded_by=item.get("uploaded_by"),
        approval=json.loads(item["approval"]) if item.get("approval") else None)
