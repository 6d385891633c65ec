"""How long and how much memory the plan takes on 1,000,000 linked records × 10 mapped fields.

1% of the records are updated, 0.5% created and 0.5% deleted (their source vanished). The plan
runs in a child process so that its peak RSS is measured alone; a DuckDB full-outer-join
diff of the same frames is timed in the same child for comparison. The machine is shared, so
each is timed RUNS times and the best run is reported.

Run: python -m benchmarks.bench_plan [rows]
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import pandas as pd

from jirasync.engine.definitions import SyncDefinition
from jirasync.engine.frames import TEXT
from jirasync.engine.plan import empty_base, plan_changes

ROWS = 1_000_000
RUNS = 3
FIELDS = [f"field_{n}" for n in range(10)]
T = TypeVar("T")


def definition() -> SyncDefinition:
    return SyncDefinition.model_validate(
        {
            "id": "bench",
            "family": "users_to_contacts",
            "source": {"system": "jira", "conn_id": "jira"},
            "target": {"system": "zoho", "conn_id": "zoho"},
            "key": {"source_field": "email", "target_field": "Email"},
            "fields": [{"source": name, "target": name} for name in FIELDS],
            "delete_policy": "delete",
        }
    )


def frames(rows: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Source, target and links: every target record linked, then the source changed."""
    rng = np.random.default_rng(7)
    numbers = np.arange(rows)
    ids = pd.Series(numbers.astype(str), dtype=TEXT)
    keys = "user" + ids + "@example.com"
    target = pd.DataFrame({"_id": "t" + ids, "_key": keys})
    for n, name in enumerate(FIELDS):
        target[name] = pd.Series((numbers * (n + 3) % 9973).astype(str), dtype=TEXT)
    links = pd.DataFrame({"source_id": "s" + ids, "target_id": target["_id"], "key": keys, "origin": "auto"})
    links = links.astype(TEXT)

    source = target.copy()
    source["_id"] = "s" + ids
    deleted = rng.choice(rows, rows // 200, replace=False)
    updated = rng.choice(np.setdiff1d(numbers, deleted), rows // 100, replace=False)
    for name, rows_of_field in zip(FIELDS, np.array_split(updated, len(FIELDS)), strict=True):
        source.loc[rows_of_field, name] = "changed"
    source = source.drop(index=deleted)
    created = pd.DataFrame({"_id": "new" + ids[: rows // 200], "_key": "new" + keys[: rows // 200]})
    for name in FIELDS:
        created[name] = pd.Series("fresh", index=created.index, dtype=TEXT)
    source = pd.concat([source, created], ignore_index=True)
    return source, target, links


def duckdb_diff(source: pd.DataFrame, target: pd.DataFrame, links: pd.DataFrame) -> int:
    """The same comparison as one full outer join in DuckDB; returns the rows that differ."""
    import duckdb

    differs = " OR ".join(f"s.{name} IS DISTINCT FROM t.{name}" for name in FIELDS)
    query = f"""
        SELECT count(*) FROM (
            SELECT s._id AS sid, l.target_id AS tid FROM source s LEFT JOIN links l ON s._id = l.source_id
        ) m
        FULL OUTER JOIN target t ON m.tid = t._id
        LEFT JOIN source s ON s._id = m.sid
        WHERE m.sid IS NULL OR t._id IS NULL OR {differs}
    """
    connection = duckdb.connect()
    connection.register("source", source)
    connection.register("target", target)
    connection.register("links", links)
    return connection.execute(query).fetchone()[0]


def best_of_runs(work: Callable[[], T]) -> tuple[float, T]:
    """The fastest of RUNS timings of `work`, and what it returned."""
    timings = []
    for _ in range(RUNS):
        start = time.perf_counter()
        result = work()
        timings.append(time.perf_counter() - start)
    return min(timings), result


def child(rows: int) -> None:
    source, target, links = frames(rows)
    plan_seconds, changes = best_of_runs(
        lambda: plan_changes(definition(), source, target, links, empty_base())
    )
    plan_peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    duckdb_seconds, differing = best_of_runs(lambda: duckdb_diff(source, target, links))
    counts = changes["kind"].value_counts().to_dict()
    print(f"rows: {rows:,} source, {len(target):,} target, {len(FIELDS)} fields; best of {RUNS} runs")
    print(f"change set: {len(changes):,} rows {counts}")
    print(f"plan: {plan_seconds:.2f} s")
    print(f"peak RSS up to the end of the plans (input frames included): {plan_peak_mib:,.0f} MiB")
    print(f"duckdb diff: {duckdb_seconds:.2f} s ({differing:,} differing records)")
    print(f"plan / duckdb: {plan_seconds / duckdb_seconds:.1f}x")


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else ROWS
    subprocess.run([sys.executable, "-m", "benchmarks.bench_plan", "--child", str(rows)], check=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(int(sys.argv[2]))
    else:
        main()
