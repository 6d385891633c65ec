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
from urllib.parse import urlsplit

import structlog
from tests.sandbox.pushes import Received, receiving

from jirasync.local_stack import PROJECT_ROOT, DagRunResult, LocalStack, sandbox_connections
from sandbox.testing import RunningSandbox, running_sandbox

LOG_FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"


def forget_sync_state(stack: LocalStack) -> None:
    """Delete the stack's SQLite state store, with its WAL files: a stale WAL would not match a new database."""
    for name in ("state.db", "state.db-wal", "state.db-shm"):
        (stack.airflow_home / "jirasync" / name).unlink(missing_ok=True)


@dataclass
class EndToEnd:
    stack: LocalStack
    sandbox: RunningSandbox
    since: datetime = field(default_factory=lambda: datetime.now(UTC))

    def reset(self) -> None:
        """The world as seeded, no sync state, no Asset events counted: each test starts from nothing."""
        self.sandbox.reset()
        forget_sync_state(self.stack)
        self.since = datetime.now(UTC)

    @contextmanager
    def fresh(self) -> Iterator[EndToEnd]:
        """The world reset for one test; the definitions it edits are put back after it."""
        self.reset()
        texts = {path: path.read_text() for path in self.stack.syncs_dir.glob("*.yaml")}
        yield self
        for path, text in texts.items():
            path.write_text(text)

    def run(self, sync_id: str, **conf: Any) -> dict[str, Any]:
        """Run a sync's DAG once; its summary, or a failure that quotes what the run said."""
        self.sandbox.clear_counters()
        result = self._run_dag(f"jirasync__{sync_id}", conf)
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
        result = self._run_dag(f"jirasync__{sync_id}", conf)
        assert not result.succeeded, f"the run of {sync_id} succeeded; log: {result.log_path}"
        return result

    def attempt(self, sync_id: str, **conf: Any) -> DagRunResult:
        """Run a sync's DAG once, whatever its outcome, adding to the sandbox's counters (a scenario of
        several runs, some of them faulted, counts its calls as a whole)."""
        return self._run_dag(f"jirasync__{sync_id}", conf)

    def run_dag(self, dag_id: str) -> DagRunResult:
        """Run once a DAG of the project's that is no sync's (jirasync_event_channels)."""
        return self._run_dag(dag_id, {})

    def run_own_dag(self, dag_folder: Path, dag_id: str, **conf: Any) -> DagRunResult:
        """Run once a DAG of a user's own, from a file in ``dag_folder``; what Airflow's run said.

        ``dag.test()`` runs only DAGs that a DAG bundle holds: the folder is one while it runs.
        """
        bundles = [
            {"name": "dags-folder", "classpath": LOCAL_BUNDLE, "kwargs": {}},
            {"name": "own-dags", "classpath": LOCAL_BUNDLE, "kwargs": {"path": str(dag_folder)}},
        ]
        os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(bundles)
        self.sandbox.clear_counters()
        try:
            return self._run_dag(dag_id, conf, dag_folder)
        finally:
            del os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"]

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

    def task_states(self, sync_id: str) -> dict[str, str]:
        """Each task's state in the sync's latest DAG run, as the UI shows them (a mapped task's
        instances as ``task[map index]``)."""
        from airflow.models.dagrun import DagRun
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from sqlalchemy import select

        dag_id = f"jirasync__{sync_id}"
        with create_session() as session:
            latest = select(DagRun.run_id).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).limit(1)
            rows = session.execute(
                select(TaskInstance.task_id, TaskInstance.map_index, TaskInstance.state).where(
                    TaskInstance.dag_id == dag_id, TaskInstance.run_id == latest.scalar_subquery()
                )
            )
            return {
                task_id + (f"[{map_index}]" if map_index >= 0 else ""): str(state)
                for task_id, map_index, state in rows
            }

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

    def backfill(
        self, sync_id: str, start: datetime, end: datetime, *, reprocess: str = "none"
    ) -> list[BackfilledRun]:
        """Backfill the sync over [start, end] as ``airflow backfill create --max-active-runs 1`` does
        (``reprocess``: which runs already made are run again: none, failed or completed), then run
        the backfill's runs one after the other, as the scheduler starts them."""
        from airflow.models.backfill import Backfill, ReprocessBehavior, _create_backfill
        from airflow.models.dagrun import DagRun
        from airflow.utils.session import create_session
        from sqlalchemy import select

        dag = self._parsed(f"jirasync__{sync_id}")
        _store_dags()
        backfill = _create_backfill(
            dag_id=dag.dag_id,
            from_date=start,
            to_date=end,
            max_active_runs=1,
            reverse=False,
            dag_run_conf=None,
            triggering_user_name="e2e",
            reprocess_behavior=ReprocessBehavior(reprocess),
        )
        with create_session() as session:
            runs = session.execute(
                select(DagRun.run_id, DagRun.data_interval_start, DagRun.data_interval_end)
                .where(DagRun.backfill_id == backfill.id)
                .order_by(DagRun.logical_date)
            ).all()
        done = []
        for run_id, interval_start, interval_end in runs:
            result = self._run_queued(dag, run_id)
            summary = self.stack.latest_summary(sync_id)
            assert result.succeeded and summary, f"backfilled run {run_id} failed; log: {result.log_path}"
            done.append(
                BackfilledRun(
                    run_id, interval_start, interval_end, summary, self.ledger(sync_id), result.log_path
                )
            )
        with create_session() as session:  # what the scheduler does once every run of it finished
            session.get(Backfill, backfill.id).completed_at = datetime.now(UTC)
        return done

    def miss_deadline(self, sync_id: str, late_by: timedelta) -> list[tuple[bool, str | None]]:
        """Queue a run of the sync (as the Trigger button does), let it be ``late_by`` past its
        definition's deadline without starting it, then do what the scheduler and executor do with a
        missed deadline: mark it missed and run its callback. What each callback run returned."""
        from airflow.api.common.trigger_dag import trigger_dag
        from airflow.models import Deadline
        from airflow.models.dagrun import DagRun
        from airflow.sdk.execution_time.callback_supervisor import execute_callback
        from airflow.utils.session import create_session
        from airflow.utils.types import DagRunTriggeredByType
        from sqlalchemy import select

        dag = self._parsed(f"jirasync__{sync_id}")
        _store_dags()
        trigger_dag(dag.dag_id, triggered_by=DagRunTriggeredByType.TEST)
        results = []
        with create_session() as session:
            late = datetime.now(UTC) + late_by  # the scheduler's "now", that much later
            for deadline in session.scalars(
                select(Deadline)
                .join(DagRun, Deadline.dagrun_id == DagRun.id)
                .where(DagRun.dag_id == dag.dag_id, Deadline.deadline_time < late, ~Deadline.missed)
            ):
                deadline.handle_miss(session)
                data = deadline.callback.data
                log = structlog.get_logger("deadline-callback")  # the callback runner logs key=value
                results.append(
                    execute_callback(
                        data["path"], data["kwargs"], Path(dag.fileloc).name, PROJECT_ROOT / "dags", log
                    )
                )
        return results

    def _parsed(self, dag_id: str, dag_folder: Path = PROJECT_ROOT / "dags") -> Any:
        """The DAG as Airflow parses it now, retried as configured but without waiting minutes."""
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(dag_folder))
        assert dag_id in bag.dags, (
            f"{dag_id} is not among the parsed DAGs; import errors: {bag.import_errors}"
        )
        dag = bag.dags[dag_id]
        for task in dag.tasks:
            task.retry_delay = timedelta(0)
        return dag

    def _log_path(self, dag_id: str) -> Path:
        logs = self.stack.airflow_home / "dag-runs"
        logs.mkdir(parents=True, exist_ok=True)
        return logs / f"{dag_id}-{len(list(logs.glob(f'{dag_id}-*.log'))) + 1}.log"

    def _run_dag(
        self, dag_id: str, conf: dict[str, Any], dag_folder: Path = PROJECT_ROOT / "dags"
    ) -> DagRunResult:
        """One ``dag.test()`` of the DAG as Airflow parses it now, its log kept in a file."""
        dag = self._parsed(dag_id, dag_folder)
        log_path = self._log_path(dag.dag_id)
        with _logged_to(log_path):
            dag_run = dag.test(run_conf=conf or None)
        return DagRunResult(dag.dag_id, dag_run.state == "success", log_path)

    def _run_queued(self, dag: Any, run_id: str) -> DagRunResult:
        """Run a DAG run the scheduler would start (a backfill's), with ``dag.test()``'s own loop:
        each ready task run in this process by Airflow's task runner, until the run finishes."""
        from airflow.models.dagrun import DagRun
        from airflow.sdk.definitions.dag import _run_task
        from airflow.serialization.serialized_objects import DagSerialization
        from airflow.utils.state import DagRunState, TaskInstanceState
        from sqlalchemy import select

        from airflow import settings

        self.sandbox.clear_counters()
        log_path = self._log_path(dag.dag_id)
        session = settings.Session()
        dag_run = session.scalar(select(DagRun).where(DagRun.dag_id == dag.dag_id, DagRun.run_id == run_id))
        dag_run.dag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
        dag_run.state, dag_run.start_date = DagRunState.RUNNING, datetime.now(UTC)
        session.commit()
        with _logged_to(log_path):
            while dag_run.state == DagRunState.RUNNING:
                session.expire_all()
                ready, _ = dag_run.update_state(session=session)
                for ti in ready:
                    ti.try_number += 1
                    ti.state = TaskInstanceState.SCHEDULED
                session.commit()
                for ti in dag_run.get_task_instances(state=[TaskInstanceState.SCHEDULED], session=session):
                    try:
                        _run_task(ti=ti, task=dag.task_dict[ti.task_id])
                    except Exception:  # the run's state says it; the log has the trace
                        logging.getLogger(__name__).exception("task %s failed", ti.task_id)
        session.close()
        return DagRunResult(dag.dag_id, dag_run.state == DagRunState.SUCCESS, log_path)


@dataclass
class Webhook:
    """A webhook endpoint on this machine (`webhook_receiver`): its Airflow HTTP connection, as JSON
    for an ``AIRFLOW_CONN_*`` variable, and what it was sent."""

    connection: str
    got: Received

    @property
    def received(self) -> list[tuple[str, dict[str, Any]]]:
        """(path, JSON body) by request."""
        return [(delivery.path, json.loads(delivery.body)) for delivery in self.got.deliveries]


@contextmanager
def webhook_receiver() -> Iterator[Webhook]:
    with receiving() as (url, got):
        port = urlsplit(url).port
        connection = {"conn_type": "http", "host": "127.0.0.1", "port": port, "schema": "http"}
        yield Webhook(json.dumps(connection), got)


@dataclass(frozen=True)
class BackfilledRun:
    """One run of a backfill: its data interval, its summary and the ledger of what it changed."""

    run_id: str
    interval_start: datetime
    interval_end: datetime
    summary: dict[str, Any]
    ledger: list[dict[str, Any]]
    log_path: Path


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


def _store_dags() -> None:
    """Parse the DAG folder into Airflow's database, as the DAG processor does, so runs can be made."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    for bundle in manager.get_all_dag_bundles():
        bundle.initialize()
        bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        sync_bag_to_db(bag, bundle.name, bundle.version)


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
