"""The vendor budget against the real Redis: two "workers" (two budgets, two Redis clients, each
with threads of its own) share one rate, one set of concurrent slots and one pause."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from redis import Redis
from tests.connectors.scripted_server import Reply, ScriptedServer, SeenRequest

from jirasync.connectors import BasicAuth, HttpClient, RetryPolicy
from jirasync.connectors.budget import KEY_PREFIX, LEASE_MARGIN, VendorBudget

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def name() -> Iterator[str]:
    """A budget of this test's own, removed from Redis after it."""
    name = f"test-{uuid.uuid4().hex}"
    yield name
    redis = Redis.from_url(REDIS_URL)
    keys = list(redis.scan_iter(f"{KEY_PREFIX}:{name}*"))
    if keys:
        redis.delete(*keys)


def worker(name: str, per_second: float, concurrency: int) -> VendorBudget:
    """A budget as one worker process builds it: its own Redis client."""
    return VendorBudget(name, per_second, concurrency, redis=Redis.from_url(REDIS_URL))


def run_threads(
    budgets: list[VendorBudget], threads_each: int, calls_each: int, call: Callable[[], None]
) -> None:
    def loop(budget: VendorBudget) -> None:
        for _ in range(calls_each):
            with budget.call():
                call()

    threads = [threading.Thread(target=loop, args=(b,)) for b in budgets for _ in range(threads_each)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def most_in_any_second(starts: list[float]) -> int:
    starts = sorted(starts)
    return max(sum(1 for s in starts[i:] if s < start + 1.0) for i, start in enumerate(starts))


def test_two_workers_share_one_rate(name: str) -> None:
    """At 20 a second with bursts of 2, no second sees more than 22 calls start, from both workers
    together: had each worker its own bucket, they would start 40 a second."""
    starts: list[float] = []
    run_threads([worker(name, 20, 2), worker(name, 20, 2)], 3, 10, lambda: starts.append(time.monotonic()))
    assert len(starts) == 60
    assert most_in_any_second(starts) <= 22


def test_two_workers_share_the_concurrent_calls(name: str) -> None:
    lock = threading.Lock()
    running = [0]
    most = [0]

    def call() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1

    run_threads([worker(name, 1000, 3), worker(name, 1000, 3)], 4, 5, call)
    assert most[0] == 3  # reached, and never passed, though eight threads wanted to call at once


def test_a_slot_held_by_a_dead_worker_comes_back_when_its_lease_ends(name: str) -> None:
    redis = Redis.from_url(REDIS_URL)
    # What a worker killed mid-call leaves: a slot whose lease ended a moment ago.
    redis.zadd(f"{KEY_PREFIX}:{name}:slots", {"dead-worker": time.time() - 0.1})
    with worker(name, 1000, 1).call():
        assert redis.zcard(f"{KEY_PREFIX}:{name}:slots") == 1


def test_a_slot_held_by_a_process_of_this_host_that_died_comes_back_without_waiting_its_lease(
    name: str,
) -> None:
    """A worker killed mid-call on this host (Airflow's retry runs there too, with one executor):
    its slot's lease has minutes to run, but the next call finds its process gone and takes it. A
    slot of another host's process waits for its lease: its process cannot be looked at."""
    redis = Redis.from_url(REDIS_URL)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    lease_end = time.time() + 600
    dead, elsewhere = f"t1@{socket.gethostname()}:{gone.stdout.strip()}", "t2@worker-7.elsewhere:4242"
    redis.zadd(f"{KEY_PREFIX}:{name}:slots", {dead: lease_end, elsewhere: lease_end})
    inside = threading.Event()

    def call() -> None:
        with worker(name, 1000, 2).call():
            inside.set()

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    # Bounded by half the dead slot's lease: the slot comes back long before it would have expired.
    assert inside.wait(300), "the dead process's slot was not taken back"
    thread.join()
    assert redis.zscore(f"{KEY_PREFIX}:{name}:slots", elsewhere) is not None
    assert redis.zscore(f"{KEY_PREFIX}:{name}:slots", dead) is None


def test_a_slot_is_leased_for_the_calls_timeouts_and_a_margin(name: str) -> None:
    redis = Redis.from_url(REDIS_URL)
    budget = VendorBudget(name, 1000, 1, redis=redis, timeout=(3.0, 5.0))
    with budget.call():
        [(_, lease_end)] = redis.zrange(f"{KEY_PREFIX}:{name}:slots", 0, -1, withscores=True)
        assert lease_end - time.time() == pytest.approx(3 + 5 + LEASE_MARGIN, abs=2)


def test_a_pause_set_by_one_worker_holds_the_other(name: str) -> None:
    first, second = worker(name, 1000, 4), worker(name, 1000, 4)
    first.pause(0.6)
    first.pause(0.2)  # a shorter pause never cuts a longer one
    assert second.paused_for() > 0.4
    started = time.monotonic()
    with second.call():
        waited = time.monotonic() - started
    assert waited >= 0.4


def test_without_redis_the_budget_holds_in_the_process() -> None:
    budget = VendorBudget("in-process", 20, 2)
    starts: list[float] = []
    run_threads([budget], 4, 10, lambda: starts.append(time.monotonic()))
    assert most_in_any_second(starts) <= 22
    budget.pause(0.5)
    assert budget.paused_for() > 0.3


def test_a_429_to_one_worker_pauses_the_calls_of_another(scripted_server: ScriptedServer, name: str) -> None:
    """Worker one is told Retry-After: 1; worker two, calling another endpoint meanwhile, waits it out."""
    answered_429 = threading.Event()
    arrivals: dict[str, float] = {}

    def rate_limited(_: SeenRequest) -> Reply:
        arrivals["429"] = time.monotonic()
        answered_429.set()
        return Reply(429, None, {"Retry-After": "1"})

    def other(_: SeenRequest) -> Reply:
        arrivals["other"] = time.monotonic()
        return Reply(200, {"ok": True})

    scripted_server.script("/items", rate_limited, Reply(200, {"ok": True}))
    scripted_server.script("/other", other)
    budgets = [worker(name, 1000, 4) for _ in range(2)]
    clients = [
        HttpClient(
            "Jira",
            scripted_server.url,
            BasicAuth("bot@example.com", "api-token-1234"),
            budget=budget,
            retry=RetryPolicy(base_delay=0.01),
        )
        for budget in budgets
    ]
    first = threading.Thread(target=clients[0].request_json, args=("GET", "/items"))
    first.start()
    answered_429.wait()
    # Worker two calls once worker one has taken in the 429: a loaded machine may take a while.
    while not budgets[0].paused_for():
        time.sleep(0.001)
    assert clients[1].request_json("GET", "/other") == {"ok": True}
    first.join()
    assert arrivals["other"] - arrivals["429"] >= 0.9
