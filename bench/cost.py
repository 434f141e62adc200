"""What a post and a WhatsApp message cost on AWS: every request the functions make, counted on the local stack with
botocore's event hooks (local/aws_calls.CallLog), per published post and per broadcast message, priced at on-demand
list prices in ap-south-1 (bench/prices.py); and the whole example campaign from those figures.

Each phase runs on one local stack, with each function in a container of its own (its own warm caches, as Lambda
keeps them): the team uploads content for a constituency (one image each), a lead approves it through the API, the
publishing clock queues it at its time, and the publisher posts it. Every request from upload to the published
record is counted: validation, approval, clock, publish and the delivery-status webhooks.
"""

from __future__ import annotations

import collections
import json
import os
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.prices import PRICES, request_price

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
START = datetime.fromisoformat("2021-03-03T08:00:00+05:30")
SCOPE = "constituency/sahada"
APPROVER = "bhilwara-d-01"  # the district's lead approves its constituencies' content
COORDINATOR = "state-01"
POSTS_PER_PHASE = 12
SUBSCRIBERS = 400
# The example campaign (4 seats × 45 days): what `make demo` replays, at its real volume per day.
CAMPAIGN_DAYS = 45
CAMPAIGN_WHATSAPP_MESSAGES = 6_000_000
FIXED_SCHEDULES = frozenset({"broadcast_counts", "coverage_alert", "campaign_closer", "daily_report",
                             "token_health_check", "audience_purge"})
# Lambda duration is not measured on the local stack (moto answers in ~18 ms; DynamoDB in ~5): priced as assumed.
ASSUMED_MS_PER_INVOCATION = 300
# A chunk Lambda waits on Meta for each message (~250 ms) with SENDERS threads at once, and is paced to the number's
# rate besides: priced as 250 ms of Lambda time per message, as if nothing ran in parallel (the upper bound).
BROADCAST_LAMBDA_MS_PER_MESSAGE = 250
API_LAMBDA_MS = 100
# What Meta reports for each message the campaign sends: sent, delivered and (mostly) read — each a webhook.
WEBHOOK_STATUSES = ("sent", "delivered", "read")
LAMBDA_MEMORY_GB = 0.5


@dataclass
class Phase:
    """The requests one phase made, by function and by (service, operation), and what it achieved."""

    name: str
    unit: str  # what the figures are per: "post", "message"
    units: int
    calls: list[Any]
    invocations: dict[str, int]
    api_requests: int = 0
    by_operation: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)

    def __post_init__(self) -> None:
        # The schedules that run whatever is published are the campaign's fixed cost (priced per firing below),
        # not the posts': what they did during the phase is left out of its figures.
        self.fixed = [c for c in self.calls if c.function in FIXED_SCHEDULES]
        self.calls = [c for c in self.calls if c.function not in FIXED_SCHEDULES]
        self.invocations = {f: n for f, n in self.invocations.items() if f not in FIXED_SCHEDULES}
        self.by_operation = collections.Counter((c.service, c.operation) for c in self.calls)

    def publish_step(self) -> float:
        return sum(1 for c in self.calls if c.function == "on_publish_message") / self.units

    def per_unit(self) -> float:
        return len(self.calls) / self.units

    def scans(self) -> int:
        return self.by_operation[("dynamodb", "Scan")]

    def dollars_per_unit(self) -> float:
        requests = sum(request_price(c.service, c.operation, _items(c)) for c in self.calls)
        lambdas = sum(self.invocations.values())
        seconds = (BROADCAST_LAMBDA_MS_PER_MESSAGE * self.units if self.unit == "message"
                   else ASSUMED_MS_PER_INVOCATION * lambdas) / 1000
        compute = (lambdas * PRICES["lambda.request"].dollars
                   + seconds * LAMBDA_MEMORY_GB * PRICES["lambda.gb_second"].dollars)
        # Each API request (an approval, a status webhook) is an invocation of api_handler too, served outside the
        # pump: its request fee and its time (a webhook is a few writes: ~100 ms).
        api = self.api_requests * (PRICES["apigateway.request"].dollars + PRICES["lambda.request"].dollars
                                   + API_LAMBDA_MS / 1000 * LAMBDA_MEMORY_GB * PRICES["lambda.gb_second"].dollars)
        return (requests + compute + api) / self.units


def _items(call: Any) -> int:
    return call.param("ItemCount") or len(call.param("TransactItems") or ()) or 1


def _approve_all(stack: Any, approver: str = APPROVER) -> int:
    token = stack.token(approver)
    pending = _api(stack, "GET", "/api/posts?status=pending_approval&limit=1000", token)["posts"]
    for post in pending:
        _api(stack, "POST", f"/api/posts/{post['id']}/approve", token, {"note": "bench", "revision": post["revision"]})
    return 1 + len(pending)


def _api(stack: Any, method: str, path: str, token: str, body: Any = None) -> Any:
    request = urllib.request.Request(f"{stack.api_url}{path}", method=method,
                                     headers={"Content-Type": "application/json", "Authorization": token},
                                     data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def _manifest(n: int, due: datetime, platforms: Iterable[str], extra: str = "") -> bytes:
    return (f"title: बजट घोषणा {n}\n"
            f"text: 'बजट घोषणा {n}: सहाड़ा में नई सड़क। #SahadaVikas'\n"
            f"publish_at: {due.isoformat()}\n"
            f"platforms: [{', '.join(platforms)}]\n"
            f"media: [poster-{n}.png]\n{extra}").encode()


def run_phases() -> tuple[list[Phase], dict[str, float]]:
    """The phases' requests, and each schedule's requests per firing on a campaign day with nothing due."""
    from chalicelib.adapters import aws
    from chalicelib.adapters.clock import SteppedClock
    from local.aws_calls import CallLog
    from local.emulator import free_port
    from local.stack import LocalStack, StackOptions
    from tests.support.recorded_run import run_until

    log = CallLog().install(aws.session())
    clock = SteppedClock(START)
    stack = LocalStack(StackOptions(clock=clock, emulator_port=free_port(), api_port=free_port(),
                                    report=lambda _line: None)).start()
    stack.pump.separate_functions = True
    stack.sandbox.webhook_statuses = WEBHOOK_STATUSES
    phases: list[Phase] = []
    try:
        stack.load_examples(EXAMPLES, content=False)
        poster = next((EXAMPLES / "content" / SCOPE).rglob("*.png")).read_bytes()

        def phase(name: str, unit: str, act: Callable[[], int]) -> None:
            log.calls.clear()
            stack.pump.invocations.clear()
            sent_before = len(_messages(stack))
            units, api_requests = act()
            # Each WhatsApp message's statuses (sent, delivered, read) reach the webhook: Meta posts them one by one.
            api_requests += (len(_messages(stack)) - sent_before) * len(stack.sandbox.webhook_statuses)
            phases.append(Phase(name, unit, units, list(log.calls), dict(stack.pump.invocations), api_requests))
            if os.environ.get("PRACHAR_BENCH_CALLS"):  # for a closer look: every call of every phase
                with open(os.environ["PRACHAR_BENCH_CALLS"], "a") as out:
                    for call in log.calls:
                        out.write(json.dumps({"phase": name, **call.as_json()}, default=str) + "\n")

        for platform in ("facebook", "x", "whatsapp"):
            def posts(platform: str = platform) -> tuple[int, int]:
                # A post every 10 minutes, as a team's day has them (a team kit to the same members at the same
                # second would wait for WhatsApp's pair rate: that is paid for, but is not the usual post).
                first = clock.now() + timedelta(hours=2)
                due = [first + timedelta(minutes=10 * n) for n in range(POSTS_PER_PHASE)]
                for n in range(POSTS_PER_PHASE):
                    stack.upload(f"content/{SCOPE}/bench/poster-{n}.png", poster, "image/png")
                for n in range(POSTS_PER_PHASE):
                    stack.upload(f"content/{SCOPE}/bench/{platform}-{n}.yaml", _manifest(n, due[n], [platform]))
                stack.settle()
                api_requests = _approve_all(stack)
                run_until(stack, clock, due[-1] + timedelta(minutes=5))
                return _published(stack, first, platform), api_requests
            label = {"whatsapp": "WhatsApp team kit (21 members)"}.get(platform, platform.capitalize())
            phase(f"{label} post", "post", posts)

        def audience() -> tuple[int, int]:
            stack.upload(f"audience/sahada/bench-{SUBSCRIBERS}.csv", _audience(SUBSCRIBERS, clock.now()))
            stack.settle()
            return SUBSCRIBERS, 0

        phase("Audience file, per contact imported", "contact", audience)

        def broadcast() -> tuple[int, int]:
            due = clock.now() + timedelta(hours=2)
            stack.upload(f"content/{SCOPE}/bench/broadcast.yaml", (
                f"title: बजट घोषणा\ntext: बजट\npublish_at: {due.isoformat()}\nplatforms: [whatsapp]\n"
                "mcmc_certificate: MCMC/BHL/2021/017\noverrides:\n  whatsapp: {audience: subscribers, "
                "template: budget_update, language: hi, params: [सहाड़ा, कॉलेज]}\n").encode())
            stack.settle()
            api_requests = _approve_all(stack, COORDINATOR)  # a broadcast to voters needs a coordinator
            run_until(stack, clock, due + timedelta(minutes=30))
            return _broadcast_done(stack, clock), api_requests

        phase("WhatsApp broadcast message", "message", broadcast)
        schedules = _per_firing(stack, clock, log)
    finally:
        log.uninstall(aws.session())
        stack.stop()
    return phases, schedules


def _broadcast_done(stack: Any, clock: Any) -> int:
    """The broadcast's chunks wait on their queue in real seconds (SQS delays), which settling does not wait for:
    step on until every subscriber has had the message, or nothing moves for a while."""
    import time

    sent, still = 0, 0
    while still < 20:
        now_sent = sum(1 for m in _messages(stack) if m["body"].get("template", {}).get("name") == "budget_update")
        if now_sent >= SUBSCRIBERS:
            return now_sent
        still = still + 1 if now_sent == sent else 0
        sent = now_sent
        clock.advance_to(clock.now() + timedelta(seconds=30))
        stack.settle()
        time.sleep(1)
    return sent


def _messages(stack: Any) -> list[dict[str, Any]]:
    return [r for r in stack.sandbox.received("whatsapp") if r["method"] == "POST" and r["path"].endswith("/messages")
            and r["status"] == 200]


def _published(stack: Any, due: datetime, platform: str) -> int:
    return sum(1 for post in stack.container.store.posts_in_scope(SCOPE, due_from=due - timedelta(minutes=1))
               if post.platform == platform and str(post.status) == "published")


def _audience(count: int, now: datetime) -> bytes:
    consent = (now - timedelta(days=2)).isoformat()
    rows = [f"+9198765{n:05d},मतदाता {n},missed call,{consent},v1,hi" for n in range(count)]
    return ("phone,name,consent_source,consent_at,notice_version,language\r\n" + "\r\n".join(rows)).encode()


def _per_firing(stack: Any, clock: Any, log: Any) -> dict[str, float]:
    """Each schedule fired once on a campaign day with nothing due: the requests it makes however quiet the day."""
    from local.pump import ACCOUNT, LOCAL_REGION

    found = {}
    for schedule in stack.pump.schedules:
        log.calls.clear()
        event = {"version": "0", "id": "bench", "detail-type": "Scheduled Event", "source": "aws.events",
                 "account": ACCOUNT, "time": clock.now().isoformat(), "region": LOCAL_REGION, "resources": [],
                 "detail": {}}
        stack.pump._invoke(schedule.name, stack.pump._app_module_handler(schedule.config), event)
        found[schedule.name] = len(log.calls)
    return found


def campaign_posts() -> dict[str, int]:
    """The example campaign's posts by platform (what `make demo` publishes): each manifest × its scope's accounts."""
    import yaml

    config = yaml.safe_load((EXAMPLES / "config" / "campaign.yaml").read_text())
    accounts = collections.defaultdict(list)
    for account in config["accounts"]:
        accounts[account["scope"]].append(account["platform"])
    found: collections.Counter[str] = collections.Counter()
    for path in (EXAMPLES / "content").rglob("*"):
        if path.suffix not in (".yaml", ".yml", ".json"):
            continue
        manifest = yaml.safe_load(path.read_text())
        scope = "/".join(path.relative_to(EXAMPLES / "content").parts[:2])
        scope = "state" if scope.startswith("state") else scope
        for platform in manifest.get("platforms") or accounts[scope]:
            found[platform] += 1
    return dict(found)


def bench_cost() -> None:
    phases, per_firing = run_phases()
    print(f"\nAWS requests per published post and per broadcast message (local stack, botocore hooks; "
          f"{POSTS_PER_PHASE} posts a phase, {SUBSCRIBERS} subscribers; goal ≤ 6 per post, 0 Scans):")
    for phase in phases:
        services = collections.Counter()
        for (service, _operation), n in phase.by_operation.items():
            services[service] += n
        spread = ", ".join(f"{service} {n / phase.units:.1f}" for service, n in services.most_common())
        print(f"  {phase.name:<40} {phase.per_unit():5.1f} per {phase.unit} of {phase.units}  ({spread}; "
              f"Scans {phase.scans()}; Lambda {sum(phase.invocations.values()) / phase.units:.2f})")
        if phase.unit == "post":
            print(f"      the publish step alone (on_publish_message): {phase.publish_step():.1f} per post")
        functions = collections.Counter(c.function for c in phase.calls)
        print("      by function: " + ", ".join(f"{f} {n / phase.units:.1f}" for f, n in functions.most_common()))
        operations = ", ".join(f"{op} {n / phase.units:.1f}" for (_s, op), n in phase.by_operation.most_common(6))
        print(f"      by operation: {operations}")
    print("  schedules, requests per firing on a quiet day: "
          + ", ".join(f"{name} {n}" for name, n in sorted(per_firing.items())))
    print_costs(phases, per_firing)


def print_costs(phases: list[Phase], per_firing: dict[str, float]) -> None:
    facebook, x, kit, contacts, broadcast = phases
    post_cost = {"facebook": facebook.dollars_per_unit(), "x": x.dollars_per_unit(), "whatsapp": kit.dollars_per_unit()}
    message, contact = broadcast.dollars_per_unit(), contacts.dollars_per_unit()
    posts = campaign_posts()
    firings = _firings_in(CAMPAIGN_DAYS)
    fixed = sum(per_firing.get(name, 0) * n for name, n in firings.items())
    # The schedules' requests are mostly Queries and GetItems: priced as reads, and each firing is an invocation.
    fixed_dollars = (fixed * PRICES["dynamodb.read_unit"].dollars + sum(firings.values()) * (
        PRICES["lambda.request"].dollars
        + ASSUMED_MS_PER_INVOCATION / 1000 * LAMBDA_MEMORY_GB * PRICES["lambda.gb_second"].dollars))
    rows = [("1,000 Facebook posts", 1000 * post_cost["facebook"]), ("1,000 X posts", 1000 * post_cost["x"]),
            ("1,000 WhatsApp team kits (21 members each)", 1000 * post_cost["whatsapp"]),
            ("100,000 WhatsApp broadcast messages", 100_000 * message),
            ("100,000 subscribers imported from audience files", 100_000 * contact)]
    posts_dollars = sum(posts.get(p, 0) * c for p, c in post_cost.items())
    total = posts_dollars + CAMPAIGN_WHATSAPP_MESSAGES * message + fixed_dollars
    print(f"\nAWS cost at on-demand prices in ap-south-1 (bench/prices.py; Lambda at an assumed "
          f"{ASSUMED_MS_PER_INVOCATION} ms × {LAMBDA_MEMORY_GB * 1024:.0f} MB an invocation, a broadcast's chunks at "
          f"{BROADCAST_LAMBDA_MS_PER_MESSAGE} ms a message):")
    print("| what | AWS cost (USD) |")
    print("|---|---:|")
    for label, dollars in rows:
        print(f"| {label} | {dollars:,.2f} |")
    spread = ", ".join(f"{n} {platform}" for platform, n in sorted(posts.items()))
    print(f"| the example campaign: {sum(posts.values())} posts ({spread}) | {posts_dollars:,.2f} |")
    print(f"| the example campaign: {CAMPAIGN_WHATSAPP_MESSAGES:,} WhatsApp broadcast messages "
          f"| {CAMPAIGN_WHATSAPP_MESSAGES * message:,.2f} |")
    print(f"| the example campaign: the schedules for {CAMPAIGN_DAYS} days ({sum(firings.values()):,} firings) "
          f"| {fixed_dollars:,.2f} |")
    print(f"| **the whole example campaign (4 seats × {CAMPAIGN_DAYS} days)** | **{total:,.2f}** |")
    print("  Not included: storage, logs and metrics (small), and what the platforms charge "
          "(X per post; Meta per WhatsApp template message).")


def _firings_in(days: int) -> dict[str, int]:
    """How often each schedule fires in `days` days (from app.py's own schedule expressions)."""
    import app
    from local.schedules import schedules_of

    start = START
    end = start + timedelta(days=days)
    found = {}
    for schedule in schedules_of([c for c in app.app.event_sources if hasattr(c, "schedule_expression")], start):
        n, moment = 0, start
        while (moment := schedule.fire_after(moment)) < end:
            n += 1
        found[schedule.name] = n
    return found
