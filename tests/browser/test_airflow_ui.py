"""The Airflow UI as its users work in it, in Debian's Chromium against a real Airflow.

- The Trigger form, as an admin uses it: submitted as a dry run, as it opens, and as a full sync,
  each run started from the browser and finished by Airflow's scheduler; and every other
  family's form submitted as a dry run (the same form, with that family's fields: the runs they
  start are what tests/e2e drives at length).
- A broken definition file, as a data engineer meets it: one import error that lists every
  problem of that file, while every other sync stays listed and scheduled.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect
from tests.browser.conftest import AirflowUi, screenshot

from jirasync.local_stack import PROJECT_ROOT

FAMILIES = {
    "identity": "entra_to_jira",
    "contacts": "jira_to_zoho_contacts",
    "assets": "jira_to_assets_employees",
    "records": "zoho_deals_to_jira",
}
CHANGES = ("created", "updated", "linked", "unlinked", "deleted", "cleared")
WAIT_S = 120
SCHEDULED = "entra_to_jira_hourly"  # a valid sync with a schedule, added beside the broken one


def open_trigger_form(page: Page, dag_id: str) -> Locator:
    page.goto(f"/dags/{dag_id}")
    page.get_by_role("button", name="Trigger Dag").click()
    form = page.get_by_role("dialog")
    form.get_by_text("Single Run", exact=True).wait_for()
    return form


def switch_on(form: Locator, section: str, param: str) -> None:
    """Open the form's section and turn the switch of ``param`` on, by its visible control."""
    form.get_by_role("button", name=section).click()
    field = form.locator(f'input[name="element_{param}"]')
    field.locator("xpath=..").click()
    assert field.is_checked(), f"the switch of {param} did not turn on"


def trigger(page: Page, airflow_ui: AirflowUi, form: Locator, dag_id: str, shot: str) -> dict[str, Any]:
    """Press the form's Trigger button as it stands; the run it started, once finished."""
    known = set(airflow_ui.runs(dag_id))
    submit = form.get_by_role("button", name="Trigger", exact=True)
    assert submit.is_enabled(), "the Trigger button is disabled"
    screenshot(page, f"{shot}-form")
    submit.click()
    run = airflow_ui.wait_for_new_run(dag_id, known)
    page.goto(f"/dags/{dag_id}/runs/{run['run_id']}")
    page.get_by_text(run["run_id"]).first.wait_for()
    screenshot(page, f"{shot}-run")
    return run


def dry_run_from_the_form(page: Page, airflow_ui: AirflowUi, sync_id: str) -> tuple[str, dict[str, Any]]:
    """The run id and summary of a dry run started from the sync's Trigger form, once it succeeded."""
    dag_id = f"jirasync__{sync_id}"
    form = open_trigger_form(page, dag_id)
    switch_on(form, "Safety", "dry_run")
    dry = trigger(page, airflow_ui, form, dag_id, f"{sync_id}-1-dry-run")
    assert dry["state"] == "success" and dry["conf"]["dry_run"] is True
    planned = airflow_ui.stack.latest_summary(sync_id)
    assert planned is not None and planned["dry_run"] is True
    assert sum(planned[name] for name in CHANGES) > 0  # a first run has work to plan
    return dry["run_id"], planned


def test_the_trigger_form_runs_a_dry_run_a_sync_with_its_defaults_and_a_full_sync(
    airflow_ui: AirflowUi, page: Page
) -> None:
    sync_id = FAMILIES["identity"]
    dag_id = f"jirasync__{sync_id}"
    _, planned = dry_run_from_the_form(page, airflow_ui, sync_id)

    form = open_trigger_form(page, dag_id)
    defaults = trigger(page, airflow_ui, form, dag_id, f"{sync_id}-2-defaults")
    assert defaults["state"] == "success"
    assert defaults["conf"]["dry_run"] is False and defaults["conf"]["full_sync"] is False
    assert defaults["conf"]["only"] is None and defaults["conf"]["revert_run"] is None
    applied = airflow_ui.stack.latest_summary(sync_id)
    assert applied is not None and applied["dry_run"] is False
    assert {name: applied[name] for name in CHANGES} == {name: planned[name] for name in CHANGES}

    form = open_trigger_form(page, dag_id)
    switch_on(form, "What to sync", "full_sync")
    full = trigger(page, airflow_ui, form, dag_id, f"{sync_id}-3-full-sync")
    assert full["state"] == "success" and full["conf"]["full_sync"] is True
    resynced = airflow_ui.stack.latest_summary(sync_id)
    assert resynced is not None and resynced["read_source"] > 0
    assert sum(resynced[name] for name in CHANGES) == 0  # everything is in sync already


@pytest.mark.parametrize("sync_id", [FAMILIES["contacts"], FAMILIES["assets"]])
def test_every_familys_trigger_form_starts_a_dry_run(airflow_ui: AirflowUi, page: Page, sync_id: str) -> None:
    dry_run_from_the_form(page, airflow_ui, sync_id)


def test_a_records_dry_run_from_the_form_logs_each_issue_it_would_create(
    airflow_ui: AirflowUi, page: Page
) -> None:
    sync_id = FAMILIES["records"]
    run_id, planned = dry_run_from_the_form(page, airflow_ui, sync_id)
    page.goto(f"/dags/jirasync__{sync_id}/runs/{run_id}/tasks/plan")
    expect(page.get_by_text(f"create ({planned['created']}):").first).to_be_visible()
    expect(page.get_by_text('status: "In Progress" -> target').first).to_be_visible()
    screenshot(page, f"{sync_id}-2-dry-run-plan-log")


# ---- a broken definition ----------------------------------------------------------------------


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


def wait_for(condition: Callable[[], object], what: str) -> None:
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
            "SELECT 1 FROM dag WHERE dag_id = :dag AND next_dagrun_create_after IS NOT NULL",
            dag=f"jirasync__{SCHEDULED}",
        ),
        "the scheduling of the valid new sync",
    )
    [error] = airflow_ui.query("SELECT filename, stacktrace FROM import_error")
    assert error["filename"].endswith("definition_errors.py")
    assert "entra_to_jira_copy.yaml" in error["stacktrace"]
    assert "field 'kee'" in error["stacktrace"] and "field 'key'" in error["stacktrace"]

    page.goto("/dags")
    shipped = len(list((PROJECT_ROOT / "include" / "syncs").glob("*.yaml")))
    expect(page.get_by_text(f"{shipped + 1} Dags")).to_be_visible()  # the shipped syncs and the new one
    screenshot(page, "definition-errors-1-dags-listed")
    page.goto("/")
    page.get_by_text("Dag Import Error").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("definition_errors.py").first.click()  # the file's entry opens on its message
    expect(dialog.get_by_text("entra_to_jira_copy.yaml").first).to_be_visible()
    screenshot(page, "definition-errors-2-import-error")


def test_the_sandbox_connections_are_listed_in_admin_connections(airflow_ui: AirflowUi, page: Page) -> None:
    """In Airflow's database, not behind environment variables: an edit made there is what runs."""
    page.goto("/connections")
    for conn_id in ("jira_default", "entra_id", "zoho_crm", "salesforce_default", "jira_assets"):
        expect(page.get_by_text(conn_id, exact=True).first).to_be_visible()
    screenshot(page, "connections-listed")
