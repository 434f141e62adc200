"""What the HTTP API shows: a post with its per-account status, and the activity log."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from chalicelib.adapters.clock import Clock
from chalicelib.adapters.store import Store
from chalicelib.domain.times import local_date, to_iso

MAX_ACTIVITY = 500


@dataclass
class Queries:
    store: Store
    clock: Clock

    def post(self, content_id: str) -> dict[str, Any] | None:
        content, posts = self.store.content_with_posts(content_id)
        if content is None:
            return None
        return {
            "id": content.content_id, "key": content.key, "scope": content.scope, "title": content.title,
            "revision": content.revision, "series": content.series, "uploaded_at": to_iso(content.uploaded_at),
            "manifest": content.manifest,
            "accounts": [{
                "account_id": p.account_id, "platform": p.platform, "status": str(p.status),
                "due_at": to_iso(p.due_at), "published_at": to_iso(p.published_at) if p.published_at else None,
                "platform_post_id": p.platform_post_id, "attempts": p.attempts, "reason": p.reason,
                "delivered": len(p.deliveries), "revision": p.revision,
            } for p in posts],
        }

    def posts(self, campaign: Any, scope: str, status: str | None, limit: int,
              visible: Collection[str]) -> dict[str, Any]:
        """Content of a scope and the scopes inside it that the caller may see, each with its accounts' statuses,
        by due time."""
        contents: dict[str, dict[str, Any]] = {}
        for inner in sorted(campaign.scopes):
            if scope not in campaign.enclosing(inner) or inner not in visible:
                continue
            for post in self.store.posts_in_scope(inner):
                if status and str(post.status) != status:
                    continue
                entry = contents.setdefault(post.content_id, {"id": post.content_id, "scope": post.scope,
                                                              "title": post.payload.get("title"),
                                                              "revision": post.revision,
                                                              "due_at": to_iso(post.due_at), "accounts": {}})
                entry["accounts"][post.account_id] = str(post.status)
        ordered = sorted(contents.values(), key=lambda c: (c["due_at"], c["id"]))
        return {"scope": scope, "status": status, "posts": ordered[:limit], "total": len(ordered)}

    def activity(self, day: date | None, scope: str | None, limit: int,
                 visible: Collection[str] | None) -> dict[str, Any]:
        """A day's activity (today by default), newest first: of a scope and the scopes under it, and only of the
        scopes the caller may see (`visible`; None: everything)."""
        day = day or local_date(self.clock.now())
        entries = self.store.activity_on(day, scope_prefix=scope, scopes=visible,
                                         limit=min(max(limit, 1), MAX_ACTIVITY))
        return {"date": day.isoformat(), "scope": scope, "entries": [e.to_dict() for e in entries]}


def account_rows(store: Store, campaign: Any, scopes: Collection[str]) -> list[dict[str, Any]]:
    """Each account of the given scopes with its health: healthy, throttled (until when) or unhealthy (why)."""
    rows = []
    accounts = [account for account in campaign.accounts if account.scope in scopes]
    states = store.account_states(account.id for account in accounts)  # in batch reads, not one by one
    for account in accounts:
        state = states[account.id]
        rows.append({"account_id": account.id, "platform": account.platform, "scope": account.scope,
                     "health": str(state.health), "until": to_iso(state.until) if state.until else None,
                     "reason": state.reason, "checked_at": to_iso(state.checked_at) if state.checked_at else None})
    return rows


def pauses_reaching(store: Store, campaign: Any, scopes: Collection[str]) -> list[dict[str, Any]]:
    """The pauses that stop a post of the given scopes: on one of them, or above them (a state pause)."""
    reaching = set(scopes) | {above for scope in scopes for above in campaign.enclosing(scope)}
    return [{"scope": scope, "by": item.get("by"), "reason": item.get("reason"), "since": item.get("since")}
            for scope, item in sorted(store.pauses().items()) if scope in reaching]
