"""WhatsApp status webhooks: each sent message's fate, and what it changes for its post.

- `sent`, `delivered`, `read`: recorded; an ambiguous send waiting for exactly this message is settled.
- `failed`, by its error code (graph_errors.whatsapp_status_error_class):
  - a reason a later try fixes (131000, 130429, 131056, …): the member is sent to again — the post forgets
    the message went (a published kit is queued again for that member only);
  - the account's problem (token, block, payment): the account is marked unhealthy with one alert, and the
    member is sent to again once a person has fixed it;
  - the member's own (outside the window, opted out, undeliverable): final, recorded and named.
A post a worker is publishing right now cannot be changed under it: the webhook is answered 503 and Meta
delivers it again later (every step here is conditional, so a second delivery changes nothing twice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib.adapters.clock import Clock
from chalicelib.adapters.platforms.graph_errors import whatsapp_status_error_class
from chalicelib.adapters.store import Store
from chalicelib.domain import broadcast
from chalicelib.domain.post import REPLACEABLE, Post, PostStatus
from chalicelib.domain.whatsapp_webhook import STATUS_ORDER, parse_reference
from chalicelib.errors import Unavailable
from chalicelib.observability import count
from chalicelib.services.activity import ActivityLog
from chalicelib.services.publish import FAILED_MARK

if TYPE_CHECKING:
    from chalicelib.domain.whatsapp_envelope import MessageStatus, WebhookBatch

# Where a post's recorded message can simply be forgotten so it goes again: waiting (or waiting on another
# member's message), not mid-call.
REOPENABLE = (*REPLACEABLE, PostStatus.AMBIGUOUS)


@dataclass
class WhatsAppWebhooks:
    store: Store
    activity: ActivityLog
    clock: Clock
    # services/broadcasts.Broadcaster.on_status: a broadcast message's status (content id, account id, digest)
    on_broadcast: Callable[[MessageStatus, str, str, str], str] | None = None

    def handle(self, batch: WebhookBatch) -> dict[str, int]:
        now = self.clock.now()
        counts = {"statuses": len(batch.statuses), "settled": 0, "failed": 0, "resent": 0, "deferred": 0,
                  "inbound": batch.inbound_messages}
        for status in batch.statuses:
            rank = STATUS_ORDER.get(status.status)
            if rank is None:
                continue
            to_subscriber = broadcast.parse_reference(status.reference)
            if to_subscriber is not None and self.on_broadcast is not None:
                # Its own record says what it has had (one conditional write): no message-status item needed.
                outcome = f"broadcast_{self.on_broadcast(status, *to_subscriber)}"
                counts[outcome] = counts.get(outcome, 0) + 1
                if outcome != "broadcast_repeated":
                    _count_status(status.status, "subscriber")
                continue
            # Meta redelivers and does not order webhooks: a status no newer than the one recorded for the message
            # (a repeat, or a late `sent` after `failed`) has already had its effect, or must not have one. The
            # message's status, its post and the post's reach come in one strongly consistent read.
            reference = parse_reference(status.reference)
            if reference is not None:
                known, post, reach = self.store.message_status_with_post(status.message_id, *reference[:2])
            else:
                known, post, reach = self.store.message_status(status.message_id), None, {}
            if known is not None and STATUS_ORDER.get(known, 0) >= rank:
                counts["repeated"] = counts.get("repeated", 0) + 1
                continue
            outcome = None
            if reference is not None and status.status == "failed":
                counts["failed"] += 1
                outcome = self._failed(status, post, *reference)
                counts[outcome] = counts.get(outcome, 0) + 1
            elif reference is not None and self._landed(status, post, *reference, now):
                counts["settled"] += 1
                self._settled(status, post, *reference)
            if outcome != "deferred":  # recorded only once acted on: a redelivered 503 must act again
                if reference is not None:
                    # The post's reach, before the status is marked seen: a failure here is answered again by Meta
                    # and counted then (each member once per stage, whatever order the webhooks come in).
                    self.store.count_reach(*reference, rank, read=reach)
                self.store.advance_message_status(status.message_id, status.status, rank, status.reference, now)
                _count_status(status.status, "team")
        if counts["deferred"]:
            raise Unavailable(f"{counts['deferred']} status(es) concern a post being published right now; "
                              "deliver them again")
        return counts

    def _landed(self, status: MessageStatus, post: Post | None, content_id: str, account_id: str, member: str,
                now: datetime) -> bool:
        """The call this message came from, where its post still names it (`pending_delivery`): a post in doubt
        about it is settled (True), one a worker is sending is told at once that it went. A call is named before
        it is made, so a post the strongly consistent read found naming no call to `member` waits on none this
        status could answer: nothing to write."""
        if post is None or post.pending_delivery != member:
            return False
        if post.status is PostStatus.AMBIGUOUS:
            return self.store.settle_pending_delivery(content_id, account_id, member, status.message_id, now)
        if post.status is not PostStatus.PUBLISHING or self.store.record_in_flight_delivery(
                content_id, account_id, member, status.message_id):
            return False
        # The worker gave up on the call since the read (its answer timed out): the post is in doubt about it now.
        return self.store.settle_pending_delivery(content_id, account_id, member, status.message_id, now)

    def _failed(self, status: MessageStatus, post: Post | None, content_id: str, account_id: str,
                member: str) -> str:
        now = self.clock.now()
        kind = whatsapp_status_error_class(status.error_code)
        scope = post.scope if post else "unknown"
        if kind == "account" and self.store.mark_account_unhealthy(account_id, f"WhatsApp: {status.error}", now):
            self.activity.record("account.unhealthy", scope, f"ALERT {account_id} needs a person: WhatsApp reported "
                                 f"{status.error} for a sent message; its posts wait", level="error",
                                 account_id=account_id)
        again = kind != "final_member"
        # Only a post that named this member's call (read with the status) can be settled by it: see _landed.
        if post is not None and post.pending_delivery == member and self.store.settle_pending_delivery(
                content_id, account_id, member, None if again else f"{FAILED_MARK}{status.error}", now):
            self._settled(status, post, content_id, account_id, member)
            return "settled"
        outcome = "reached-no-one"
        if again:
            reopened = self.store.reopen_delivery(content_id, account_id, member, status.message_id, now,
                                                  f"WhatsApp could not deliver to {member} ({status.error}); "
                                                  "sending to them again", REOPENABLE)
            if reopened == "busy":
                return "deferred"
            outcome = "resent" if reopened == "reopened" else outcome
        self.activity.record("message.failed", scope, f"{account_id}: WhatsApp could not deliver to {member}: "
                             f"{status.error}" + ("; it will be sent again" if outcome == "resent" else ""),
                             level="warning", content_id=content_id, account_id=account_id)
        return outcome

    def _settled(self, status: MessageStatus, post: Post | None, content_id: str, account_id: str,
                 member: str) -> None:
        self.activity.record("post.settled", post.scope if post else "unknown",
                             f"{account_id}: WhatsApp reported the message to {member} {status.status}; "
                             "the rest of the team kit goes out now", content_id=content_id, account_id=account_id)


def _count_status(status: str, to: str) -> None:
    """A status the first time it has its effect: Meta delivers webhooks again (and again after every 503)."""
    count("WebhookStatuses", platform="whatsapp", scope="campaign", status=status, to=to)
