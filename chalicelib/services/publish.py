"""Publish one post to its account — at most once, whatever SQS or Lambda redeliver."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.adapters.bucket import ContentBucket
from chalicelib.adapters.clock import Clock
from chalicelib.adapters.platforms.base import Delivery, Media, PlatformClient, PublishRequest
from chalicelib.adapters.secrets import SecretStore
from chalicelib.adapters.store import Store
from chalicelib.domain.campaign import Account, Campaign
from chalicelib.domain.post import CLAIM_TIMEOUT, REQUEUE_AFTER, Post, PostStatus
from chalicelib.domain.times import to_iso
from chalicelib.errors import PlatformAmbiguousError, PlatformError, PracharError
from chalicelib.services.activity import ActivityLog
from chalicelib.services.campaigns import CampaignSource

MAX_ATTEMPTS = 8


class RetryLater(PracharError):
    """A retryable failure: the record fails so SQS delivers it again later."""


@dataclass
class Publisher:
    store: Store
    bucket: ContentBucket
    campaigns: CampaignSource
    secrets: SecretStore
    platforms: dict[str, PlatformClient]
    activity: ActivityLog
    clock: Clock
    secret_name: Any  # Callable[[str], str]: the account's secret template → this stage's name

    def publish(self, message: dict[str, Any]) -> str:
        content_id, account_id = message["content_id"], message["account_id"]
        post = self.store.post(content_id, account_id)
        if post is None:
            return "missing"
        now = self.clock.now()
        if post.status is PostStatus.PUBLISHING:
            # Our visibility timeout outlasts a Lambda, so a claim we can see belongs to a worker that died.
            self._settle(post, post.claim, PostStatus.AMBIGUOUS, now,
                         "the publisher stopped mid-call; it may have gone out. Check before resending.",
                         level="warning")
            return "ambiguous"
        if post.status is not PostStatus.QUEUED:
            return f"skipped:{post.status}"  # a duplicate or stale message: the post has moved on
        campaign = self.campaigns.active()
        account = campaign.account(account_id) if campaign else None
        if account is None or campaign is None:
            self._settle(post, None, PostStatus.FAILED, now, f"account {account_id} is not in the active campaign",
                         expected=PostStatus.QUEUED)
            return "failed"
        claim = uuid.uuid4().hex
        if not self.store.move_post(content_id, account_id, expected=[PostStatus.QUEUED],
                                    status=PostStatus.PUBLISHING, now=now, wake_at=now + CLAIM_TIMEOUT,
                                    fields={"claim": claim}, increment_attempts=True):
            return "lost-race"
        post.attempts += 1
        return self._send(post, account, campaign, claim, now)

    def _send(self, post: Post, account: Account, campaign: Campaign, claim: str, now: datetime) -> str:
        client = self.platforms[post.platform]
        delivered = dict(post.deliveries)
        failures: dict[str, str] = {}
        try:
            token = self.secrets.token(self.secret_name(account.secret))
            media = [Media(self.bucket.media_url(m["key"]), m["content_type"]) for m in post.payload.get("media", [])]
        except Exception as exc:  # nothing was sent: give the post back to the queue, or give up in the end
            self._release(post, claim, now, f"could not prepare the call ({type(exc).__name__}; "
                          f"check the account's secret {self.secret_name(account.secret)})")
            return "failed"
        try:
            for delivery in deliveries_for(post, campaign):
                if delivery.key in delivered:
                    continue
                request = PublishRequest(target_id=account.target_id, token=token,
                                         text=delivery.text or post.payload.get("text"),
                                         link=post.payload.get("link"), media=media,
                                         template=post.payload.get("template"), recipient=delivery.recipient,
                                         reply_to=delivered.get(delivery.reply_to_key or ""))
                try:
                    platform_id = client.publish(request)
                except PlatformError as exc:
                    if exc.retryable or isinstance(exc, PlatformAmbiguousError) or delivery.recipient is None:
                        raise
                    failures[delivery.key] = exc.message  # one unreachable member does not stop the team kit
                    continue
                self.store.record_delivery(post.content_id, post.account_id, delivery.key, platform_id, claim)
                delivered[delivery.key] = platform_id
        except PlatformAmbiguousError as exc:
            self._settle(post, claim, PostStatus.AMBIGUOUS, now, f"{exc.message}; not re-sent until checked",
                         level="warning")
            return "ambiguous"
        except PlatformError as exc:
            if exc.retryable:
                self._release(post, claim, now, exc.message)
                return "failed"
            self._settle(post, claim, PostStatus.FAILED, now, f"{post.platform}: {exc.message}", level="error")
            return "failed"
        if not delivered:
            self._settle(post, claim, PostStatus.FAILED, now, "no recipient could be reached: "
                         + "; ".join(sorted(set(failures.values()))) if failures else "no recipients", level="error")
            return "failed"
        platform_post_id = delivered.get("page") or delivered.get("part-1") or f"{len(delivered)} message(s)"
        fields = {"platform_post_id": platform_post_id, "published_at": to_iso(now), "claim": None,
                  "reason": f"{len(failures)} recipient(s) unreachable" if failures else None}
        self.store.move_post(post.content_id, post.account_id, expected=[PostStatus.PUBLISHING], claim=claim,
                             status=PostStatus.PUBLISHED, now=now, fields=fields)
        summary = (f"to {len(delivered)} team member(s)" if post.platform == "whatsapp"
                   else f"as {platform_post_id}")
        self.activity.record("post.published", post.scope, f"{post.account_id}: published {summary} — "
                             f"{post.payload.get('title')}", content_id=post.content_id, account_id=post.account_id,
                             details={"platform_post_id": platform_post_id, "attempts": post.attempts,
                                      "unreachable": len(failures)})
        return "published"

    def _release(self, post: Post, claim: str, now: datetime, reason: str) -> None:
        """Nothing went out: queue the post again and raise RetryLater so SQS redelivers — or, after
        MAX_ATTEMPTS, fail it for good and return."""
        if post.attempts >= MAX_ATTEMPTS:
            self._settle(post, claim, PostStatus.FAILED, now, f"gave up after {post.attempts} attempts: {reason}")
            return
        self.store.move_post(post.content_id, post.account_id, expected=[PostStatus.PUBLISHING], claim=claim,
                             status=PostStatus.QUEUED, now=now, wake_at=now + REQUEUE_AFTER,
                             fields={"claim": None, "reason": f"attempt {post.attempts}: {reason}"})
        self.activity.record("post.retry", post.scope, f"{post.account_id}: {reason}; will retry "
                             f"(attempt {post.attempts} of {MAX_ATTEMPTS})", level="warning",
                             content_id=post.content_id, account_id=post.account_id)
        raise RetryLater(reason)

    def _settle(self, post: Post, claim: str | None, status: PostStatus, now: datetime, reason: str, *,
                level: str = "error", expected: PostStatus = PostStatus.PUBLISHING) -> None:
        if self.store.move_post(post.content_id, post.account_id, expected=[expected], claim=claim, status=status,
                                now=now, fields={"reason": reason, "claim": None}):
            self.activity.record(f"post.{status}", post.scope, f"{post.account_id}: {status} — {reason}",
                                 level=level, content_id=post.content_id, account_id=post.account_id)


def deliveries_for(post: Post, campaign: Campaign) -> list[Delivery]:
    """Facebook: one call. X: one per part of the thread, each replying to the one before.
    WhatsApp 'team': one message per team member with a phone number."""
    thread = post.payload.get("thread") or []
    if post.platform == "x" and len(thread) > 1:
        return [Delivery(f"part-{i}", text=part, reply_to_key=f"part-{i - 1}" if i > 1 else None)
                for i, part in enumerate(thread, start=1)]
    if post.platform != "whatsapp":
        return [Delivery("page")]
    return [Delivery(member.id, member.phone) for member in campaign.team_members(post.scope) if member.phone]
