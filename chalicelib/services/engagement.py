"""Engagement of the last 7 days' posts, collected on a schedule and kept on each post.

Facebook: reactions, comments and shares, 50 posts per Graph call. X: likes, reposts, replies, quotes and
impressions, 100 posts per GET /2/tweets. WhatsApp: sent, delivered and read, as the status webhooks counted them
(no call to Meta), copied onto the post. Per run, each account makes at most
MAX_READS_PER_ACCOUNT reads — well inside X's 15 reads per 15 minutes for GET /2/tweets and Graph's hourly
budget at a 6-hourly schedule — and an account that is throttled (until its reset) or unhealthy is not read at all
(its posts keep their last numbers). A post deleted on the page is marked gone and not asked for again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.clock import Clock
from chalicelib.adapters.secrets import SecretStore
from chalicelib.adapters.store import Store
from chalicelib.domain.account_state import AccountState
from chalicelib.domain.post import Post, PostStatus
from chalicelib.errors import PlatformError, PlatformObjectsGoneError, PlatformRateLimitedError
from chalicelib.services.activity import ActivityLog

# Only a type here: the Lambdas read the campaign as domain/stored_campaign.py's classes, without pydantic.
if TYPE_CHECKING:
    from chalicelib.domain.campaign import Account, Campaign

WINDOW = timedelta(days=7)
MAX_READS_PER_ACCOUNT = 3
BATCH = {"facebook": 50, "x": 100}


@dataclass
class Engagement:
    store: Store
    secrets: SecretStore
    platforms: dict[str, Any]
    activity: ActivityLog
    clock: Clock
    secret_name: Callable[[str], str]

    def collect(self, campaign: Campaign) -> dict[str, int]:
        """Posts whose numbers changed, per account."""
        now, updated = self.clock.now(), {}
        recent: dict[str, list[Post]] = {}
        for scope in sorted({a.scope for a in campaign.accounts}):  # one ranged read of the index per scope
            for post in self.store.posts_done_in_scope(scope, done_from=now - WINDOW, done_before=now):
                if post.status is PostStatus.PUBLISHED and not post.payload.get("system"):
                    recent.setdefault(post.account_id, []).append(post)
        reading = [a for a in campaign.accounts if recent.get(a.id)]
        # The WhatsApp posts' reach (counted as the status webhooks came: services/webhooks) and the other accounts'
        # states, each in batch reads rather than item by item.
        reach = self.store.reaches((p.content_id, p.account_id) for a in reading if a.platform == "whatsapp"
                                   for p in recent[a.id])
        states = self.store.account_states(a.id for a in reading if a.platform != "whatsapp")
        for account in reading:
            posts = recent[account.id]
            if account.platform == "whatsapp":
                counts = {p.post_id: reach.get((p.content_id, p.account_id), {}) for p in posts}
            else:
                counts = self._read(account, posts, states[account.id])
            updated[account.id] = sum(self.store.record_metrics(p.content_id, p.account_id, counts[p.post_id], now)
                                      for p in posts if counts.get(p.post_id) and counts[p.post_id] != p.metrics)
        return updated

    def _read(self, account: Account, posts: list[Post], state: AccountState) -> dict[str, dict[str, int]]:
        if state.blocks(self.clock.now()):
            return {}
        by_platform_id = {p.platform_post_id: p for p in posts if p.platform_post_id and p.gone_at is None}
        # Newest first: when an account has more posts than the reads allow, the fresh ones move most.
        waiting = sorted(by_platform_id, key=lambda i: by_platform_id[i].published_at, reverse=True)
        size, found = BATCH[account.platform], {}
        try:
            token = self.secrets.token(self.secret_name(account.secret))
            for _ in range(MAX_READS_PER_ACCOUNT):
                batch, waiting = waiting[:size], waiting[size:]
                if not batch:
                    break
                try:
                    found.update(self.platforms[account.platform].metrics(token, batch))
                except PlatformObjectsGoneError as exc:
                    # One post deleted on the page fails the whole read: stop asking for it, read the rest again.
                    self._gone(account, [by_platform_id[i] for i in exc.ids])
                    waiting = [i for i in batch if i not in exc.ids] + waiting
        except PlatformRateLimitedError as exc:
            self.activity.record("engagement.throttled", account.scope, f"{account.id}: engagement read stopped "
                                 f"by the platform's rate limit ({exc.message}); the next run reads again",
                                 level="warning", account_id=account.id)
        except (PlatformError, LookupError, ValueError) as exc:
            self.activity.record("engagement.failed", account.scope, f"{account.id}: engagement could not be read "
                                 f"({getattr(exc, 'message', type(exc).__name__)})", level="warning",
                                 account_id=account.id)
        return {by_platform_id[i].post_id: counts for i, counts in found.items() if i in by_platform_id}


    def _gone(self, account: Account, posts: list[Post]) -> None:
        now = self.clock.now()
        for post in posts:
            if self.store.mark_gone(post.content_id, post.account_id, now):
                self.activity.record("engagement.gone", post.scope, f"{account.id}: {post.platform_post_id} is no "
                                     f"longer on {account.platform} (deleted there?); its last numbers are kept — "
                                     f"{post.payload.get('title')}", level="warning", content_id=post.content_id,
                                     account_id=account.id)


def rolled_up(posts: list[Post]) -> list[dict[str, Any]]:
    """Per scope and platform, the sum of each metric over the posts that have numbers."""
    totals: dict[tuple[str, str], dict[str, int]] = {}
    for post in posts:
        if not post.metrics or post.payload.get("system"):
            continue
        row = totals.setdefault((post.scope, post.platform), {"posts": 0})
        row["posts"] += 1
        for name, value in post.metrics.items():
            row[name] = row.get(name, 0) + int(value)
    return [{"scope": scope, "platform": platform, **values} for (scope, platform), values in sorted(totals.items())]
