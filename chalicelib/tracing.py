"""X-Ray tracing through Powertools' Tracer — off unless the stage turns it on (`make deploy TRACING=1` sets
Chalice's `xray` and PRACHAR_TRACING), so no function pays X-Ray's import when it is off.

On, Lambda records each invocation (active tracing); the Tracer patches botocore, so every AWS request is a
subsegment of it; every platform call is one too (platform_call: urllib3 bypasses what X-Ray patches in http.client);
and each unit of work (an upload, a post, a broadcast chunk) is a subsegment annotated with its correlation ids, found
in X-Ray with `annotation.content_id = "…"`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

SWITCH = "PRACHAR_TRACING"
PATCHED = ("botocore",)

_tracer: Any = None


def tracing_on() -> bool:
    return os.environ.get(SWITCH, "").strip().lower() == "true"


def start() -> bool:
    """Patch the clients once per container, if this stage traces; whether tracing is on."""
    global _tracer
    if _tracer is None and tracing_on():
        from aws_lambda_powertools import Tracer

        _tracer = Tracer(service="prachar", patch_modules=PATCHED)
    return _tracer is not None


@contextmanager
def unit_of_work(ids: dict[str, str]) -> Iterator[None]:
    """A subsegment for one unit of work, annotated with its ids — nothing at all when tracing is off."""
    if _tracer is None:
        yield
        return
    with _tracer.provider.in_subsegment("## unit of work") as subsegment:
        for name, value in ids.items():
            subsegment.put_annotation(name, value)
        yield


@contextmanager
def platform_call(platform: str, method: str, url: str) -> Iterator[Callable[[int], None]]:
    """A subsegment for one call to a platform's API (its URL without the query); the caller reports the status."""
    if _tracer is None:
        yield _no_status
        return
    with _tracer.provider.in_subsegment(platform) as subsegment:
        subsegment.namespace = "remote"
        subsegment.put_http_meta("url", url.split("?", 1)[0])
        subsegment.put_http_meta("method", method)
        yield lambda status: subsegment.put_http_meta("status", status)


def _no_status(status: int) -> None:
    pass
