"""A sync's run as the benchmarks drive it: its steps as the DAG chains them, each in a process of its own.

Each step is called as its operator calls it (``jirasync.operators.steps``), with the context
Airflow would give, in a spawned process, as an Airflow task runs: its peak memory is what a worker
slot must hold, and none of it is the benchmark's own (the sandbox's world, served from the
benchmark's process). Airflow's start-up per task and the process's imports are left out of the
seconds, so they are the steps' own work.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from airflow.sdk.exceptions import AirflowSkipException
from redis import Redis

from jirasync.connectors.budget import KEY_PREFIX, REDIS_URL_VARIABLE
from jirasync.engine.store import StateStore
from jirasync.local_stack import sandbox_connections
from jirasync.operators import steps
from sandbox.testing import RunningSandbox, running_sandbox

SHIPPED_SYNCS = Path(__file__).resolve().parents[1] / "include" / "syncs"
POLL_S = 0.05


@contextmanager
def sync_environment(
    work: Path, people: int, sync: str, seed: int = 3
) -> Iterator[tuple[Path, RunningSandbox]]:
    """The shipped definition of ``sync`` in a folder of syncs, a sandbox of ``people``, its
    connections as Airflow reads them from the environment, and the state store and staging in
    ``work``, as a worker's would be."""
    syncs = work / "syncs"
    syncs.mkdir()
    shutil.copy(SHIPPED_SYNCS / f"{sync}.yaml", syncs)
    saved = dict(os.environ)
    with running_sandbox(work / "sandbox", seed=seed, users=people) as sandbox:
        workspace = sandbox.record("assets", "workspace", "workspace")["workspaceId"]
        os.environ["AIRFLOW_HOME"] = str(work / "airflow")
        os.environ["JIRASYNC_STAGING_URL"] = str(work / "staging")
        for conn_id, connection in sandbox_connections(sandbox.base_url, workspace).items():
            os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(connection)
        try:
            yield syncs, sandbox
        finally:
            os.environ.clear()
            os.environ.update(saved)


@contextmanager
def budget_in_redis(conn_id: str, per_second: float, concurrency: int) -> Iterator[None]:
    """The connection ``conn_id`` (an ``AIRFLOW_CONN_*`` variable) with a budget of ``per_second``
    and ``concurrency`` shared through Redis (``JIRASYNC_REDIS_URL``, or 127.0.0.1:6379), as every
    worker of a deployment would share it; the budget's keys are taken away after."""
    redis_url = os.environ.get(REDIS_URL_VARIABLE, "redis://127.0.0.1:6379/0")
    os.environ[REDIS_URL_VARIABLE] = redis_url
    variable = f"AIRFLOW_CONN_{conn_id.upper()}"
    connection = json.loads(os.environ[variable])
    budget = {"rate_limit": per_second, "concurrency": concurrency}
    os.environ[variable] = json.dumps({**connection, "extra": {**connection.get("extra", {}), **budget}})
    try:
        yield
    finally:
        redis = Redis.from_url(redis_url)
        for key in redis.scan_iter(f"{KEY_PREFIX}:{conn_id}*"):
            redis.delete(key)


def calls_against_ideal(sandbox: RunningSandbox, ideal: int) -> str:
    """The calls the sandbox answered (refused ones too) since its counters were cleared, against ``ideal``."""
    made = sum(sandbox.counters().values())
    return f"calls {made:,}, ideal {ideal:,} ({'at ideal' if made <= ideal else f'{made - ideal} over'})"


def run_steps(
    syncs_dir: Path,
    sync: str,
    run_id: str,
    params: dict[str, Any] | None = None,
    kill_apply_when: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """One run, step by step as the DAG chains them, each step in a new process: each step's
    seconds (or that it was skipped) and peak memory, the run's summary and the base rows it read
    from the state store.

    ``params``: the trigger form's. ``kill_apply_when``: asked while the apply runs; when it says
    so, the apply's process is killed (SIGKILL, as a worker dies) and the apply runs again as
    Airflow retries it (its second try); its seconds are both tries'.
    """
    context = _context(sync, run_id, params or {})
    seconds: dict[str, float] = {}
    peak_rss: dict[str, int] = {}
    skipped: list[str] = []
    base_rows = 0
    killed_after: float | None = None

    def step(name: str, kill_when: Callable[[], bool] | None = None, **inputs: Any) -> Any:
        nonlocal base_rows, killed_after
        started = time.perf_counter()
        outcome = _in_own_process(name, sync, syncs_dir, inputs, context, kill_when)
        if outcome is None:  # killed: Airflow's retry
            killed_after = time.perf_counter() - started
            retry = {**context, "ti": SimpleNamespace(try_number=2, dag_id=context["ti"].dag_id)}
            outcome = _in_own_process(name, sync, syncs_dir, inputs, retry, None)
        seconds[name] = (killed_after or 0.0) + outcome["seconds"]
        peak_rss[name] = outcome["peak_rss"]
        base_rows += outcome["base_rows"]
        if outcome["skipped"]:
            skipped.append(name)
        return outcome["result"]

    source = step("extract_source")
    target = step("extract_target", source=source)
    planned = step("plan", source=source, target=target)
    checked = step("check", source=source, target=target, planned=planned)
    applied = None
    if checked is None:  # Airflow skips the apply after a skipped check (all_success)
        skipped.append("apply")
    else:
        applied = step(
            "apply", kill_apply_when, source=source, target=target, planned=planned, checked=checked
        )
    summary = step("report", source=source, target=target, applied=applied)
    return {
        "seconds": seconds,
        "peak_rss": peak_rss,
        "skipped": skipped,
        "summary": summary,
        "base_rows": base_rows,
        "killed_after": killed_after,
    }


def _in_own_process(
    name: str,
    sync: str,
    syncs_dir: Path,
    inputs: dict[str, Any],
    context: dict[str, Any],
    kill_when: Callable[[], bool] | None,
) -> dict[str, Any] | None:
    """Run a step in a spawned process (it holds none of this process's memory: the sandbox's
    world), as Airflow's task runner gives each task one; None if ``kill_when`` had it killed."""
    spawn = multiprocessing.get_context("spawn")
    receive, send = spawn.Pipe(duplex=False)
    process = spawn.Process(target=_step, args=(send, name, sync, str(syncs_dir), inputs, context))
    process.start()
    send.close()
    try:
        while not receive.poll(POLL_S):
            if kill_when is not None and kill_when():
                process.kill()
                return None
            if not process.is_alive() and not receive.poll():
                raise RuntimeError(f"the {name} step's process ended with exit code {process.exitcode}")
        outcome = receive.recv()
    finally:
        process.join()
    if "error" in outcome:
        raise RuntimeError(f"the {name} step failed:\n{outcome['error']}")
    return outcome


def _step(
    send: Connection, name: str, sync: str, syncs_dir: str, inputs: dict[str, Any], context: dict[str, Any]
) -> None:
    """In the step's own process: run it; send its result, seconds, peak memory and base rows read."""
    logging.disable(logging.INFO)
    started = time.perf_counter()
    try:
        with _counting_base_rows() as base_rows:
            try:
                result, skipped = (
                    getattr(steps, name)(sync_id=sync, syncs_dir=syncs_dir, **inputs, **context),
                    False,
                )
            except AirflowSkipException:
                result, skipped = None, True
    except Exception:
        send.send({"error": traceback.format_exc()})
        return
    send.send(
        {
            "result": result,
            "skipped": skipped,
            "seconds": time.perf_counter() - started,
            "peak_rss": _peak_rss(),
            "base_rows": base_rows(),
        }
    )


def _peak_rss() -> int:
    """This process's peak resident set in bytes. Not ``getrusage``'s ``ru_maxrss``: Linux carries
    that across the exec of a spawned process, so it would hold the parent's (the sandbox's) peak."""
    status = Path("/proc/self/status").read_text()
    [kib] = [line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")]
    return int(kib) * 1024


def _context(sync: str, run_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """What Airflow hands an operator's execute, as far as the steps read it."""
    now = datetime.now(UTC)
    return {
        "params": params,
        "ti": SimpleNamespace(try_number=1, dag_id=f"jirasync__{sync}"),
        "run_id": run_id,
        "dag_run": SimpleNamespace(run_type="manual", start_date=now),
        "data_interval_start": now,
        "data_interval_end": now,
    }


@contextmanager
def _counting_base_rows() -> Iterator[Callable[[], int]]:
    """Count the base rows every state store reads while the run goes on."""
    read = 0
    original = StateStore.base

    def counted(self: StateStore, *args: Any, **kwargs: Any) -> Any:
        nonlocal read
        frame = original(self, *args, **kwargs)
        read += len(frame)
        return frame

    StateStore.base = counted  # type: ignore[method-assign]
    try:
        yield lambda: read
    finally:
        StateStore.base = original  # type: ignore[method-assign]
