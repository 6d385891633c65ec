"""The wiring of ``make celery-demo`` (``jirasync celery-demo``), checked without starting it: the
environment each Airflow process gets, read back through Airflow's and Celery's own code where they
interpret it. The full run takes minutes and is run by hand (README)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from celery.utils.nodenames import host_format

from jirasync.celery_demo import (
    AIRFLOW_DB,
    BROKER,
    BUDGET_REDIS,
    POSTGRES,
    SHARDED_SYNC,
    STATE_DB,
    CeleryRun,
    CeleryStack,
    all_equal,
    comparison,
    shard_hosts,
)
from jirasync.engine.definitions import read_definitions
from jirasync.local_stack import PROJECT_ROOT


@pytest.fixture
def stack(tmp_path: Path) -> CeleryStack:
    return CeleryStack(
        airflow_home=tmp_path / "celery",
        sandbox_port=8977,
        users=10,
        seed=1,
        syncs_dir=tmp_path / "celery" / "syncs",
        api_port=8187,
    )


def test_every_process_runs_on_the_celery_executor_with_postgres_and_redis(stack: CeleryStack) -> None:
    processes = {process.name: process for process in stack.processes()}

    assert set(processes) == {"scheduler", "dag-processor", "api-server", "worker-w1", "worker-w2"}
    assert processes["api-server"].args == ("api-server", "--port", "8187")
    for process in processes.values():
        env = process.env
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"{POSTGRES}/{AIRFLOW_DB}"
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql://")
        assert env["AIRFLOW__CELERY__BROKER_URL"] == BROKER
        assert BROKER.startswith("redis://127.0.0.1:6379/")
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == f"db+{POSTGRES}/{AIRFLOW_DB}"
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://localhost:8187/execution/"
        # Unpausing a DAG to trigger it must not start its scheduled run as well.
        assert env["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] == "False"
        # One vendor budget for every task of both workers, in a Redis db apart from the broker's.
        assert env["JIRASYNC_REDIS_URL"] == BUDGET_REDIS != BROKER
        assert env["JIRASYNC_SYNCS_DIR"] == str(stack.syncs_dir)
    # Tokens the scheduler signs for a task must verify on the api-server: one secret, kept across calls.
    assert len({process.env["AIRFLOW__API_AUTH__JWT_SECRET"] for process in processes.values()}) == 1
    assert stack.processes()[0].env["AIRFLOW__API_AUTH__JWT_SECRET"] == stack.jwt_secret()


def test_the_two_workers_have_distinct_names_log_ports_and_recorded_hostnames(
    stack: CeleryStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.sdk.api.client import get_hostname

    workers = [process for process in stack.processes() if process.args[:2] == ("celery", "worker")]
    assert len(workers) == 2
    recorded = []
    for worker in workers:
        node_name = worker.args[worker.args.index("--celery-hostname") + 1]
        # What a task instance records as its hostname: Airflow's own lookup, under the worker's settings.
        for name in ("JIRASYNC_CELERY_WORKER", "AIRFLOW__CORE__HOSTNAME_CALLABLE"):
            monkeypatch.setenv(name, worker.env[name])
        recorded.append(get_hostname())
        assert recorded[-1] == host_format(node_name) == f"{node_name.split('@')[0]}@{socket.gethostname()}"
    assert len(set(recorded)) == 2
    assert len({worker.env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] for worker in workers}) == 2


def test_the_syncs_write_the_state_store_the_command_reads(
    stack: CeleryStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jirasync.hooks.state import state_store_location

    monkeypatch.setenv("AIRFLOW_CONN_JIRASYNC_STATE", stack.processes()[0].env["AIRFLOW_CONN_JIRASYNC_STATE"])

    assert state_store_location() == stack.state_url == f"{POSTGRES}/{STATE_DB}"


def test_a_summary_equals_the_demos_whatever_its_seconds_and_a_differing_count_is_named() -> None:
    demo = {"sync": "entra_to_jira", "created": 5, "api_calls": 12, "ideal_api_calls": 12, "seconds": 3.1}
    same = {**demo, "seconds": 9.4}
    fewer = {**demo, "created": 4}
    runs = {"jirasync__entra_to_jira": CeleryRun("success", {"extract_source": "w1@h", "plan": "w2@h"})}

    assert all_equal([demo], [same])
    assert not all_equal([demo], [fewer])
    text = comparison([demo], [fewer], runs)
    assert "entra_to_jira: success; calls 12 vs ideal 12" in text
    assert "DIFFERS: created 5 (demo) vs 4" in text
    assert "    w1@h: extract_source" in text and "    w2@h: plan" in text


def test_the_celery_run_splits_one_syncs_apply_into_a_shard_per_worker(stack: CeleryStack) -> None:
    stack.write_definitions(PROJECT_ROOT / "include" / "syncs")
    found = read_definitions(stack.syncs_dir)
    assert not found.errors
    shards = {definition.id: definition.shards for definition in found.definitions}
    assert shards.pop(SHARDED_SYNC) == 2
    assert set(shards.values()) == {1}

    run = CeleryRun("success", {"plan": "w1@h", "apply[0]": "w1@h", "apply[1]": "w2@h", "report": "w2@h"})
    assert shard_hosts(run) == {"apply[0]": "w1@h", "apply[1]": "w2@h"}
