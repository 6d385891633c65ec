"""``make demo``: the sandbox, a project-local Airflow, every sync DAG run once, and a summary.

The numbers printed are read from what the runs recorded in the state store, never made up;
until a sync is defined, the demo reports what the sandbox holds.
"""

from __future__ import annotations

import json
import time
from typing import Any

import sqlalchemy as sa

from jirasync.engine.definitions import load_definitions
from jirasync.local_stack import PROJECT_ROOT, LocalStack, SandboxProcess

SUMMARY_COLUMNS = (
    ("sync", "sync"),
    ("read_source", "read"),
    ("created", "created"),
    ("updated", "updated"),
    ("unlinked", "unlinked"),
    ("failed", "failed"),
    ("api_calls", "API calls"),
    ("ideal_api_calls", "ideal"),
    ("seconds", "seconds"),
)


def run_demo(users: int, seed: int) -> int:
    stack = LocalStack.from_environment(users=users, seed=seed)
    print(f"Airflow home: {stack.airflow_home} (SQLite)")
    stack.prepare_airflow()
    with stack.sandbox() as sandbox:
        print(f"Sandbox on {sandbox.url}, world of {users} people from seed {seed}\n")
        print(sandbox_holdings(sandbox))
        definitions = [d for d in load_definitions(PROJECT_ROOT / "include/syncs") if d.enabled]
        if not definitions:
            print("\nNo sync is defined in include/syncs yet: nothing to run.")
            return 0
        summaries = []
        for definition in definitions:
            dag_id = f"jirasync__{definition.id}"
            print(f"\nRunning {dag_id} ...", flush=True)
            started = time.monotonic()
            stack.airflow("dags", "test", dag_id, capture=True)
            summary = latest_summary(stack, definition.id)
            summary.setdefault("seconds", round(time.monotonic() - started, 1))
            summaries.append(summary)
        print()
        print(summary_table(summaries))
    return 0


def sandbox_holdings(sandbox: SandboxProcess) -> str:
    """Records per vendor collection, as the sandbox reports them."""
    vendors: dict[str, dict[str, Any]] = sandbox.admin("export")["vendors"]
    rows = [
        (vendor, collection, len(records))
        for vendor, collections in sorted(vendors.items())
        for collection, records in sorted(collections.items())
        if records
    ]
    width = max(len(f"{v}/{c}") for v, c, _ in rows)
    lines = ["What the sandbox holds:"] + [f"  {v + '/' + c:<{width}}  {n:>7}" for v, c, n in rows]
    return "\n".join(lines)


def latest_summary(stack: LocalStack, sync_id: str) -> dict[str, Any]:
    """The report of the sync's latest run, from the state store the run wrote it to."""
    engine = sa.create_engine(f"sqlite:///{stack.airflow_home / 'jirasync' / 'state.db'}")
    with engine.connect() as connection:
        row = connection.execute(
            sa.text("SELECT summary FROM runs WHERE sync_id = :sync ORDER BY started_at DESC LIMIT 1"),
            {"sync": sync_id},
        ).first()
    engine.dispose()
    if row is None or row.summary is None:
        return {"sync": sync_id, "failed": "no run recorded"}
    return json.loads(row.summary)


def summary_table(summaries: list[dict[str, Any]]) -> str:
    header = [title for _, title in SUMMARY_COLUMNS]
    body = [[str(summary.get(name, "")) for name, _ in SUMMARY_COLUMNS] for summary in summaries]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.rjust(width) if i else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in [header, *body]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
