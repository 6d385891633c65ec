"""The local stack behind ``make demo`` and ``make airflow``: the sandbox plus an Airflow home.

Everything lives in the project: the Airflow home (SQLite) and the sandbox's world under
``.airflow/``, and the Airflow connections to the sandbox in Airflow's database, where Admin →
Connections lists them and an edit there is what the syncs use.
Nothing here imports Airflow: Airflow runs as the ``airflow`` command of this virtualenv.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SANDBOX_START_TIMEOUT_S = 120
UI_USER = "admin"


@dataclass
class LocalStack:
    """Paths and settings of the local stack; `airflow_env` is what every airflow command runs with."""

    airflow_home: Path
    sandbox_port: int
    users: int
    seed: int
    syncs_dir: Path = PROJECT_ROOT / "include" / "syncs"
    assets_workspace_id: str | None = None  # known once the sandbox has seeded its world
    api_port: int = 8080  # Airflow's UI and API, and the execution API its tasks call

    @classmethod
    def from_environment(cls, users: int, seed: int, api_port: int = 8080) -> LocalStack:
        home = Path(os.environ.get("AIRFLOW_HOME", PROJECT_ROOT / ".airflow")).resolve()
        return cls(home, int(os.environ.get("JIRASYNC_SANDBOX_PORT", "8900")), users, seed, api_port=api_port)

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    @property
    def sandbox_data_dir(self) -> Path:
        return self.airflow_home / "sandbox"

    @property
    def password_file(self) -> Path:
        return self.airflow_home / "simple_auth_manager_passwords.json.generated"

    def login(self) -> tuple[str, str]:
        """The UI's user and password. Airflow's simple auth manager generates a password when the
        api-server first starts and keeps it in ``password_file``; giving it one there beforehand
        (it keeps the passwords it finds) lets ``jirasync airflow`` print the login before the UI starts."""
        passwords = json.loads(self.password_file.read_text() or "{}") if self.password_file.exists() else {}
        if UI_USER not in passwords:
            passwords[UI_USER] = secrets.token_urlsafe(12)
            self.airflow_home.mkdir(parents=True, exist_ok=True)
            self.password_file.write_text(json.dumps(passwords) + "\n")
            self.password_file.chmod(0o600)
        return UI_USER, passwords[UI_USER]

    def airflow_env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "JIRASYNC_SYNCS_DIR": str(self.syncs_dir),
            "AIRFLOW__API__PORT": str(self.api_port),
            # The UI's one user, and where Airflow keeps its password (see `login`).
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{UI_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.password_file),
            # Tasks report to the execution API of this api-server, wherever its port is.
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{self.api_port}/execution/",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        return env

    def airflow(self, *args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
        """Run an ``airflow`` command against this stack; a failure stops the caller with its output."""
        result = subprocess.run(
            [str(Path(sys.executable).with_name("airflow")), *args],
            env=self.airflow_env(),
            cwd=PROJECT_ROOT,
            capture_output=capture,
            text=True,
        )
        if result.returncode != 0:
            output = (result.stdout or "") + (result.stderr or "") if capture else "see the output above"
            raise RuntimeError(f"`airflow {' '.join(args)}` failed ({result.returncode}): {output[-4000:]}")
        return result

    def run_dag(self, dag_id: str, conf: dict[str, Any] | None = None) -> DagRunResult:
        """One run of a DAG (``airflow dags test``), its output kept in a log file under the Airflow home."""
        logs = self.airflow_home / "dag-runs"
        logs.mkdir(parents=True, exist_ok=True)
        log_path = logs / f"{dag_id}-{len(list(logs.glob(f'{dag_id}-*.log'))) + 1}.log"
        args = ["dags", "test", dag_id, *(["--conf", json.dumps(conf)] if conf else [])]
        with log_path.open("w") as log:
            result = subprocess.run(
                [str(Path(sys.executable).with_name("airflow")), *args],
                env=self.airflow_env(),
                cwd=PROJECT_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
        return DagRunResult(dag_id, result.returncode == 0, log_path)

    @property
    def state_url(self) -> str:
        """The state store the DAGs write to: with no ``jirasync_state`` connection, SQLite in the home."""
        return f"sqlite:///{self.airflow_home / 'jirasync' / 'state.db'}"

    def latest_summary(self, sync_id: str) -> dict[str, Any] | None:
        """The report of the sync's latest run, from the state store the run wrote it to (of a sharded
        run, the whole run's, which each shard's row keeps beside its own counts)."""
        engine = sa.create_engine(self.state_url)
        try:
            with engine.connect() as connection:
                row = connection.execute(
                    sa.text(
                        "SELECT summary FROM runs WHERE sync_id = :sync ORDER BY started_at DESC LIMIT 1"
                    ),
                    {"sync": sync_id},
                ).first()
        finally:
            engine.dispose()
        summary = json.loads(row.summary) if row is not None and row.summary else None
        return summary.get("run_summary", summary) if summary else None

    def prepare_airflow(self) -> None:
        """Migrate the SQLite metadata database and create the vendor pools."""
        self.airflow_home.mkdir(parents=True, exist_ok=True)
        self.airflow("db", "migrate", capture=True)
        self.airflow("pools", "import", str(PROJECT_ROOT / "include/airflow/pools.json"), capture=True)

    def import_connections(self) -> None:
        """Put the sandbox's connections into Airflow's database, keeping any that exist already:
        one a person edited in Admin → Connections stays as they left it (``make clean`` resets)."""
        path = self.airflow_home / "connections.sandbox.json"
        path.write_text(json.dumps(self.connections(), indent=2))
        self.airflow("connections", "import", str(path), capture=True)

    def connections(self) -> dict[str, dict[str, Any]]:
        """The Airflow connections ``import_connections`` puts in: the sandbox's."""
        return sandbox_connections(self.sandbox_url, self.assets_workspace_id)

    @contextmanager
    def sandbox(self) -> Iterator[SandboxProcess]:
        """Start ``python -m sandbox`` on the configured port and stop it on exit."""
        process = SandboxProcess.start(self)
        self.assets_workspace_id = process.admin("data/assets/workspace/workspace")["workspaceId"]
        try:
            yield process
        finally:
            process.stop()


@dataclass(frozen=True)
class DagRunResult:
    dag_id: str
    succeeded: bool
    log_path: Path

    def failures(self) -> list[str]:
        """The failure callbacks' messages: what failed, at which step, for which records."""
        return [line for line in self.log_path.read_text().splitlines() if "failed at step" in line]


def sandbox_connections(sandbox_url: str, assets_workspace_id: str | None) -> dict[str, dict[str, Any]]:
    """The Airflow connection of every vendor the sandbox serves, pointing at ``sandbox_url``.

    Credentials come from the vendor modules themselves, so they cannot drift from what the
    sandbox accepts. These connection ids are the ones the shipped definitions name.
    """
    from sandbox.registry import load_vendors  # the sandbox is a dev-only part of the package

    credentials = {name: dict(vendor.credentials) for name, vendor in load_vendors().items()}
    jira, graph, zoho, salesforce = (credentials[name] for name in ("jira", "graph", "zoho", "salesforce"))
    connections: dict[str, dict[str, Any]] = {
        "jira_default": {
            "conn_type": "jira",
            "host": f"{sandbox_url}/jira",
            "login": jira["email"],
            "password": jira["api_token"],
        },
        "entra_id": {
            "conn_type": "jirasync_msgraph",
            "host": f"{sandbox_url}/graph",
            "login": graph["client_id"],
            "password": graph["client_secret"],
            "extra": {"tenant_id": graph["tenant_id"], "login_url": f"{sandbox_url}/entra"},
        },
        "scim": {
            "conn_type": "jirasync_scim",
            "host": f"{sandbox_url}/scim/v2",
            "password": credentials["scim"]["bearer_token"],
        },
        "zoho_crm": {
            "conn_type": "jirasync_zoho_crm",
            "login": zoho["client_id"],
            "password": zoho["client_secret"],
            "extra": {
                "data_centre": "US",
                "refresh_token": zoho["refresh_token"],
                "accounts_url": f"{sandbox_url}/zoho-accounts",
            },
        },
        "salesforce_default": {
            "conn_type": "salesforce",
            "login": salesforce["username"],
            "password": salesforce["password"],
            "extra": {"security_token": salesforce["security_token"], "sandbox_url": sandbox_url},
        },
    }
    if assets_workspace_id:
        connections["jira_assets"] = {
            "conn_type": "jirasync_assets",
            "host": f"{sandbox_url}/atlassian",
            "login": jira["email"],
            "password": jira["api_token"],
            "extra": {"workspace_id": assets_workspace_id},
        }
    return connections


@dataclass
class SandboxProcess:
    """A ``python -m sandbox`` child process and where it answers."""

    process: subprocess.Popen[bytes]
    url: str

    @classmethod
    def start(cls, stack: LocalStack) -> SandboxProcess:
        if _answers(stack.sandbox_url):
            raise RuntimeError(
                f"something already answers on {stack.sandbox_url}; stop it, or set JIRASYNC_SANDBOX_PORT "
                "to a free port"
            )
        stack.sandbox_data_dir.mkdir(parents=True, exist_ok=True)
        log = (stack.airflow_home / "sandbox.log").open("ab")
        process = subprocess.Popen(
            [
                sys.executable, "-m", "sandbox",
                "--port", str(stack.sandbox_port),
                "--data-dir", str(stack.sandbox_data_dir),
                "--users", str(stack.users),
                "--seed", str(stack.seed),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
        )  # fmt: skip
        deadline = time.monotonic() + SANDBOX_START_TIMEOUT_S
        while not _answers(stack.sandbox_url):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(
                    f"the sandbox did not start on {stack.sandbox_url}; see {stack.airflow_home / 'sandbox.log'}"
                )
            time.sleep(0.2)
        return cls(process, stack.sandbox_url)

    def admin(self, path: str) -> Any:
        response = requests.get(f"{self.url}/_sandbox/{path}", timeout=120)
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/_sandbox/health", timeout=2).ok
    except requests.RequestException:
        return False
