"""The publishing clock: every minute, move due posts to the queue — each exactly once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from chalicelib.adapters.clock import Clock
from chalicelib.adapters.publish_queue import PublishQueue
from chalicelib.adapters.store import Store
from chalicelib.domain.post import REQUEUE_AFTER, PostStatus, WakeAction, claim_expired, on_wake
from chalicelib.domain.times import from_iso, to_iso
from chalicelib.observability import MetricUnit, emit, logger
from chalicelib.services.activity import ActivityLog
from chalicelib.services.ambiguity import LOOKUP_PLATFORMS, abandoned, escalate

BATCH_LIMIT = 500


@dataclass
class DispatchResult:
    queued: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    send_failures: int = 0


@dataclass
class Dispatcher:
    store: Store
    queue: PublishQueue
    activity: ActivityLog
    clock: Clock

    def run(self, limit: int = BATCH_LIMIT) -> DispatchResult:
        now = self.clock.now()
        result = DispatchResult()
        messages = []
        lag = 0.0
        for content_id, account_id, status, wake_at in self.store.wake_due(now, limit):
            if status in (PostStatus.SCHEDULED, PostStatus.QUEUED):
                lag = max(lag, (now - from_iso(wake_at)).total_seconds())
            action = on_wake(status)
            post_id = f"{content_id}.{account_id}"
            if status is PostStatus.AMBIGUOUS and self._escalated(content_id, account_id, now, wake_at):
                result.escalated.append(post_id)
                continue
            # Every move is conditional on the wake time read: two clock runs (EventBridge may fire twice) or a
            # re-upload in between then cannot both act, so a post is never queued twice nor expired when new.
            if action is WakeAction.QUEUE and self.store.move_post(
                    content_id, account_id, expected=[status], status=PostStatus.QUEUED, now=now,
                    wake_at=now + REQUEUE_AFTER, fields={"queued_at": to_iso(now)}, expected_wake_at=wake_at):
                result.queued.append(post_id)
                messages.append({"content_id": content_id, "account_id": account_id})
            elif action is WakeAction.REQUEUE and self.store.move_post(
                    content_id, account_id, expected=[PostStatus.QUEUED], status=PostStatus.QUEUED, now=now,
                    wake_at=now + REQUEUE_AFTER, expected_wake_at=wake_at):
                result.requeued.append(post_id)
                messages.append({"content_id": content_id, "account_id": account_id})
            elif action is WakeAction.EXPIRE and self.store.move_post(
                    content_id, account_id, expected=[PostStatus.PENDING_APPROVAL], status=PostStatus.EXPIRED,
                    now=now, fields={"reason": "nobody approved it in time"}, expected_wake_at=wake_at):
                result.expired.append(post_id)
                post = self.store.post(content_id, account_id)
                self.activity.record("post.expired", post.scope if post else "unknown", f"{account_id}: expired — "
                                     "nobody approved it in time; upload it again to reschedule",
                                     level="warning", content_id=content_id, account_id=account_id)
            elif action is WakeAction.ABANDONED and self._abandoned(content_id, account_id, now):
                result.abandoned.append(post_id)
        # Every minute, 0 when nothing is late: the alarm on it also fires when the clock itself stops.
        emit("PublishingLag", lag, MetricUnit.Seconds)
        if messages:
            failed = self.queue.send(messages)
            result.send_failures = len(failed)
            if failed:
                logger.warning("some publish messages were not sent; the clock will resend them",
                               extra={"count": len(failed)})
        return result

    def _escalated(self, content_id: str, account_id: str, now: datetime, wake_at: str) -> bool:
        """An ambiguous post that cannot be looked up (WhatsApp) wakes only to alert a person, never to be re-sent."""
        post = self.store.post(content_id, account_id)
        return (post is not None and post.status is PostStatus.AMBIGUOUS and post.platform not in LOOKUP_PLATFORMS
                and escalate(self.store, self.activity, post, now, wake_at))

    def _abandoned(self, content_id: str, account_id: str, now: datetime) -> bool:
        post = self.store.post(content_id, account_id)
        return (post is not None and post.status is PostStatus.PUBLISHING and claim_expired(post, now)
                and abandoned(self.store, self.activity, post, now))
