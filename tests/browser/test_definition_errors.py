"""A broken definition file, as a data engineer meets it in the Airflow UI: one import error that
lists every problem of that file, while every other sync stays listed and scheduled."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from tests.browser.conftest import AirflowUi, screenshot

from jirasync.local_stack import PROJECT_ROOT

pytestmark = pytest.mark.xdist_group("browser")  # one Airflow serves every browser test

WAIT_S = 120
SCHEDULED = "entra_to_jira_hourly"  # a valid sync with a schedule, added beside the broken one


@pytest.fixture
def broken_definition(airflow_ui: AirflowUi) -> Iterator[None]:
    syncs = airflow_ui.stack.syncs_dir
    shipped = (PROJECT_ROOT / "include" / "syncs" / "entra_to_jira.yaml").read_text()
    (syncs / f"{SCHEDULED}.yaml").write_text(shipped)
    broken = shipped.replace("key:", "kee:").replace("delete_policy: ignore", "delete_policy: wipe")
    (syncs / "entra_to_jira_copy.yaml").write_text(broken)
    try:
        yield
    finally:
        (syncs / "entra_to_jira_copy.yaml").unlink()
        (syncs / f"{SCHEDULED}.yaml").unlink()


def wait_for(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {WAIT_S} s"
        time.sleep(1)


def test_one_broken_file_is_one_import_error_and_hides_no_other_sync(
    airflow_ui: AirflowUi, page: Page, broken_definition: None
) -> None:
    wait_for(lambda: airflow_ui.query("SELECT 1 FROM import_error"), "the import error")
    wait_for(
        lambda: airflow_ui.query(
            "SELECT 1 FROM dag WHERE dag_id = ? AND next_dagrun_create_after IS NOT NULL",
            f"jirasync__{SCHEDULED}",
        ),
        "the scheduling of the valid new sync",
    )
    [error] = airflow_ui.query("SELECT filename, stacktrace FROM import_error")
    assert error["filename"].endswith("definition_errors.py")
    assert "entra_to_jira_copy.yaml" in error["stacktrace"]
    assert "field 'kee'" in error["stacktrace"] and "field 'key'" in error["stacktrace"]

    page.goto("/dags")
    expect(page.get_by_text("6 Dags")).to_be_visible()  # the five shipped syncs and the new valid one
    screenshot(page, "definition-errors-1-dags-listed")
    page.goto("/")
    page.get_by_text("Dag Import Error").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("definition_errors.py").first.click()  # the file's entry opens on its message
    expect(dialog.get_by_text("entra_to_jira_copy.yaml").first).to_be_visible()
    screenshot(page, "definition-errors-2-import-error")
