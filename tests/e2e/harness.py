"""End-to-end runs: the real sandbox and real Airflow DAG runs, both in this test process.

A DAG run is ``dag.test()`` of the DAG that Airflow parses from ``dags/``: the scheduler's loop
in miniature, each task run by Airflow's task runner through the execution API, with the task's
XComs, callbacks, pools and Asset events in a migrated Airflow database. That is what
``airflow dags test`` does too, minus the seconds each new process spends importing Airflow and
Great Expectations, parsing the folder and migrating: here the process, its Airflow home
(``tests/conftest.py`` gives each test process one) and the migrated database live for the whole
session. Each test module gets its own sandbox world (size and seed); ``EndToEnd.reset`` puts
it back through the admin API and forgets the sync state between tests.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jirasync.local_stack import PROJECT_ROOT, DagRunResult, LocalStack, sandbox_connections
from sandbox.testing import RunningSandbox, running_sandbox

LOG_FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"


@dataclass
class EndToEnd:
    stack: LocalStack
    sandbox: RunningSandbox
    since: datetime = field(default_factory=lambda: datetime.now(UTC))

    def reset(self) -> None:
        """The world as seeded, no sync state, no Asset events counted: each test starts from nothing."""
        self.sandbox.reset()
        for name in (
            "state.db",
            "state.db-wal",
            "state.db-shm",
        ):  # a stale WAL would not match a new database
            (self.stack.airflow_home / "jirasync" / name).unlink(missing_ok=True)
        self.since = datetime.now(UTC)

    def run(self, sync_id: str, **conf: Any) -> dict[str, Any]:
        """Run a sync's DAG once; its summary, or a failure that quotes what the run said."""
        self.sandbox.clear_counters()
        result = self._run_dag(sync_id, conf)
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
        result = self._run_dag(sync_id, conf)
        assert not result.succeeded, f"the run of {sync_id} succeeded; log: {result.log_path}"
        return result

    def attempt(self, sync_id: str, **conf: Any) -> DagRunResult:
        """Run a sync's DAG once, whatever its outcome, adding to the sandbox's counters (a scenario of
        several runs, some of them faulted, counts its calls as a whole)."""
        return self._run_dag(sync_id, conf)

    def asset_events(self, sync_id: str) -> int:
        """Events of the sync's Asset since the last reset: one per run that changed the target."""
        from airflow.models.asset import AssetEvent, AssetModel
        from airflow.utils.session import create_session
        from sqlalchemy import func, select

        with create_session() as session:
            return session.scalar(
                select(func.count())
                .select_from(AssetEvent)
                .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
                .where(AssetModel.uri == f"jirasync://{sync_id}/", AssetEvent.timestamp >= self.since)
            )

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

    def add_variant(self, shipped: str, sync_id: str, edits: dict[str, str]) -> None:
        """A definition named ``sync_id``: the shipped file ``shipped`` with ``edits`` (old → new) made."""
        text = (PROJECT_ROOT / "include" / "syncs" / shipped).read_text()
        for old, new in edits.items():
            assert old in text, f"{shipped} has no {old!r} to edit"
            text = text.replace(old, new)
        (self.stack.syncs_dir / f"{sync_id}.yaml").write_text(text)

    def _run_dag(self, sync_id: str, conf: dict[str, Any]) -> DagRunResult:
        """One ``dag.test()`` of the sync's DAG as Airflow parses it now, its log kept in a file."""
        from airflow.dag_processing.dagbag import DagBag

        dag_id = f"jirasync__{sync_id}"
        logs = self.stack.airflow_home / "dag-runs"
        logs.mkdir(parents=True, exist_ok=True)
        log_path = logs / f"{dag_id}-{len(list(logs.glob(f'{dag_id}-*.log'))) + 1}.log"
        bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
        assert dag_id in bag.dags, (
            f"{dag_id} is not among the parsed DAGs; import errors: {bag.import_errors}"
        )
        dag = bag.dags[dag_id]
        for task in dag.tasks:  # retried as configured, but without waiting minutes in between
            task.retry_delay = timedelta(0)
        with _logged_to(log_path):
            dag_run = dag.test(run_conf=conf or None)
        return DagRunResult(dag_id, dag_run.state == "success", log_path)


@contextmanager
def end_to_end(workdir: Path, *, users: int, seed: int, definitions: list[str]) -> Iterator[EndToEnd]:
    """A sandbox world of ``users`` people, and this process's Airflow with ``definitions`` as its syncs.

    ``definitions`` name files of include/syncs, copied into a folder of the module's own, so a
    test may edit them or add variants (`EndToEnd.add_variant`).
    """
    syncs = workdir / "syncs"
    syncs.mkdir()
    for name in definitions:
        shutil.copy(PROJECT_ROOT / "include" / "syncs" / name, syncs / name)
    with running_sandbox(workdir / "sandbox", seed=seed, users=users) as sandbox:
        workspace = sandbox.record("assets", "workspace", "workspace")["workspaceId"]
        stack = LocalStack(
            airflow_home=Path(os.environ["AIRFLOW_HOME"]),
            sandbox_port=sandbox.port,
            users=users,
            seed=seed,
            syncs_dir=syncs,
            assets_workspace_id=workspace,
        )
        _prepare_airflow()
        saved = dict(os.environ)
        os.environ.update({k: v for k, v in stack.airflow_env().items() if k != "PATH"})
        # In the test process the connections are variables: a test may change one for one run.
        for conn_id, connection in sandbox_connections(sandbox.base_url, workspace).items():
            os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(connection)
        try:
            end_to_end = EndToEnd(stack, sandbox)
            end_to_end.reset()
            yield end_to_end
        finally:
            os.environ.clear()
            os.environ.update(saved)
            shutil.rmtree(stack.airflow_home / "jirasync" / "staging", ignore_errors=True)


@functools.cache
def _prepare_airflow() -> None:
    """Migrate this process's Airflow database and create the vendor pools, once per session."""
    from airflow.models.pool import Pool
    from airflow.utils.db import initdb

    initdb()
    for name, pool in json.loads((PROJECT_ROOT / "include/airflow/pools.json").read_text()).items():
        Pool.create_or_update_pool(name, pool["slots"], pool["description"], pool["include_deferred"])


@contextmanager
def _logged_to(log_path: Path) -> Iterator[None]:
    """What the run logs (the tasks' logs and the failure callbacks' messages) also goes to ``log_path``."""
    handler = logging.FileHandler(log_path)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()
