"""Marking a post whose last call may have landed: `ambiguous`, and what will settle it."""

from __future__ import annotations

from datetime import datetime

from chalicelib.adapters.store import Store
from chalicelib.domain.post import CHECK_AMBIGUOUS_AFTER, WHATSAPP_STATUS_WAIT, Post, PostStatus
from chalicelib.domain.times import to_iso
from chalicelib.services.activity import ActivityLog

LOOKUP_PLATFORMS = ("facebook", "x")  # whose posts can be looked up after an ambiguous call


def mark_ambiguous(store: Store, activity: ActivityLog, post: Post, claim: str | None, now: datetime, reason: str,
                   *, can_look: bool, pending: str | None = None) -> bool:
    """Facebook and X: look on the platform in 2 minutes, before anything is re-sent. WhatsApp: wait for
    the status webhook of the message in flight (`pending`); without one, a person decides."""
    can_look = can_look and post.platform in LOOKUP_PLATFORMS
    wake = now + CHECK_AMBIGUOUS_AFTER if can_look else None
    if wake:
        then = "the platform is checked before anything is re-sent"
    elif post.platform == "whatsapp" and pending:
        # The clock wakes it once more, to alert a coordinator if no status came (see escalate).
        wake = now + WHATSAPP_STATUS_WAIT
        then = (f"waiting for WhatsApp's status webhook for {pending}; without one within "
                f"{WHATSAPP_STATUS_WAIT.seconds // 60} min, a coordinator decides")
    else:
        then = "check the account and decide: it is not re-sent automatically"
    moved = store.move_post(post.content_id, post.account_id, expected=[PostStatus.PUBLISHING], claim=claim,
                            status=PostStatus.AMBIGUOUS, now=now, wake_at=wake,
                            fields={"claim": None, "check_first": True, "pending_delivery": pending,
                                    "ambiguous_since": to_iso(post.ambiguous_since or post.claimed_at or now),
                                    "ambiguous_until": to_iso(now),
                                    "reason": f"{reason}; {then}"})
    if moved:
        activity.record("post.ambiguous", post.scope, f"{post.account_id}: {reason}; {then}", level="warning",
                        content_id=post.content_id, account_id=post.account_id)
        if wake is None:  # nothing will settle it by itself: say so where coordinators look
            activity.record("post.needs_decision", post.scope, f"ALERT {post.account_id}: {reason}; it may or may "
                            f"not have gone out — check the account and POST /api/posts/{post.content_id}/settle "
                            "with went_out true or false", level="error", content_id=post.content_id,
                            account_id=post.account_id)
    return moved


def abandoned(store: Store, activity: ActivityLog, post: Post, now: datetime) -> bool:
    """A claim that outlived its worker. WhatsApp names each message before sending it (`pending_delivery`):
    with none named, the worker died between messages, nothing is in doubt, and the rest simply go out.
    Otherwise the call in flight may have landed: `ambiguous`, never simply re-sent."""
    if post.platform == "whatsapp" and post.pending_delivery is None:
        moved = store.move_post(post.content_id, post.account_id, expected=[PostStatus.PUBLISHING], claim=post.claim,
                                status=PostStatus.QUEUED, now=now, wake_at=now,
                                fields={"claim": None, "reason": "the publisher stopped between messages; "
                                                                 "the members not yet reached get it now"})
        if moved:
            activity.record("post.resumed", post.scope, f"{post.account_id}: the publisher stopped between messages; "
                            f"{len(post.deliveries)} member(s) already reached, the rest get it now",
                            level="warning", content_id=post.content_id, account_id=post.account_id)
        return moved
    return mark_ambiguous(store, activity, post, post.claim, now,
                          "the publisher stopped mid-call; it may have gone out", can_look=True,
                          pending=post.pending_delivery)


def escalate(store: Store, activity: ActivityLog, post: Post, now: datetime, read_wake: str) -> bool:
    """A WhatsApp message in doubt whose status never came: nothing can look it up, so a coordinator decides
    (POST /api/posts/<id>/settle) — alerted once; the post leaves the clock's index until then."""
    reason = (f"no status from WhatsApp for {post.pending_delivery or 'its last message'} since it was sent: it "
              f"may or may not have gone out; a coordinator decides (POST /api/posts/{post.content_id}/settle with "
              "went_out true or false)")
    moved = store.move_post(post.content_id, post.account_id, expected=[PostStatus.AMBIGUOUS],
                            status=PostStatus.AMBIGUOUS, now=now, fields={"reason": reason}, expected_wake_at=read_wake)
    if moved:
        activity.record("post.needs_decision", post.scope, f"ALERT {post.account_id}: {reason}", level="error",
                        content_id=post.content_id, account_id=post.account_id)
    return moved
