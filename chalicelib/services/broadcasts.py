"""Broadcasts to subscribers: a post with `audience: subscribers` sends its template to every opted-in contact of its
scope, as fast as the sending number allows and never faster.

- `begin` (the publisher, under its claim on the post): records the broadcast once and queues one chunk per
  constituency shard.
- `run_chunk` (the broadcast queue's Lambda, many at once): checks the kill switch, the election calendar and the
  account before every chunk; reads up to CHUNK contacts and passes the rest of the shard on as the next chunk
  (once); claims each contact (exactly once per person); checks the stop list and the rolling day's messaging
  limit; takes sending times from the number's one schedule and sends each message at its time, each taking the
  recipient's pair-rate slot first. What a later try can fix goes back to `retry` and the chunk comes again.
- `on_status` (the signed webhook): moves each contact's message on (sent → delivered → read, or failed); a failure
  Meta marks retryable is sent again to that contact alone.
- `rollups`: where each broadcast's messages are, counted from the contacts' records.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.clock import Clock
from chalicelib.domain.broadcast import (
    CHUNK,
    DEFAULT_THROUGHPUT,
    MARKETING_STOPPED,
    MAX_AHEAD,
    MAX_SENDS,
    RECHECK_AFTER,
    RETRY_AFTER,
    SKIPPED,
    TEMPLATE_CODES,
    broadcast_id,
    chunk_delay,
    combine,
    rank,
    reference,
    rollup,
    schedule,
    send_interval,
    wait_for_room,
)
from chalicelib.domain.contact_keys import ERASED, SHARDS
from chalicelib.domain.pair_rate import PAIR_SPACING
from chalicelib.domain.post import PAUSE_RECHECK, Post
from chalicelib.domain.times import to_iso
from chalicelib.errors import (
    PersistenceError,
    PlatformAmbiguousError,
    PlatformAuthError,
    PlatformError,
    PlatformRateLimitedError,
)
from chalicelib.observability import logger
from chalicelib.services.activity import ActivityLog
from chalicelib.services.campaigns import CampaignSource
from chalicelib.threads import map_in_threads

# Only types here (the Lambdas read the campaign as domain/stored_campaign.py's classes, without pydantic).
if TYPE_CHECKING:
    from chalicelib.adapters.platforms.base import PlatformClient
    from chalicelib.domain.campaign import Account, Campaign
    from chalicelib.domain.contacts import StoredContact
    from chalicelib.domain.whatsapp_envelope import MessageStatus
    from chalicelib.ports import AudienceRecords, BroadcastRecords, ContactVaultPort, StorePort

ROLLUP_EVERY = timedelta(seconds=60)
ROLLUP_LATER = timedelta(minutes=15)  # after the first hour, only late statuses change the counts
LATE = timedelta(milliseconds=5)  # a message this far behind its sending time takes a new one
MAX_WAIT = timedelta(seconds=30)  # the longest a chunk sleeps for its times, well inside its Lambda's 60 s
# Messages in flight per chunk: a Graph call takes ~100 ms and the schedule spaces them 1-12 ms apart. More threads than
# the latency needs only add jitter to when each message leaves (the local sandbox answers in ~4 ms: 4 are enough).
SENDERS = 16


@dataclass
class ChunkOutcome:
    outcome: str                      # sent | held | cancelled | done | missing
    sent: int = 0
    retry: int = 0
    failed: int = 0
    skipped: int = 0
    in_doubt: int = 0
    taken: int = 0                    # by another publisher meanwhile


@dataclass
class Broadcaster:
    broadcasts: BroadcastRecords
    audience: AudienceRecords
    vault: ContactVaultPort
    store: StorePort
    queue: Any                        # adapters/publish_queue.PublishQueue on the broadcast queue
    campaigns: CampaignSource
    whatsapp: PlatformClient
    token: Callable[[Account], str]   # the account's access token
    activity: ActivityLog
    clock: Clock
    sleep: Callable[[float], None] = time.sleep
    senders: int = SENDERS

    # ---- begin -------------------------------------------------------------------------------------------
    def begin(self, post: Post, campaign: Campaign, now: datetime) -> int:
        """Record the broadcast (once per content, from the first of its accounts to begin it) and queue its first
        chunks; the number of chunks queued. Safe to repeat."""
        constituencies = sorted(c.id for c in campaign.constituencies
                                if post.scope in campaign.enclosing(f"constituency/{c.id}"))
        meta = {"id": broadcast_id(post.content_id), "content_id": post.content_id,
                "account_id": post.account_id, "scope": post.scope, "constituencies": constituencies,
                "template": post.payload.get("template"), "title": post.payload.get("title"),
                "started_at": to_iso(now)}
        if self.broadcasts.start(meta):
            self.activity.record("broadcast.started", post.scope, f"{post.account_id}: broadcast of "
                                 f"{meta['title']!r} to the subscribers of {post.scope} "
                                 f"({len(constituencies)} constituencies) begins", content_id=post.content_id,
                                 account_id=post.account_id)
        messages = [{"broadcast": meta["id"], "constituency": c, "shard": s} for c in constituencies for s in SHARDS]
        if self.queue.send(messages):
            raise PersistenceError("SQS did not take every first chunk of the broadcast")
        return len(messages)

    # ---- one chunk ---------------------------------------------------------------------------------------
    def run_chunk(self, message: dict[str, Any]) -> ChunkOutcome:
        meta = self.broadcasts.broadcast(message["broadcast"])
        campaign = self.campaigns.active()
        account = campaign.account(meta["account_id"]) if meta and campaign else None
        if meta is None or campaign is None or account is None:
            return ChunkOutcome("missing")
        if meta.get("halted"):
            return ChunkOutcome("halted")
        now = self.clock.now()
        held = self._held(meta, campaign, account, message, now)
        if held is not None:
            return held
        page, message = self._page(meta["id"], message, now)
        records = self.broadcasts.records_of(meta["id"], [c.digest for c in page]) if page else {}
        todo = [c for c in page if _open(records.get(c.digest))]
        if not todo:
            return ChunkOutcome("done")
        todo, skipped = self._not_stopped(meta["id"], message["constituency"], todo, now)
        outcome = ChunkOutcome("sent", skipped=skipped)
        if not todo:
            return outcome
        # Sending times within reach, or the chunk comes back when they are: nothing is claimed while it waits.
        free = self.broadcasts.next_free(account.id)
        if free is not None and free > now + MAX_AHEAD:
            self._again(message, (free - now - MAX_AHEAD / 2).total_seconds())
            return ChunkOutcome("waiting")
        limit = campaign.audience.messaging_limit
        room = self.broadcasts.take_messaging_room(campaign.campaign, len(todo), limit, now) if limit else True
        if room is not True:
            # No room till the oldest hour leaves the day — or (None) others kept counting at the same moment.
            self._again(message, wait_for_room(now).total_seconds() if room is False else 2)
            return ChunkOutcome("held")
        every = timedelta(seconds=send_interval(account.throughput or DEFAULT_THROUGHPUT))
        start = self.broadcasts.reserve_sends(account.id, len(todo), every, now)
        if start - now > MAX_WAIT:
            # Publishers that looked at the schedule together all reserved: these times are too far for this
            # invocation to wait for. They are left unused (a gap in the schedule); the chunk comes back for new ones.
            self._again(message, (start - now - MAX_AHEAD).total_seconds())
            return ChunkOutcome("waiting")
        if start - now > RECHECK_AFTER:
            # A wait: the kill switch, the calendar and the stop list are looked at again just before the first call.
            self.sleep((start - now - RECHECK_AFTER / 2).total_seconds())
            now = self.clock.now()
            held = self._held(meta, campaign, account, message, now)
            if held is not None:
                return held
            todo, more = self._not_stopped(meta["id"], message["constituency"], todo, now)
            outcome.skipped += more
            if not todo:
                return outcome
        self._send_all(meta, campaign, account, todo, schedule(start, len(todo), account.throughput), every, outcome)
        if outcome.retry:
            self._again(message, RETRY_AFTER.total_seconds())
        return outcome

    def _held(self, meta: dict[str, Any], campaign: Campaign, account: Account, message: dict[str, Any],
              now: datetime) -> ChunkOutcome | None:
        """Whether the chunk must wait (it comes back) or stop (the poll it is for has closed)."""
        gate = self._gate(campaign, account, f"constituency/{message['constituency']}", now)
        if gate is None:
            return None
        until, reason = gate
        if until is None:
            return ChunkOutcome("cancelled")
        self._again(message, (until - now).total_seconds())
        logger.info("broadcast chunk held", extra={"broadcast": meta["id"], "reason": reason})
        return ChunkOutcome("held")

    def _gate(self, campaign: Campaign, account: Account, scope: str,
              now: datetime) -> tuple[datetime | None, str] | None:
        """The kill switch, the election calendar and the account, for the chunk's own constituency (a state-wide
        broadcast reaches each constituency under that constituency's calendar and pauses): (until, why), with until
        None when it must not go on at all."""
        pauses = self.store.pauses()
        covering = [s for s in campaign.enclosing(scope) if s in pauses]
        if covering:
            return now + PAUSE_RECHECK, f"publishing is paused for {covering[0]}"
        from chalicelib.domain import election  # deferred, as the platform's imports below: counting needs none

        ruling = election.verdict(scope, campaign, now, cleared=False)
        if ruling.action is election.Action.CANCEL:
            return None, ruling.reason
        if ruling.action is election.Action.HOLD and ruling.until:
            return ruling.until, ruling.reason
        state = self.store.account_state(account.id)
        if state.blocks(now):
            return state.wait_until(now), f"{account.id} is {state.health}"
        return None

    def _not_stopped(self, broadcast: str, constituency: str, contacts: list[StoredContact],
                     now: datetime) -> tuple[list[StoredContact], int]:
        """The contacts not on the stop list; those on it are recorded `skipped` (and never sent)."""
        _, stopped = self.audience.known(constituency, [c.digest for c in contacts])
        for digest, suppression in stopped.items():
            # A stop is counted (`skipped`); of an erased person nothing is written, not even that.
            if suppression.reason != ERASED and self.broadcasts.claim(broadcast, digest, constituency, now,
                                                                      MAX_SENDS):
                self.broadcasts.settle(broadcast, digest, SKIPPED, 0, now, reason="stopped")
        return [c for c in contacts if c.digest not in stopped], len(stopped)

    def _page(self, broadcast: str, message: dict[str, Any], now: datetime) -> tuple[list[StoredContact],
                                                                                     dict[str, Any]]:
        """The chunk's contacts. Its first run fixes where it ends and passes the rest of the shard on — the next
        chunk queued first, then noted, so a failure in between queues it again rather than never."""
        constituency, shard = message["constituency"], message["shard"]
        if "digest" in message:  # one contact's retry, from a status webhook
            contact = self.audience.contact(constituency, message["digest"])
            return ([contact] if contact else []), message
        after = message.get("after")
        if "until" in message:
            return list(self.audience.contacts(constituency, shard, after, until=message["until"])), message
        page = list(self.audience.contacts(constituency, shard, after, CHUNK))
        if len(page) == CHUNK and not self.broadcasts.passed_on(broadcast, constituency, shard, after or ""):
            if self.queue.send([{**message, "after": page[-1].digest}]):
                raise PersistenceError("SQS did not take the broadcast's next chunk")
            self.broadcasts.pass_on(broadcast, constituency, shard, after or "", now)
        return page, {**message, "until": page[-1].digest if page else (after or "")}

    def _send_all(self, meta: dict[str, Any], campaign: Campaign, account: Account, contacts: list[StoredContact],
                  times: list[datetime], every: timedelta, outcome: ChunkOutcome) -> None:
        token = self.token(account)
        results = map_in_threads(lambda pair: self._send_one(meta, campaign, account, token, every, *pair),
                                 zip(contacts, times, strict=True), min(self.senders, len(contacts)))
        for result in results:
            setattr(outcome, result, getattr(outcome, result) + 1)

    def _send_one(self, meta: dict[str, Any], campaign: Campaign, account: Account, token: str, every: timedelta,
                  contact: StoredContact, at: datetime) -> str:
        try:
            phone = str(self.vault.open(contact.digest, contact.sealed)["phone"]).lstrip("+")
        except Exception as exc:  # nothing claimed yet: the chunk comes again for them
            logger.warning("could not open a contact; it goes with the chunk's retry",
                           extra={"broadcast": meta["id"], "error": type(exc).__name__})
            return "retry"
        wait = (at - self.clock.now()).total_seconds()
        if wait < -LATE.total_seconds():
            # Sending now, long after its time, would crowd the messages on time into one second: take a new time.
            wait = (self.broadcasts.reserve_sends(account.id, 1, every, self.clock.now()) - self.clock.now()
                    ).total_seconds()
        if wait > 0:
            self.sleep(wait)
        now = self.clock.now()
        # The stop list once more, right before this person's message: a STOP or an erasure a moment ago wins (and
        # an erased person's record is not made again).
        if self.audience.suppression(contact.digest) is not None:
            return "skipped"
        # Claimed right before its call: a chunk that dies before this leaves the contact to its retry, never lost.
        if not self.broadcasts.claim(meta["id"], contact.digest, contact.constituency, now, MAX_SENDS):
            return "taken"
        try:
            # The pair-rate slot is named by the contact's keyed digest, never by an unkeyed hash of the number.
            paced = self.store.reserve_recipient(account.id, contact.digest, now, PAIR_SPACING)
        except Exception:
            # Nothing went out: the contact waits for the chunk's retry.
            self.broadcasts.settle(meta["id"], contact.digest, "retry", 0, now, reason="interrupted", uncount=True)
            raise
        if not paced:
            return self._retry(meta["id"], contact.digest, now, "WhatsApp's pair rate: they had a message seconds ago",
                               counted=False)
        # From here on a failure to record is never taken for "nothing went out": the record stays `sending` (in
        # doubt, never sent again) until the message's status webhook says what became of it.
        return self._call(meta, campaign, account, token, contact, phone, now)

    def _call(self, meta: dict[str, Any], campaign: Campaign, account: Account, token: str, contact: StoredContact,
              phone: str, now: datetime) -> str:
        from chalicelib.adapters.platforms.base import PublishRequest

        request = PublishRequest(target_id=account.target_id, token=token, text=None, template=meta["template"],
                                 recipient=phone, reference=reference(meta["content_id"], meta["account_id"],
                                                                      contact.digest))
        try:
            wamid = self.whatsapp.publish(request)
        except PlatformAmbiguousError as exc:
            # It may have gone: never sent again; its status webhook (sent, delivered or failed) settles it.
            self.broadcasts.settle(meta["id"], contact.digest, "ambiguous", 0, now, reason=exc.message)
            return "in_doubt"
        except PlatformError as exc:
            self.store.free_recipient(account.id, contact.digest, now, PAIR_SPACING)  # nothing was sent
            return self._failed(meta, campaign, account, contact, exc, now)
        self.broadcasts.settle(meta["id"], contact.digest, "sent", rank("sent"), now, wamid=wamid)
        return "sent"

    def _failed(self, meta: dict[str, Any], campaign: Campaign, account: Account, contact: StoredContact,
                exc: PlatformError, now: datetime) -> str:
        if isinstance(exc, PlatformRateLimitedError) and not exc.per_recipient:
            # The number's throughput (130429, "retry after a second"): the number's schedule skips that second —
            # every publisher's next times move past it — and this contact goes again with the chunk's retry.
            pause = max(1.0, float(exc.retry_after or 1))
            every = timedelta(seconds=send_interval(account.throughput or DEFAULT_THROUGHPUT))
            self.broadcasts.reserve_sends(account.id, math.ceil(pause / every.total_seconds()), every, now)
            logger.warning("throughput answer from WhatsApp; the number's schedule skips a second",
                           extra={"broadcast": meta["id"], "account_id": account.id})
            return self._retry(meta["id"], contact.digest, now, exc.message, counted=False)
        if isinstance(exc, PlatformAuthError):
            if self.store.mark_account_unhealthy(account.id, f"WhatsApp: {exc.message}", now):
                self.activity.record("account.unhealthy", meta["scope"], f"ALERT {account.id} needs a person: "
                                     f"{exc.message}; the broadcast waits", level="error", account_id=account.id)
            return self._retry(meta["id"], contact.digest, now, exc.message, counted=False)
        if _code(exc.code) in TEMPLATE_CODES:
            self._halt(meta, exc.message, now)
            return self._retry(meta["id"], contact.digest, now, exc.message, counted=False)
        if _code(exc.code) == MARKETING_STOPPED:
            self._stopped_marketing(contact.digest, meta["scope"], now)
        if exc.retryable:
            return self._retry(meta["id"], contact.digest, now, exc.message)
        self.broadcasts.settle(meta["id"], contact.digest, "failed", rank("failed"), now, reason=exc.message)
        return "failed"

    def _halt(self, meta: dict[str, Any], reason: str, now: datetime) -> None:
        """WhatsApp refused the template itself: every subscriber would get the same answer. Stop, and say so once."""
        if self.broadcasts.halt(meta["id"], reason, now):
            self.activity.record("broadcast.halted", meta["scope"], f"ALERT broadcast {meta['title']!r} stopped: "
                                 f"WhatsApp refused its template ({reason}). Nobody else is sent it; fix the template "
                                 "in WhatsApp Manager and upload the post again under a new name.", level="error",
                                 content_id=meta["content_id"], account_id=meta["account_id"])

    def _stopped_marketing(self, digest: str, scope: str, now: datetime) -> None:
        """131050: the person stopped our marketing messages in WhatsApp itself — an opt-out like a STOP."""
        if self.audience.suppress(digest, "marketing_stop", now):
            self.activity.record("audience.stopped", scope, "a subscriber stopped marketing messages in WhatsApp "
                                 "(131050): no message will reach them again", level="warning")

    def _retry(self, broadcast: str, digest: str, now: datetime, reason: str, *, counted: bool = True) -> str:
        record = self.broadcasts.record(broadcast, digest)
        attempts = int(record.get("attempts", 1)) if record else 1
        if counted and attempts >= MAX_SENDS:
            self.broadcasts.settle(broadcast, digest, "failed", rank("failed"), now,
                                   reason=f"gave up after {attempts} attempts: {reason}")
            return "failed"
        self.broadcasts.settle(broadcast, digest, "retry", 0, now, reason=reason, uncount=not counted)
        return "retry"

    def _again(self, message: dict[str, Any], seconds: float) -> None:
        if self.queue.send([message], delay_seconds=chunk_delay(seconds)):
            raise PersistenceError("SQS did not take the broadcast chunk back")

    # ---- status webhooks -----------------------------------------------------------------------------------
    def on_status(self, status: MessageStatus, content_id: str, account_id: str, digest: str) -> str:
        now = self.clock.now()
        ident = broadcast_id(content_id)
        if status.status != "failed":
            moved = self.broadcasts.advance(ident, digest, status.status, rank(status.status), now,
                                            wamid=status.message_id)
            return "advanced" if moved else "repeated"
        from chalicelib.adapters.platforms.graph_errors import whatsapp_status_error_class

        kind = whatsapp_status_error_class(status.error_code)
        if status.error_code == MARKETING_STOPPED:
            self._stopped_marketing(digest, "state", now)
        if kind == "final_member":
            moved = self.broadcasts.advance(ident, digest, "failed", rank("failed"), now, wamid=status.message_id,
                                            reason=status.error or "failed")
            return "failed" if moved else "repeated"
        if kind == "account" and self.store.mark_account_unhealthy(account_id, f"WhatsApp: {status.error}", now):
            self.activity.record("account.unhealthy", "state", f"ALERT {account_id} needs a person: WhatsApp reported "
                                 f"{status.error} for a broadcast message", level="error", account_id=account_id)
        record = self.broadcasts.record(ident, digest)
        if record is None:
            return "repeated"
        # The retry is queued before the record is reopened: if SQS refuses it, the webhook fails and Meta's next
        # delivery finds the record as it was and tries again (a retry for a record not reopened claims nothing).
        self._again({"broadcast": ident, "constituency": record["constituency"], "digest": digest,
                     "shard": digest[0]}, RETRY_AFTER.total_seconds())
        moved = self.broadcasts.reopen(ident, digest, status.message_id, status.error or "failed", now, MAX_SENDS)
        if moved != "reopened":
            return "failed" if moved == "gave_up" else "repeated"
        return "resent"

    def forget(self, digest: str, campaign: Campaign) -> None:
        """An erasure: the person's broadcast records and pair-rate slots go too."""
        self.broadcasts.forget(digest)
        for account in campaign.accounts:
            if account.platform == "whatsapp":
                self.store.forget_recipient(account.id, digest)

    def visible_rollups(self, campaign: Campaign, scope: str, days: int = 7) -> list[dict[str, Any]]:
        """The last `days` days' broadcasts inside `scope` (or for a scope enclosing it), newest first, with the
        roll-up the clock last counted (a dashboard request never counts a broadcast's records itself)."""
        since = self.clock.now() - timedelta(days=days)
        inside = [b for b in self.broadcasts.broadcasts_since(since) if scope in campaign.enclosing(b["scope"])
                  or b["scope"] in campaign.enclosing(scope)]
        return [{k: b.get(k) for k in ("id", "title", "scope", "account_id", "started_at", "rollup", "halted")}
                for b in reversed(inside)]

    # ---- roll-up -----------------------------------------------------------------------------------------
    def rollups(self, since: datetime, budget: float | None = None) -> list[dict[str, Any]]:
        """Broadcasts begun since `since`, each with where its messages are. Counted a shard at a time — the stalest
        first, each at most once a minute in a broadcast's first hour and every 15 minutes after — for as long as
        `budget` seconds allow (a million records take minutes to read; the report's count waits for all)."""
        now, started = self.clock.now(), time.monotonic()
        listed = []
        for meta in reversed(self.broadcasts.broadcasts_since(since)):  # the newest, going out now, first
            parts = self.broadcasts.shard_rollups(meta["id"])
            young = meta["started_at"] >= to_iso(now - timedelta(hours=1))
            fresh_since = to_iso(now - (ROLLUP_EVERY if young else ROLLUP_LATER))
            counted = False
            for shard in sorted(SHARDS, key=lambda s: parts.get(s, {}).get("at", "")):
                if parts.get(shard, {}).get("at", "") >= fresh_since:
                    continue
                if budget is not None and time.monotonic() - started >= budget:
                    break
                counts = rollup(self.broadcasts.records(meta["id"], shard), now).to_dict()
                parts[shard] = {**counts, "at": to_iso(now)}
                self.broadcasts.save_shard_rollup(meta["id"], shard, parts[shard])
                counted = True
            if counted or "rollup" not in meta:
                meta["rollup"] = combine(parts.values())
                self.broadcasts.save_rollup(meta, meta["rollup"], now)
            listed.append(meta)
        return listed[::-1]


def _open(record: dict[str, Any] | None) -> bool:
    """Whether a contact still needs this broadcast's message: never begun, or waiting for a retry."""
    return record is None or (record["status"] == "retry" and int(record.get("attempts", 0)) < MAX_SENDS)


def _code(code: object) -> int | None:
    try:
        return int(code)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
