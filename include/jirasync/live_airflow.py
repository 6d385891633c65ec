"""A whole Airflow on the sandbox, as production runs it on one machine: ``airflow standalone``
(api-server, scheduler with its LocalExecutor, dag-processor, triggerer) with PostgreSQL as its
database, for the tests that drive the UI or send events and for the events benchmark.
Nothing here imports Airflow: Airflow runs as the ``airflow`` command of this virtualenv.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
import sqlalchemy as sa

from jirasync.local_stack import PROJECT_ROOT, LocalStack

START_TIMEOUT_S = 240
# A server where databases may be made and dropped: the machine's own, as CI and `make test` have it.
POSTGRES_SERVER = os.environ.get("JIRASYNC_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432")


@dataclass
class PostgresStack(LocalStack):
    """The local stack with its Airflow metadata in a PostgreSQL database: SQLite's one writer at a
    time makes the UI's and the receiver's writes lose the lock to the dag-processor."""

    database_url: str = ""

    def airflow_env(self) -> dict[str, str]:
        return {**super().airflow_env(), "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.database_url}


@contextmanager
def live_airflow(stack: PostgresStack, env: dict[str, str], log: Path, dags: int) -> Iterator[str]:
    """``airflow standalone`` on ``stack`` with ``env`` added, its output in ``log``; its URL once
    the API answers and ``dags`` syncs' DAGs are parsed. Stopped on exit with every process it started."""
    settings = {
        **stack.airflow_env(),
        # A definition added shows within seconds, not the default 30. Not every 3 s: parsing the
        # DAG files that often cost a fifth of a core for the whole run.
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
        # The task log servers must not meet another Airflow's on the fixed default ports.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        **env,
    }
    url = f"http://127.0.0.1:{stack.api_port}"
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("airflow")), "standalone"],
            env=settings,
            cwd=PROJECT_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_until_ready(url, stack.database_url, process, dags, log)
            yield url
        finally:
            _stop(process)


@contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """The URL of a new, randomly named database on POSTGRES_SERVER (test sessions and benchmarks may
    run side by side), dropped on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    server = sa.create_engine(f"{POSTGRES_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{POSTGRES_SERVER}/{name}"
    finally:
        with server.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def api_session(url: str, user: str, password: str) -> requests.Session:
    """A session on Airflow's REST API at ``url`` with the user's token, as a person's client has one."""
    answer = requests.post(f"{url}/auth/token", json={"username": user, "password": password}, timeout=30)
    answer.raise_for_status()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    return session


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_ready(
    url: str, database_url: str, process: subprocess.Popen[bytes], dags: int, log: Path
) -> None:
    """The API answers and the dag-processor has written every sync's DAG."""
    database = sa.create_engine(database_url)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"airflow standalone stopped; see {log}")
            if _answers(f"{url}/api/v2/version") and _dags_written(database) >= dags:
                return
            time.sleep(1)
        raise RuntimeError(f"Airflow was not ready in {START_TIMEOUT_S} s; see {log}")
    finally:
        database.dispose()


def _dags_written(database: sa.Engine) -> int:
    query = "SELECT count(*) FROM dag WHERE dag_id LIKE 'jirasync__%' AND is_stale = false"
    try:
        with database.connect() as connection:
            return connection.execute(sa.text(query)).scalar_one()
    except sa.exc.ProgrammingError:  # the table is not there until the first parse
        return 0


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop standalone and every process it started (its session), whatever is left of them."""
    os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
