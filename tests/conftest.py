"""Shared fixtures: one Airflow home and one real sandbox server for each test process."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from sandbox.testing import RunningSandbox, running_sandbox

# The fault matrix's checks live in shared modules: rewritten, their failures show the values.
pytest.register_assert_rewrite("tests.faults.matrix", "tests.faults.bad_data")

SANDBOX_SEED = 7
SANDBOX_USERS = 200
PROJECT_ROOT = Path(__file__).resolve().parents[1]
AIRFLOW_HOME = pytest.StashKey[Path]()

# Hypothesis' default deadline (200 ms an example) is a wall-clock limit: on a loaded machine it
# fails properties that hold. The suite never times a test.
settings.register_profile("jirasync", deadline=None)
settings.load_profile("jirasync")


def pytest_configure(config: pytest.Config) -> None:
    """Give this test process (each xdist worker has its own) an Airflow home of its own.

    Airflow reads its configuration when it is first imported, so this happens before any test
    module is collected. The end-to-end tests migrate its database once and run DAGs in it.
    """
    home = Path(tempfile.mkdtemp(prefix="jirasync-airflow-"))
    config.stash[AIRFLOW_HOME] = home
    os.environ.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(PROJECT_ROOT / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(PROJECT_ROOT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the Airflow home, unless a test failed: its DAG run logs are there to read."""
    home = session.config.stash[AIRFLOW_HOME]
    if exitstatus == pytest.ExitCode.OK:
        shutil.rmtree(home, ignore_errors=True)
    elif any(home.iterdir()):
        print(f"\nAirflow home of the failed session, with each DAG run's log under dag-runs/: {home}")


# Slowest first, so that no long module starts last on a worker while the others idle: the browser
# tests (one Airflow for all), then the end-to-end modules and the fault matrix (DAG runs), then
# the rest, made of many short tests that fill the workers' ends. xdist keeps this order only with
# --no-loadscope-reorder (``make test``): by default it hands out the files with the most tests first.
SLOWEST_FIRST = ("tests/browser/", "tests/e2e/", "tests/faults/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the modules by SLOWEST_FIRST (each keeps its tests' order); xdist hands them out in it."""

    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::")[0]
        return next(
            (n for n, folder in enumerate(SLOWEST_FIRST) if path.startswith(folder)), len(SLOWEST_FIRST)
        )

    items.sort(key=rank)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile`` (``make test``), with every browser test in one unit: they share one
    Airflow, which takes a minute to start and a core to run, so one process starts it once."""
    from xdist.scheduler import LoadFileScheduling

    if config.getvalue("dist") != "loadfile":
        return None

    class SuiteScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "tests/browser/" if nodeid.startswith("tests/browser/") else super()._split_scope(nodeid)

    return SuiteScheduling(config, log)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """The sandbox with every vendor, a small world (200 people, seed 7), on a free port."""
    with running_sandbox(
        tmp_path_factory.mktemp("sandbox"), seed=SANDBOX_SEED, users=SANDBOX_USERS
    ) as running:
        yield running


@pytest.fixture
def fresh_sandbox(sandbox: RunningSandbox) -> RunningSandbox:
    """The session sandbox reset to its seeded world, with no faults and zero counters.

    A test may have seeded a world of another size or seed; reset() reseeds the current one, so
    go back to the session's own first.
    """
    if (sandbox.sandbox.seed_value, sandbox.sandbox.users) != (SANDBOX_SEED, SANDBOX_USERS):
        sandbox.seed(SANDBOX_SEED, SANDBOX_USERS)
    sandbox.reset()
    return sandbox


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fault matrix's table (tests/faults): per sync and fault, the outcome and the extra calls it cost."""
    rows = [
        (report.outcome, *value)
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        if getattr(report, "when", None) == "call"
        for name, value in report.user_properties
        if name == "fault_matrix"
    ]
    if not rows:
        return
    terminalreporter.section(
        "fault matrix: extra calls each fault cost (faulted run + clean run vs fault-free)"
    )
    terminalreporter.write_line(f"{'sync':30} {'fault':38} {'faulted run':11} {'extra calls':>11}  test")
    for outcome, sync, fault, first, extra in sorted(rows, key=lambda row: (row[1], row[2])):
        terminalreporter.write_line(f"{sync:30} {fault:38} {first:11} {extra:>11}  {outcome}")
