"""Wiring in one place: real adapters built once per process, handed to the services that need them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from chalicelib.adapters import aws
from chalicelib.adapters.clock import Clock, ScaledClock, SystemClock
from chalicelib.settings import Settings, load_settings

# Each adapter and service is imported where it is first built: every Lambda imports this module (through app.py),
# and each pays only for what its own code path uses (bench/cold_start.py).
if TYPE_CHECKING:
    from chalicelib.adapters.bucket import ContentBucket
    from chalicelib.adapters.platforms.base import PlatformClient
    from chalicelib.adapters.publish_queue import PublishQueue
    from chalicelib.adapters.secrets import SecretStore
    from chalicelib.adapters.store import Store
    from chalicelib.ports import BucketPort, PublishQueuePort, SecretsPort, StorePort
    from chalicelib.services.activity import ActivityLog


@dataclass(frozen=True)
class Overrides:
    """Adapters that stand in for the real ones (adapters/memory.py in tests and the chaos run); whatever is
    left None is built from the settings as usual."""

    store: StorePort | None = None
    bucket: BucketPort | None = None
    publish_queue: PublishQueuePort | None = None
    secrets: SecretsPort | None = None
    platforms: dict[str, PlatformClient] | None = None


@dataclass
class Container:
    settings: Settings
    clock: Clock
    overrides: Overrides = field(default_factory=Overrides)

    def __post_init__(self) -> None:
        # A cached_property looks in the instance's __dict__ first: an override takes its place, and the real
        # adapter (and its boto3 client) is never built.
        for name in ("store", "bucket", "publish_queue", "secrets"):
            adapter = getattr(self.overrides, name)
            if adapter is not None:
                self.__dict__[name] = adapter

    @cached_property
    def store(self) -> Store:
        from chalicelib.adapters.store import Store

        return Store(aws.client("dynamodb"), self.settings.table_name)

    @cached_property
    def bucket(self) -> ContentBucket:
        from chalicelib.adapters.bucket import ContentBucket

        return ContentBucket(aws.client("s3"), self.settings.content_bucket)

    @cached_property
    def activity(self) -> ActivityLog:
        from chalicelib.services.activity import ActivityLog

        return ActivityLog(self.store, self.clock)

    @cached_property
    def campaigns(self):  # the clock never needs the campaign
        from chalicelib.services.campaigns import CampaignSource

        return CampaignSource(self.store)

    def ingest(self):
        from chalicelib.services.ingest import Ingest

        return Ingest(self.store, self.bucket, self.campaigns, self.activity, self.clock,
                      self.settings.max_upload_bytes, self.settings.config_writers, self._queue_now)

    def _queue_now(self, posts: list) -> list[str]:
        return self.dispatcher().queue_now(posts)

    @cached_property
    def publish_queue(self) -> PublishQueue:
        from chalicelib.adapters.publish_queue import PublishQueue

        return PublishQueue(aws.client("sqs"), self.settings.publish_queue)

    @cached_property
    def secrets(self) -> SecretStore:
        from chalicelib.adapters.secrets import SecretStore

        return SecretStore()

    def dispatcher(self):
        from chalicelib.services.dispatch import Dispatcher

        return Dispatcher(self.store, self.publish_queue, self.activity, self.clock)

    @cached_property
    def publisher(self):
        from chalicelib.services.publish import Publisher

        return Publisher(self.store, self.bucket, self.campaigns, self.secrets, self.platforms(), self.activity,
                         self.clock, self.settings.secret_name, self.settings.retry_base_seconds,
                         lambda post, campaign, now: self.broadcaster.begin(post, campaign, now))

    def token_check(self):
        from chalicelib.services.token_check import TokenCheck

        return TokenCheck(self.store, self.campaigns, self.secrets, self.platforms(), self.activity, self.clock,
                          self.settings.secret_name)

    def approvals(self):
        from chalicelib.services.approvals import Approvals

        return Approvals(self.store, self.activity, self.clock, self._queue_now)

    def settlement(self):
        from chalicelib.services.settlement import Settlement

        return Settlement(self.store, self.activity, self.clock)

    def controls(self):
        from chalicelib.services.controls import Controls

        return Controls(self.store, self.activity, self.clock)

    def webhooks(self):
        from chalicelib.services.webhooks import WhatsAppWebhooks

        return WhatsAppWebhooks(self.store, self.activity, self.clock,
                                lambda status, *reference: self.broadcaster.on_status(status, *reference))

    def whatsapp_webhook_secrets(self) -> tuple[str, str]:
        """(app secret, verify token): from the environment locally, from SSM in the cloud. A blank or unreadable
        one raises ConfigError: an empty HMAC key is one anybody can sign with, so it must never reach a check."""
        from chalicelib.errors import ConfigError

        app_secret_name, verify_token_name = self.settings.whatsapp_secret_names
        found: list[str] = []
        for what, configured, variable, name in (
                ("app secret", self.settings.whatsapp_app_secret, "PRACHAR_WHATSAPP_APP_SECRET", app_secret_name),
                ("verify token", self.settings.whatsapp_verify_token, "PRACHAR_WHATSAPP_VERIFY_TOKEN",
                 verify_token_name)):
            if configured:
                value, source = configured, variable
            else:
                from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

                try:
                    value, source = self.secrets.token(name), f"SSM parameter {name}"
                except GetParameterError as exc:
                    raise ConfigError(f"the WhatsApp webhook's {what} cannot be read from SSM parameter {name} "
                                      f"({exc}): put it there, or set {variable}") from None
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"the WhatsApp webhook's {what} from {source} is blank: set {variable} or SSM "
                                  f"parameter {name} to the one Meta has (a blank one would let anybody through)")
            found.append(value)
        return found[0], found[1]

    def queries(self):
        from chalicelib.services.queries import Queries

        return Queries(self.store, self.clock)

    def coordinator_alerts(self):
        from chalicelib.services.coordinator_alerts import CoordinatorAlerts

        return CoordinatorAlerts(self.store, self.activity, self.clock)

    def daily_reports(self):
        from chalicelib.services.coordinator_alerts import DailyReports

        return DailyReports(self.store, self.bucket, self.activity, self.clock, self.coordinator_alerts(),
                            lambda since: self.broadcaster.rollups(since))

    def engagement(self):
        from chalicelib.services.engagement import Engagement

        return Engagement(self.store, self.secrets, self.platforms(), self.activity, self.clock,
                          self.settings.secret_name)

    @cached_property
    def audience(self):
        from chalicelib.adapters.audience_store import AudienceStore

        return AudienceStore(aws.client("dynamodb"), self.settings.table_name)

    @cached_property
    def vault(self):
        from chalicelib.adapters.contact_vault import ContactVault

        return ContactVault(aws.client("kms"), aws.client("secretsmanager"), self.settings.audience_key,
                            self.settings.audience_hash_secret)

    @cached_property
    def import_queue(self) -> PublishQueue:
        from chalicelib.adapters.publish_queue import PublishQueue

        return PublishQueue(aws.client("sqs"), self.settings.import_queue)

    def audience_import(self):
        from chalicelib.services.audience_import import AudienceImport

        def continue_later(key: str, etag: str) -> None:
            if self.import_queue.send([{"key": key, "etag": etag}]):
                from chalicelib.errors import PersistenceError

                raise PersistenceError(f"SQS did not take the continuation of {key}; the import resumes on retry")

        def answer_refusal(key: str, upload: str, answer: dict) -> None:
            from chalicelib.services import upload_answers

            upload_answers.record(self.store, self.clock, key, upload, answer)

        return AudienceImport(self.audience, self.vault, self.bucket, self.activity, self.clock, continue_later,
                              answer_refusal)

    @cached_property
    def broadcast_queue(self) -> PublishQueue:
        from chalicelib.adapters.publish_queue import PublishQueue

        return PublishQueue(aws.client("sqs"), self.settings.broadcast_queue)

    @cached_property
    def broadcaster(self):
        from chalicelib.adapters.broadcast_store import BroadcastStore
        from chalicelib.services.broadcasts import Broadcaster

        # The contacts' store and vault and the WhatsApp client are built when first used: counting broadcasts (every
        # minute, and in the daily report) reads only the broadcasts' records, and never loads them.
        return Broadcaster(BroadcastStore(aws.client("dynamodb"), self.settings.table_name),
                           OnFirstUse(lambda: self.audience), OnFirstUse(lambda: self.vault), self.store,
                           self.broadcast_queue, self.campaigns, OnFirstUse(lambda: self.platform("whatsapp")),
                           lambda account: self.secrets.token(self.settings.secret_name(account.secret)),
                           self.activity, self.clock)

    def audience_export(self):
        from chalicelib.services.audience_export import AudienceExport

        return AudienceExport(self.audience, self.vault, self.bucket, self.activity, self.clock)

    def retention(self):
        from chalicelib.services.retention import Retention

        return Retention(self.audience, self.bucket, self.activity, self.clock)

    def opt_outs(self):
        from chalicelib.services.opt_outs import OptOuts

        return OptOuts(self.audience, self.vault, self.activity, self.clock, self._reply_on_whatsapp,
                       lambda digest, campaign: self.broadcaster.forget(digest, campaign))

    def _reply_on_whatsapp(self, phone_number_id: str, to: str, text: str) -> None:
        """A plain text from the campaign's number that received the person's message (its 24-hour window is open)."""
        from chalicelib.adapters.platforms.base import PublishRequest

        campaign = self.campaigns.active()
        account = next((a for a in (campaign.accounts if campaign else []) if a.platform == "whatsapp"
                        and a.target_id == phone_number_id), None)
        if account is None:
            raise LookupError(f"no WhatsApp account of the campaign has phone number id {phone_number_id}")
        token = self.secrets.token(self.settings.secret_name(account.secret))
        self.platform("whatsapp").publish(PublishRequest(target_id=phone_number_id, token=token, text=text,
                                                            recipient=f"+{to}"))

    def overview(self):
        from chalicelib.services.overview import Overview

        return Overview(self.store, self.clock)

    def platforms(self) -> dict[str, PlatformClient]:
        if self.overrides.platforms is not None:
            return self.overrides.platforms
        return PlatformClients(self.platform)

    def platform(self, name: str) -> PlatformClient:
        """One platform's client: a Lambda that only messages on WhatsApp never loads the others."""
        if self.overrides.platforms is not None:
            return self.overrides.platforms[name]
        s = self.settings
        if name == "facebook":
            from chalicelib.adapters.platforms.facebook import FacebookClient

            return FacebookClient(s.facebook_api_base, s.graph_api_version, s.platform_timeout_seconds,
                                  s.facebook_app_id)
        if name == "x":
            from chalicelib.adapters.platforms.x import XClient

            return XClient(s.x_api_base, s.platform_timeout_seconds)
        from chalicelib.adapters.platforms.whatsapp import WhatsAppClient

        return WhatsAppClient(s.whatsapp_api_base, s.graph_api_version, s.platform_timeout_seconds)


class PlatformClients(dict):
    """Every platform's client, each made when first asked for: a batch of Facebook posts never loads X's signer."""

    NAMES = ("facebook", "x", "whatsapp")

    def __init__(self, make: Callable[[str], PlatformClient]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, name: str) -> PlatformClient:
        if name not in self.NAMES:
            raise KeyError(name)
        self[name] = client = self._make(name)
        return client


class OnFirstUse:
    """An adapter made on its first use (an attribute looked up), then used as itself."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._made: Any = None
        self._lock = threading.Lock()  # a broadcast chunk calls from 16 threads at once

    def __getattr__(self, name: str) -> Any:
        if self._made is None:
            with self._lock:
                if self._made is None:
                    self._made = self._make()
        return getattr(self._made, name)


_container: Container | None = None
_clock_override: Clock | None = None
_adapter_overrides: Overrides | None = None
# The local stack runs every function in one process; in the cloud each has its own, with its own caches (data keys,
# tokens, the campaign). A function's own container, while it runs there (local/pump.py, local/gateway.py).
_functions: dict[str, Container] = {}
_running: ContextVar[Container | None] = ContextVar("prachar_function_container", default=None)


def container() -> Container:
    global _container
    own = _running.get()
    if own is not None:
        return own
    if _container is None:
        settings = load_settings()
        _container = Container(settings, _clock_override or clock_for(settings), _adapter_overrides or Overrides())
    return _container


def clock_for(settings: Settings) -> Clock:
    if settings.clock_start is None:
        return SystemClock()
    return ScaledClock(settings.clock_start, settings.clock_speed, settings.clock_epoch)


def use(clock: Clock | None = None, overrides: Overrides | None = None) -> Container:
    """Rebuild the wiring from the current environment (the local stack and tests call this), with `overrides`
    in place of the real adapters they name."""
    global _container, _clock_override, _adapter_overrides
    _clock_override = clock
    _adapter_overrides = overrides
    _container = None
    _functions.clear()
    aws.reset_clients()
    return container()


@contextmanager
def as_function(name: str) -> Iterator[Container]:
    """Run the block as the Lambda function `name`, with the container of its own (made on its first run, kept like
    a warm Lambda's)."""
    if name not in _functions:
        shared = container()
        _functions[name] = Container(shared.settings, shared.clock, shared.overrides)
    token = _running.set(_functions[name])
    try:
        yield _functions[name]
    finally:
        _running.reset(token)
