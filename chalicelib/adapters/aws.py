"""boto3 clients, made lazily and once per process (each Lambda imports app.py; only what it uses is built).

boto3 reads AWS_ENDPOINT_URL itself, so the same code talks to AWS or to the local emulator. All clients
come from one session: its loader parses each service model once (a fresh session per client re-reads the
JSON models, ~0.1 s a client).
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

from botocore.config import Config

_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=3, read_timeout=20,
                        max_pool_connections=20)  # a broadcast chunk writes from 16 threads
_lock = threading.Lock()  # a boto3 session is not thread-safe; the clients it makes are


@cache
def _session() -> Any:
    import boto3  # deferred: importing boto3 costs a Lambda cold start ~0.1–0.3 s

    return boto3.session.Session()


@cache
def client(service: str) -> Any:
    with _lock:
        return _session().client(service, config=_CLIENT_CONFIG)


def session() -> Any:
    """The session every client comes from (its `events` see every call: local/aws_calls.py)."""
    return _session()


def reset_clients() -> None:
    """New clients on next use, so a changed environment (endpoint, region) takes effect."""
    client.cache_clear()
