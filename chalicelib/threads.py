"""Work spread over threads within one invocation, each task in a copy of the invocation's context (its log keys,
and the local stack's note of which function runs)."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def map_in_threads(task: Callable[..., Any], items: Iterable[Any], workers: int) -> list[Any]:
    """task(item) for each item, `workers` at a time, in order; the first exception raised is raised."""
    invocation = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(lambda item: invocation.copy().run(task, item), items))
