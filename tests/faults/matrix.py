"""The fault matrix: a shipped sync hit by one fault, then run clean, ends exactly where a fault-free run ends.

Each test module subclasses ``FaultMatrix`` for one shipped sync and names the calls that write its
target: one sync per writer, as the faults strike the writes (scim_to_jira writes Jira user
properties through the same steps as entra_to_jira, whose module covers both). The class gets one
sandbox world (a few dozen people), runs the sync fault-free once to learn the export to expect and
the calls it costs, and then, per fault, from the seeded world: inject the fault, run (the run may
fail: Airflow retries the step, or the run ends "failed" with its records pending), clear the fault,
run clean, and compare the sandbox's export with the fault-free one. A record more is a duplicate, a
record less or different is a lost change. The calls the scenario made beyond the fault-free run and
its clean rerun are what the fault costs; they are printed in a table at the end of the session
(``tests/conftest.py``).

Faults come from the sandbox (``sandbox.faults``), at the vendor's write routes. Waits stay short:
``Retry-After: 30`` meets a connection whose ``max_wait`` is 5 s, and a slow write a connection
whose ``timeout`` is 2 s. A SIGKILL hits a real process: a fork of this test process running the
DAG, killed at a point of apply the test picks by holding a write in the sandbox.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
import yaml
from tests.e2e.harness import EndToEnd, end_to_end

from jirasync.connectors.budget import REDIS_URL_VARIABLE
from jirasync.engine.store import StateStore, locks_table, utc_now
from jirasync.local_stack import PROJECT_ROOT, DagRunResult

PEOPLE = 40
CONCURRENCY = 4  # calls at once in ConcurrentWrites
# Stamped by the sandbox with the time of a write: they differ between any two runs.
WRITE_TIMES = frozenset(
    {
        "Modified_Time",
        "Created_Time",
        "LastModifiedDate",
        "SystemModstamp",
        "CreatedDate",
        "created",
        "updated",
    }
)
ID_FIELDS = frozenset({"id", "Id"})  # a record's id, as Zoho and Salesforce name it
USAGE_COLLECTIONS = frozenset({"_limits"})  # Salesforce's API usage: counts calls, not data
OTHER_HOST = "worker-7.elsewhere.example:4242"
POLL_S = 0.02


@dataclass(frozen=True)
class Write:
    """Requests that write the target: ``vendor``, ``method``, and the start of the real path."""

    vendor: str
    method: str
    route: str


@dataclass(frozen=True)
class Fault:
    """A sandbox fault put on every write route of the sync, and the connection extras of the faulted run."""

    name: str
    kind: str
    options: dict[str, Any]
    extras: dict[str, Any] = field(default_factory=dict)


FAULTS = [
    Fault("429 Retry-After 0", "rate_limit", {"retry_after": 0, "count": 2}),
    # The client honours the 30 s and has a budget of 5: it gives up at once, Airflow retries the step.
    Fault("429 Retry-After 30", "rate_limit", {"retry_after": 30, "count": 1}, {"max_wait": 5}),
    Fault("503 burst", "error", {"status": 503, "count": 2}),
    Fault("500 on a write", "error", {"status": 500, "count": 1}),
    Fault("dropped before apply", "drop", {"count": 1}),
    Fault("dropped after apply", "drop_after_apply", {"count": 1}),
    Fault("token expired mid-run", "expire_tokens", {"count": 1}),
    Fault("write past the timeout", "latency", {"latency_ms": 3000, "count": 1}, {"timeout": 2}),
]


@dataclass
class Baseline:
    """The fault-free run from the seeded world: its export, and the calls of it and of a clean rerun."""

    seeded: dict[str, Any]
    export: dict[str, Any]
    calls: int


class FaultMatrix:
    """The matrix for one sync: subclass it as ``Test<Sync>`` with ``sync``, ``seed`` and ``writes``."""

    sync: ClassVar[str]
    seed: ClassVar[int]
    writes: ClassVar[tuple[Write, ...]]
    rate_limit_names_no_wait: ClassVar[bool] = False  # the vendor's rate limit has no Retry-After
    # The target numbers the records it creates as they come (a CRM's ids): writes at once create
    # them in another order than a run writing one batch after the other, so records are compared
    # by their content, not their id.
    numbered_as_created: ClassVar[bool] = False

    @pytest.fixture(scope="class")
    @classmethod
    def world(cls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EndToEnd]:
        with end_to_end(
            tmp_path_factory.mktemp(cls.sync), users=PEOPLE, seed=cls.seed, definitions=[f"{cls.sync}.yaml"]
        ) as e2e:
            yield e2e

    @pytest.fixture(scope="class")
    @classmethod
    def baseline(cls, world: EndToEnd) -> Baseline:
        world.reset()
        seeded = cls.snapshot(world)
        world.sandbox.clear_counters()
        first = world.attempt(cls.sync)
        assert first.succeeded, f"the fault-free run failed: {first.failures()}; log: {first.log_path}"
        export = cls.snapshot(world)
        assert world.attempt(cls.sync).succeeded
        assert export != seeded, "the fault-free run changed nothing: the matrix would prove nothing"
        return Baseline(seeded, export, total_calls(world))

    @pytest.fixture
    def e2e(self, world: EndToEnd, baseline: Baseline) -> Iterator[EndToEnd]:
        world.reset()
        world.sandbox.clear_counters()
        yield world
        world.sandbox.clear_faults()

    # the faults

    @pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
    def test_a_fault_then_a_clean_run_end_as_the_fault_free_run(
        self, e2e: EndToEnd, baseline: Baseline, fault: Fault, record_property: Any
    ) -> None:
        for write in self.write_routes(e2e):
            e2e.sandbox.add_fault(
                write.vendor, fault.kind, route=write.route, method=write.method, **fault.options
            )
        with connection_extras(self.target_conn_id(), fault.extras):
            faulted = e2e.attempt(self.sync)
        settle(e2e)
        e2e.sandbox.clear_faults()
        if fault.options.get("retry_after", 0) > fault.extras.get("max_wait", 300) and self.sends_retry_after(
            e2e
        ):
            # Honoured and bounded: no retry before 30 s, and no 30 s wait either.
            log = faulted.log_path.read_text()
            assert "next wait would be 30 s, the retry budget is 5 s" in log, faulted.log_path
        self.clean_run_ends_as_the_baseline(e2e, baseline, fault.name, faulted, record_property)

    @pytest.mark.parametrize(
        "point", ["after the intents", "mid-batch", "after the write, before its outcome"]
    )
    def test_a_process_killed_in_apply_then_a_clean_run_end_as_the_fault_free_run(
        self, e2e: EndToEnd, baseline: Baseline, point: str, record_property: Any
    ) -> None:
        """SIGKILL a real process running the DAG at a point of apply, held there by the sandbox.

        after the intents: the first write is answered 429 with Retry-After 5, and the process is
        killed while it waits (the journal holds its intents, nothing reached the target);
        mid-batch: the first write goes through slowly, the next one is held 5 s, and the process
        is killed while it waits for the answer (a wait every vendor makes alike: Salesforce's rate
        limit names no wait); after the write: the first write is held 1 s in the sandbox, the
        process is killed meanwhile, and the sandbox applies the write anyway.
        """
        routes = self.write_routes(e2e)
        if point == "mid-batch":
            self.add_faults(e2e, routes, "latency", latency_ms=500, count=1)
        elif point == "after the intents" and self.rate_limit_names_no_wait:
            # Salesforce's rate limit names no wait, and the client's first backoff is a second: hold
            # it in its backoff after three 503s instead (1 + 2 + 4 s), where it waits to write again.
            self.add_faults(e2e, routes, "error", count=3)
        elif point == "after the intents":
            self.add_faults(e2e, routes, "rate_limit", retry_after=5, count=1)
        else:
            self.add_faults(e2e, routes, "latency", latency_ms=1000, count=1)
        with forked_run(e2e, self.sync) as child:
            wait_for_a_struck_fault(e2e, child)
            if point == "mid-batch":
                e2e.sandbox.clear_faults()
                self.add_faults(e2e, routes, "latency", latency_ms=5000, count=1)
                wait_for_a_struck_fault(e2e, child)
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
        settle(e2e)
        e2e.sandbox.clear_faults()
        killed = self.latest_run(e2e)
        assert killed["status"] == "running"
        assert self.open_intents(e2e), "the process was not killed inside apply"

        self.clean_run_ends_as_the_baseline(e2e, baseline, f"SIGKILL {point}", None, record_property)
        assert self.run_status(e2e, killed["run_id"]) == "abandoned"

    def test_two_runs_at_once_then_a_clean_run_end_as_the_fault_free_run(
        self, e2e: EndToEnd, baseline: Baseline, record_property: Any
    ) -> None:
        """A second run starts while the first holds the apply lock (its first write held 1.5 s)."""
        self.add_faults(e2e, self.write_routes(e2e), "latency", latency_ms=1500, count=1)
        with forked_run(e2e, self.sync) as child:
            wait_for_a_struck_fault(e2e, child)
            second = e2e.attempt(self.sync)
            _, status = os.waitpid(child, 0)
        settle(e2e)
        assert os.waitstatus_to_exitcode(status) == 0, "the first run failed"
        self.clean_run_ends_as_the_baseline(e2e, baseline, "two runs at once", second, record_property)

    def test_a_lock_held_by_another_host_stops_the_run_until_its_heartbeat_is_stale(
        self, e2e: EndToEnd, baseline: Baseline, record_property: Any
    ) -> None:
        store = StateStore(self.state_location(e2e))
        store.migrate()
        now = utc_now()
        row = {"sync_id": self.sync, "run_id": "manual__elsewhere", "holder": OTHER_HOST}
        with store.engine.begin() as connection:
            connection.execute(sa.insert(locks_table), [{**row, "acquired_at": now, "heartbeat_at": now}])
        blocked = e2e.attempt(self.sync)
        assert not blocked.succeeded
        assert any(f"process {OTHER_HOST}" in failure for failure in blocked.failures()), blocked.failures()
        assert differences(baseline.seeded, self.snapshot(e2e)) == ([], []), "a blocked run wrote"
        with store.engine.begin() as connection:  # the other host died: its heartbeat stops
            connection.execute(sa.update(locks_table).values(heartbeat_at=now - timedelta(seconds=601)))
        store.close()
        self.clean_run_ends_as_the_baseline(
            e2e, baseline, "lock held by another host", blocked, record_property
        )

    # what every scenario asserts

    def clean_run_ends_as_the_baseline(
        self,
        e2e: EndToEnd,
        baseline: Baseline,
        fault: str,
        faulted: DagRunResult | None,
        record_property: Any,
    ) -> None:
        """``faulted``: the run the fault hit, None if its process was killed."""
        clean = e2e.attempt(self.sync)
        assert clean.succeeded, (
            f"the clean run after {fault} failed: {clean.failures()}; log: {clean.log_path}"
        )
        duplicates, lost = differences(baseline.export, self.snapshot(e2e))
        extra_calls = total_calls(e2e) - baseline.calls
        first = "killed" if faulted is None else "succeeded" if faulted.succeeded else "failed"
        record_property("fault_matrix", [self.sync, fault, first, extra_calls])
        assert not duplicates, f"after {fault}: records the fault-free run does not have: {duplicates[:5]}"
        assert not lost, f"after {fault}: records missing or different from the fault-free run: {lost[:5]}"
        assert not self.open_intents(e2e)

    # plumbing

    @classmethod
    def snapshot(cls, e2e: EndToEnd) -> dict[str, dict[str, Any]]:
        """The sandbox's data as the matrix compares it (``comparable``), records keyed by their id
        (by their content when ``numbered_as_created``)."""
        data = comparable(e2e.sandbox.export())
        if cls.numbered_as_created:
            return {name: by_content(records) for name, records in data.items()}
        return data

    def sends_retry_after(self, e2e: EndToEnd) -> bool:
        """Whether the target's 429 names a wait (Assets' never does; Salesforce answers 403)."""
        vendor = e2e.sandbox.sandbox.vendors[self.writes[0].vendor]
        return "Retry-After" in vendor.rate_limited(30).headers

    def write_routes(self, e2e: EndToEnd) -> list[Write]:
        workspace = e2e.stack.assets_workspace_id
        return [Write(w.vendor, w.method, w.route.format(workspace=workspace)) for w in self.writes]

    def add_faults(self, e2e: EndToEnd, routes: list[Write], kind: str, **options: Any) -> None:
        for write in routes:
            e2e.sandbox.add_fault(write.vendor, kind, route=write.route, method=write.method, **options)

    def target_conn_id(self) -> str:
        definition = yaml.safe_load((PROJECT_ROOT / "include" / "syncs" / f"{self.sync}.yaml").read_text())
        return definition["target"]["conn_id"]

    def state_location(self, e2e: EndToEnd) -> Path:
        return e2e.stack.airflow_home / "jirasync" / "state.db"

    def latest_run(self, e2e: EndToEnd) -> dict[str, Any]:
        with sqlite3.connect(self.state_location(e2e)) as db:
            db.row_factory = sqlite3.Row
            row = db.execute(
                "SELECT * FROM runs WHERE sync_id = ? ORDER BY started_at DESC LIMIT 1", (self.sync,)
            ).fetchone()
        return dict(row)

    def run_status(self, e2e: EndToEnd, run_id: str) -> str:
        with sqlite3.connect(self.state_location(e2e)) as db:
            return db.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()[0]

    def open_intents(self, e2e: EndToEnd) -> list[Any]:
        store = StateStore(self.state_location(e2e))
        try:
            return store.open_intents(self.sync)
        finally:
            store.close()


class ConcurrentWrites:
    """For a ``FaultMatrix`` whose writer writes several batches at once when its target's
    connection allows ``concurrency`` calls at once (in a budget shared through Redis)."""

    # Records a batch holds here (the definition's ``batch_size``), so that the few dozen people
    # make more batches than are written at once; None keeps the writer's own.
    batch_size: ClassVar[int | None] = None

    def test_a_process_killed_with_concurrent_writes_in_flight_then_a_rerun_end_as_the_fault_free_run(
        self: Any, e2e: EndToEnd, baseline: Baseline, record_property: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The budget allows four calls at once: the first four writes are held together, and the
        process running the DAG is killed while they are; the rerun, with the same concurrency,
        ends where the fault-free run does."""
        monkeypatch.setenv(REDIS_URL_VARIABLE, "redis://127.0.0.1:6379/0")
        routes = self.write_routes(e2e)
        # The killed process's slots come back at once: it died on this host (jirasync.holders).
        extras = {"rate_limit": 100, "concurrency": CONCURRENCY}
        with connection_extras(self.target_conn_id(), extras), batches_of(e2e, self.sync, self.batch_size):
            self.add_faults(e2e, routes, "latency", latency_ms=5000, count=CONCURRENCY)
            with forked_run(e2e, self.sync) as child:
                wait_for_a_struck_fault(e2e, child)
                assert e2e.sandbox.sandbox.traffic.in_flight >= CONCURRENCY  # held at once, not in turn
                os.kill(child, signal.SIGKILL)
                os.waitpid(child, 0)
            settle(e2e)
            e2e.sandbox.clear_faults()
            killed = self.latest_run(e2e)
            assert len(self.open_intents(e2e)) >= CONCURRENCY, "the writes in flight left no intents"
            self.clean_run_ends_as_the_baseline(
                e2e, baseline, "SIGKILL with concurrent writes", None, record_property
            )
        assert self.run_status(e2e, killed["run_id"]) == "abandoned"


@contextmanager
def batches_of(e2e: EndToEnd, sync_id: str, size: int | None) -> Iterator[None]:
    """The sync's definition with ``batch_size: size`` while the block runs (unchanged for None)."""
    path = e2e.stack.syncs_dir / f"{sync_id}.yaml"
    text = path.read_text()
    if size is not None:
        path.write_text(f"{text}\nbatch_size: {size}\n")
    try:
        yield
    finally:
        path.write_text(text)


def comparable(export: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The sandbox's data, collection by collection, without the times of writes and the usage counts."""
    return {
        f"{vendor}/{name}": {record_id: _without_write_times(record) for record_id, record in records.items()}
        for vendor, collections in export["vendors"].items()
        for name, records in collections.items()
        if name not in USAGE_COLLECTIONS
    }


def by_content(records: dict[str, Any]) -> dict[str, Any]:
    """Records without their id, keyed by what they hold, with a count for records holding the
    same: a duplicate is then a record more, whatever id the target gave it."""
    keyed: dict[str, Any] = {}
    for record in records.values():
        content = (
            {k: v for k, v in record.items() if k not in ID_FIELDS} if isinstance(record, dict) else record
        )
        digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:12]
        copy = sum(key.startswith(digest) for key in keyed)
        keyed[f"{digest}#{copy}"] = content
    return keyed


def _without_write_times(record: Any) -> Any:
    if not isinstance(record, dict):
        return record
    return {key: value for key, value in record.items() if key not in WRITE_TIMES}


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Records ``actual`` has beyond ``expected`` (duplicates), and records it lacks or holds otherwise (lost)."""
    duplicates, lost = [], []
    for collection in sorted(expected.keys() | actual.keys()):
        want, have = expected.get(collection, {}), actual.get(collection, {})
        duplicates += [
            f"{collection}/{i}: {json.dumps(have[i])[:300]}" for i in sorted(have.keys() - want.keys())
        ]
        lost += [
            f"{collection}/{i}: expected {json.dumps(want[i])[:300]}, found {json.dumps(have.get(i))[:300]}"
            for i in sorted(want)
            if have.get(i) != want[i]
        ]
    return duplicates, lost


def total_calls(e2e: EndToEnd) -> int:
    """Vendor requests the sandbox answered (faulted ones included) since its counters were cleared."""
    return sum(e2e.sandbox.counters().values())


def settle(e2e: EndToEnd) -> None:
    """Wait until the sandbox has answered every request, those whose client gave up included."""
    while e2e.sandbox.sandbox.traffic.in_flight:
        time.sleep(POLL_S)


@contextmanager
def connection_extras(conn_id: str, extras: dict[str, Any]) -> Iterator[None]:
    """The Airflow connection ``conn_id`` (an environment variable in the tests) with ``extras`` added."""
    name = f"AIRFLOW_CONN_{conn_id.upper()}"
    saved = os.environ[name]
    connection = json.loads(saved)
    connection["extra"] = {**connection.get("extra", {}), **extras}
    os.environ[name] = json.dumps(connection)
    try:
        yield
    finally:
        os.environ[name] = saved


@contextmanager
def forked_run(e2e: EndToEnd, sync_id: str) -> Iterator[int]:
    """A child process (a fork of this one, so without Airflow's import time) running the sync's DAG
    once; killed on the way out if the test left it running."""
    pid = os.fork()
    if pid == 0:
        _run_and_exit(e2e, sync_id)
    try:
        yield pid
    finally:
        with contextlib.suppress(ChildProcessError):  # the test waited for it already
            if os.waitpid(pid, os.WNOHANG) == (0, 0):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)


def _run_and_exit(e2e: EndToEnd, sync_id: str) -> None:
    code = 1
    try:
        from airflow.sdk.execution_time import supervisor

        from airflow import settings

        settings.engine.dispose(close=False)  # the parent's database connections stay the parent's
        # dag.test() talks to an in-process execution API whose event loop runs in a thread of the
        # parent; a fork has no such thread, so it starts its own.
        supervisor.in_process_api_server.cache_clear()
        code = 0 if e2e.attempt(sync_id).succeeded else 3
    finally:
        os._exit(code)


def wait_for_a_struck_fault(e2e: EndToEnd, child: int) -> None:
    """Until a request of the child struck one of the faults (a fault with ``count`` 1 is then gone)."""
    count = len(e2e.sandbox.sandbox.faults.list())
    while len(e2e.sandbox.sandbox.faults.list()) == count:
        finished, status = os.waitpid(child, os.WNOHANG)
        assert not finished, (
            f"the run ended (exit {os.waitstatus_to_exitcode(status)}) before the fault struck"
        )
        time.sleep(POLL_S)
