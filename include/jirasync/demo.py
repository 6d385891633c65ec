"""``make demo``: the sandbox, a project-local Airflow, every sync DAG run once, and a summary.

The numbers printed are read from what the runs recorded in the state store, never made up;
until a sync is defined, the demo reports what the sandbox holds.
"""

from __future__ import annotations

from typing import Any

from jirasync.engine.definitions import SyncDefinition, read_definitions
from jirasync.local_stack import LocalStack, SandboxProcess

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
        stack.import_connections()
        print(f"Sandbox on {sandbox.url}, world of {users} people from seed {seed}\n")
        print(sandbox_holdings(sandbox))
        found = read_definitions(stack.syncs_dir)
        for error in found.errors:
            print(f"Not run, its definition cannot be used: {error}")
        definitions = found.definitions
        if not definitions:
            print("\nNo sync is defined in include/syncs yet: nothing to run.")
            return 0
        print()
        summaries, exit_code = run_syncs(stack, definitions)
        print()
        print(summary_table(summaries))
        print(f"\nLogs of each run: {stack.airflow_home / 'dag-runs'}")
    return exit_code


def run_syncs(stack: LocalStack, definitions: list[SyncDefinition]) -> tuple[list[dict[str, Any]], int]:
    """Run each sync's DAG once, in turn, and collect the summaries its runs recorded; the exit code is
    1 when any run failed (its failure is printed with where its full log is)."""
    summaries = []
    exit_code = 0
    for definition in definitions:
        dag_id = f"jirasync__{definition.id}"
        print(f"Running {dag_id} ...", flush=True)
        result = stack.run_dag(dag_id)
        summary = stack.latest_summary(definition.id) or {"sync": definition.id}
        if not result.succeeded:
            failed = result.failures() or ["the run failed before any step reported"]
            print(f"  FAILED: {failed[0]}\n  full log: {result.log_path}")
            summary["failed"] = summary.get("failed") or "run failed"
            exit_code = 1
        summaries.append(summary)
    return summaries, exit_code


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
