"""A broadcast's pace (the issue's goal: ≥ 0.95 of the number's throughput, no 130429, nobody twice): 20,000 generated
subscribers, the sandbox's number set to 250 messages a second, several publishers at once draining the chunks —
the real Broadcaster, vault and WhatsApp client over HTTP to the sandbox. The table is the in-memory twin (it
passes the DynamoDB store's contract): moto answers one DynamoDB call at a time, ~6 ms each, which would measure
moto instead of the pacing."""

from __future__ import annotations

import contextlib
import gc
import heapq
import json
import multiprocessing
import os
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

from bench.audience_import import StubKms, StubSecrets, campaign, max_rss_mb

ACCOUNT = "wa-sahada"


class DelayQueue:
    """SQS as the broadcast sees it: messages with a delay, taken by several publishers."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, dict]] = []
        self._lock, self._seq, self.in_flight = threading.Lock(), 0, 0

    def send(self, messages: list[dict], delay_seconds: int = 0) -> list[dict]:
        with self._lock:
            for message in messages:
                self._seq += 1
                heapq.heappush(self._heap, (time.monotonic() + delay_seconds, self._seq, message))
        return []

    def take(self) -> dict | None:
        with self._lock:
            if self._heap and self._heap[0][0] <= time.monotonic():
                self.in_flight += 1
                return heapq.heappop(self._heap)[2]
            return None

    def done(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def idle(self) -> bool:
        with self._lock:
            return not self._heap and not self.in_flight


@contextlib.contextmanager
def frozen_survivors(every_s: float = 0.5) -> Iterator[None]:
    """This process holds what the cloud holds elsewhere: the in-memory table (DynamoDB's), or the sandbox's record of
    every request (Meta's). Python's full collections walk all of it, and at 20,000 contacts they stall every thread
    for 50-200 ms — a pause no chunk Lambda, with its one chunk in memory, and no Graph API server has. So every object
    alive is set aside from the collector, now and every half second: garbage cycles made since the last tick are
    collected as usual, those alive at a tick only after the run (a collection then found none)."""
    stop = threading.Event()

    def freeze() -> None:
        while not stop.is_set():
            gc.freeze()
            stop.wait(every_s)

    gc.collect()
    freezer = threading.Thread(target=freeze, daemon=True)
    freezer.start()
    try:
        yield
    finally:
        stop.set()
        freezer.join()
        gc.unfreeze()


def serve_sandbox(port: int, start: str, epoch: float, target_id: str, throughput: int,
                  ready: threading.Event | None = None) -> None:
    """The sandbox in a process of its own, as WhatsApp is: in ours, the publishers' threads would stall its clock and
    bunch the arrivals it counts."""
    from chalicelib.adapters.clock import ScaledClock
    from local.sandbox import PlatformSandbox

    sandbox = PlatformSandbox(port=port, clock=ScaledClock(datetime.fromisoformat(start), 1.0, epoch)).start()
    sandbox.webhook_statuses = ()  # statuses are not the sending pace's business
    sandbox.register("bench-token", ACCOUNT, "whatsapp", target_id)
    sandbox.set_throughput(target_id, throughput)
    with frozen_survivors():
        while True:
            time.sleep(3600)


def bench_broadcast(contacts: int | None = None, throughput: int | None = None,
                    publishers: int | None = None) -> list[datetime]:
    from chalicelib.adapters.clock import ScaledClock
    from chalicelib.adapters.contact_vault import ContactVault
    from chalicelib.adapters.memory import InMemoryStore
    from chalicelib.adapters.memory_audience import InMemoryAudience
    from chalicelib.adapters.memory_broadcast import InMemoryBroadcasts
    from chalicelib.adapters.platforms.whatsapp import WhatsAppClient
    from chalicelib.domain.audience import StoredContact
    from chalicelib.domain.post import Post, PostStatus
    from chalicelib.services.activity import ActivityLog
    from chalicelib.services.broadcasts import Broadcaster
    from local.emulator import free_port

    contacts = contacts or int(os.environ.get("BENCH_BROADCAST_CONTACTS", 20_000))
    throughput = throughput or int(os.environ.get("BENCH_BROADCAST_RATE", 250))
    publishers = publishers or int(os.environ.get("BENCH_BROADCAST_PUBLISHERS", 4))
    senders = int(os.environ.get("BENCH_BROADCAST_SENDERS", 4))  # calls in flight per chunk: the sandbox is quick
    # Real time, on a day the example campaign may send (its election calendar would cancel a broadcast today).
    start, epoch = "2021-03-03T10:00:00+05:30", time.time()
    clock = ScaledClock(datetime.fromisoformat(start), 1.0, epoch)
    plan = campaign()
    account = next(a for a in plan.accounts if a.id == ACCOUNT)
    object.__setattr__(account, "throughput", throughput)
    object.__setattr__(plan.audience, "messaging_limit", None)  # the pace is measured here, not the day's limit
    port = free_port()
    server = multiprocessing.get_context("fork").Process(
        target=serve_sandbox, args=(port, start, epoch, account.target_id, throughput), daemon=True)
    server.start()
    url = f"http://127.0.0.1:{port}"
    _wait_until_up(url)

    vault = ContactVault(StubKms(), StubSecrets(), "alias/bench", "bench/hash-key")
    audience, store = InMemoryAudience(), InMemoryStore()
    now = clock.now()
    batch = []
    for n in range(contacts):
        phone = f"+9198{n * 7919 % 10**8:08d}"
        digest = vault.digest(phone)
        batch.append(StoredContact(constituency="sahada", digest=digest, sealed=vault.seal(digest, {"phone": phone}),
                                   consent_source="missed call", consent_at=now - timedelta(days=2),
                                   notice_version="v1", language="hi", source_key="audience/sahada/bench.csv",
                                   updated_at=now))
    audience.save_contacts(batch)
    del batch
    queue = DelayQueue()

    class Campaigns:
        def active(self):
            return plan

    broadcaster = Broadcaster(InMemoryBroadcasts(), audience, vault, store, queue, Campaigns(),
                              WhatsAppClient(url, "v25.0", 10.0), lambda _: "bench-token",
                              ActivityLog(store, clock), clock, senders=senders)
    post = Post(content_id="bench", account_id=ACCOUNT, platform="whatsapp", scope="constituency/sahada",
                status=PostStatus.PUBLISHING, due_at=now, revision=1,
                payload={"title": "bench", "audience": "subscribers",
                         "template": {"name": "budget_update", "language": "hi", "params": ["a", "b"]}})
    rss_before = max_rss_mb()
    started = time.perf_counter()
    broadcaster.begin(post, plan, clock.now())

    def publisher() -> None:
        while not queue.idle():
            message = queue.take()
            if message is None:
                time.sleep(0.005)
                continue
            try:
                broadcaster.run_chunk(message)
            finally:
                queue.done()

    threads = [threading.Thread(target=publisher) for _ in range(publishers)]
    with frozen_survivors():
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    wall_s = time.perf_counter() - started
    with urllib.request.urlopen(f"{url}/_sandbox/requests?platform=whatsapp") as answer:
        received = json.loads(answer.read())["requests"]
    server.terminate()
    accepted = [r for r in received if r["status"] == 200]
    refused = Counter(str((r.get("response") or {}).get("error", {}).get("code", r["status"])) for r in received
                      if r["status"] != 200)
    times = sorted(datetime.fromisoformat(r["at"]) for r in accepted)
    span_s = (times[-1] - times[0]).total_seconds() if len(times) > 1 else 0.0
    achieved = (len(accepted) - 1) / span_s if span_s else 0.0
    twice = sum(1 for n in Counter(r["body"]["to"] for r in accepted).values() if n > 1)
    print(f"\nbroadcast to {contacts:,} subscribers, the sandbox's number at {throughput}/s, {publishers} publishers "
          f"with {senders} calls in flight each (real Broadcaster, vault and HTTP client; in-memory table):")
    print(f"  messages accepted       {len(accepted):8,}   of {contacts:,}")
    print(f"  achieved                {achieved:8.1f} /s   = {achieved / throughput:.3f} of the limit (goal ≥ 0.95)")
    print(f"  first to last message   {span_s:8.1f} s    (wall {wall_s:.1f} s with the chunks' start and end)")
    print(f"  throughput errors       {refused.get('130429', 0):8,}   (goal 0); other refusals: "
          f"{dict((k, v) for k, v in refused.items() if k != '130429') or 'none'}")
    print(f"  sent twice              {twice:8,}   (goal 0)")
    print(f"  peak RSS growth         {max_rss_mb() - rss_before:8.0f} MB   (the sandbox's in its own process)")
    return times


def _wait_until_up(url: str) -> None:
    for _ in range(200):
        try:
            with urllib.request.urlopen(f"{url}/_sandbox/requests"):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the sandbox did not start")
