"""Time as an object, so retry and rate-limit waits can be asserted without waiting.

Connectors take a ``Clock``; production code uses ``SystemClock``. ``VirtualClock``
advances only when something sleeps on it and remembers every wait requested,
which lets tests and benchmarks check back-off decisions in milliseconds.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def time(self) -> float:
        """Seconds since the epoch; needed to turn an HTTP-date ``Retry-After`` into a wait."""
        ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class VirtualClock:
    """A clock that jumps forward instead of sleeping and records each requested wait."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._now += seconds
