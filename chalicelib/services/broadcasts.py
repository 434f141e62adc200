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

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters.clock import Clock
from chalicelib.adapters.platforms.base import PlatformClient, PublishRequest
from chalicelib.adapters.platforms.graph_errors import whatsapp_status_error_class
from chalicelib.domain import election
from chalicelib.domain.audience import SHARDS, StoredContact
from chalicelib.domain.broadcast import (
    CHUNK,
    DEFAULT_THROUGHPUT,
    MAX_SENDS,
    RETRY_AFTER,
    SKIPPED,
    broadcast_id,
    chunk_delay,
    rank,
    reference,
    rollup,
    schedule,
    send_interval,
    wait_for_room,
)
from chalicelib.domain.campaign import Account, Campaign
from chalicelib.domain.pair_rate import PAIR_SPACING, recipient_key
from chalicelib.domain.post import PAUSE_RECHECK, Post
from chalicelib.domain.times import to_iso
from chalicelib.domain.whatsapp_webhook import MessageStatus
from chalicelib.errors import (
    PersistenceError,
    PlatformAmbiguousError,
    PlatformAuthError,
    PlatformError,
    PlatformRateLimitedError,
)
from chalicelib.observability import logger
from chalicelib.ports import AudienceRecords, BroadcastRecords, ContactVaultPort, StorePort
from chalicelib.services.activity import ActivityLog
from chalicelib.services.campaigns import CampaignSource

ROLLUP_EVERY = timedelta(seconds=60)
LATE = timedelta(milliseconds=20)  # a message this far behind its sending time takes a new one
SENDERS = 16   # messages in flight per chunk: a Graph call takes ~100 ms, the schedule spaces them ~12 ms apart


@dataclass
class ChunkOutcome:
    outcome: str                      # sent | held | cancelled | done | missing
    sent: int = 0
    retry: int = 0
    failed: int = 0
    skipped: int = 0
    in_doubt: int = 0


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

    # ---- begin -------------------------------------------------------------------------------------------
    def begin(self, post: Post, campaign: Campaign, now: datetime) -> int:
        """Record the broadcast (once) and queue its first chunks; the number of chunks queued. Safe to repeat."""
        constituencies = sorted(c.id for c in campaign.constituencies
                                if post.scope in campaign.enclosing(f"constituency/{c.id}"))
        meta = {"id": broadcast_id(post.content_id, post.account_id), "content_id": post.content_id,
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
        now = self.clock.now()
        gate = self._gate(meta, campaign, account, now)
        if gate is not None:
            until, reason = gate
            if until is None:
                return ChunkOutcome("cancelled")
            self._again(message, (until - now).total_seconds())
            logger.info("broadcast chunk held", extra={"broadcast": meta["id"], "reason": reason})
            return ChunkOutcome("held")
        page, message = self._page(meta["id"], message, now)
        claimed = self._claim(meta["id"], page, now)
        if not claimed:
            return ChunkOutcome("done")
        limit = account.messaging_limit
        if limit is not None and not self.broadcasts.take_messaging_room(account.id, len(claimed), limit, now):
            for contact in claimed:
                self._retry(meta["id"], contact.digest, now, "the rolling day's messaging limit is reached",
                            counted=False)
            self._again(message, wait_for_room(now).total_seconds())
            return ChunkOutcome("held", retry=len(claimed))
        # The stop list, as late as it can be read: a STOP that lands mid-broadcast stops every message not yet sent.
        _, stopped = self.audience.known(message["constituency"], [c.digest for c in claimed])
        for digest in stopped:
            self.broadcasts.settle(meta["id"], digest, SKIPPED, 0, now, reason="stopped")
        sendable = [c for c in claimed if c.digest not in stopped]
        outcome = ChunkOutcome("sent", skipped=len(stopped))
        if sendable:
            self._send_all(meta, account, sendable, outcome)
        if outcome.retry:
            self._again(message, RETRY_AFTER.total_seconds())
        return outcome

    def _gate(self, meta: dict[str, Any], campaign: Campaign, account: Account,
              now: datetime) -> tuple[datetime | None, str] | None:
        """The kill switch, the election calendar and the account, before every chunk: (until, why), with until None
        when the broadcast must not go on at all."""
        pauses = self.store.pauses()
        covering = [s for s in campaign.enclosing(meta["scope"]) if s in pauses]
        if covering:
            return now + PAUSE_RECHECK, f"publishing is paused for {covering[0]}"
        ruling = election.verdict(meta["scope"], campaign, now, cleared=False)
        if ruling.action is election.Action.CANCEL:
            return None, ruling.reason
        if ruling.action is election.Action.HOLD and ruling.until:
            return ruling.until, ruling.reason
        state = self.store.account_state(account.id)
        if state.blocks(now):
            return state.wait_until(now), f"{account.id} is {state.health}"
        return None

    def _page(self, broadcast: str, message: dict[str, Any], now: datetime) -> tuple[list[StoredContact],
                                                                                     dict[str, Any]]:
        """The chunk's contacts. Its first run fixes where it ends and passes the rest of the shard on (once: a
        redelivered first run finds it passed)."""
        constituency = message["constituency"]
        if "digest" in message:  # one contact's retry, from a status webhook
            contact = self.audience.contact(constituency, message["digest"])
            return ([contact] if contact else []), message
        after = message.get("after")
        page = list(self.audience.contacts(constituency, message["shard"], after, CHUNK))
        if "until" in message:
            return [c for c in page if c.digest <= message["until"]], message
        passed = len(page) == CHUNK and self.broadcasts.pass_on(broadcast, constituency, message["shard"],
                                                                after or "", now)
        if passed and self.queue.send([{**message, "after": page[-1].digest}]):
            raise PersistenceError("SQS did not take the broadcast's next chunk")
        return page, {**message, "until": page[-1].digest if page else (after or "")}

    def _claim(self, broadcast: str, page: list[StoredContact], now: datetime) -> list[StoredContact]:
        """The contacts of the page this chunk takes (one conditional write each, several in flight)."""
        if not page:
            return []
        with ThreadPoolExecutor(max_workers=min(SENDERS, len(page))) as pool:
            won = list(pool.map(lambda c: self.broadcasts.claim(broadcast, c.digest, c.constituency, now, MAX_SENDS),
                                page))
        return [contact for contact, ours in zip(page, won, strict=True) if ours]

    def _send_all(self, meta: dict[str, Any], account: Account, contacts: list[StoredContact],
                  outcome: ChunkOutcome) -> None:
        throughput = account.throughput or DEFAULT_THROUGHPUT
        start = self.broadcasts.reserve_sends(account.id, len(contacts), timedelta(seconds=send_interval(throughput)),
                                              self.clock.now())
        token = self.token(account)
        times = schedule(start, len(contacts), throughput)
        every = timedelta(seconds=send_interval(throughput))
        with ThreadPoolExecutor(max_workers=min(SENDERS, len(contacts))) as pool:
            results = list(pool.map(lambda pair: self._send_one(meta, account, token, every, *pair),
                                    zip(contacts, times, strict=True)))
        for result in results:
            setattr(outcome, result, getattr(outcome, result) + 1)

    def _send_one(self, meta: dict[str, Any], account: Account, token: str, every: timedelta,
                  contact: StoredContact, at: datetime) -> str:
        wait = (at - self.clock.now()).total_seconds()
        if wait < -LATE.total_seconds():
            # Sending now, long after its time, would crowd the messages on time into one second: take a new time.
            wait = (self.broadcasts.reserve_sends(account.id, 1, every, self.clock.now()) - self.clock.now()
                    ).total_seconds()
        if wait > 0:
            self.sleep(wait)
        now = self.clock.now()
        phone = str(self.vault.open(contact.digest, contact.sealed)["phone"]).lstrip("+")
        if not self.store.reserve_recipient(account.id, recipient_key(phone), now, PAIR_SPACING):
            return self._retry(meta["id"], contact.digest, now, "WhatsApp's pair rate: they had a message seconds ago",
                               counted=False)
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
            self.store.free_recipient(account.id, recipient_key(phone), now, PAIR_SPACING)  # nothing was sent
            return self._failed(meta, account, contact, exc, now)
        self.broadcasts.settle(meta["id"], contact.digest, "sent", rank("sent"), now, wamid=wamid)
        return "sent"

    def _failed(self, meta: dict[str, Any], account: Account, contact: StoredContact, exc: PlatformError,
                now: datetime) -> str:
        if isinstance(exc, PlatformRateLimitedError) and not exc.per_recipient:
            # The number's throughput (130429): every chunk of this number waits a moment.
            self.store.throttle_account(account.id, now + timedelta(seconds=max(1, exc.retry_after or 1)),
                                        exc.message, now)
            return self._retry(meta["id"], contact.digest, now, exc.message, counted=False)
        if isinstance(exc, PlatformAuthError):
            if self.store.mark_account_unhealthy(account.id, f"WhatsApp: {exc.message}", now):
                self.activity.record("account.unhealthy", meta["scope"], f"ALERT {account.id} needs a person: "
                                     f"{exc.message}; the broadcast waits", level="error", account_id=account.id)
            return self._retry(meta["id"], contact.digest, now, exc.message, counted=False)
        if exc.retryable:
            return self._retry(meta["id"], contact.digest, now, exc.message)
        self.broadcasts.settle(meta["id"], contact.digest, "failed", rank("failed"), now, reason=exc.message)
        return "failed"

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
        ident = broadcast_id(content_id, account_id)
        if status.status != "failed":
            moved = self.broadcasts.advance(ident, digest, status.status, rank(status.status), now,
                                            wamid=status.message_id)
            return "advanced" if moved else "repeated"
        kind = whatsapp_status_error_class(status.error_code)
        if kind == "final_member":
            moved = self.broadcasts.advance(ident, digest, "failed", rank("failed"), now, wamid=status.message_id,
                                            reason=status.error or "failed")
            return "failed" if moved else "repeated"
        if kind == "account" and self.store.mark_account_unhealthy(account_id, f"WhatsApp: {status.error}", now):
            self.activity.record("account.unhealthy", "state", f"ALERT {account_id} needs a person: WhatsApp reported "
                                 f"{status.error} for a broadcast message", level="error", account_id=account_id)
        if not self.broadcasts.reopen(ident, digest, status.error or "failed", now):
            return "repeated"
        record = self.broadcasts.record(ident, digest) or {}
        self._again({"broadcast": ident, "constituency": record.get("constituency", ""), "digest": digest,
                     "shard": digest[0]}, RETRY_AFTER.total_seconds())
        return "resent"

    def visible_rollups(self, campaign: Campaign, scope: str, days: int = 7) -> list[dict[str, Any]]:
        """The last `days` days' broadcasts inside `scope` (or for a scope enclosing it), newest first."""
        since = self.clock.now() - timedelta(days=days)
        inside = [b for b in self.rollups(since) if scope in campaign.enclosing(b["scope"])
                  or b["scope"] in campaign.enclosing(scope)]
        return [{k: b.get(k) for k in ("id", "title", "scope", "account_id", "started_at", "rollup")}
                for b in reversed(inside)]

    # ---- roll-up -----------------------------------------------------------------------------------------
    def rollups(self, since: datetime) -> list[dict[str, Any]]:
        """Broadcasts begun since `since`, each with where its messages are (counted again when a minute old)."""
        now = self.clock.now()
        listed = []
        for meta in self.broadcasts.broadcasts_since(since):
            rolled = meta.get("rolled_up_at")
            if rolled is None or rolled < to_iso(now - ROLLUP_EVERY):
                meta["rollup"] = rollup(self.broadcasts.records(meta["id"])).to_dict()
                self.broadcasts.save_rollup(meta, meta["rollup"], now)
            listed.append(meta)
        return listed
