"""The whole local stack in one process: emulator, resources, platform sandbox, event pump, API server.

`make run`, `make demo` and the end-to-end tests all start it this way, on the same code paths.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from chalicelib.adapters import aws
from chalicelib.adapters.clock import Clock
from chalicelib.adapters.store import ActivityEntry
from chalicelib.domain.times import local_date
from infra.identity import ID_TOKEN_MINUTES, ensure_user_pool, sign_in, sync_members, user_pool_environment
from local.emulator import Emulator, emulator_environment
from local.provision import create_resources, register_in_sandbox, seed_account_secrets
from local.sandbox import PlatformSandbox

STAGE = "local"
BUCKET = "prachar-local-content"
WAITING_STEP = timedelta(seconds=1)  # simulated time per idle look while settling, where the pump cannot peek
# While a message waits on a queue for its retry (SQS counts the delay in real seconds), a stepped replay's clock runs
# this many times real time: the local retry base (PRACHAR_RETRY_BASE_SECONDS=1) stands for the cloud's 10 s, and the
# platforms judge the wait (WhatsApp's pair rate: 6 s) on this clock.
WAITING_SPEED = 10
IDLE_LOOK = 0.02  # seconds between looks while webhooks are on their way and no retry waits
# Every member's password on the local stack (its own emulator, on loopback); the cloud invites people instead.
LOCAL_PASSWORD = "prachar-local-1"
PLATFORM_BASES = ("PRACHAR_FACEBOOK_API_BASE", "PRACHAR_X_API_BASE", "PRACHAR_WHATSAPP_API_BASE")


@dataclass
class StackOptions:
    clock: Clock
    emulator_port: int = 4566
    api_port: int | None = 8000
    sandbox_port: int = 0
    host: str = "127.0.0.1"
    publish_visibility_timeout: int = 5  # local retries come back in seconds, not minutes
    report: Callable[[str], None] = print


class LocalStack:
    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.emulator = Emulator(options.host, options.emulator_port)
        self.sandbox = PlatformSandbox(options.host, options.sandbox_port, clock=options.clock)
        self.pump: Any = None
        self.container: Any = None
        self._api_thread: threading.Thread | None = None
        self._api_server: Any = None
        self._campaign_version: str | None = None
        self._active: tuple[int, Any] | None = None  # (config uploads handled when read, the active campaign record)
        self._windows_opened: date | None = None
        self.decisions: dict[str, int] = {}
        self.user_pool: Any = None
        self._tokens: dict[str, tuple[str, float]] = {}
        self._external = {name: os.environ[name] for name in PLATFORM_BASES if os.environ.get(name)}

    # ---- start and stop -------------------------------------------------------------------------
    def start(self) -> LocalStack:
        self.emulator.start()
        # moto keeps one AWS world per process, whichever server answers: a stack started after another in the same
        # process (`make bench` runs several) starts from an empty one, as a stack of its own should.
        self.emulator.reset()
        self.sandbox.start()
        os.environ.update(emulator_environment(self.emulator.url))
        os.environ.update({"PRACHAR_STAGE": STAGE, "PRACHAR_CONTENT_BUCKET": BUCKET,
                           "PRACHAR_PUBLISH_QUEUE": f"prachar-{STAGE}-publish", "PRACHAR_TABLE": f"prachar-{STAGE}",
                           "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
                           # CloudWatch reads the metrics from the log; here they would bury the activity lines.
                           "POWERTOOLS_METRICS_DISABLED": os.environ.get("POWERTOOLS_METRICS_DISABLED", "true"),
                           "PRACHAR_RETRY_BASE_SECONDS": os.environ.get("PRACHAR_RETRY_BASE_SECONDS", "1"),
                           "PRACHAR_FACEBOOK_APP_ID": os.environ.get("PRACHAR_FACEBOOK_APP_ID", "900000000000001"),
                           "PRACHAR_WHATSAPP_APP_SECRET": os.environ.get("PRACHAR_WHATSAPP_APP_SECRET",
                                                                         "local-app-secret"),
                           "PRACHAR_WHATSAPP_VERIFY_TOKEN": os.environ.get("PRACHAR_WHATSAPP_VERIFY_TOKEN",
                                                                           "local-verify-token")})
        self.sandbox.app_secret = os.environ["PRACHAR_WHATSAPP_APP_SECRET"]
        for name in PLATFORM_BASES:  # a base set by the user wins over the sandbox
            os.environ[name] = self._external.get(name, self.sandbox.url)
        from chalicelib import bootstrap

        self.user_pool = ensure_user_pool(aws.client("cognito-idp"), STAGE)
        os.environ.update({**user_pool_environment(self.user_pool), "PRACHAR_COGNITO_ENDPOINT": self.emulator.url})
        self.container = bootstrap.use(self.options.clock)
        create_resources(aws.client("cloudformation"), STAGE,
                         {"PublishVisibilityTimeout": str(self.options.publish_visibility_timeout)})
        import app
        from local.pump import EventPump

        sqs = aws.client("sqs")
        self.pump = EventPump(app.app, sqs, aws.client("s3"), self.options.clock, report=self.options.report,
                              stage=STAGE,
                              peek=functools.partial(self.emulator.peek_queue, region=sqs.meta.region_name)).wire()
        if self.options.api_port is not None:
            self._start_api(app.app)
            self.sandbox.deliver_webhooks_to(f"{self.api_url}/webhooks/whatsapp")
        return self

    def _start_api(self, chalice_app: Any) -> None:
        from http.server import BaseHTTPRequestHandler

        from chalice.config import Config
        from chalice.local import ChaliceRequestHandler, create_local_server

        from local.gateway import ApiFunctionGateway, CognitoTokenAuthorizer, check_tokens_on

        authorizer = CognitoTokenAuthorizer(chalice_app, emulator_url=lambda: self.emulator.url,
                                            pool_arns=lambda: [self.user_pool.arn])

        class CheckedHandler(ChaliceRequestHandler):
            """Chalice's handler behind API Gateway's token check, quiet (the activity log says what happened)."""

            def __init__(self, request: Any, client_address: Any, server: Any, app_object: Any, config: Any) -> None:
                self.local_gateway = check_tokens_on(ApiFunctionGateway(app_object, config), authorizer)
                BaseHTTPRequestHandler.__init__(self, request, client_address, server)

            def log_message(self, *args: Any) -> None:
                pass

        config = Config.create(chalice_stage=STAGE, app_name="prachar")
        self._api_server = create_local_server(chalice_app, config, self.options.host, self.options.api_port)
        self._api_server.server.RequestHandlerClass = functools.partial(CheckedHandler, app_object=chalice_app,
                                                                        config=config)
        self._api_thread = threading.Thread(target=self._api_server.server.serve_forever, name="api", daemon=True)
        self._api_thread.start()

    @property
    def api_url(self) -> str | None:
        return f"http://{self.options.host}:{self.options.api_port}" if self.options.api_port else None

    def stop(self) -> None:
        if self._api_server is not None:
            self._api_server.server.shutdown()
            self._api_server.server.server_close()
        self.sandbox.stop()
        self.emulator.stop()

    # ---- uploads --------------------------------------------------------------------------------
    def upload(self, key: str, body: bytes, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else {}
        aws.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body, **extra)

    def load_examples(self, root: Path, *, content: bool = True) -> int:
        """Upload the example campaign as its teams would: the config first, media before manifests (or the
        config alone: its teams and accounts, no posts)."""
        config = root / "config" / "campaign.yaml"
        self.upload("config/campaign.yaml", config.read_bytes())
        self.settle()
        if content:  # the voters who opted in first: a broadcast among the posts goes to them
            for path in sorted(p for p in (root / "audience").rglob("*.csv")):
                self.upload(path.relative_to(root).as_posix(), path.read_bytes())
        files = sorted(p for p in (root / "content").rglob("*") if p.is_file()) if content else []
        manifests = [p for p in files if p.suffix in (".yaml", ".yml", ".json")]
        for path in [p for p in files if p not in manifests] + manifests:
            self.upload(path.relative_to(root).as_posix(), path.read_bytes())
        self.settle()
        if self.api_url:
            from chalicelib.domain.post import content_id_for
            from local.approvers import play_approvers

            keys = {content_id_for(p.relative_to(root).as_posix()): p.relative_to(root).as_posix() for p in manifests}
            self.decisions = play_approvers(self.api_url, self.campaign_document(root), keys, self.token)
        return len(manifests)

    # ---- running --------------------------------------------------------------------------------
    def step(self) -> int:
        record = self.active_campaign_record()
        if record is not None:
            self.sync_accounts(record)
            self.team_checks_in(record)
        return self.pump.pump_once()

    def active_campaign_record(self) -> Any:
        """The active campaign's record, read again only after a config upload was handled (nothing else activates
        one): a read on every step was one emulator request per look."""
        handled = self.pump.invocations.get("on_config_upload", 0)
        if self._active is None or self._active[0] != handled:
            self._active = (handled, self.container.store.active_campaign())
        return self._active[1]

    def team_checks_in(self, record: Any) -> None:
        """Each day every team member writes to the campaign's WhatsApp number (as volunteers are asked
        to), which opens WhatsApp's 24-hour window for the day's content kit."""
        today = local_date(self.options.clock.now())
        if self._windows_opened == today:
            return
        for team in record.document.get("teams", []):
            for member in team.get("members", []):
                if member.get("phone"):
                    self.sandbox.open_window(member["phone"])
        self._windows_opened = today

    def settle(self, timeout: float = 300.0) -> None:
        """Pump until every queue is empty and nothing is in flight (real time). The timeout only catches a handler
        that keeps failing: a heavy day on a busy 2-core machine takes a minute.

        A stepped clock stands still, except while a retry waits on a queue for a platform's limit (WhatsApp's pair
        rate: 6 s) to pass: the platforms judge it on this clock, so it runs WAITING_SPEED times real time until the
        message is handed out again. Waiting for the sandbox's webhooks alone does not move it."""
        deadline = time.monotonic() + timeout
        stepped = getattr(self.options.clock, "advance_to", None)
        waiting_since: float | None = None
        while time.monotonic() < deadline:
            if self.step():
                waiting_since = None
                continue
            webhooks = self.sandbox.webhooks_pending()
            if not webhooks and self.pump.queues_idle():
                return
            wait = self.pump.retry_wait()
            if wait is None and not webhooks and stepped is not None:
                # The pump cannot look at the queues (or nothing it can see waits): a second per idle look.
                stepped(self.options.clock.now() + WAITING_STEP)
            if wait is None or stepped is None:
                waiting_since = None
                time.sleep(IDLE_LOOK)
                continue
            waiting_since = waiting_since or time.monotonic()
            time.sleep(IDLE_LOOK if webhooks else min(max(wait, IDLE_LOOK), 0.25))
            looked = time.monotonic()  # the real time since the last look (its step included) passes WAITING_SPEED×
            stepped(self.options.clock.now() + timedelta(seconds=(looked - waiting_since) * WAITING_SPEED))
            waiting_since = looked
        raise TimeoutError("the local stack did not settle: a handler keeps failing (see the output above)")

    def sync_accounts(self, record: Any) -> None:
        """Give every account of the active campaign a sandbox secret, as ops would in the cloud."""
        if record.version == self._campaign_version:
            return
        from chalicelib.domain.campaign import Campaign

        campaign = Campaign.model_validate(record.document)  # the active config, already validated
        seeded = seed_account_secrets(aws.client("ssm"), aws.client("secretsmanager"), campaign.accounts, STAGE)
        register_in_sandbox(self.sandbox, seeded)
        # Ops would run `make deploy` to invite new members; locally each one signs in with LOCAL_PASSWORD.
        synced = sync_members(aws.client("cognito-idp"), self.user_pool.id, campaign, password=LOCAL_PASSWORD)
        self.container.store.bind_members(synced.subs, self.options.clock.now())
        self._tokens.clear()
        self._campaign_version = record.version
        self._windows_opened = None

    def token(self, member_id: str) -> str:
        """An ID token of a campaign member, signed in as the dashboard does (kept for half its life)."""
        token, until = self._tokens.get(member_id, ("", 0.0))
        if time.monotonic() >= until:
            token = sign_in(aws.client("cognito-idp"), self.user_pool.client_id, member_id, LOCAL_PASSWORD)
            self._tokens[member_id] = (token, time.monotonic() + ID_TOKEN_MINUTES * 30)
        return token

    # ---- reading back ---------------------------------------------------------------------------
    def upload_failures(self) -> UploadFailureFeed:
        return UploadFailureFeed(aws.client("sqs"), self.pump.failure_queue_url)

    def campaign_document(self, root: Path) -> dict[str, Any]:
        return yaml.safe_load((root / "config" / "campaign.yaml").read_text(encoding="utf-8"))


class ActivityFeed:
    """New activity-log entries since the last look, across day boundaries of the simulated clock."""

    def __init__(self, store: Any, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._day: date | None = None
        self._after: str | None = None

    def new_entries(self) -> list[ActivityEntry]:
        today = local_date(self._clock.now())
        self._day = self._day or today
        entries: list[ActivityEntry] = []
        while True:
            batch = self._store.activity_on(self._day, after=self._after, limit=1000, newest_first=False)
            entries += batch
            if batch:
                self._after = batch[-1].entry_id
            if self._day >= today:
                return entries
            self._day = date.fromordinal(self._day.toordinal() + 1)
            self._after = None


class UploadFailureFeed:
    """New records on the stage's upload-failures queue (Lambda's on-failure records of the S3-triggered
    handlers), each returned once. They stay on the queue, as in the cloud, where that queue is what ops read."""

    def __init__(self, sqs: Any, queue_url: str, *, browse_seconds: int = 30) -> None:
        self._sqs = sqs
        self.queue_url = queue_url
        self.queue = queue_url.rstrip("/").rsplit("/", 1)[-1]
        self._browse_seconds = browse_seconds
        self._seen: set[str] = set()

    def new_records(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        while True:
            # Each look hides what it saw for a while, so the next look within this call reaches further.
            messages = self._sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                                 VisibilityTimeout=self._browse_seconds).get("Messages", [])
            if not messages:
                return records
            for message in messages:
                if message["MessageId"] not in self._seen:
                    self._seen.add(message["MessageId"])
                    records.append(json.loads(message["Body"]))
