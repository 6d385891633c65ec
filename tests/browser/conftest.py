"""A real Airflow and a real browser: ``airflow standalone`` (api-server, scheduler with its
LocalExecutor, dag-processor, triggerer) on the sandbox, and Debian's Chromium driven by
Playwright through the Airflow UI, as the people who trigger and watch syncs use it.

``make test`` installs Chromium (Debian's ``chromium`` package); Playwright only drives it.
Every test leaves screenshots under ``test-artifacts/screenshots/`` to look at.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect, sync_playwright
from tests.e2e.harness import forget_sync_state

from jirasync.live_airflow import PostgresStack, free_port, fresh_database, live_airflow
from jirasync.local_stack import PROJECT_ROOT
from sandbox.testing import RunningSandbox, running_sandbox

SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
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
    in production, and PostgreSQL as its database, as in production (``jirasync.live_airflow``)."""
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
            api_port=free_port(),
            database_url=database,
        )
        stack.prepare_airflow()
        stack.import_connections()
        log = workdir / "standalone.log"
        with live_airflow(stack, _login_env(workdir), log, len(list(syncs.glob("*.yaml")))) as url:
            yield AirflowUi(url, stack, sandbox, LOGIN)


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
