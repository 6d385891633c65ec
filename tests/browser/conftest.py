"""A real Airflow and a real browser: ``airflow standalone`` (api-server, scheduler with its
LocalExecutor, dag-processor, triggerer) on the sandbox, and Debian's Chromium driven by
Playwright through the Airflow UI, as the people who trigger and watch syncs use it.

``make test`` installs Chromium (Debian's ``chromium`` package); Playwright only drives it.
Every test leaves screenshots under ``test-artifacts/screenshots/`` to look at.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect, sync_playwright
from tests.e2e.harness import forget_sync_state
from tests.engine.state_fixtures import fresh_database

from jirasync.local_stack import PROJECT_ROOT, LocalStack
from sandbox.testing import RunningSandbox, running_sandbox

SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
AIRFLOW_START_TIMEOUT_S = 240
RUN_TIMEOUT_S = 300
PEOPLE = 200
LOGIN = ("oncall", "a-password-for-the-test")
# The browser, Airflow's four processes and the other test processes share the machine's cores: a
# page may take a while to show what it shows.
expect.set_options(timeout=30_000)
# What a headless Chromium needs as root on a machine with no network beyond this one.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class PostgresStack(LocalStack):
    """The local stack with its Airflow metadata in a PostgreSQL database."""

    database_url: str = ""

    def airflow_env(self) -> dict[str, str]:
        return {**super().airflow_env(), "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.database_url}


@dataclass
class AirflowUi:
    url: str
    stack: PostgresStack
    sandbox: RunningSandbox
    login: tuple[str, str]  # the user and password the ``page`` fixture signs in with

    @cached_property
    def database(self) -> sa.Engine:
        return sa.create_engine(self.stack.database_url)

    def query(self, sql: str, **params: Any) -> list[sa.RowMapping]:
        """Rows of Airflow's metadata database, which the UI's API reads too."""
        with self.database.connect() as connection:
            return list(connection.execute(sa.text(sql), params).mappings())

    def runs(self, dag_id: str) -> dict[str, dict[str, Any]]:
        """The DAG's runs by run id, with their state and conf."""
        rows = self.query("SELECT run_id, state, conf FROM dag_run WHERE dag_id = :dag", dag=dag_id)
        return {row["run_id"]: {**row, "conf": row["conf"] or {}} for row in rows}

    def wait_for_new_run(self, dag_id: str, known: set[str]) -> dict[str, Any]:
        """The one run of ``dag_id`` not in ``known``, once it has finished."""
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while time.monotonic() < deadline:
            new = [run for run_id, run in self.runs(dag_id).items() if run_id not in known]
            if new and new[0]["state"] in ("success", "failed"):
                assert len(new) == 1, f"expected one new run of {dag_id}, found {new}"
                return new[0]
            time.sleep(1)
        raise AssertionError(
            f"no run of {dag_id} finished within {RUN_TIMEOUT_S} s; runs: {self.runs(dag_id)}; "
            f"see {self.stack.airflow_home.parent / 'standalone.log'}"
        )


@pytest.fixture(scope="session")
def airflow_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowUi]:
    """One Airflow for every browser test (tests/conftest.py keeps them on one test process):
    the shipped definitions made manual-only, so that unpausing a DAG from the trigger form starts
    just the run the test asked for, with a real login, so that a request without one is refused as
    in production, and PostgreSQL as its database, as in production: SQLite's one writer at a time
    made the UI's own writes (a backfill's creation) lose the lock to the dag-processor."""
    workdir = tmp_path_factory.mktemp("airflow-ui")
    syncs = workdir / "syncs"
    syncs.mkdir()
    for definition in (PROJECT_ROOT / "include" / "syncs").glob("*.yaml"):
        lines = definition.read_text().splitlines(keepends=True)
        kept = [line for line in lines if not line.startswith("schedule:")]
        (syncs / definition.name).write_text("".join(kept))
    with (
        running_sandbox(workdir / "sandbox", seed=7, users=PEOPLE) as sandbox,
        fresh_database("jirasync_ui") as database,
    ):
        stack = PostgresStack(
            airflow_home=workdir / "airflow",
            sandbox_port=sandbox.port,
            users=PEOPLE,
            seed=7,
            syncs_dir=syncs,
            assets_workspace_id=sandbox.record("assets", "workspace", "workspace")["workspaceId"],
            api_port=_free_port(),
            database_url=database,
        )
        stack.prepare_airflow()
        stack.import_connections()
        env = {
            **stack.airflow_env(),
            **_login_env(workdir),
            # A definition a test adds or breaks shows within seconds, not the default 30. Not
            # every 3 s: parsing the DAG files that often cost a fifth of a core for the whole run.
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
            # The task log servers must not meet another Airflow's on the fixed default ports.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
        }
        with (workdir / "standalone.log").open("w") as log:
            process = subprocess.Popen(
                [str(Path(sys.executable).with_name("airflow")), "standalone"],
                env=env,
                cwd=PROJECT_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                ui = AirflowUi(f"http://127.0.0.1:{stack.api_port}", stack, sandbox, LOGIN)
                _wait_until_ready(ui, process, len(list(syncs.glob("*.yaml"))))
                yield ui
            finally:
                _stop(process)


@pytest.fixture(scope="module", autouse=True)
def fresh_world(airflow_ui: AirflowUi) -> None:
    """Each module starts on the seeded world with no sync state, whatever the one before it ran:
    Airflow's own history stays (the tests look only at the runs they start)."""
    airflow_ui.sandbox.reset()
    forget_sync_state(airflow_ui.stack)


@pytest.fixture(scope="session")
def browser(airflow_ui: AirflowUi) -> Iterator[tuple[Browser, dict[str, Any]]]:
    """Chromium, and the cookies of one sign-in through Airflow's login form for every page."""
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is not installed; `make test` installs it (apt-get install chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=airflow_ui.url)
            log_in(context.new_page(), *airflow_ui.login)
            signed_in = context.storage_state()
            context.close()
            yield browser, signed_in
        finally:
            browser.close()


@pytest.fixture
def page(airflow_ui: AirflowUi, browser: tuple[Browser, dict[str, Any]]) -> Iterator[Page]:
    """A signed-in page in a browser context of its own: no other test's stored settings."""
    chromium, signed_in = browser
    context = chromium.new_context(
        viewport={"width": 1400, "height": 1200}, base_url=airflow_ui.url, storage_state=signed_in
    )
    try:
        yield context.new_page()
    finally:
        context.close()


def log_in(page: Page, user: str, password: str) -> None:
    """Through the login form of Airflow's simple auth manager, as a person does."""
    page.goto("/auth/login")
    page.locator('input[name="username"]').fill(user)
    page.locator('input[name="password"]').fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/" not in url)


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


def _login_env(workdir: Path) -> dict[str, str]:
    user, password = LOGIN
    passwords = workdir / "passwords.json"
    passwords.write_text(json.dumps({user: password}))
    return {
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{user}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
    }


def _wait_until_ready(ui: AirflowUi, process: subprocess.Popen[bytes], dags: int) -> None:
    """The API answers and the dag-processor has written every sync's DAG."""
    deadline = time.monotonic() + AIRFLOW_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"airflow standalone stopped; see {ui.stack.airflow_home.parent / 'standalone.log'}"
            )
        if _answers(f"{ui.url}/api/v2/version") and _dags_written(ui) >= dags:
            return
        time.sleep(1)
    raise RuntimeError(f"Airflow was not ready in {AIRFLOW_START_TIMEOUT_S} s")


def _dags_written(ui: AirflowUi) -> int:
    try:
        [row] = ui.query("SELECT count(*) AS n FROM dag WHERE dag_id LIKE 'jirasync__%' AND is_stale = false")
        return row["n"]
    except sa.exc.ProgrammingError:  # the table is not there until the first parse
        return 0


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop standalone and every process it started (its session), whatever is left of them."""
    os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
