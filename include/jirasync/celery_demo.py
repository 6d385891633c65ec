"""``make celery-demo``: the shipped syncs run by Airflow's CeleryExecutor on this machine.

The demo runs each DAG in-process (``airflow dags test``); production runs them on Celery workers.
This runs both on one fresh sandbox world each, the demo's way first, then through a scheduler, a
dag-processor, an api-server and two Celery workers started here as local processes, with
PostgreSQL as Airflow's database and the state store (databases of this command's own, made afresh
each time) and Redis as the broker (a db number of its own). On Celery, ``entra_to_jira`` applies
in two shards (``shards: 2``: two mapped tasks, one per worker) within one Jira budget in Redis,
which the sandbox enforces as Jira's per-second limit. It prints, per sync, the run's state, its API
calls against the ideal, which worker ran each task, and whether every count of its summary equals
the demo's, then how many Jira calls the limit refused; it fails when any run failed, a count
differs, a worker ran no task, the shards did not run on both workers, or the limit refused a call.
Nothing here imports Airflow: Airflow runs as the ``airflow`` command of this virtualenv.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import redis
import requests
import sqlalchemy as sa

from jirasync.demo import run_syncs, sandbox_holdings
from jirasync.engine.definitions import read_definitions
from jirasync.local_stack import PROJECT_ROOT, DagRunResult, LocalStack, SandboxProcess

# The machine's services (trust auth on PostgreSQL); the databases and the Redis db are this command's.
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
AIRFLOW_DB = "jirasync_celery"
STATE_DB = "jirasync_celery_state"
BROKER = "redis://127.0.0.1:6379/11"
WORKERS = ("w1", "w2")
# One task at a time per worker: the two shards of an apply, queued together, go to both workers
# (two cores run two tasks at once either way).
WORKER_CONCURRENCY = 1
# The sync whose apply the Celery run splits, into one shard per worker.
SHARDED_SYNC = "entra_to_jira"
# The Jira budget every task of every worker shares through Redis (a db of its own), and the same
# limit enforced by the sandbox: a worker that kept a budget of its own would be refused calls.
BUDGET_REDIS = "redis://127.0.0.1:6379/12"
JIRA_PER_SECOND = 20
JIRA_AT_ONCE = 4
# Each worker serves its task logs on a port of its own: two workers cannot share one, and Airflow's
# default 8793 stays free for the SQLite stack of `make airflow`.
FIRST_LOG_PORT = 8794
HOME = PROJECT_ROOT / ".airflow-celery"
# What must be equal between the demo's run and the Celery run of a sync (its seconds may differ).
COUNTS = ("read_source", "created", "updated", "unlinked", "failed", "api_calls", "ideal_api_calls")
API_START_TIMEOUT_S = 300
RUN_TIMEOUT_S = 3600


def worker_hostname() -> str:
    """The workers' ``[core] hostname_callable``: their Celery node name (``w1@host``). A task instance
    records its worker's hostname, and both workers of one machine would otherwise record the same."""
    return f"{os.environ['JIRASYNC_CELERY_WORKER']}@{socket.gethostname()}"


@dataclass(frozen=True)
class AirflowProcess:
    """One long-running ``airflow`` command of the stack and the environment it runs with."""

    name: str
    args: tuple[str, ...]
    env: dict[str, str]


@dataclass
class CeleryRun:
    """How a DAG run ended and which worker ran each of its task instances."""

    state: str
    hosts: dict[str, str]  # task id (with its map index when mapped) → hostname


@dataclass
class CeleryStack(LocalStack):
    """The local stack on the CeleryExecutor: PostgreSQL, Redis and Airflow's components as processes."""

    runs: dict[str, CeleryRun] = field(default_factory=dict)
    _api: requests.Session | None = None
    _started: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    @property
    def state_url(self) -> str:
        return f"{POSTGRES}/{STATE_DB}"

    def airflow_env(self) -> dict[str, str]:
        return {
            **super().airflow_env(),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"{POSTGRES}/{AIRFLOW_DB}",
            "AIRFLOW__CELERY__BROKER_URL": BROKER,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{POSTGRES}/{AIRFLOW_DB}",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
            # The api-server checks the tokens that the scheduler signs for each task: one secret for all.
            "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret(),
            # Only the runs triggered here: unpausing a DAG must not also start its scheduled run.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW_CONN_JIRASYNC_STATE": self.state_url,
            "JIRASYNC_REDIS_URL": BUDGET_REDIS,
        }

    def write_definitions(self, shipped: Path) -> None:
        """The shipped definitions in ``syncs_dir``, with the sharded sync's apply in one shard per worker."""
        self.syncs_dir.mkdir(parents=True, exist_ok=True)
        for path in shipped.glob("*.yaml"):
            sharded = f"\nshards: {len(WORKERS)}\n" if path.stem == SHARDED_SYNC else ""
            (self.syncs_dir / path.name).write_text(path.read_text() + sharded)

    def connections(self) -> dict[str, dict[str, Any]]:
        """The sandbox's connections, Jira's with the budget its tasks share (``rate_limit``, ``concurrency``)."""
        connections = super().connections()
        connections["jira_default"]["extra"] = {"rate_limit": JIRA_PER_SECOND, "concurrency": JIRA_AT_ONCE}
        return connections

    def jwt_secret(self) -> str:
        """A secret kept in the home, so every process of this stack signs and checks with the same."""
        path = self.airflow_home / "jwt_secret"
        if not path.exists():
            self.airflow_home.mkdir(parents=True, exist_ok=True)
            path.write_text(os.urandom(32).hex())
            path.chmod(0o600)
        return path.read_text()

    def processes(self) -> list[AirflowProcess]:
        env = self.airflow_env()
        components = [
            AirflowProcess("scheduler", ("scheduler",), env),
            AirflowProcess("dag-processor", ("dag-processor",), env),
            AirflowProcess("api-server", ("api-server", "--port", str(self.api_port)), env),
        ]
        workers = [
            AirflowProcess(
                f"worker-{name}",
                ("celery", "worker", "--celery-hostname", f"{name}@%h"),
                {
                    **env,
                    "JIRASYNC_CELERY_WORKER": name,
                    "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{__name__}.worker_hostname",
                    "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(FIRST_LOG_PORT + index),
                },
            )
            for index, name in enumerate(WORKERS)
        ]
        return components + workers

    def reset_services(self) -> None:
        """Drop and create this command's two databases and empty its Redis db, so runs start from nothing."""
        admin = sa.create_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                for database in (AIRFLOW_DB, STATE_DB):
                    connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
                    connection.execute(sa.text(f'CREATE DATABASE "{database}"'))
        finally:
            admin.dispose()
        for url in (BROKER, BUDGET_REDIS):
            redis.Redis.from_url(url).flushdb()

    @contextmanager
    def running(self) -> Iterator[None]:
        """Start every process (each in a process group of its own, its output in ``processes/``) and
        stop them all on exit, however the block ends."""
        logs = self.airflow_home / "processes"
        logs.mkdir(parents=True, exist_ok=True)
        try:
            for process in self.processes():
                with (logs / f"{process.name}.log").open("ab") as log:
                    popen = subprocess.Popen(
                        [str(Path(sys.executable).with_name("airflow")), *process.args],
                        env=process.env,
                        cwd=PROJECT_ROOT,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                self._started.append((process.name, popen))
            self._api = self._logged_in()
            yield
        finally:
            for _, popen in reversed(self._started):
                _stop_group(popen)
            self._started.clear()

    def _logged_in(self) -> requests.Session:
        """A session on the REST API with the UI user's token, once the api-server answers."""
        user, password = self.login()
        deadline = time.monotonic() + API_START_TIMEOUT_S
        while True:
            self._check_alive()
            try:
                response = requests.post(
                    f"{self.api_url}/auth/token", json={"username": user, "password": password}, timeout=10
                )
                if response.status_code < 300:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the api-server did not answer on {self.api_url}; see its log")
            time.sleep(2)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        return session

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def _check_alive(self) -> None:
        for name, popen in self._started:
            if popen.poll() is not None:
                log = self.airflow_home / "processes" / f"{name}.log"
                raise RuntimeError(f"airflow {name} exited ({popen.returncode}); see {log}")

    def run_dag(self, dag_id: str, conf: dict[str, Any] | None = None) -> DagRunResult:
        """Trigger a run through the REST API, as a person's client would, and wait for the scheduler and
        the workers to finish it; its task logs are gathered into one file, as the demo keeps its own."""
        assert self._api is not None, "run_dag needs the processes: call it inside `running()`"
        dag_url = f"{self.api_url}/api/v2/dags/{dag_id}"
        self._wait_for(lambda: self._api.get(dag_url, timeout=30).ok, f"{dag_id} to be parsed")
        self._api.patch(dag_url, json={"is_paused": False}, timeout=30).raise_for_status()
        response = self._api.post(
            f"{dag_url}/dagRuns", json={"logical_date": None, "conf": conf or {}}, timeout=30
        )
        response.raise_for_status()
        run_id = response.json()["dag_run_id"]
        run_url = f"{dag_url}/dagRuns/{run_id}"
        self._wait_for(
            lambda: self._api.get(run_url, timeout=30).json()["state"] in ("success", "failed"),
            f"run {run_id} of {dag_id} to end",
        )
        instances = self._api.get(f"{run_url}/taskInstances", timeout=30).json()["task_instances"]
        hosts = {
            ti["task_id"] + (f"[{ti['map_index']}]" if ti["map_index"] >= 0 else ""): ti["hostname"] or ""
            for ti in instances
        }
        state = self._api.get(run_url, timeout=30).json()["state"]
        self.runs[dag_id] = CeleryRun(state, hosts)
        return DagRunResult(dag_id, state == "success", self._gather_logs(dag_id, run_id))

    def _wait_for(self, done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while not done():
            self._check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"gave up waiting for {what} after {RUN_TIMEOUT_S} s")
            time.sleep(2)

    def _gather_logs(self, dag_id: str, run_id: str) -> Path:
        runs = self.airflow_home / "dag-runs"
        runs.mkdir(parents=True, exist_ok=True)
        path = runs / f"{dag_id}-{len(list(runs.glob(f'{dag_id}-*.log'))) + 1}.log"
        task_logs = sorted(
            (self.airflow_home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}").rglob("*.log")
        )
        with path.open("w") as out:
            for task_log in task_logs:
                out.write(f"==> {task_log} <==\n{task_log.read_text()}\n")
        return path


def _stop_group(popen: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process and its children (Celery's pool, the api-server's workers), then SIGKILL."""
    try:
        os.killpg(popen.pid, signal.SIGTERM)
        popen.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(popen.pid, signal.SIGKILL)
        popen.wait()
    except ProcessLookupError:
        pass


def run_celery_demo(users: int, seed: int, api_port: int) -> int:
    def stop(*_: Any) -> NoReturn:
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, stop)  # a `kill` stops the processes as Ctrl-C does
    sandbox_port = int(os.environ.get("JIRASYNC_SANDBOX_PORT", "8900"))
    local = LocalStack(HOME / "local", sandbox_port, users, seed)
    celery = CeleryStack(
        HOME / "celery", sandbox_port, users, seed, syncs_dir=HOME / "celery" / "syncs", api_port=api_port
    )
    found = read_definitions(local.syncs_dir)
    for error in found.errors:
        print(f"Not run, its definition cannot be used: {error}")
    shutil.rmtree(HOME, ignore_errors=True)
    celery.reset_services()
    celery.write_definitions(local.syncs_dir)

    print(
        f"1/2 The demo's way (airflow dags test, SQLite) in {local.airflow_home}, {users} people, seed {seed}"
    )
    local.prepare_airflow()
    with local.sandbox():
        local.import_connections()
        reference, local_code = run_syncs(local, found.definitions)

    print(
        f"\n2/2 CeleryExecutor in {celery.airflow_home}: PostgreSQL {POSTGRES}/{{{AIRFLOW_DB},{STATE_DB}}}, "
        f"broker {BROKER}, workers {', '.join(WORKERS)}"
    )
    celery.prepare_airflow()
    with celery.sandbox() as sandbox:
        celery.import_connections()
        requests.put(
            f"{sandbox.url}/_sandbox/limits/jira", json={"per_second": JIRA_PER_SECOND}, timeout=30
        ).raise_for_status()
        print(sandbox_holdings(sandbox))
        with celery.running():
            print(
                f"Scheduler, dag-processor, api-server ({celery.api_url}) and {len(WORKERS)} workers started"
            )
            summaries, celery_code = run_syncs(celery, found.definitions)
        refused = refused_jira_calls(sandbox)
    print()
    print(comparison(reference, summaries, celery.runs))
    workers_used = {host for run in celery.runs.values() for host in run.hosts.values() if host}
    print(f"\nWorkers that ran tasks: {', '.join(sorted(workers_used)) or 'none'}")
    shards = shard_hosts(celery.runs.get(f"jirasync__{SHARDED_SYNC}", CeleryRun("not run", {})))
    print(
        f"{SHARDED_SYNC}'s apply in {len(WORKERS)} shards: "
        + ", ".join(f"{t} on {h}" for t, h in shards.items())
    )
    print(
        f"Jira calls refused by the sandbox's limit of {JIRA_PER_SECOND}/s (the budget both workers share "
        f"in Redis keeps them to it): {refused}"
    )
    verdict = (
        all_equal(reference, summaries)
        and len(workers_used) == len(WORKERS)
        and len(set(shards.values())) == len(WORKERS)
        and refused == 0
    )
    print(
        "OK: both workers ran tasks, the shards of one apply ran on both, the shared budget held, and "
        "every summary equals the demo's"
        if verdict
        else "NOT OK"
    )
    print(
        f"Logs: {celery.airflow_home / 'processes'} (each process), {celery.airflow_home / 'dag-runs'} (each run)"
    )
    return 1 if local_code or celery_code or not verdict else 0


def shard_hosts(run: CeleryRun) -> dict[str, str]:
    """The worker of each shard of a sharded apply (``apply[0]``, ``apply[1]``, …)."""
    return {task: host for task, host in sorted(run.hosts.items()) if task.startswith("apply[")}


def refused_jira_calls(sandbox: SandboxProcess) -> int:
    """Jira requests the sandbox answered 429 (its rate limit), among the last ones it logged."""
    logged = sandbox.admin("log?limit=10000")
    return sum(1 for entry in logged if entry["vendor"] == "jira" and entry["status"] == 429)


def counts(summary: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(summary.get(name) for name in COUNTS)


def all_equal(reference: list[dict[str, Any]], summaries: list[dict[str, Any]]) -> bool:
    return [counts(s) for s in reference] == [counts(s) for s in summaries]


def comparison(
    reference: list[dict[str, Any]], summaries: list[dict[str, Any]], runs: dict[str, CeleryRun]
) -> str:
    """Per sync: the Celery run's state and calls against the ideal, the demo's, whether every count is
    equal, and which worker ran each task."""
    lines = []
    for demo, celery in zip(reference, summaries, strict=True):
        sync = celery.get("sync", "?")
        run = runs.get(f"jirasync__{sync}", CeleryRun("not run", {}))
        by_host: dict[str, list[str]] = {}
        for task, host in run.hosts.items():
            by_host.setdefault(host or "(none)", []).append(task)
        lines.append(
            f"{sync}: {run.state}; calls {celery.get('api_calls')} vs ideal {celery.get('ideal_api_calls')} "
            f"(demo: {demo.get('api_calls')} vs {demo.get('ideal_api_calls')}); "
            + (
                "summary equals the demo's"
                if counts(demo) == counts(celery)
                else f"DIFFERS: {_differences(demo, celery)}"
            )
        )
        lines += [f"    {host}: {', '.join(tasks)}" for host, tasks in sorted(by_host.items())]
    return "\n".join(lines)


def _differences(demo: dict[str, Any], celery: dict[str, Any]) -> str:
    return ", ".join(
        f"{name} {demo.get(name)} (demo) vs {celery.get(name)}"
        for name in COUNTS
        if demo.get(name) != celery.get(name)
    )
