"""When to try a failed call again, and how long to wait first.

Exponential back-off with jitter spreads retries out; a vendor's ``Retry-After`` is
a floor, never ignored and never shortened, and ``Retry-After: 0`` still waits a
second because retrying at once only extends a 429 storm. ``max_total_wait`` bounds
the waiting of one call so a stuck vendor fails the task with a clear error
instead of hanging it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

# 500 may mean the vendor applied a POST before failing, so only these are safe to repeat for any method.
NOT_PROCESSED_STATUSES = frozenset({429, 502, 503, 504})

MINIMUM_RETRY_AFTER = 1.0


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 10
    base_delay: float = 1.0
    max_delay: float = 60.0
    max_total_wait: float = 300.0

    def backoff(self, retry_number: int) -> float:
        """Wait before retry ``retry_number`` (1-based): half to all of base * 2^(n-1), capped."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (retry_number - 1))
        return random.uniform(ceiling / 2, ceiling)

    def delay(self, retry_number: int, retry_after: float | None) -> float:
        wait = self.backoff(retry_number)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait

    def give_up_reason(self, retries: int, waited: float, wait: float) -> str | None:
        """Why retry ``retries`` (1-based), due after ``wait`` more seconds, is not made; None to make it."""
        if retries < self.max_attempts and waited + wait <= self.max_total_wait:
            return None
        return (
            f"gave up after {retries} attempts and {waited:.0f} s of waiting; next wait would be "
            f"{wait:.0f} s, the retry budget is {self.max_total_wait:.0f} s"
        )


def should_retry_status(status: int, idempotent: bool) -> bool:
    if status in NOT_PROCESSED_STATUSES:
        return True
    return idempotent and status >= 500


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), at least 1 s."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError):
            return None
    return max(MINIMUM_RETRY_AFTER, seconds)
