"""entra_to_jira at 10,000, 50,000 and 100,000 people: a first run, then a run whose source changed nothing.

Each step runs in a process of its own, as an Airflow task does (``benchmarks.pipeline``), so
the seconds are the steps' own work and each step's peak memory, imports included, is what a
worker slot must hold. The no-op run must read two calls (a token and one empty delta page), read
no target, skip the check and the apply, and take under 10 s. The base rows each run reads from
the state store are counted too: a no-op run reads none. After the first run, the state store's
bytes on disk per linked person; and how the store and the peak memory grow with the people (the
exponent between two sizes: 1 is linear). ``BENCH_NOOP_PEOPLE`` (comma-separated) sets other sizes.
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.pipeline import run_steps, sync_environment
from jirasync.hooks.state import state_store_location

SIZES = [int(size) for size in os.environ.get("BENCH_NOOP_PEOPLE", "10000,50000,100000").split(",")]
SYNC = "entra_to_jira"
TARGET_SECONDS = 10.0
TARGET_CALLS = 2
STEPS = ("extract_source", "extract_target", "plan", "check", "apply", "report")


def main() -> None:
    logging.disable(logging.INFO)  # the steps' logs would bury the figures
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    stored: list[tuple[int, int]] = []  # (people, state store bytes) after each first run
    peaks: list[tuple[int, int]] = []  # (people, the first run's largest step peak in bytes)
    for people in SIZES:
        with (
            tempfile.TemporaryDirectory() as work,
            sync_environment(Path(work), people, SYNC) as (syncs_dir, _),
        ):
            first = run_steps(syncs_dir, SYNC, "first")
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
            noop = run_steps(syncs_dir, SYNC, "noop")
            report(people, "no-op run", noop)
            seconds = sum(noop["seconds"].values())
            calls = noop["summary"]["api_calls"]
            verdict = "met" if seconds < TARGET_SECONDS and calls == TARGET_CALLS else "MISSED"
            print(
                f"  target {verdict}: no-op steps {seconds:.1f} s (< {TARGET_SECONDS:.0f} s), "
                f"{calls} calls (= {TARGET_CALLS})"
            )


def _growth(earlier: list[tuple[int, int]], people: int, amount: int) -> str:
    """How ``amount`` grew from the last size measured: the exponent of people (1 is linear)."""
    if not earlier:
        return ""
    before_people, before = earlier[-1]
    exponent = math.log(amount / before) / math.log(people / before_people)
    return f", growth exponent {exponent:.2f} from {before_people:,} people"


def state_store_size() -> tuple[int, int]:
    """The sync's links in the state store, and the store's bytes on disk once its write-ahead log
    is folded in (the log's pages are reused, not grown, so they would only blur the figure)."""
    path = Path(state_store_location())
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        [(links,)] = db.execute("SELECT count(*) FROM links WHERE sync_id = ?", (SYNC,)).fetchall()
    return links, path.stat().st_size


def report(people: int, label: str, run: dict[str, Any]) -> None:
    by_step = ", ".join(
        f"{name} skipped" if name in run["skipped"] else f"{name} {run['seconds'][name]:.1f} s"
        for name in STEPS
    )
    peaks = ", ".join(f"{name} {peak / 2**20:,.0f}" for name, peak in run["peak_rss"].items())
    summary = run["summary"]
    said = summary.get("nothing_changed")
    print(
        f"{people:>7,} people, {label}: {sum(run['seconds'].values()):.1f} s ({by_step}); "
        f"{summary['api_calls']:,} calls (ideal {summary['ideal_api_calls']:,}), {summary['updated']:,} written, "
        f"{run['base_rows']:,} base rows read" + (f"; said: {said}" if said else "")
    )
    print(f"  peak memory by step (MiB): {peaks}")


if __name__ == "__main__":
    main()
