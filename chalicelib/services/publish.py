"""Publish one post to its account — at most once, whatever SQS or Lambda redeliver.

What each failure class does (the adapters classify; this decides):
- retryable (5xx, connection refused, a recipient's pair rate): nothing went out, so the post goes back
  to `queued` and the SQS record fails; SQS redelivers it after a growing delay (no sleeping here);
- throttled: the account is marked throttled until the platform's reset, in the table every Lambda
  reads, and the post waits (`held_throttled`) until then — as do the account's other posts;
- auth or policy block: the account is marked unhealthy with an alert, and its posts wait
  (`held_account`) until a token check finds it healthy again;
- permanent (policy, permission, bad media, a first-attempt duplicate): `failed` with the reason;
- ambiguous (timeout after sending, a worker that died mid-call, a duplicate on a retry): `ambiguous`;
  before anything is re-sent the platform is asked whether it went out (Facebook: the page feed; X: the
  user's posts); WhatsApp cannot be asked, so those wait for a person.
"""

from __future__ import annotations

import contextlib
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.bucket import ContentBucket
from chalicelib.adapters.clock import Clock
from chalicelib.adapters.platforms.base import CannotCheck, Delivery, Media, PlatformClient, PublishRequest
from chalicelib.adapters.publish_queue import backoff_seconds
from chalicelib.adapters.secrets import SecretStore
from chalicelib.adapters.store import Store
from chalicelib.domain import election
from chalicelib.domain.account_state import RECHECK_UNHEALTHY, AccountState
from chalicelib.domain.broadcast import broadcast_id
from chalicelib.domain.pair_rate import PAIR_SPACING, recipient_key, spacing_seconds
from chalicelib.domain.post import CLAIM_TIMEOUT, PAUSE_RECHECK, REQUEUE_AFTER, Post, PostStatus, claim_expired
from chalicelib.domain.rate_limits import hold_until
from chalicelib.domain.times import ist_text, to_iso
from chalicelib.domain.whatsapp_webhook import delivery_reference
from chalicelib.errors import (
    PlatformAmbiguousError,
    PlatformAuthError,
    PlatformDuplicateError,
    PlatformError,
    PlatformRateLimitedError,
    PracharError,
)
from chalicelib.observability import MetricUnit, count, logger
from chalicelib.services.activity import ActivityLog
from chalicelib.services.ambiguity import LOOKUP_PLATFORMS, abandoned, mark_ambiguous
from chalicelib.services.campaigns import CampaignSource

if TYPE_CHECKING:  # type hints only: the publisher reads the campaign without pydantic (domain/stored_campaign.py)
    from chalicelib.domain.campaign import Account, Campaign

MAX_ATTEMPTS = 8  # calls that may send; after them only look-ups on the platform
MAX_LOOKUPS_AFTER_LAST = 3  # look-ups of an ambiguous last attempt before a person decides
FAILED_MARK = "failed:"  # a delivery the platform reported failed (kept so a retry skips it)
LOOKBACK = timedelta(minutes=5)  # how far before the ambiguous call to look for it on the platform
LOOKAHEAD = timedelta(minutes=2)  # and after its answer (clocks differ; the platform stamps the post when it lands)


class RetryLater(PracharError):
    """A retryable failure: the record fails so SQS delivers it again later — after `delay_seconds` when the
    publisher knows how long to wait, else after the queue's backoff for the message's receive count."""

    def __init__(self, reason: str, delay_seconds: int | None = None) -> None:
        super().__init__(reason)
        self.delay_seconds = delay_seconds


class _LostClaim(Exception):
    """The post is no longer ours (the clock found our claim expired): stop at once and touch nothing."""


class _Held(Exception):
    def __init__(self, status: PostStatus, until: datetime, reason: str) -> None:
        super().__init__(reason)
        self.status, self.until, self.reason = status, until, reason


@dataclass
class Publisher:
    store: Store
    bucket: ContentBucket
    campaigns: CampaignSource
    secrets: SecretStore
    platforms: dict[str, PlatformClient]
    activity: ActivityLog
    clock: Clock
    secret_name: Callable[[str], str]  # the account's secret template → this stage's parameter name
    retry_base_seconds: float = 10.0
    # services/broadcasts.Broadcaster.begin: a post to `subscribers` records its broadcast and queues its chunks
    begin_broadcast: Callable[[Post, Campaign, datetime], int] | None = None

    def publish(self, message: dict[str, Any]) -> str:
        content_id, account_id = message["content_id"], message["account_id"]
        campaign = self.campaigns.active()
        account = campaign.account(account_id) if campaign else None
        # The post, its account's state and the pauses over the account's scope (a post's scope is its account's)
        # in one read: a paused post is held from `queued`, never claimed just to be held again.
        post, state, pauses = self.store.post_with_gates(
            content_id, account_id, campaign.enclosing(account.scope) if account and campaign else ())
        if post is None:
            return "missing"
        now = self.clock.now()
        if post.status is PostStatus.PUBLISHING:
            if not claim_expired(post, now):
                # A second message (SQS delivers at least once; the clock re-sends) while a worker is mid-call.
                raise RetryLater(f"{post.post_id} is being published by another worker right now")
            return "abandoned" if abandoned(self.store, self.activity, post, now) else "lost-race"
        if post.status is not PostStatus.QUEUED:
            return f"skipped:{post.status}"  # a duplicate or stale message: the post has moved on
        if account is None or campaign is None:
            # A config edit may have dropped the account for a while: wait for it to come back, never fail for good.
            held = _Held(PostStatus.HELD_ACCOUNT, now + RECHECK_UNHEALTHY, f"account {account_id} is not in the "
                         "active campaign config; restore it there, or re-upload the content without it")
            return "held" if self._hold(post, None, held, now, expected=PostStatus.QUEUED) else "lost-race"
        gate = self._gate(post, campaign, state, pauses if post.scope == account.scope else None, now)
        if gate is not None:
            return self._stop_at_gate(post, gate, now)
        claim = uuid.uuid4().hex
        # The claim is for the revision read above: a re-upload in between makes it fail, never send old text.
        claimed = self.store.claim_post(content_id, account_id, claim, now, now + CLAIM_TIMEOUT, post.revision)
        if claimed is None:
            return "lost-race"
        # From here on, the post as the claim found it: since our read another worker may have claimed it, sent to
        # some members and released it (same status, same revision), or a webhook reopened a member.
        post = claimed
        # The kill switch again once the claim is ours: a pause committed before the claim is always seen here,
        # so no post claimed after a pause goes out; one paused later was already on its way. Waiting out a pause
        # is not an attempt: the claim's is given back.
        pause = self._pause_gate(post, campaign, now)
        if pause is not None:
            return "held" if self._hold(post, claim, pause, now, give_back_attempt=True) else "lost-claim"
        try:
            if post.platform == "whatsapp" and post.payload.get("audience") == "subscribers":
                return self._broadcast(post, campaign, claim, now)
            return self._send(post, account, campaign, claim, now)
        except _LostClaim:
            logger.warning("lost the claim mid-post; stopped", extra={"post_id": post.post_id})
            return "lost-claim"

    def _gate(self, post: Post, campaign: Campaign, state: AccountState, pauses: dict[str, dict[str, Any]] | None,
              now: datetime) -> _Held | None:
        """What stops a queued post before it is claimed: the kill switch, the election calendar and the account's
        state (read with the post) — checked again here, however long the message waited in the queue. The kill
        switch is read again once the post is claimed."""
        gate = self._calendar_gate(post, campaign, now, pauses)
        if gate is not None:
            return gate
        if state.blocks(now):
            status = PostStatus.HELD_THROTTLED if state.until and state.until > now else PostStatus.HELD_ACCOUNT
            return _Held(status, state.wait_until(now), _state_reason(state))
        return None

    def _calendar_gate(self, post: Post, campaign: Campaign, now: datetime,
                       pauses: dict[str, dict[str, Any]] | None = None) -> _Held | None:
        """The kill switch (the pauses given, else read now) and the election calendar: checked before a post and
        between the calls of one."""
        pause = self._pause_gate(post, campaign, now, pauses)
        if pause is not None:
            return pause
        ruling = election.verdict(post.scope, campaign, now, cleared=post.silence_cleared)
        if ruling.action is election.Action.CANCEL:
            return _Held(PostStatus.CANCELLED_CAMPAIGN_OVER, now, ruling.reason)
        if ruling.action is election.Action.HOLD and ruling.until:
            return _Held(PostStatus.HELD_SILENCE, ruling.until, ruling.reason)
        return None

    def _pause_gate(self, post: Post, campaign: Campaign, now: datetime,
                    pauses: dict[str, dict[str, Any]] | None = None) -> _Held | None:
        pauses = self.store.pauses() if pauses is None else pauses
        covering = [scope for scope in campaign.enclosing(post.scope) if scope in pauses]
        if not covering:
            return None
        pause = pauses[covering[0]]
        return _Held(PostStatus.PAUSED, now + PAUSE_RECHECK, f"publishing is paused for {covering[0]} "
                     f"by {pause.get('by')}: {pause.get('reason')}")

    def _stop_at_gate(self, post: Post, gate: _Held, now: datetime, claim: str | None = None) -> str:
        """Stop before a call: from `queued` (no claim yet), or mid-post under our claim (the calls already
        made stay recorded, and the rest go out when the wait is over)."""
        expected = PostStatus.QUEUED if claim is None else PostStatus.PUBLISHING
        if gate.status is PostStatus.CANCELLED_CAMPAIGN_OVER:
            if not self._settle(post, claim, gate.status, now, gate.reason, expected=expected, level="warning"):
                return self._lost(claim)
            return "cancelled"
        if not self._hold(post, claim, gate, now, expected=expected):
            return self._lost(claim)
        return "held"

    @staticmethod
    def _lost(claim: str | None) -> str:
        if claim is not None:
            raise _LostClaim()
        return "lost-race"

    def _send(self, post: Post, account: Account, campaign: Campaign, claim: str, now: datetime) -> str:
        client = self.platforms[post.platform]
        delivered = {k: v for k, v in post.deliveries.items() if not v.startswith(FAILED_MARK)}
        failures = {k: v.removeprefix(FAILED_MARK) for k, v in post.deliveries.items() if v.startswith(FAILED_MARK)}
        in_flight: str | None = None
        try:
            token = self.secrets.token(self.secret_name(account.secret))
            media = tuple(Media(self.bucket.media_url(m["key"]), m["content_type"])
                          for m in post.payload.get("media", []))
        except Exception as exc:  # nothing was sent: give the post back to the queue, or give up in the end
            return self._release(post, claim, now, f"could not prepare the call ({type(exc).__name__}; "
                                 f"check the account's secret {self.secret_name(account.secret)})")
        calls = 0
        # Calls go out in order, so only the first delivery not yet recorded can be the one in doubt: it alone is
        # looked up; the ones after it were never sent.
        looking = post.check_first
        plan = deliveries_for(post, campaign, media)
        final: tuple[str, str, int] | None = None  # the last call's delivery, recorded with the post's publishing
        # A member's message that went out, still named as the call in flight (`pending_delivery`): recorded in the
        # write that names the next member's call, or in the one that publishes the post. A worker that dies before
        # that write leaves the post naming a message that went out, which its status webhook settles.
        unrecorded: tuple[str, str, int] | None = None

        def record_unrecorded() -> None:
            nonlocal unrecorded
            if unrecorded is not None:
                key, platform_id, revision = unrecorded
                unrecorded = None
                if not self.store.record_delivery(post.content_id, post.account_id, key, platform_id, claim,
                                                  revision):
                    raise _LostClaim()

        try:
            for delivery in plan:
                if delivery.key in delivered or delivery.key in failures:
                    continue
                if calls:
                    # A kit or a thread takes many calls: a pause or a silence that starts meanwhile stops the rest.
                    gate = self._calendar_gate(post, campaign, self.clock.now())
                    if gate is not None:
                        record_unrecorded()
                        return self._stop_at_gate(post, gate, now, claim)
                in_flight = delivery.key
                request = _request(post, post.payload, delivery, account, token, delivered)
                revision = post.revision
                platform_id = None
                in_doubt, looking = looking, False
                if in_doubt:
                    platform_id, revision = self._found_earlier_wording(client, request, post, campaign, delivery,
                                                                        account, token, delivered)
                if platform_id is None and in_doubt and post.attempts > MAX_ATTEMPTS:
                    # This attempt only came to look (the last one was in doubt), and it is not there: no re-send.
                    reason = (f"gave up after {MAX_ATTEMPTS} attempts; the last one was in doubt and "
                              f"{post.platform} does not show {delivery.key}, so it was not sent again")
                    record_unrecorded()
                    if not self._settle(post, claim, PostStatus.FAILED, now, reason):
                        raise _LostClaim()
                    return "failed"
                if platform_id is None:
                    # A message first takes its recipient's next slot (WhatsApp's pair rate): (digest, time taken).
                    slot = (recipient_key(delivery.recipient), self.clock.now()) if delivery.recipient else None
                    if slot and not self.store.reserve_recipient(post.account_id, *slot, PAIR_SPACING):
                        record_unrecorded()
                        return self._pace(post, claim, now, delivery)
                    # A message cannot be looked up afterwards: name it before the call, so a worker that dies
                    # during it leaves a question its status webhook answers — in the same write as the record of
                    # the member before, where there is one (conditional on the claim, both).
                    if delivery.recipient is not None:
                        begun = (self.store.record_and_begin_delivery(post.content_id, post.account_id, unrecorded,
                                                                      delivery.key, claim)
                                 if unrecorded is not None else
                                 self.store.begin_delivery(post.content_id, post.account_id, delivery.key, claim))
                        unrecorded = None
                        if not begun:
                            raise _LostClaim()
                    calls += 1
                    try:
                        platform_id = client.publish(request)
                    except PlatformAmbiguousError:
                        # The message's status webhook may have come back before our call gave up: then it is sent.
                        platform_id = self._recorded_meanwhile(post, delivery)
                        if platform_id is None:
                            raise
                    except PlatformError as exc:
                        if slot and not isinstance(exc, PlatformAmbiguousError) and not _pair_busy(exc):
                            self.store.free_recipient(post.account_id, *slot, PAIR_SPACING)  # nothing was sent
                        if not self._recipient_failed(exc, delivery):
                            raise
                        # One unreachable member does not stop the team kit; no retry will try them again.
                        platform_id = f"{FAILED_MARK}{exc.message}"
                        failures[delivery.key] = exc.message
                if delivery is plan[-1] and delivery.recipient is None:
                    # A page post or a thread's last part: one write records it and publishes the post (conditional
                    # on the claim, as record_delivery is: a lost claim records nothing either way).
                    final = (delivery.key, platform_id, revision)
                elif delivery.recipient is not None and not platform_id.startswith(FAILED_MARK):
                    # A member's message went out: recorded with the next write (see `unrecorded`). A failure is
                    # recorded at once: nothing went out, so no status webhook would answer for it.
                    unrecorded = (delivery.key, platform_id, revision)
                elif not self.store.record_delivery(post.content_id, post.account_id, delivery.key, platform_id,
                                                    claim, revision):
                    raise _LostClaim()
                post.delivery_revisions[delivery.key] = revision
                if not platform_id.startswith(FAILED_MARK):
                    delivered[delivery.key] = platform_id
        except (PlatformAmbiguousError, CannotCheck) as exc:
            record_unrecorded()
            self._ambiguous(post, claim, now, str(exc), check_again=not isinstance(exc, CannotCheck), pending=in_flight)
            return "ambiguous"
        except PlatformError as exc:
            record_unrecorded()
            return self._failed_call(post, account, claim, now, exc)
        except BaseException:
            if unrecorded is not None:  # what went out stays on record, whatever stopped the worker after it
                with contextlib.suppress(Exception):
                    self.store.record_delivery(post.content_id, post.account_id, *unrecorded[:2], claim,
                                               unrecorded[2])
            raise
        if unrecorded is not None:  # the kit's last message: recorded by the write that publishes the post
            final, unrecorded = unrecorded, None
        if not delivered:
            reason = ("no recipient could be reached: " + "; ".join(sorted(set(failures.values())))
                      if failures else "no recipients")
            if not self._settle(post, claim, PostStatus.FAILED, now, reason):
                raise _LostClaim()
            return "failed"
        return self._published(post, claim, now, delivered, failures, final)

    def _broadcast(self, post: Post, campaign: Campaign, claim: str, now: datetime) -> str:
        """The post's part is to begin its broadcast (idempotent); the chunks do the sending."""
        if self.begin_broadcast is None:
            if not self._settle(post, claim, PostStatus.FAILED, now, "broadcasts are not set up in this deployment"):
                raise _LostClaim()
            return "failed"
        try:
            chunks = self.begin_broadcast(post, campaign, now)
        except Exception as exc:  # nothing was sent: the next attempt begins it again (a begun one is not redone)
            return self._release(post, claim, now, f"could not begin the broadcast ({type(exc).__name__})")
        ident = broadcast_id(post.content_id)
        if not self.store.move_post(post.content_id, post.account_id, expected=[PostStatus.PUBLISHING], claim=claim,
                                    status=PostStatus.PUBLISHED, now=now,
                                    fields={"platform_post_id": f"broadcast {ident}", "published_at": to_iso(now),
                                            "claim": None, "pending_delivery": None, "reason": None}):
            raise _LostClaim()
        self._count_published(post, now)
        self.activity.record("post.published", post.scope, f"{post.account_id}: broadcast to the subscribers of "
                             f"{post.scope} begun ({chunks} chunks) — {post.payload.get('title')}",
                             content_id=post.content_id, account_id=post.account_id,
                             details={"broadcast": ident, "chunks": chunks})
        return "published"

    def _recorded_meanwhile(self, post: Post, delivery: Delivery) -> str | None:
        if delivery.recipient is None:
            return None
        fresh = self.store.post(post.content_id, post.account_id)
        recorded = fresh.deliveries.get(delivery.key) if fresh else None
        return recorded if recorded and not recorded.startswith(FAILED_MARK) else None

    def _in_doubt_fields(self, post: Post, now: datetime) -> dict[str, Any]:
        """An attempt the platform answered with an error may still have created the post: the next attempt looks
        first, over the span from the first such attempt's claim to this answer."""
        return {"check_first": True, "ambiguous_since": to_iso(post.ambiguous_since or post.claimed_at or now),
                "ambiguous_until": to_iso(self.clock.now())}

    def _found_earlier_wording(self, client: PlatformClient, request: PublishRequest, post: Post, campaign: Campaign,
                               delivery: Delivery, account: Account, token: str,
                               delivered: dict[str, str]) -> tuple[str | None, int]:
        """Look for this delivery on the platform — in this revision's words, then in each earlier wording a
        re-upload replaced while a call was in doubt. Returns the id found and the revision whose words it has."""
        found = self._found_earlier(client, request, post)
        if found is not None:
            return found, post.revision
        for doubt in reversed(post.doubts):
            media = tuple(Media(self.bucket.media_url(m["key"]), m["content_type"])
                          for m in doubt["payload"].get("media", []))  # as that wording was sent
            earlier = next((d for d in deliveries_for(replace(post, payload=doubt["payload"]), campaign, media)
                            if d.key == delivery.key), None)
            if earlier is not None:
                found = self._found_earlier(client, _request(post, doubt["payload"], earlier, account, token,
                                                             delivered), post)
                if found is not None:
                    return found, int(doubt["revision"])
        return None, post.revision

    def _found_earlier(self, client: PlatformClient, request: PublishRequest, post: Post) -> str | None:
        # Only the span in which an attempt of ours could have landed — from the first attempt in doubt (a platform
        # can answer 5xx after it posted, and that attempt may show up only as a later one's "duplicate") to the
        # last answer — so another post with the same words, before or after, is never taken for this one.
        since = (post.ambiguous_since or post.claimed_at or self.clock.now()) - LOOKBACK
        until = post.ambiguous_until + LOOKAHEAD if post.ambiguous_until else None
        try:
            return client.find_published(request, since, until)
        except PlatformAmbiguousError:
            raise
        except PlatformError as exc:
            # A refused or throttled *read* says nothing about posting: the account is not marked; the post stays in
            # doubt and is looked at again later (a few times, then a person decides).
            raise PlatformAmbiguousError(post.platform, f"could not look on {post.platform} whether an earlier "
                                         f"attempt went out: {exc.message}") from None

    def _recipient_failed(self, exc: PlatformError, delivery: Delivery) -> bool:
        """A WhatsApp error about one member (outside the window, undeliverable): skip them, go on."""
        return (delivery.recipient is not None and not exc.retryable
                and not isinstance(exc, (PlatformAmbiguousError, PlatformAuthError)))

    def _failed_call(self, post: Post, account: Account, claim: str, now: datetime, exc: PlatformError) -> str:
        if isinstance(exc, PlatformRateLimitedError) and not exc.per_recipient:
            until, capped = hold_until(exc, now)
            count("Throttled", platform=post.platform, scope=post.scope)
            if self.store.throttle_account(account.id, until, exc.message, now):
                self.activity.record("account.throttled", post.scope, f"{account.id}: {post.platform} rate limit; "
                                     f"its posts wait until {ist_text(until)} — {exc.message}"
                                     + (f" ({capped})" if capped else ""), level="warning", account_id=account.id)
            held = _Held(PostStatus.HELD_THROTTLED, until, f"{account.id} is rate-limited until {ist_text(until)}: "
                         f"{exc.message}")
            return "held" if self._hold(post, claim, held, now) else self._lost(claim)
        if isinstance(exc, PlatformAuthError):
            reason = f"{post.platform} refused {account.id}'s token or blocked it: {exc.message}"
            if self.store.mark_account_unhealthy(account.id, reason, now):
                self.activity.record("account.unhealthy", post.scope, f"ALERT {account.id} needs a person: {reason}. "
                                     f"Fix the token in {self.secret_name(account.secret)}; its posts wait.",
                                     level="error", account_id=account.id)
            held = _Held(PostStatus.HELD_ACCOUNT, now + RECHECK_UNHEALTHY, reason)
            return "held" if self._hold(post, claim, held, now) else self._lost(claim)
        if isinstance(exc, PlatformDuplicateError) and (post.attempts > 1 or post.check_first):
            # After an earlier attempt, "duplicate" means that attempt landed: find it rather than fail.
            self._ambiguous(post, claim, now, f"{exc.message} (an earlier attempt probably went out)")
            return "ambiguous"
        if exc.retryable:
            # A platform that answered at all (a 5xx, a transient code) may have created the post before it failed:
            # Facebook and X are looked at before the next attempt sends. (A message cannot be looked up.)
            answered = exc.status is not None and post.platform in LOOKUP_PLATFORMS
            return self._release(post, claim, now, exc.message, look_first=answered)
        if not self._settle(post, claim, PostStatus.FAILED, now, f"{post.platform}: {exc.message}"):
            raise _LostClaim()
        return "failed"

    def _published(self, post: Post, claim: str, now: datetime, delivered: dict[str, str],
                   failures: dict[str, str], final: tuple[str, str, int] | None = None) -> str:
        platform_post_id = delivered.get("page") or delivered.get("part-1") or f"{len(delivered)} message(s)"
        fields = {"platform_post_id": platform_post_id, "published_at": to_iso(now), "claim": None,
                  "check_first": None, "pending_delivery": None, "ambiguous_since": None, "ambiguous_until": None,
                  "doubts": None,
                  "reason": f"{len(failures)} recipient(s) unreachable: " + "; ".join(sorted(set(failures.values())))
                  if failures else None}
        if not self.store.move_post(post.content_id, post.account_id, expected=[PostStatus.PUBLISHING], claim=claim,
                                    status=PostStatus.PUBLISHED, now=now, fields=fields, delivery=final):
            raise _LostClaim()
        summary = (f"to {len(delivered)} team member(s)" if post.platform == "whatsapp"
                   else f"as {platform_post_id}" + (f" (thread of {len(delivered)})" if len(delivered) > 1 else ""))
        earlier = {key: revision for key, revision in post.delivery_revisions.items()
                   if key in delivered and revision != post.revision}
        if earlier:
            # Only what this revision itself reached is "the rest": a revision whose every call had been made
            # with an earlier one sent nothing, and says so.
            had = ", ".join(f"{key} had revision {revision}" for key, revision in sorted(earlier.items()))
            summary += (f"; revision {post.revision} went to the rest — {had}" if len(earlier) < len(delivered)
                        else f"; nothing of revision {post.revision} was sent — all of it had gone out before: {had}")
        if post.published_at is None:  # a kit re-sent to one member after a failed status was counted then
            self._count_published(post, now)
        late = lateness(post.due_at, now)
        self.activity.record("post.published", post.scope, f"{post.account_id}: published {summary} — "
                             f"{post.payload.get('title')}" + (f" ({late} after its time)" if late else ""),
                             content_id=post.content_id, account_id=post.account_id,
                             details={"platform_post_id": platform_post_id, "attempts": post.attempts,
                                      "due_at": to_iso(post.due_at),
                                      "revision": post.revision, "unreachable": failures or None,
                                      "revisions": {key: post.delivery_revisions.get(key, post.revision)
                                                    for key in delivered}})
        return "published"

    @staticmethod
    def _count_published(post: Post, now: datetime) -> None:
        count("Published", platform=post.platform, scope=post.scope)
        count("DueToPublished", platform=post.platform, scope=post.scope, unit=MetricUnit.Seconds,
              value=max(0.0, (now - post.due_at).total_seconds()))

    def _pace(self, post: Post, claim: str, now: datetime, delivery: Delivery) -> str:
        """The recipient had a message from this number seconds ago: wait for their next slot. What went out is
        kept; the rest goes after the wait — and the wait is not a failed attempt."""
        wait = spacing_seconds()
        reason = f"waits {wait} s for WhatsApp's pair rate (one message per person every 6 s) to reach {delivery.key}"
        if not self.store.move_post(post.content_id, post.account_id, expected=[PostStatus.PUBLISHING], claim=claim,
                                    status=PostStatus.QUEUED, now=now,
                                    wake_at=now + timedelta(seconds=wait) + REQUEUE_AFTER,
                                    fields={"claim": None, "pending_delivery": None, "reason": reason,
                                            "attempts": max(post.attempts - 1, 0)}):
            raise _LostClaim()
        logger.info("paced for the pair rate", extra={"content_id": post.content_id, "account_id": post.account_id})
        # SQS waits in real time; the local stack and the tests step their clocks, and their retry base (1 s, 0 s)
        # says how long a real wait is there. In the cloud the base (10 s) is longer than the slot.
        raise RetryLater(reason, min(wait, math.ceil(self.retry_base_seconds)))

    def _release(self, post: Post, claim: str, now: datetime, reason: str, *, look_first: bool = False) -> str:
        """Nothing went out: queue the post again and raise RetryLater so SQS redelivers after a growing
        backoff — or, after MAX_ATTEMPTS, fail it for good. The clock's re-send waits past that backoff."""
        if post.attempts >= MAX_ATTEMPTS and (post.check_first or look_first):
            # This or an earlier attempt may have landed: failing now could call a post that went out "failed".
            self._ambiguous(post, claim, now, f"the last attempt may have gone out ({reason})",
                            pending=post.pending_delivery or _first_unsent(post, self.campaigns.active()))
            return "ambiguous"
        if post.attempts >= MAX_ATTEMPTS:
            if not self._settle(post, claim, PostStatus.FAILED, now, f"gave up after {post.attempts} attempts: "
                                f"{reason}"):
                raise _LostClaim()
            return "failed"
        delay = backoff_seconds(post.attempts, self.retry_base_seconds)
        if not self.store.move_post(post.content_id, post.account_id, expected=[PostStatus.PUBLISHING], claim=claim,
                                    status=PostStatus.QUEUED, now=now,
                                    wake_at=now + timedelta(seconds=delay) + REQUEUE_AFTER,
                                    fields={"claim": None, "pending_delivery": None,
                                            "reason": f"attempt {post.attempts}: {reason}",
                                            **(self._in_doubt_fields(post, now) if look_first else {})}):
            raise _LostClaim()
        count("Retries", platform=post.platform, scope=post.scope)
        self.activity.record("post.retry", post.scope, f"{post.account_id}: {reason}; will retry "
                             f"(attempt {post.attempts} of {MAX_ATTEMPTS})", level="warning",
                             content_id=post.content_id, account_id=post.account_id)
        raise RetryLater(reason, delay)

    def _hold(self, post: Post, claim: str | None, held: _Held, now: datetime, *,
              expected: PostStatus = PostStatus.PUBLISHING, give_back_attempt: bool = False) -> bool:
        fields: dict[str, Any] = {"claim": None, "pending_delivery": None, "reason": held.reason,
                                  "held": str(held.status)}
        if give_back_attempt:
            fields["attempts"] = max(post.attempts - 1, 0)
        if held.status is PostStatus.HELD_SILENCE:
            fields["held_by_silence"] = True
        if not self.store.move_post(post.content_id, post.account_id, expected=[expected], claim=claim,
                                    status=held.status, now=now, wake_at=held.until, fields=fields):
            return False
        if post.held != str(held.status):  # a post that waits on after a re-check is not counted again
            count("Held", platform=post.platform, scope=post.scope, reason=str(held.status))
        self.activity.record(f"post.{held.status}", post.scope, f"{post.account_id}: waits until "
                             f"{ist_text(held.until)} — {held.reason}", level="warning",
                             content_id=post.content_id, account_id=post.account_id)
        return True

    def _ambiguous(self, post: Post, claim: str | None, now: datetime, reason: str, *,
                   check_again: bool = True, pending: str | None = None) -> None:
        # Looking never sends, so even the last attempt is looked up — a few times, if the look-up itself fails.
        can_look = check_again and post.attempts < MAX_ATTEMPTS + MAX_LOOKUPS_AFTER_LAST
        # The window's end is when the platform answered, not when the attempt began.
        mark_ambiguous(self.store, self.activity, post, claim, self.clock.now(), reason, can_look=can_look,
                       pending=pending)

    def _settle(self, post: Post, claim: str | None, status: PostStatus, now: datetime, reason: str, *,
                expected: PostStatus = PostStatus.PUBLISHING, level: str = "error") -> bool:
        if not self.store.move_post(post.content_id, post.account_id, expected=[expected], claim=claim,
                                    status=status, now=now,
                                    fields={"reason": reason, "claim": None, "pending_delivery": None}):
            return False
        if status is PostStatus.FAILED:
            count("Failed", platform=post.platform, scope=post.scope)
        self.activity.record(f"post.{status}", post.scope, f"{post.account_id}: {status} — {reason}",
                             level=level, content_id=post.content_id, account_id=post.account_id)
        return True


def lateness(due: datetime, now: datetime) -> str | None:
    """How long after its time a post went out, in words — or None within the publishing clock's minute."""
    minutes = int((now - due).total_seconds() // 60)
    if minutes < 2:
        return None
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"


def _first_unsent(post: Post, campaign: Campaign | None) -> str | None:
    """The delivery a call in doubt was for: calls go out in order, so the first one not yet recorded."""
    return next((d.key for d in deliveries_for(post, campaign) if d.key not in post.deliveries), None)


def _request(post: Post, payload: dict[str, Any], delivery: Delivery, account: Account, token: str,
             delivered: dict[str, str]) -> PublishRequest:
    return PublishRequest(target_id=account.target_id, token=token, text=delivery.text or payload.get("text"),
                          link=payload.get("link"), media=list(delivery.media), template=payload.get("template"),
                          recipient=delivery.recipient, reply_to=delivered.get(delivery.reply_to_key or ""),
                          reference=delivery_reference(post.content_id, post.account_id, delivery.key))


def deliveries_for(post: Post, campaign: Campaign | None, media: tuple[Media, ...] = ()) -> list[Delivery]:
    """Facebook: one call, with the media. X: one per part of the thread, each replying to the one before; the
    media go with the first part only (the rest are replies that carry their text alone). WhatsApp 'team': one
    message per team member with a phone number, each the whole kit, media included."""
    if post.platform == "x":
        # A single post is part 1 of a thread of one: whatever shape a re-upload gives the text, a part that went
        # out is never posted again (a shortened text is not a new post beside the thread already there).
        thread = post.payload.get("thread") or [post.payload.get("text")]
        return [Delivery(f"part-{i}", text=part, reply_to_key=f"part-{i - 1}" if i > 1 else None,
                         media=media if i == 1 else ())
                for i, part in enumerate(thread, start=1)]
    if post.platform != "whatsapp":
        return [Delivery("page", media=media)]
    if post.payload.get("audience") == "coordinators":  # the system's own alerts (services/coordinator_alerts)
        members = [m for t in campaign.teams for m in t.members if m.role == "coordinator"] if campaign else []
    else:
        members = campaign.team_members(post.scope) if campaign else []
    return [Delivery(member.id, member.phone, media=media) for member in members if member.phone]


def _pair_busy(exc: PlatformError) -> bool:
    """WhatsApp's own pair-rate answer: the recipient's slot really is taken (by a message we did not pace)."""
    return isinstance(exc, PlatformRateLimitedError) and exc.per_recipient


def _state_reason(state: Any) -> str:
    return f"{state.account_id} is {state.health}" + (f": {state.reason}" if state.reason else "")
