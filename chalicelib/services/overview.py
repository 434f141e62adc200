"""The dashboard's one read: everything a signed-in member may see of a scope, today and the next 7 days."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.clock import Clock
from chalicelib.adapters.store import Store
from chalicelib.domain import overview
from chalicelib.domain.access import Viewer
from chalicelib.domain.approval import refusal
from chalicelib.domain.post import Post, PostStatus
from chalicelib.domain.times import IST, local_date, to_iso
from chalicelib.services.engagement import WINDOW as ENGAGEMENT
from chalicelib.services.engagement import rolled_up
from chalicelib.services.queries import account_rows, pauses_reaching

# Only a type here: the Lambdas read the campaign as domain/stored_campaign.py's classes, without pydantic.
if TYPE_CHECKING:
    from chalicelib.domain.campaign import Campaign

DAYS_AHEAD = 8          # today and the next 7
CHART_DAYS_BACK = 7
UPLOAD_DAYS_BACK = 7
MAX_QUEUE = 100


@dataclass
class Overview:
    store: Store
    clock: Clock

    def of(self, campaign: Campaign, viewer: Viewer, scope: str) -> dict[str, Any]:
        now = self.clock.now()
        today = local_date(now)
        scopes = sorted(s for s in campaign.scopes if scope in campaign.enclosing(s) and viewer.may_see(s))
        # The system's own alerts to coordinators are messages, not campaign posts: they count nowhere here.
        # Posts due from a week ago on (the charts, everything ahead), and those that ended in the last week however
        # late after they were due (failures, engagement).
        since = datetime.combine(today - timedelta(days=CHART_DAYS_BACK), time.min, tzinfo=IST)
        posts = {s: [p for p in self.store.posts_in_scope(s, due_from=since) if not p.payload.get("system")]
                 for s in scopes}
        every = [p for ps in posts.values() for p in ps]
        seen = {p.post_id for p in every}
        ended = [p for s in scopes
                 for p in self.store.posts_done_in_scope(s, done_from=now - ENGAGEMENT, done_before=now)
                 if p.post_id not in seen and not p.payload.get("system")]
        days = overview.days_from(today, DAYS_AHEAD)
        chart_days = overview.days_from(today - timedelta(days=CHART_DAYS_BACK), CHART_DAYS_BACK + DAYS_AHEAD)
        return {
            "generated_at": to_iso(now), "today": today.isoformat(), "scope": scope,
            "viewer": {"member": viewer.member.id, "name": viewer.member.name, "role": viewer.member.role,
                       "team_scope": viewer.team_scope},
            "scopes": [{"scope": s, "days": overview.by_day(posts[s], days)} for s in scopes],
            "totals": overview.by_day(every, days),
            "coverage": overview.coverage_json(overview.coverage(campaign, posts, scopes, today)),
            "approvals": self._queue(campaign, viewer, every),
            "silences": overview.silences(campaign, scopes, now),
            "pauses": pauses_reaching(self.store, campaign, scopes),
            "accounts": [a for a in account_rows(self.store, campaign, scopes) if a["health"] != "healthy"],
            "failures": overview.failures(every + ended),
            "engagement": rolled_up([p for p in every + ended if p.status is PostStatus.PUBLISHED and p.published_at
                                     and now - p.published_at <= ENGAGEMENT]),
            "charts": {
                "per_constituency": overview.per_day_series(posts, chart_days, "scope"),
                "per_platform": overview.per_day_series(posts, chart_days, "platform"),
                "uploads_per_member": self._uploads_per_member(campaign, scopes, today),
            },
        }

    def _queue(self, campaign: Campaign, viewer: Viewer, posts: list[Post]) -> list[dict[str, Any]]:
        """Content waiting for sign-off, soonest first, and whether this member may decide it."""
        waiting: dict[str, list[Post]] = {}
        for post in posts:
            if post.status is PostStatus.PENDING_APPROVAL:
                waiting.setdefault(post.content_id, []).append(post)
        queue = []
        for content_id, pending in sorted(waiting.items(), key=lambda item: min(p.due_at for p in item[1])):
            content = self.store.content(content_id)
            if content is None:
                continue
            why_not = refusal(viewer.member, content.scope, campaign, content.manifest, content.uploaded_by)
            queue.append({"id": content_id, "scope": content.scope, "title": content.title, "key": content.key,
                          "revision": content.revision, "text": content.manifest.get("text"),
                          "uploaded_by": content.uploaded_by, "due_at": to_iso(min(p.due_at for p in pending)),
                          "accounts": sorted(p.account_id for p in pending),
                          # What each account would publish, as approved: its own text (an override, a thread),
                          # link, media and template, so nobody approves wording they did not see.
                          "wording": [_wording(p) for p in sorted(pending, key=lambda p: p.account_id)],
                          "may_decide": why_not is None, "why_not": why_not})
            if len(queue) >= MAX_QUEUE:
                break
        return queue

    def _uploads_per_member(self, campaign: Campaign, scopes: list[str], today: Any) -> list[dict[str, Any]]:
        """Who is carrying the load: accepted uploads of the last 7 days by member (by team where the config names
        no principals, so uploads are not attributed to a person)."""
        counts: Counter = Counter()
        for back in range(UPLOAD_DAYS_BACK):
            for entry in self.store.activity_on(today - timedelta(days=back), scopes=scopes, limit=10_000):
                if entry.kind in ("upload.accepted", "upload.replaced"):
                    member = (entry.details or {}).get("uploaded_by")
                    counts[member or f"{campaign.team_for(entry.scope)} (team)"] += 1
        names = {m.id: m.name for t in campaign.teams for m in t.members}
        return [{"member": who, "name": names.get(who, who), "uploads": n}
                for who, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def _wording(post: Post) -> dict[str, Any]:
    payload = post.payload
    return {"account_id": post.account_id, "platform": post.platform, "text": payload.get("text"),
            "thread": payload.get("thread") if len(payload.get("thread") or []) > 1 else None,
            "link": payload.get("link"),
            "media": [m.get("key", "").rsplit("/", 1)[-1] for m in payload.get("media") or []],
            "template": payload.get("template")}
