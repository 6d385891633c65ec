"""entra_to_jira at 10,000, 50,000 and 100,000 people: a first run, then a run whose source changed nothing.

Each step of the pipeline runs in a process of its own, as an Airflow task does, and is called as
its operator calls it (``jirasync.operators.steps``), with the context Airflow would give, against
the sandbox (which serves from this process); Airflow's own start-up per task and the process's
imports are left out of the seconds, so the figures are the steps' own work. Each step's peak
memory is its process's peak resident set, imports included: what a worker slot must hold. The
no-op run must read two calls (a token and one empty delta page), read no target, skip the check
and the apply, and take under 10 s. The base rows each run reads from the state store are counted
too: a no-op run reads none. After the first run, the state store's bytes on disk per linked
person; and how the store and the peak memory grow with the people (the exponent between two
sizes: 1 is linear). ``BENCH_NOOP_PEOPLE`` (comma-separated) sets other sizes.
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from airflow.sdk.exceptions import AirflowSkipException

from jirasync.engine.store import StateStore
from jirasync.hooks.state import state_store_location
from jirasync.local_stack import sandbox_connections
from jirasync.operators import steps
from sandbox.testing import running_sandbox

SIZES = [int(size) for size in os.environ.get("BENCH_NOOP_PEOPLE", "10000,50000,100000").split(",")]
SYNC = "entra_to_jira"
SHIPPED = Path(__file__).resolve().parents[1] / "include" / "syncs" / f"{SYNC}.yaml"
TARGET_SECONDS = 10.0
TARGET_CALLS = 2
STEPS = ("extract_source", "extract_target", "plan", "check", "apply", "report")


def main() -> None:
    logging.disable(logging.INFO)  # the steps' logs would bury the figures
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    stored: list[tuple[int, int]] = []  # (people, state store bytes) after each first run
    peaks: list[tuple[int, int]] = []  # (people, the first run's largest step peak in bytes)
    for people in SIZES:
        with tempfile.TemporaryDirectory() as work, _environment(Path(work), people) as syncs_dir:
            first = run(syncs_dir, "first")
            report(people, "first run", first)
            peak = max(first["peak_rss"].values())
            print(f"  peak memory of a step: {peak / 2**20:,.0f} MiB{_growth(peaks, people, peak)}")
            peaks.append((people, peak))
            links, size = state_store_size()
            print(
                f"  state store: {size / 2**20:.1f} MiB for {links:,} links, {size / links:,.0f} bytes "
                f"a link{_growth(stored, people, size)}"
            )
            stored.append((people, size))
            noop = run(syncs_dir, "noop")
            report(people, "no-op run", noop)
            seconds = sum(noop["seconds"].values())
            verdict = "met" if seconds < TARGET_SECONDS and noop["calls"] == TARGET_CALLS else "MISSED"
            print(
                f"  target {verdict}: no-op steps {seconds:.1f} s (< {TARGET_SECONDS:.0f} s), "
                f"{noop['calls']} calls (= {TARGET_CALLS})"
            )


def _growth(earlier: list[tuple[int, int]], people: int, amount: int) -> str:
    """How ``amount`` grew from the last size measured: the exponent of people (1 is linear)."""
    if not earlier:
        return ""
    before_people, before = earlier[-1]
    exponent = math.log(amount / before) / math.log(people / before_people)
    return f", growth exponent {exponent:.2f} from {before_people:,} people"


@contextmanager
def _environment(work: Path, people: int) -> Iterator[Path]:
    """A sandbox of ``people``, its connections as Airflow reads them from the environment, and the
    state store and staging in ``work``, as a worker's would be."""
    syncs = work / "syncs"
    syncs.mkdir()
    (syncs / SHIPPED.name).write_text(SHIPPED.read_text())
    saved = dict(os.environ)
    with running_sandbox(work / "sandbox", seed=3, users=people) as sandbox:
        workspace = sandbox.record("assets", "workspace", "workspace")["workspaceId"]
        os.environ["AIRFLOW_HOME"] = str(work / "airflow")
        os.environ["JIRASYNC_STAGING_URL"] = str(work / "staging")
        for conn_id, connection in sandbox_connections(sandbox.base_url, workspace).items():
            os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(connection)
        try:
            yield syncs
        finally:
            os.environ.clear()
            os.environ.update(saved)


def state_store_size() -> tuple[int, int]:
    """The sync's links in the state store, and the store's bytes on disk once its write-ahead log
    is folded in (the log's pages are reused, not grown, so they would only blur the figure)."""
    path = Path(state_store_location())
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        [(links,)] = db.execute("SELECT count(*) FROM links WHERE sync_id = ?", (SYNC,)).fetchall()
    return links, path.stat().st_size


def run(syncs_dir: Path, run_id: str) -> dict[str, Any]:
    """One run, step by step as the DAG chains them, each step in a new process: each step's
    seconds (or that it was skipped) and peak memory, the API calls the run made and the base rows
    it read from the state store."""
    context = _context(run_id)
    seconds: dict[str, float] = {}
    peak_rss: dict[str, int] = {}
    skipped: list[str] = []
    base_rows = 0

    def step(name: str, **inputs: Any) -> Any:
        nonlocal base_rows
        # A fresh process per step, as Airflow's task runner gives each task: spawned, so it holds
        # none of this process's memory (the sandbox's world).
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(1, mp_context=spawn) as process:
            outcome = process.submit(_step, name, str(syncs_dir), inputs, context).result()
        seconds[name], peak_rss[name] = outcome["seconds"], outcome["peak_rss"]
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
        applied = step("apply", source=source, target=target, planned=planned, checked=checked)
    summary = step("report", source=source, target=target, applied=applied)
    return {
        "seconds": seconds,
        "peak_rss": peak_rss,
        "skipped": skipped,
        "calls": summary["api_calls"],
        "ideal": summary["ideal_api_calls"],
        "updated": summary["updated"],
        "base_rows": base_rows,
        "said": summary.get("nothing_changed"),
    }


def _step(name: str, syncs_dir: str, inputs: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """In the step's own process: run it; its result, seconds, peak memory and base rows read."""
    logging.disable(logging.INFO)
    started = time.perf_counter()
    with _counting_base_rows() as base_rows:
        try:
            result, skipped = (
                getattr(steps, name)(sync_id=SYNC, syncs_dir=syncs_dir, **inputs, **context),
                False,
            )
        except AirflowSkipException:
            result, skipped = None, True
    return {
        "result": result,
        "skipped": skipped,
        "seconds": time.perf_counter() - started,
        "peak_rss": _peak_rss(),
        "base_rows": base_rows(),
    }


def _peak_rss() -> int:
    """This process's peak resident set in bytes. Not ``getrusage``'s ``ru_maxrss``: Linux carries
    that across the exec of a spawned process, so it would hold the parent's (the sandbox's) peak."""
    status = Path("/proc/self/status").read_text()
    [kib] = [line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")]
    return int(kib) * 1024


def _context(run_id: str) -> dict[str, Any]:
    """What Airflow hands an operator's execute, as far as the steps read it."""
    now = datetime.now(UTC)
    return {
        "params": {},
        "ti": SimpleNamespace(try_number=1, dag_id=f"jirasync__{SYNC}"),
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


def report(people: int, label: str, run: dict[str, Any]) -> None:
    by_step = ", ".join(
        f"{name} skipped" if name in run["skipped"] else f"{name} {run['seconds'][name]:.1f} s"
        for name in STEPS
    )
    peaks = ", ".join(f"{name} {peak / 2**20:,.0f}" for name, peak in run["peak_rss"].items())
    print(
        f"{people:>7,} people, {label}: {sum(run['seconds'].values()):.1f} s ({by_step}); "
        f"{run['calls']:,} calls (ideal {run['ideal']:,}), {run['updated']:,} written, "
        f"{run['base_rows']:,} base rows read" + (f"; said: {run['said']}" if run["said"] else "")
    )
    print(f"  peak memory by step (MiB): {peaks}")


if __name__ == "__main__":
    main()
