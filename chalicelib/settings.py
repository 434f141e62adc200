"""Settings from the environment, read once; a bad value fails fast with a clear message."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from chalicelib.errors import ConfigError

DEFAULT_STAGE = "local"
DEFAULT_MAX_UPLOAD_BYTES = 256 * 1024  # PRACHAR_MAX_UPLOAD_BYTES: a manifest or config (a calendar: 16 times)


@dataclass(frozen=True)
class Settings:
    stage: str
    content_bucket: str
    table_name: str
    publish_queue: str
    facebook_api_base: str
    x_api_base: str
    whatsapp_api_base: str
    graph_api_version: str
    facebook_app_id: str | None
    clock_start: datetime | None
    clock_speed: float
    clock_epoch: float
    max_upload_bytes: int
    platform_timeout_seconds: float
    retry_base_seconds: float
    whatsapp_app_secret: str | None
    whatsapp_verify_token: str | None
    user_pool_client_id: str | None
    config_writers: tuple[str, ...]
    cognito_endpoint: str
    import_queue: str
    broadcast_queue: str
    audience_key: str             # the KMS key (alias) voters' contacts are sealed under
    audience_hash_secret: str     # the Secrets Manager secret holding the key of their numbers' digests

    def secret_name(self, template: str) -> str:
        return template.replace("{stage}", self.stage)

    @property
    def whatsapp_secret_names(self) -> tuple[str, str]:
        """Where the webhook's app secret and verify token live in the cloud (SSM) when not in the environment."""
        return f"/prachar/{self.stage}/whatsapp/app-secret", f"/prachar/{self.stage}/whatsapp/verify-token"


def event_source_names(environ: Mapping[str, str] = os.environ) -> tuple[str, str, str, str]:
    """The bucket and queue names the Chalice decorators need at import (no AWS call)."""
    stage = environ.get("PRACHAR_STAGE", DEFAULT_STAGE)
    bucket = environ.get("PRACHAR_CONTENT_BUCKET", f"prachar-{stage}-content")
    queue = environ.get("PRACHAR_PUBLISH_QUEUE", f"prachar-{stage}-publish")
    imports = environ.get("PRACHAR_IMPORT_QUEUE", f"prachar-{stage}-imports")
    broadcasts = environ.get("PRACHAR_BROADCAST_QUEUE", f"prachar-{stage}-broadcasts")
    return bucket, queue, imports, broadcasts


# What the Cognito authorizer names before `make deploy` has made the stage's pool: a pool no token comes from.
NO_USER_POOL = "arn:aws:cognito-idp:ap-south-1:000000000000:userpool/ap-south-1_none"


def user_pool_arn(environ: Mapping[str, str] = os.environ) -> str:
    """The campaign's Cognito user pool, which API Gateway checks every /api token against (read at import:
    `make deploy` sets it for the stage before `chalice deploy` builds the API)."""
    return environ.get("PRACHAR_USER_POOL_ARN") or NO_USER_POOL


def load_settings(environ: Mapping[str, str] = os.environ) -> Settings:
    stage = environ.get("PRACHAR_STAGE", DEFAULT_STAGE)
    bucket, queue, imports, broadcasts = event_source_names(environ)
    return Settings(
        stage=stage,
        content_bucket=bucket,
        table_name=environ.get("PRACHAR_TABLE", f"prachar-{stage}"),
        publish_queue=queue,
        facebook_api_base=_url(environ, "PRACHAR_FACEBOOK_API_BASE", "https://graph.facebook.com"),
        x_api_base=_url(environ, "PRACHAR_X_API_BASE", "https://api.x.com"),
        whatsapp_api_base=_url(environ, "PRACHAR_WHATSAPP_API_BASE", "https://graph.facebook.com"),
        graph_api_version=environ.get("PRACHAR_GRAPH_API_VERSION", "v25.0"),
        facebook_app_id=environ.get("PRACHAR_FACEBOOK_APP_ID") or None,
        clock_start=_clock_start(environ),
        clock_speed=_number(environ, "PRACHAR_CLOCK_SPEED", 1.0, minimum=0.0),
        clock_epoch=_number(environ, "PRACHAR_CLOCK_EPOCH", time.time(), minimum=0.0),
        max_upload_bytes=int(_number(environ, "PRACHAR_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES, minimum=1)),
        platform_timeout_seconds=_number(environ, "PRACHAR_PLATFORM_TIMEOUT", 10.0, minimum=0.1),
        retry_base_seconds=_number(environ, "PRACHAR_RETRY_BASE_SECONDS", 10.0, minimum=0.0),
        whatsapp_app_secret=environ.get("PRACHAR_WHATSAPP_APP_SECRET"),
        whatsapp_verify_token=environ.get("PRACHAR_WHATSAPP_VERIFY_TOKEN"),
        user_pool_client_id=environ.get("PRACHAR_USER_POOL_CLIENT_ID") or None,
        # `make deploy` records the bucket policy's config writers here: both guards let the same people in.
        config_writers=tuple(w.strip() for w in environ.get("PRACHAR_CONFIG_WRITERS", "").split(",") if w.strip()),
        # Where the dashboard signs in: Cognito's public endpoint in the pool's region (locally, the emulator).
        cognito_endpoint=_url(environ, "PRACHAR_COGNITO_ENDPOINT",
                              f"https://cognito-idp.{user_pool_arn(environ).split(':')[3]}.amazonaws.com/"),
        import_queue=imports,
        broadcast_queue=broadcasts,
        audience_key=environ.get("PRACHAR_AUDIENCE_KEY", f"alias/prachar-{stage}-audience"),
        audience_hash_secret=environ.get("PRACHAR_AUDIENCE_HASH_SECRET", f"prachar/{stage}/audience-hash-key"),
    )


@lru_cache(maxsize=1)
def settings() -> Settings:
    return load_settings()


def _url(environ: Mapping[str, str], name: str, default: str) -> str:
    value = environ.get(name) or default
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


def _number(environ: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    raw = environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {raw!r}")
    return value


def _clock_start(environ: Mapping[str, str]) -> datetime | None:
    raw = environ.get("PRACHAR_CLOCK_START")
    if not raw:
        return None
    try:
        start = datetime.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"PRACHAR_CLOCK_START must be an ISO 8601 time, got {raw!r}") from None
    if start.tzinfo is None:
        raise ConfigError(f"PRACHAR_CLOCK_START needs a UTC offset, e.g. +05:30; got {raw!r}")
    return start
