"""End-to-end runs: the real sandbox in this process, real Airflow DAG runs in a project-local home.

Each test module gets its own world (size and seed), Airflow home and state store, and runs DAGs
with ``airflow dags test``, exactly as ``make demo`` does. The sandbox's admin helpers let a test
change data as a person in that system would, and read what each run did.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jirasync.local_stack import PROJECT_ROOT, DagRunResult, LocalStack
from sandbox.testing import RunningSandbox, running_sandbox


@dataclass
class EndToEnd:
    stack: LocalStack
    sandbox: RunningSandbox

    def run(self, sync_id: str, **conf: Any) -> dict[str, Any]:
        """Run a sync's DAG once; its summary, or a failure that quotes what the run said."""
        self.sandbox.clear_counters()
        result = self.stack.run_dag(f"jirasync__{sync_id}", conf or None)
        summary = self.stack.latest_summary(sync_id)
        if not result.succeeded:
            raise AssertionError(
                f"DAG run of {sync_id} failed: {result.failures() or 'no step reported'}; log: {result.log_path}"
            )
        assert summary is not None, f"{sync_id} recorded no run summary; log: {result.log_path}"
        return summary

    def run_failing(self, sync_id: str, **conf: Any) -> DagRunResult:
        """Run a sync's DAG once, expecting it to fail; what Airflow's run and its callbacks said."""
        self.sandbox.clear_counters()
        result = self.stack.run_dag(f"jirasync__{sync_id}", conf or None)
        assert not result.succeeded, f"the run of {sync_id} succeeded; log: {result.log_path}"
        return result

    def asset_events(self, sync_id: str) -> int:
        """Events of the sync's Asset in Airflow's metadata database: one per run that changed the target."""
        with sqlite3.connect(self.stack.airflow_home / "airflow.db") as db:
            (count,) = db.execute(
                "SELECT count(*) FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.uri = ?",
                (f"jirasync://{sync_id}/",),
            ).fetchone()
        return count

    def ledger(self, sync_id: str) -> list[dict[str, Any]]:
        """What the sync's latest run recorded, change by change (skips with their reason included)."""
        with sqlite3.connect(self.stack.airflow_home / "jirasync" / "state.db") as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(
                "SELECT * FROM ledger WHERE run_id = (SELECT run_id FROM runs WHERE sync_id = ? "
                "ORDER BY started_at DESC LIMIT 1)",
                (sync_id,),
            ).fetchall()
        return [dict(row) for row in rows]

    def calls(self, vendor: str, route_part: str = "") -> int:
        """Requests the sandbox answered for ``vendor`` since the last run started, on routes containing ``route_part``."""
        return sum(
            count
            for endpoint, count in self.sandbox.counters().items()
            if endpoint.startswith(f"{vendor} ") and route_part in endpoint
        )


@contextmanager
def end_to_end(
    workdir: Path, *, users: int, seed: int, definitions: list[str], edits: dict[str, str] | None = None
) -> Iterator[EndToEnd]:
    """A sandbox world of ``users`` people and an Airflow home whose syncs are ``definitions``.

    ``definitions`` name files of include/syncs; ``edits`` replaces text in them (old → new)
    so a test can vary a shipped definition without a copy of its own.
    """
    syncs = workdir / "syncs"
    syncs.mkdir()
    for name in definitions:
        text = (PROJECT_ROOT / "include" / "syncs" / name).read_text()
        for old, new in (edits or {}).items():
            text = text.replace(old, new)
        (syncs / name).write_text(text)
    with running_sandbox(workdir / "sandbox", seed=seed, users=users) as sandbox:
        workspace = sandbox.record("assets", "workspace", "workspace")["workspaceId"]
        stack = LocalStack(
            airflow_home=workdir / "airflow",
            sandbox_port=sandbox.port,
            users=users,
            seed=seed,
            syncs_dir=syncs,
            assets_workspace_id=workspace,
        )
        stack.prepare_airflow()
        try:
            yield EndToEnd(stack, sandbox)
        finally:
            shutil.rmtree(workdir / "airflow" / "jirasync" / "staging", ignore_errors=True)
