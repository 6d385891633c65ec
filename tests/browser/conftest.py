"""A real Airflow and a real browser: ``airflow standalone`` (api-server, scheduler with its
LocalExecutor, dag-processor, triggerer) on the sandbox, and Debian's Chromium driven by
Playwright through the Airflow UI, as the people who trigger and watch syncs use it.

``make test`` installs Chromium (Debian's ``chromium`` package); Playwright only drives it.
Every test leaves screenshots under ``test-artifacts/screenshots/`` to look at.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, sync_playwright

from jirasync.local_stack import PROJECT_ROOT, LocalStack
from sandbox.testing import RunningSandbox, running_sandbox

SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
AIRFLOW_START_TIMEOUT_S = 240
RUN_TIMEOUT_S = 300
PEOPLE = 200
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
    stack: LocalStack
    sandbox: RunningSandbox

    def query(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        """Rows of Airflow's metadata database (SQLite), which the UI's API reads too."""
        with sqlite3.connect(self.stack.airflow_home / "airflow.db", timeout=30) as db:
            db.row_factory = sqlite3.Row
            return db.execute(sql, args).fetchall()

    def runs(self, dag_id: str) -> dict[str, dict[str, Any]]:
        """The DAG's runs by run id, with their state and conf."""
        rows = self.query("SELECT run_id, state, conf FROM dag_run WHERE dag_id = ?", dag_id)
        return {row["run_id"]: dict(row) for row in rows}

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


@pytest.fixture(scope="module")
def airflow_ui(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AirflowUi]:
    """Airflow on the sandbox with the shipped definitions, manual-only: unpausing a DAG from the
    trigger form then starts just the run the test asked for, no scheduled run beside it.
    A test module may add to Airflow's environment with a module-level ``AIRFLOW_ENV`` dict."""
    workdir = tmp_path_factory.mktemp("airflow-ui")
    syncs = workdir / "syncs"
    syncs.mkdir()
    for definition in (PROJECT_ROOT / "include" / "syncs").glob("*.yaml"):
        lines = definition.read_text().splitlines(keepends=True)
        kept = [line for line in lines if not line.startswith("schedule:")]
        (syncs / definition.name).write_text("".join(kept))
    with running_sandbox(workdir / "sandbox", seed=7, users=PEOPLE) as sandbox:
        stack = LocalStack(
            airflow_home=workdir / "airflow",
            sandbox_port=sandbox.port,
            users=PEOPLE,
            seed=7,
            syncs_dir=syncs,
            assets_workspace_id=sandbox.record("assets", "workspace", "workspace")["workspaceId"],
            api_port=_free_port(),
        )
        stack.prepare_airflow()
        stack.import_connections()
        env = {
            **stack.airflow_env(),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            # A definition a test adds or breaks shows within seconds, not the default 30.
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "3",
            **getattr(request.module, "AIRFLOW_ENV", {}),
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
                ui = AirflowUi(f"http://127.0.0.1:{stack.api_port}", stack, sandbox)
                _wait_until_ready(ui, process, len(list(syncs.glob("*.yaml"))))
                yield ui
            finally:
                _stop(process)


@pytest.fixture
def page(airflow_ui: AirflowUi) -> Iterator[Page]:
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is not installed; `make test` installs it (apt-get install chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1200}, base_url=airflow_ui.url)
        finally:
            browser.close()


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


def _wait_until_ready(ui: AirflowUi, process: subprocess.Popen[bytes], dags: int) -> None:
    """The API answers and the dag-processor has written every sync's DAG."""
    deadline = time.monotonic() + AIRFLOW_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"airflow standalone stopped; see {ui.stack.airflow_home.parent / 'standalone.log'}"
            )
        if _answers(f"{ui.url}/api/v2/version") and _dags_written(ui.stack.airflow_home) >= dags:
            return
        time.sleep(1)
    raise RuntimeError(f"Airflow was not ready in {AIRFLOW_START_TIMEOUT_S} s")


def _dags_written(airflow_home: Path) -> int:
    try:
        with sqlite3.connect(airflow_home / "airflow.db", timeout=30) as db:
            (count,) = db.execute(
                "SELECT count(*) FROM dag WHERE dag_id LIKE 'jirasync__%' AND is_stale = 0"
            ).fetchone()
        return count
    except sqlite3.OperationalError:  # the table is not there until the first parse
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
