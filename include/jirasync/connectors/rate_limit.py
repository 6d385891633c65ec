"""Client-side rate limiting, so a sync stays under a vendor's limits instead of bouncing off 429s."""

from __future__ import annotations

import threading

from jirasync.connectors.clock import Clock, SystemClock


class TokenBucket:
    """Allows ``per_second`` requests on average with bursts of up to ``burst``.

    One bucket per vendor: connectors for the same vendor share it when they are
    given the same instance.
    """

    def __init__(self, per_second: float, burst: int = 1, clock: Clock | None = None) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError(
                f"TokenBucket needs per_second > 0 and burst >= 1, got per_second={per_second}, burst={burst}"
            )
        self.per_second = per_second
        self.burst = burst
        self._clock = clock or SystemClock()
        self._tokens = float(burst)
        self._updated = self._clock.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is free; returns the seconds waited."""
        with self._lock:
            now = self._clock.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.per_second)
            self._updated = now
            wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.per_second
            self._tokens -= 1
            if wait:
                self._clock.sleep(wait)
            return wait
