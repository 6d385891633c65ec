"""Vendor rate limits the sandbox enforces, set through the admin API and off until set.

Faults answer a share of requests with a 429 whatever the traffic; a limit answers according to
the traffic, as the vendor does, so a client's throughput can be measured against it:
``per_second`` is a token bucket (Jira's per-second budget, a burst of one second's worth) and
``concurrent`` the requests a vendor handles at once (Zoho's concurrency limit, Salesforce's
concurrent long-running requests). A request over a limit gets the vendor's own
``rate_limited`` answer: Jira's 429 with ``Retry-After`` and its rate-limit headers, Zoho's
``TOO_MANY_REQUESTS``, Salesforce's 403 ``REQUEST_LIMIT_EXCEEDED``. Salesforce's daily allowance
is the vendor's own (action ``set_daily_limit``), as ``/limits`` reports it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import BaseModel, Field


class Limit(BaseModel):
    """One vendor's limits; None leaves that limit off."""

    per_second: float | None = Field(default=None, gt=0)
    concurrent: int | None = Field(default=None, ge=1)


class _Bucket:
    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self.capacity = max(per_second, 1.0)  # a rate under one a second still lets one through
        self.tokens = self.capacity
        self.refilled = time.monotonic()

    def take(self) -> float:
        """0 if a request may go now (and it is counted), else the seconds until one may."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.refilled) * self.per_second)
        self.refilled = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.per_second


class LimitBoard:
    """The limits of every vendor, the requests each has in flight and each one's bucket."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._limits: dict[str, Limit] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._in_flight: dict[str, int] = {}

    def set(self, vendor: str, limit: Limit) -> Limit:
        with self._lock:
            self._limits[vendor] = limit
            self._buckets.pop(vendor, None)  # a new rate starts with a full second's burst
        return limit

    def list(self) -> dict[str, Limit]:
        return dict(self._limits)

    def clear(self) -> None:
        with self._lock:
            self._limits.clear()
            self._buckets.clear()

    @contextmanager
    def admit(self, vendor: str) -> Iterator[int | None]:
        """Yields None for a request within the vendor's limits, held in flight until the block
        ends; else the whole seconds a client should wait (``Retry-After``) and holds nothing."""
        with self._lock:
            limit = self._limits.get(vendor)
            if limit is None:
                wait: float | None = 0.0
            elif limit.concurrent is not None and self._in_flight.get(vendor, 0) >= limit.concurrent:
                wait = None  # the time until a slot frees is unknown: retry at once
            elif limit.per_second is not None:
                bucket = self._buckets.setdefault(vendor, _Bucket(limit.per_second))
                wait = bucket.take()
            else:
                wait = 0.0
            admitted = wait == 0.0
            if admitted:
                self._in_flight[vendor] = self._in_flight.get(vendor, 0) + 1
        if not admitted:
            yield 0 if wait is None else math.ceil(wait)
            return
        try:
            yield None
        finally:
            with self._lock:
                self._in_flight[vendor] -= 1
