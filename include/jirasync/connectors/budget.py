"""A vendor's request budget, shared by every thread, task and worker that calls the vendor.

A vendor limits an account, not a process: Jira counts requests per second across every client
of a site, Zoho counts the requests in flight. Each call takes a permit from the budget's
requests-per-second bucket (pyrate-limiter's token bucket) and holds one of its concurrent
slots while it runs. A 429 pauses the whole budget until its ``Retry-After``: the other threads
and workers wait too, instead of each learning it from a 429 of its own.

With Redis (``JIRASYNC_REDIS_URL``, or the Airflow connection ``jirasync_redis``) the bucket, the
slots and the pause live there, so every worker shares them. Without it they live in the
process: right for one machine running one task per vendor at a time.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from pyrate_limiter import Limiter, Rate, StateBucket
from pyrate_limiter import TokenBucket as TokenBucketAlgorithm
from pyrate_limiter.buckets import InMemoryStateStore, RedisStateStore
from redis import Redis

from jirasync.connectors.http import DEFAULT_TIMEOUT
from jirasync.holders import died_here, this_process

REDIS_URL_VARIABLE = "JIRASYNC_REDIS_URL"
REDIS_CONN_ID = "jirasync_redis"
KEY_PREFIX = "jirasync:budget"
# A worker that dies holding a slot gives it back when the slot's lease ends: the call's connect
# and read timeouts (a call gives up within them) and this margin. A longer lease only keeps a dead
# worker's slots from the next run (at 300 s the rerun after a SIGKILL waited five minutes). A
# process of the same host finds the dead holder's slots at once (``jirasync.holders``).
LEASE_MARGIN = 20.0
# How often a call waiting for a slot or for a pause to end looks again.
POLL = 0.01
# How often a call waiting for a slot looks for slots whose holder died on this host.
RECLAIM_EVERY = 1.0

# Takes a slot if fewer than ARGV[1] unexpired ones are held; a slot is a member scored by when
# its lease ends, so a crashed holder's slot expires instead of shrinking the budget for good.
_TAKE_SLOT = """
local key, limit, now, lease_end, token = KEYS[1], tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if redis.call('ZCARD', key) < limit then
    redis.call('ZADD', key, lease_end, token)
    redis.call('EXPIRE', key, math.ceil(tonumber(ARGV[5])))
    return 1
end
return 0
"""


class VendorBudget:
    """``per_second`` requests a second and ``concurrency`` calls at once.

    Budgets with the same ``name`` on the same Redis are one budget. Up to ``concurrency`` calls
    may start together (the bucket's burst): without it, calls that finish together queue for
    permits one by one and the budget runs below its rate.
    """

    def __init__(
        self,
        name: str,
        per_second: float,
        concurrency: int,
        *,
        redis: Redis | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        if per_second <= 0 or concurrency < 1:
            raise ValueError(
                f"budget {name!r} needs per_second > 0 and concurrency >= 1, got "
                f"per_second={per_second}, concurrency={concurrency}"
            )
        self.name = name
        self.per_second = per_second
        self.concurrency = concurrency
        self.redis = redis
        self.key = f"{KEY_PREFIX}:{name}"
        self.lease = sum(timeout) + LEASE_MARGIN
        # One permit every 1/per_second s: Rate wants a whole number of permits per interval.
        rate = Rate(1, max(1, round(1000 / per_second)), burst=concurrency)
        store = RedisStateStore(redis, f"{self.key}:rate") if redis else InMemoryStateStore()
        self._limiter = Limiter(StateBucket([rate], TokenBucketAlgorithm(), store), buffer_ms=0)
        self._retry_every = min(POLL, 1 / per_second)
        self._slots = threading.BoundedSemaphore(concurrency)
        self._paused_until = 0.0
        self._take_slot = redis.register_script(_TAKE_SLOT) if redis else None

    @contextmanager
    def call(self) -> Iterator[None]:
        """Hold a slot and a permit for one call, after any pause."""
        self._wait_out_pause()
        token = self._acquire_slot()
        try:
            # Not the limiter's own blocking wait: it retries with the time it meant to wake at, not
            # the time it woke, so a thread that overslept among many waiting asks too early, and at
            # 16 threads the budget ran at half its rate.
            while not self._limiter.try_acquire(self.name, blocking=False):
                time.sleep(self._retry_every)
            yield
        finally:
            self._release_slot(token)

    def pause(self, seconds: float) -> None:
        """No call starts for ``seconds`` (a vendor's ``Retry-After``); a longer pause already set stays."""
        if self.redis is None:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)
            return
        milliseconds = max(1, round(seconds * 1000))
        # Redis keeps the time (no clock skew between workers): set if absent, else only lengthen.
        if not self.redis.set(f"{self.key}:pause", "1", px=milliseconds, nx=True):
            self.redis.pexpire(f"{self.key}:pause", milliseconds, gt=True)

    def paused_for(self) -> float:
        """Seconds left of the budget's pause; 0 when calls may go."""
        if self.redis is None:
            return max(0.0, self._paused_until - time.monotonic())
        return max(0, self.redis.pttl(f"{self.key}:pause")) / 1000

    def _wait_out_pause(self) -> None:
        while (left := self.paused_for()) > 0:
            time.sleep(left)

    def _acquire_slot(self) -> str | None:
        if self._take_slot is None:
            self._slots.acquire()
            return None
        token = f"{uuid.uuid4().hex}@{this_process()}"
        reclaimed_at = 0.0
        while True:
            now = time.time()
            if self._take_slot(
                keys=[f"{self.key}:slots"],
                args=[self.concurrency, now, now + self.lease, token, self.lease],
            ):
                return token
            if now - reclaimed_at >= RECLAIM_EVERY:
                self._reclaim_slots_of_the_dead()
                reclaimed_at = now
            time.sleep(POLL)

    def _reclaim_slots_of_the_dead(self) -> None:
        """Free the slots of this host's processes that died holding them: the retry of a task
        whose worker was killed need not wait out their lease."""
        assert self.redis is not None
        slots = f"{self.key}:slots"
        dead = [
            token for token in self.redis.zrange(slots, 0, -1) if died_here(token.decode().partition("@")[2])
        ]
        if dead:
            self.redis.zrem(slots, *dead)

    def _release_slot(self, token: str | None) -> None:
        if token is None:
            self._slots.release()
        else:
            assert self.redis is not None
            self.redis.zrem(f"{self.key}:slots", token)


def redis_url() -> str | None:
    """Where the shared budgets live: ``JIRASYNC_REDIS_URL``, else the ``jirasync_redis`` connection."""
    if url := os.environ.get(REDIS_URL_VARIABLE):
        return url
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = BaseHook.get_connection(REDIS_CONN_ID)
    except AirflowNotFoundException:
        return None
    return conn.get_uri()
