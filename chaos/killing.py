"""A worker that dies between the platform's answer and the write that records it."""

from __future__ import annotations

import random
import threading
from typing import Any

from chalicelib.adapters.platforms.base import PlatformClient, PublishRequest


class WorkerKilled(BaseException):
    """The Lambda was killed (timeout, OOM): a BaseException, so no `except Exception` in the code under test
    catches it, the batch gets no answer and its messages come back after their visibility timeout."""


class KillsAfterSuccess:
    """A platform client that, after a call the platform accepted, kills the worker with probability `rate`."""

    def __init__(self, client: PlatformClient, rate: float, rng: random.Random) -> None:
        self.platform = getattr(client, "platform", None)
        self._client = client
        self._rate = rate
        self._rng = rng
        self._lock = threading.Lock()
        self.kills = 0

    def publish(self, request: PublishRequest) -> str:
        answer = self._client.publish(request)
        with self._lock:
            dies = self._rng.random() < self._rate
            self.kills += dies
        if dies:
            raise WorkerKilled(f"killed after {self.platform} accepted {answer}")
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)
