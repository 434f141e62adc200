"""The one clock every component reads, so a replay on a simulated clock is exact."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ScaledClock:
    """Starts at `start` when real time is `epoch` and runs `speed` times faster than real time."""

    def __init__(self, start: datetime, speed: float, epoch: float,
                 real_time: Callable[[], float] = time.time) -> None:
        self._start = start.astimezone(UTC)
        self._speed = speed
        self._epoch = epoch
        self._real_time = real_time

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(self._real_time() - self._epoch) * self._speed)


class SteppedClock:
    """Moves only when told to: the demo jumps from one due moment to the next."""

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance_to(self, moment: datetime) -> None:
        with self._lock:
            if moment > self._now:
                self._now = moment.astimezone(UTC)
