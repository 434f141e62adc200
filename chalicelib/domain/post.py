"""A post — one content item for one account — its states, and what the publishing clock does with it.

The states and their transitions are written down in docs/post-states.md; every transition is a
conditional write on the current state, so two workers can never both move a post.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class PostStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"  # waiting for a lead's or coordinator's sign-off, and its time
    SCHEDULED = "scheduled"      # waiting for its time
    QUEUED = "queued"            # its time came; a publish message is on the queue
    PUBLISHING = "publishing"    # a worker has claimed it and is calling the platform
    PUBLISHED = "published"      # the platform accepted it (terminal)
    FAILED = "failed"            # the platform refused it for good (terminal)
    AMBIGUOUS = "ambiguous"      # it may be out: checked on the platform before anything is re-sent
    HELD_THROTTLED = "held_throttled"  # the account is rate-limited: waits for the platform's reset
    HELD_ACCOUNT = "held_account"      # the account's token is bad or it is blocked: waits for a person
    HELD_SILENCE = "held_silence"      # inside an election silence that reaches its audience: waits it out
    PAUSED = "paused"                  # a coordinator paused its scope (the kill switch)
    CANCELLED_CAMPAIGN_OVER = "cancelled_campaign_over"  # its constituency's poll has closed (terminal)
    REJECTED = "rejected"        # an approver said no, with a reason (terminal)
    EXPIRED = "expired"          # still unapproved when its time came (terminal)
    WITHDRAWN = "withdrawn"      # a re-upload dropped this account before it went out (terminal)


# States in which a re-upload may still change what goes out.
REPLACEABLE = (PostStatus.PENDING_APPROVAL, PostStatus.SCHEDULED, PostStatus.QUEUED, PostStatus.HELD_THROTTLED,
               PostStatus.HELD_ACCOUNT, PostStatus.HELD_SILENCE, PostStatus.PAUSED)
# Where a post's story ends (it may be reopened or re-placed, and then ends again): the moment it got there is
# `done_at`, the key of the index the daily report and engagement read by.
DONE = (PostStatus.PUBLISHED, PostStatus.FAILED, PostStatus.EXPIRED, PostStatus.REJECTED, PostStatus.WITHDRAWN,
        PostStatus.CANCELLED_CAMPAIGN_OVER)
# Not yet out and not finished: what the end of a campaign cancels.
UNFINISHED = (*REPLACEABLE, PostStatus.AMBIGUOUS)
# On its way out and held by nothing deliberate (a sign-off, a pause, a silence, a throttle, a held account): once
# its due time has passed, such a post is late — what the PublishingLag metric and its alarm measure (which moves
# leave a post on its way: post_states.on_its_way).
ON_ITS_WAY = (PostStatus.SCHEDULED, PostStatus.QUEUED, PostStatus.PUBLISHING, PostStatus.AMBIGUOUS)
# Content with no publish_at goes out as soon as it is approved; unapproved, it expires after this.
APPROVAL_WINDOW = timedelta(hours=24)
# A paused post looks again this often (a resume also wakes it at once).
PAUSE_RECHECK = timedelta(minutes=5)
# How long after an ambiguous call the platform is asked whether it went out.
CHECK_AMBIGUOUS_AFTER = timedelta(minutes=2)
# How long a WhatsApp message in doubt waits for its status webhook (Meta sends `sent` within seconds of accepting
# one) before a coordinator is alerted to decide whether it went out.
WHATSAPP_STATUS_WAIT = timedelta(minutes=30)
# How long a queued post may wait for its message before the clock sends another one,
# and how long a worker's claim lasts before the post counts as abandoned mid-call.
REQUEUE_AFTER = timedelta(minutes=10)
CLAIM_TIMEOUT = timedelta(minutes=10)


def content_id_for(key: str) -> str:
    """Content is identified by its upload key: uploading to the same key again replaces it."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


@dataclass
class Post:
    content_id: str
    account_id: str
    platform: str
    scope: str
    status: PostStatus
    due_at: datetime
    revision: int
    payload: dict[str, Any]
    attempts: int = 0
    wake_at: datetime | None = None
    claim: str | None = None
    platform_post_id: str | None = None
    published_at: datetime | None = None
    reason: str | None = None
    deliveries: dict[str, str] = field(default_factory=dict)
    delivery_revisions: dict[str, int] = field(default_factory=dict)  # which revision each delivery carried
    check_first: bool = False     # an earlier call may have landed: look on the platform before sending
    claimed_at: datetime | None = None
    pending_delivery: str | None = None  # the delivery whose outcome is unknown while the post is ambiguous
    ambiguous_since: datetime | None = None  # when the first call that may have landed was made: look from there
    ambiguous_until: datetime | None = None  # when the last such call was answered (or found dead): look until then
    # Earlier wordings a re-upload replaced while a call was in doubt ({"revision", "payload"}): the look-up before the
    # next send looks for them too, since the call in doubt carried one of them.
    doubts: list[dict[str, Any]] = field(default_factory=list)
    silence_cleared: bool = False  # a coordinator cleared this state post to go out during a silence
    held_by_silence: bool = False  # it waited out an election silence at least once (for reports)
    held: str | None = None  # the kind of wait it was last held in (counted once per kind, not per re-check)
    metrics: dict[str, int] = field(default_factory=dict)  # engagement, as last collected (services/engagement)
    metrics_at: datetime | None = None
    gone_at: datetime | None = None  # when the platform said the post no longer exists (deleted there)
    done_at: datetime | None = None  # when it last reached one of DONE

    @property
    def post_id(self) -> str:
        return f"{self.content_id}.{self.account_id}"


def claim_expired(post: Post, now: datetime) -> bool:
    """A claim outlives any live worker (a Lambda runs a minute at most): past CLAIM_TIMEOUT its worker died.
    Younger, it belongs to a worker still calling the platform, and nobody else may touch the post."""
    return post.claimed_at is None or now - post.claimed_at >= CLAIM_TIMEOUT


class WakeAction(StrEnum):
    QUEUE = "queue"        # due, or its wait is over: move to queued and send a message
    REQUEUE = "requeue"    # queued but its message seems lost: send another (the claim makes it harmless)
    ABANDONED = "abandoned"  # claimed but the worker never finished: mark ambiguous
    EXPIRE = "expire"      # its time came and nobody approved it
    NOTHING = "nothing"


def on_wake(status: PostStatus) -> WakeAction:
    """What the publishing clock does with a post whose wake time has come."""
    return {
        PostStatus.SCHEDULED: WakeAction.QUEUE,
        PostStatus.HELD_THROTTLED: WakeAction.QUEUE,
        PostStatus.HELD_ACCOUNT: WakeAction.QUEUE,
        PostStatus.HELD_SILENCE: WakeAction.QUEUE,
        PostStatus.PAUSED: WakeAction.QUEUE,
        PostStatus.AMBIGUOUS: WakeAction.QUEUE,
        PostStatus.QUEUED: WakeAction.REQUEUE,
        PostStatus.PUBLISHING: WakeAction.ABANDONED,
        PostStatus.PENDING_APPROVAL: WakeAction.EXPIRE,
    }.get(status, WakeAction.NOTHING)
