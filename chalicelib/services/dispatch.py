"""The publishing clock: every minute, move due posts to the queue — each exactly once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from chalicelib.adapters.clock import Clock
from chalicelib.adapters.publish_queue import PublishQueue
from chalicelib.adapters.store import Store
from chalicelib.domain.post import REQUEUE_AFTER, Post, PostStatus, WakeAction, claim_expired, on_wake
from chalicelib.domain.post_states import HELD
from chalicelib.domain.times import to_iso
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
        out_of_a_hold = []
        for content_id, account_id, status, wake_at in self.store.wake_due(now, limit):
            action = on_wake(status)
            post_id = f"{content_id}.{account_id}"
            if status is PostStatus.AMBIGUOUS and self._escalated(content_id, account_id, now, wake_at):
                result.escalated.append(post_id)
                continue
            # Every move is conditional on the wake time read: two clock runs (EventBridge may fire twice) or a
            # re-upload in between then cannot both act, so a post is never queued twice nor expired when new.
            if action is WakeAction.QUEUE and self._queue(content_id, account_id, status, wake_at, now):
                result.queued.append(post_id)
                messages.append({"content_id": content_id, "account_id": account_id})
                if status in HELD:
                    out_of_a_hold.append((content_id, account_id))
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
        if messages:
            failed = self.queue.send(messages)
            result.send_failures = len(failed)
            if failed:
                logger.warning("some publish messages were not sent; the clock will resend them",
                               extra={"count": len(failed)})
        self._report_lag(now, out_of_a_hold)
        return result

    def _report_lag(self, now: datetime, out_of_a_hold: list[tuple[str, str]]) -> None:
        """Every minute, how long ago the oldest post still on its way out was due (0 when none is late) — from its
        due time, not its wake time, which each re-queue moves on. A post this run queued out of a hold is passed
        over: a re-check of a hold that still stands (a pause, every 5 minutes) sends it straight back, and one whose
        hold is over is being sent now; if its message is lost, the next minute's run counts it. Without a figure
        the alarm counts the minute as late, as it does when the clock itself stops; the run's own work is done
        either way."""
        try:
            oldest = self.store.oldest_due_on_its_way(now, out_of_a_hold)
        except Exception as exc:
            logger.warning("could not read how late publishing is", extra={"error": type(exc).__name__})
            return
        emit("PublishingLag", max((now - oldest).total_seconds(), 0.0) if oldest else 0.0, MetricUnit.Seconds)

    def queue_now(self, posts: Iterable[Post]) -> list[str]:
        """Posts placed or approved a moment ago that are due already ("publish now"): queued at once, as the next
        minute's clock run would — by the same move, conditional on the wake time they were written with, so the
        clock and this never both queue one. Never raises: the upload or the approval stands whatever happens here,
        and a post whose message SQS did not take is handed back to the clock's next run."""
        now = self.clock.now()
        moved: list[Post] = []
        try:
            for p in posts:
                if (p.status is PostStatus.SCHEDULED and p.wake_at is not None and p.wake_at <= now
                        and self._queue(p.content_id, p.account_id, p.status, to_iso(p.wake_at), now)):
                    moved.append(p)
        except Exception as exc:  # the ones not moved are still due: the clock's next run queues them
            logger.warning("could not queue due posts at once; the publishing clock will",
                           extra={"error": type(exc).__name__})
        return self._send_now(moved, now)

    def _send_now(self, moved: list[Post], now: datetime) -> list[str]:
        messages = [{"content_id": p.content_id, "account_id": p.account_id} for p in moved]
        try:
            unsent = self.queue.send(messages) if messages else []
        except Exception as exc:
            logger.warning("could not send the publish messages; the publishing clock will",
                           extra={"error": type(exc).__name__})
            unsent = messages
        for message in unsent:
            # Queued, but with no message: due for the clock's next run rather than its re-send REQUEUE_AFTER later
            # (the "requeue" move, conditional on the wake time just written, so a run in between is not undone).
            try:
                self.store.move_post(message["content_id"], message["account_id"], expected=[PostStatus.QUEUED],
                                     status=PostStatus.QUEUED, now=now, wake_at=now,
                                     expected_wake_at=to_iso(now + REQUEUE_AFTER))
            except Exception:  # then the clock re-sends it REQUEUE_AFTER later, as for any lost message
                logger.warning("a queued post without its message waits for the clock's re-send",
                               extra={"content_id": message["content_id"], "account_id": message["account_id"]})
        sent = [m for m in messages if m not in unsent]
        return [f"{m['content_id']}.{m['account_id']}" for m in sent]

    def _queue(self, content_id: str, account_id: str, status: PostStatus, wake_at: str, now: datetime) -> bool:
        return self.store.move_post(content_id, account_id, expected=[status], status=PostStatus.QUEUED, now=now,
                                    wake_at=now + REQUEUE_AFTER, fields={"queued_at": to_iso(now)},
                                    expected_wake_at=wake_at)

    def _escalated(self, content_id: str, account_id: str, now: datetime, wake_at: str) -> bool:
        """An ambiguous post that cannot be looked up (WhatsApp) wakes only to alert a person, never to be re-sent."""
        post = self.store.post(content_id, account_id)
        return (post is not None and post.status is PostStatus.AMBIGUOUS and post.platform not in LOOKUP_PLATFORMS
                and escalate(self.store, self.activity, post, now, wake_at))

    def _abandoned(self, content_id: str, account_id: str, now: datetime) -> bool:
        post = self.store.post(content_id, account_id)
        return (post is not None and post.status is PostStatus.PUBLISHING and claim_expired(post, now)
                and abandoned(self.store, self.activity, post, now))
