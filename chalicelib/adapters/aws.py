"""boto3 clients, made lazily and once per process (each Lambda imports app.py; only what it uses is built).

boto3 reads AWS_ENDPOINT_URL itself, so the same code talks to AWS or to the local emulator.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.config import Config

_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=3, read_timeout=20)


@cache
def client(service: str) -> Any:
    import boto3  # deferred: importing boto3 costs a Lambda cold start ~0.1–0.3 s

    return boto3.session.Session().client(service, config=_CLIENT_CONFIG)


def reset_clients() -> None:
    client.cache_clear()
