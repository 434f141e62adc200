"""The run: one scenario for both backends, driving the system only through chalicelib.entry.

Each clock step (one simulated minute, or a jump to the next due moment when nothing is moving) does what the
world would do at that moment — uploads (each notification delivered twice), re-uploads, approvals, a pause
and its resume — then fires the publishing clock (sometimes twice at once), plays SQS's event-source mapping
(sometimes handing a message in flight to a second worker), and delivers the sandbox's webhooks as Meta does.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib import entry
from chalicelib.adapters import aws
from chalicelib.adapters.clock import SteppedClock
from chalicelib.domain.post import content_id_for
from chalicelib.errors import PracharError, Unavailable
from chaos.backends import FakesBackend, StackBackend, environment, real_platform_clients
from chaos.campaign import COORDINATOR, START, UPLOADER, CampaignPlan, PlannedPost, plan_campaign
from chaos.events import lambda_context, s3_event
from chaos.figures import Figures, count
from chaos.killing import KillsAfterSuccess, WorkerKilled
from local.emulator import free_port
from local.sandbox import Fault, PlatformSandbox

STEP = timedelta(minutes=1)
FAULT_RATES = {"server_error": 0.10, "rate_limit": 0.05, "timeout_after_send": 0.02}
# A platform that creates the post and still answers 5xx (Facebook and X: a message cannot be looked up, and the
# sandbox's WhatsApp answers a 5xx with Meta's error body, which means nothing was sent).
AFTER_SEND_5XX_RATE = {"facebook": 0.01, "x": 0.01}
KILL_RATE = 0.01
REUPLOAD_SHARE = 0.05
PLATFORM_TIMEOUT_SECONDS = 1.0
SLOW_ANSWER_SECONDS = 1.3   # a timeout_after_send answers after the client gave up
PUBLISH_ROUNDS_PER_STEP = 6
WINDOW_REOPEN = timedelta(hours=6)
PAUSED_SCOPE = "constituency/sahada"
S3_ATTEMPTS = 3
RETRY_PAUSE = timedelta(seconds=7)


@dataclass
class RunOptions:
    posts: int
    seed: int
    backend: str
    max_steps: int = 30_000


@dataclass(order=True)
class _Event:
    at: datetime
    order: int
    action: Callable[[], None] = field(compare=False)


@dataclass
class _Approval:
    content_id: str
    not_before: datetime


class Scenario:
    def __init__(self, options: RunOptions) -> None:
        self.options = options
        self.rng = random.Random(options.seed)
        self.clock = SteppedClock(START)
        self.sandbox = PlatformSandbox(port=free_port(), clock=self.clock, slow_seconds=SLOW_ANSWER_SECONDS)
        self.events: list[_Event] = []
        self.sequence = itertools.count()
        self.approvals: dict[str, _Approval] = {}
        self.webhooks: list[tuple[bytes, dict[str, str]]] = []
        self.clients: dict[str, KillsAfterSuccess] = {}
        self.faults: list[Fault] = []
        self.dropped_events: list[str] = []
        self.steps = 0
        self.lock = threading.Lock()

    # ---- set-up -----------------------------------------------------------------------------------
    def start(self) -> None:
        self.sandbox.start()
        os.environ.update(environment(self.sandbox, PLATFORM_TIMEOUT_SECONDS))
        self.backend = (FakesBackend if self.options.backend == "fakes" else StackBackend)(self.clock)
        self.clients = {name: KillsAfterSuccess(client, KILL_RATE, random.Random(self.rng.random()))
                        for name, client in real_platform_clients(self.clock).items()}
        self.container = self.backend.install(self.clock, dict(self.clients))
        self.plan: CampaignPlan = plan_campaign(self.options.posts, self.rng)
        self.backend.put("config/campaign.yaml", self.plan.yaml.encode("utf-8"))
        single_part_etag = hashlib.md5(self.plan.yaml.encode("utf-8")).hexdigest()
        outcomes = entry.ingest_config(s3_event("config/campaign.yaml", UPLOADER, single_part_etag))
        if outcomes != ["accepted"]:
            raise RuntimeError(f"the generated campaign was refused: {outcomes}")
        self.campaign = self.container.campaigns.active()
        self.backend.seed_secrets(self.campaign.accounts, self.sandbox)
        self.open_windows()
        for platform in ("facebook", "x", "whatsapp"):
            rates = {**FAULT_RATES, **({"server_error_after_send": AFTER_SEND_5XX_RATE[platform]}
                                       if platform in AFTER_SEND_5XX_RATE else {})}
            for kind, rate in rates.items():
                self.faults.append(self.sandbox.inject(Fault(platform, kind, times=None, rate=rate,
                                                             _random=random.Random(self.rng.random()))))
        self.schedule_world()

    def schedule_world(self) -> None:
        for planned in self.plan.posts:
            self.at(planned.uploaded_at, lambda p=planned: self.upload(p, "v1"))
            if self.plan.needs_approval(planned):
                window = (planned.publish_at - planned.uploaded_at) * self.rng.uniform(0.1, 0.9)
                self.at(planned.uploaded_at + window, lambda p=planned: self.approve_later(p))
            if self.rng.random() < REUPLOAD_SHARE:
                # while publishing is going on: around the post's own time, when its account is busiest
                moment = planned.publish_at + timedelta(minutes=self.rng.randint(-20, 20))
                self.at(max(moment, planned.uploaded_at + STEP), lambda p=planned: self.reupload(p))
        pause_at = START + timedelta(hours=self.rng.randint(20, 30))
        self.at(pause_at, lambda: self.control("pause"))
        self.at(pause_at + timedelta(hours=self.rng.randint(2, 5)), lambda: self.control("resume"))

    def at(self, moment: datetime, action: Callable[[], None]) -> None:
        with self.lock:  # uploads in threads schedule their own retries
            heapq.heappush(self.events, _Event(moment, next(self.sequence), action))

    def open_windows(self) -> None:
        for phone in self.plan.phones():
            self.sandbox.open_window(phone)

    # ---- what people do -----------------------------------------------------------------------------
    def upload(self, planned: PlannedPost, revision_word: str) -> None:
        """Put the manifest, then deliver its S3 notification twice — sometimes both at once."""
        body = planned.manifest(revision_word).encode("utf-8")
        self.backend.put(planned.key, body)
        event = s3_event(planned.key, UPLOADER, hashlib.md5(body).hexdigest())  # the object's ETag, as S3 sends it
        if self.rng.random() < 0.3:
            self.together([lambda: self.notify(event), lambda: self.notify(event)])
        else:
            self.notify(event)
            self.notify(event)

    def notify(self, event: dict[str, Any], attempt: int = 1) -> None:
        """Lambda's asynchronous invocation: a failed try is retried a minute, then two minutes later; after the
        third the event goes to the on-failure destination."""
        try:
            entry.ingest_content(event)
        except Exception as exc:  # a handler that raises: Lambda retries the same event later
            if attempt < S3_ATTEMPTS:
                retry_at = self.clock.now() + timedelta(minutes=attempt)
                self.at(retry_at, lambda: self.notify(event, attempt + 1))
            else:
                with self.lock:
                    self.dropped_events.append(f"{event['Records'][0]['s3']['object']['key']}: {exc}")

    def reupload(self, planned: PlannedPost) -> None:
        if not self.plan.needs_approval(planned):
            self.upload(planned, "v2")
            return
        content_id = content_id_for(planned.key)
        seen = entry.queries().post(content_id)
        if seen is not None and self.rng.random() < 0.5:
            # an approver who looked at the old revision decides while the new one lands
            self.together([lambda: self.upload(planned, "v2"), lambda: self.approve(content_id, seen["revision"])])
        else:
            self.upload(planned, "v2")
        self.approvals[content_id] = _Approval(content_id, self.clock.now())
        self.settle_approvals()

    def approve_later(self, planned: PlannedPost) -> None:
        content_id = content_id_for(planned.key)
        self.approvals[content_id] = _Approval(content_id, self.clock.now())
        # the sign-off races a clock tick
        self.together([self.settle_approvals, entry.dispatch_due])

    def approve(self, content_id: str, revision: int) -> bool:
        try:
            self.container.approvals().approve(content_id, self.campaign.member(COORDINATOR), self.campaign,
                                               revision)
            return True
        except PracharError:  # 409: it changed while we looked (or nothing waits for a sign-off)
            return False

    def settle_approvals(self) -> None:
        """Approve what waits for a sign-off, each time for the revision just read (a 409 means look again)."""
        for content_id, wanted in list(self.approvals.items()):
            if wanted.not_before > self.clock.now():
                continue
            for _ in range(3):
                seen = entry.queries().post(content_id)
                waiting = seen is not None and any(a["status"] == "pending_approval" for a in seen["accounts"])
                if not waiting or self.approve(content_id, seen["revision"]):
                    break
            else:
                continue
            self.approvals.pop(content_id, None)

    def control(self, action: str) -> None:
        coordinator = self.campaign.member(COORDINATOR)
        if action == "pause":
            self.container.controls().pause(self.campaign, coordinator, PAUSED_SCOPE, "chaos: fact check")
        else:
            self.container.controls().resume(self.campaign, coordinator, PAUSED_SCOPE)

    # ---- what the platform's machinery does -----------------------------------------------------------
    def together(self, actions: list[Callable[[], Any]]) -> None:
        errors: list[BaseException] = []

        def run(action: Callable[[], Any]) -> None:
            try:
                action()
            except BaseException as exc:  # re-raised below, in the scenario's own thread
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(action,)) for action in actions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def tick(self) -> None:
        roll = self.rng.random()
        if roll < 0.1:
            self.together([entry.dispatch_due, entry.dispatch_due])
        else:
            entry.dispatch_due()
            if roll < 0.2:
                entry.dispatch_due()

    def invoke_publisher(self, records: list[dict[str, Any]]) -> None:
        """One Lambda invocation on an SQS batch: delete what did not fail; a killed worker deletes nothing."""
        try:
            answer = entry.publish_batch({"Records": records}, lambda_context("on_publish_message"))
        except WorkerKilled:
            return
        failed = {failure["itemIdentifier"] for failure in answer.get("batchItemFailures", [])}
        for record in records:
            if record["messageId"] not in failed:
                self.backend.delete(record["receiptHandle"])

    def publish(self) -> None:
        for _ in range(PUBLISH_ROUNDS_PER_STEP):
            records = self.backend.receive(10)
            if not records:
                return
            if self.rng.random() < 0.15:
                # the visibility timeout of one message runs out while its worker is still busy
                chosen = self.rng.choice(records)
                self.backend.redeliver(chosen["receiptHandle"])
                again = self.backend.receive(10)
                if again:  # Lambda never invokes with an empty batch
                    self.together([lambda first=records: self.invoke_publisher(first),
                                   lambda second=again: self.invoke_publisher(second)])
                else:
                    self.invoke_publisher(records)
            else:
                self.invoke_publisher(records)
            # With PRACHAR_RETRY_BASE_SECONDS=0 a retry is visible at once: let a few simulated seconds pass, as
            # SQS's backoff would, or every retry of a kit lands inside WhatsApp's 6-second pair rate.
            self.clock.advance_to(self.clock.now() + RETRY_PAUSE)

    def deliver_webhooks(self) -> None:
        self.webhooks += self.sandbox.take_webhooks()
        kept = []
        for body, headers in self.webhooks:
            try:
                entry.whatsapp_webhook(body, headers["X-Hub-Signature-256"])
            except Unavailable:  # 503: Meta sends it again later
                kept.append((body, headers))
        self.webhooks = kept

    # ---- the loop -------------------------------------------------------------------------------------
    def run(self) -> bool:
        """Step until everything has settled; False if it did not within max_steps."""
        last_windows = self.clock.now()
        last_token_check = self.clock.now().date()
        while self.steps < self.options.max_steps:
            self.steps += 1
            now = self.clock.now()
            if now - last_windows >= WINDOW_REOPEN:
                self.open_windows()
                last_windows = now
            if now.date() != last_token_check:
                entry.check_tokens()
                last_token_check = now.date()
            while self.events and self.events[0].at <= now:
                heapq.heappop(self.events).action()
            self.settle_approvals()
            self.tick()
            self.publish()
            self.deliver_webhooks()
            if self.settled():
                return True
            self.advance()
        return False

    def settled(self) -> bool:
        return (not self.events and not self.approvals and not self.webhooks and self.backend.queue_empty()
                and self.container.store.next_wake_at() is None)

    def advance(self) -> None:
        now = self.clock.now()
        if not self.backend.queue_empty() or self.webhooks:
            if self.backend.name == "stack":
                time.sleep(0.02)  # the emulator's visibility timeouts run on real time
            self.clock.advance_to(now + STEP)
            return
        upcoming = [moment for moment in (self.container.store.next_wake_at(),
                                          self.events[0].at if self.events else None) if moment is not None]
        self.clock.advance_to(max(now + STEP, min(upcoming)) if upcoming else now + STEP)

    def figures(self, wall_seconds: float, timed_out: bool) -> Figures:
        fired = Counter()
        for fault in self.faults:
            fired[f"{fault.platform} {fault.kind}"] += fault.fired
        return Figures(seed=self.options.seed, backend=self.options.backend, posts=self.options.posts,
                       wall_seconds=wall_seconds, steps=self.steps, timed_out=timed_out, faults_fired=fired,
                       kills=sum(c.kills for c in self.clients.values()),
                       per_platform=count(self.plan, self.container.store, self.sandbox.received()),
                       dropped_events=list(self.dropped_events))

    def stop(self) -> None:
        self.sandbox.stop()
        backend = getattr(self, "backend", None)
        if backend is not None:
            backend.stop()


def _forget_aws_clients() -> None:
    """boto3 clients and Powertools' parameter providers keep the endpoint they were built with."""
    from aws_lambda_powertools.utilities import parameters

    aws.reset_clients()
    parameters.clear_caches()


def run(options: RunOptions) -> Figures:
    started = time.monotonic()
    saved = dict(os.environ)
    _forget_aws_clients()
    scenario = Scenario(options)
    try:
        scenario.start()
        finished = scenario.run()
        return scenario.figures(time.monotonic() - started, timed_out=not finished)
    finally:
        scenario.stop()
        os.environ.clear()
        os.environ.update(saved)
        _forget_aws_clients()
