"""Records as table items, and back: the one layout the DynamoDB store and its in-memory twin share."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from chalicelib.domain.account_state import AccountState, Health
from chalicelib.domain.post import Post, PostStatus
from chalicelib.domain.post_states import on_its_way
from chalicelib.domain.records import ActiveCampaign, ActivityEntry, ContentRecord
from chalicelib.domain.times import from_iso, local_date, to_iso

WAKE_PARTITION = "WAKE"  # the sparse index of posts the clock must look at (wake_pk, wake_at)
ON_ITS_WAY_PARTITION = "ON_ITS_WAY"  # the sparse index of posts on their way out, by due time (way_pk, scope_sk)
# What a re-upload never overwrites on a post: what went out, and how often it was tried.
KEPT_ON_PLACE = frozenset({"pk", "sk", "deliveries", "delivery_revisions", "attempts", "claim", "platform_post_id",
                           "published_at", "reason"})

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
    if on_its_way(post.status, wakes=post.wake_at is not None):
        item["way_pk"] = ON_ITS_WAY_PARTITION
    if post.doubts:
        item["doubts"] = json.dumps(post.doubts, ensure_ascii=False)
    return item


def due_from_scope_key(scope_sk: str) -> datetime:
    """The due time a by_scope / on_its_way index key begins with."""
    return from_iso(scope_sk.split("#", 1)[0])


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
        held_by_silence=bool(item.get("held_by_silence", False)), held=item.get("held"),
        claimed_at=moment("claimed_at"),
        doubts=json.loads(item["doubts"]) if item.get("doubts") else [],
        metrics={k: int(v) for k, v in (item.get("metrics") or {}).items()}, metrics_at=moment("metrics_at"),
        gone_at=moment("gone_at"), done_at=moment("done_at"))


def content_from(item: Item) -> ContentRecord:
    return ContentRecord(
        content_id=item["content_id"], key=item["key"], scope=item["scope"], title=item["title"],
        revision=int(item["revision"]), sha256=item["sha256"], manifest=json.loads(item["manifest"]),
        uploaded_at=from_iso(item["uploaded_at"]), series=item.get("series"), uploaded_by=item.get("uploaded_by"),
        approval=json.loads(item["approval"]) if item.get("approval") else None, upload=item.get("upload"))


def campaign_item(campaign: ActiveCampaign) -> Item:
    return {"pk": "CAMPAIGN", "sk": "ACTIVE", "document": json.dumps(campaign.document), "version": campaign.version,
            "key": campaign.key, "activated_at": to_iso(campaign.activated_at)}


def campaign_from(item: Item) -> ActiveCampaign:
    return ActiveCampaign(document=json.loads(item["document"]), version=item["version"], key=item["key"],
                          activated_at=from_iso(item["activated_at"]))


def content_item(record: ContentRecord) -> Item:
    return {
        "pk": f"CONTENT#{record.content_id}", "sk": "#CONTENT", "kind": "content",
        "content_id": record.content_id, "key": record.key, "scope": record.scope, "title": record.title,
        "revision": record.revision, "sha256": record.sha256, "manifest": json.dumps(record.manifest),
        "uploaded_at": to_iso(record.uploaded_at), "series": record.series, "uploaded_by": record.uploaded_by,
        "approval": json.dumps(record.approval) if record.approval else None, "upload": record.upload,
    }


def account_state_from(account_id: str, item: Item | None) -> AccountState:
    if item is None:
        return AccountState(account_id)
    return AccountState(account_id, Health(item["health"]), from_iso(item["until"]) if item.get("until") else None,
                        item.get("reason"), from_iso(item["checked_at"]) if item.get("checked_at") else None)


def activity_item(entry: ActivityEntry, entry_id: str) -> Item:
    return {"pk": f"ACTIVITY#{local_date(entry.at).isoformat()}", "sk": entry_id, "kind": "activity",
            "at": to_iso(entry.at), "event": entry.kind, "level": entry.level, "scope": entry.scope,
            "message": entry.message, "content_id": entry.content_id, "account_id": entry.account_id,
            "key": entry.key, "details": json.dumps(entry.details) if entry.details else None}


def activity_from(item: Item) -> ActivityEntry:
    return ActivityEntry(at=from_iso(item["at"]), kind=item["event"], scope=item["scope"], message=item["message"],
                         level=item.get("level", "info"), content_id=item.get("content_id"),
                         account_id=item.get("account_id"), key=item.get("key"),
                         details=json.loads(item["details"]) if item.get("details") else None, entry_id=item["sk"])
