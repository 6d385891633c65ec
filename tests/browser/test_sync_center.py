"""The Sync Center as on-call uses it, inside the Airflow UI, in Debian's Chromium against a real
Airflow: every panel on a seeded state store, a decision on a held conflict, and the buttons
that start a dry run, a full sync and a revert through Airflow's REST API.

The tests run in file order: the seeded panels first, then the runs the buttons start.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from playwright.sync_api import FrameLocator, Page, expect
from tests.browser.conftest import AirflowUi, screenshot
from tests.project import sync_center_world as world

from jirasync.engine.store import StateStore

SEEDED = "jira_to_salesforce_contacts"  # never run here: its panels show the seeded store
FAILING = "scim_to_jira"
STARTED = "entra_to_jira"  # the buttons run it for real


@pytest.fixture(scope="module")
def seeded(airflow_ui: AirflowUi) -> str:
    """The store id of the seeded partial run, in the state store the standalone's runs use."""
    store = StateStore(airflow_ui.stack.airflow_home / "jirasync" / "state.db")
    try:
        return world.seed(store, SEEDED, FAILING)
    finally:
        store.close()


def open_center(page: Page, sync_id: str | None = None, tab: str | None = None) -> FrameLocator:
    """The Sync Center in its frame of the Airflow UI, reached through the navigation's entry."""
    page.goto("/plugin/jirasync")
    center = page.frame_locator('iframe[src*="jirasync"]')
    expect(center.locator("#health tbody tr").first).to_be_visible()
    expect(center.locator("#detail")).to_be_visible()
    if sync_id:
        center.get_by_role("button", name=sync_id, exact=True).click()
    if tab:
        center.get_by_role("tab", name=tab).click()
    expect(center.locator("[role=tabpanel]:not([hidden]):not([aria-busy])")).to_have_count(1)  # loaded
    return center


def row(center: FrameLocator, table: str, text: str) -> Any:
    return center.locator(f"#{table} tbody tr", has_text=text)


def test_without_a_login_the_center_refuses_and_sends_to_airflows_login(
    airflow_ui: AirflowUi, seeded: str
) -> None:
    api = requests.get(f"{airflow_ui.url}/jirasync/api/syncs", timeout=30)
    assert api.status_code == 401
    assert requests.get(f"{airflow_ui.url}/api/v2/dags", timeout=30).status_code == 401  # as Airflow's own
    page = requests.get(f"{airflow_ui.url}/jirasync/", timeout=30, allow_redirects=False)
    assert page.status_code == 303 and "/auth/" in page.headers["location"]
    assert "next=" in page.headers["location"]


def test_health_shows_each_sync_with_its_last_success_and_failure(
    airflow_ui: AirflowUi, page: Page, seeded: str
) -> None:
    center = open_center(page)
    expect(center.locator("#who")).to_have_text("signed in as oncall")
    failing = row(center, "health", FAILING)
    expect(failing).to_contain_text("failing")
    expect(failing).to_contain_text(world.AUTH_ERROR)
    partial = row(center, "health", SEEDED)
    expect(partial).to_contain_text("partial")
    expect(partial).to_contain_text(f"{world.FAILED_KEY}: Phone is not a valid phone number")
    expect(row(center, "health", STARTED)).to_contain_text("never run")
    expect(center.locator("#runs")).to_contain_text("No runs yet.")  # the first sync is selected
    screenshot(page, "sync-center-1-health")


def test_health_follows_airflows_dark_mode(airflow_ui: AirflowUi, page: Page, seeded: str) -> None:
    page.goto("/")
    page.evaluate("localStorage.setItem('theme', 'dark')")
    center = open_center(page)
    expect(center.locator("html")).to_have_attribute("data-theme", "dark")
    screenshot(page, "sync-center-2-health-dark")


def test_runs_show_a_chart_of_changes_per_run_and_each_runs_error(
    airflow_ui: AirflowUi, page: Page, seeded: str
) -> None:
    center = open_center(page, SEEDED, "Runs")
    expect(center.locator("#chart svg rect.bar")).to_have_count(2)
    expect(center.locator("#chart svg rect.bar.failed")).to_have_count(1)
    expect(row(center, "runs", "partial")).to_contain_text(world.FAILED_KEY)
    screenshot(page, "sync-center-3-runs")


def test_a_runs_changes_show_before_and_after_and_filter(
    airflow_ui: AirflowUi, page: Page, seeded: str
) -> None:
    center = open_center(page, SEEDED, "Runs")
    row(center, "runs", "partial").get_by_role("button", name="Changes").click()
    expect(center.locator("#changes tbody tr")).to_have_count(3)
    center.locator("select[name=outcome]").select_option("failed")
    expect(center.locator("#changes tbody tr")).to_have_count(1)
    failed = row(center, "changes", world.FAILED_KEY)
    expect(failed).to_contain_text('"333"')
    expect(failed).to_contain_text('"not a phone"')
    expect(failed).to_contain_text("Phone is not a valid phone number")
    center.locator("select[name=outcome]").select_option("")
    center.locator("input[name=key]").fill("cy@")
    expect(center.locator("#changes tbody tr")).to_have_count(1)
    expect(center.locator("#changes-count")).to_have_text("1 change(s)")
    center.locator("input[name=key]").fill("")
    center.locator("select[name=kind]").select_option("conflict")
    expect(row(center, "changes", world.CONFLICT_KEY)).to_contain_text("held")
    center.locator("select[name=kind]").select_option("")
    expect(center.locator("#changes tbody tr")).to_have_count(3)
    screenshot(page, "sync-center-4-changes")


def test_pending_records_show_why_they_failed(airflow_ui: AirflowUi, page: Page, seeded: str) -> None:
    center = open_center(page, SEEDED, "Pending")
    pending = row(center, "pending", world.FAILED_KEY)
    expect(pending).to_contain_text("Phone is not a valid phone number")
    expect(pending).to_contain_text("Phone")
    screenshot(page, "sync-center-5-pending")


def test_a_held_conflict_is_decided_for_the_next_run(airflow_ui: AirflowUi, page: Page, seeded: str) -> None:
    center = open_center(page, SEEDED, "Conflicts")
    conflict = row(center, "conflicts", world.CONFLICT_KEY)
    expect(conflict).to_contain_text("waiting")
    expect(conflict).to_contain_text('"555-0199"')  # the source's value
    conflict.get_by_role("button", name="Take target").click()
    expect(conflict).to_contain_text("take target")
    expect(conflict).to_contain_text("the next run applies it")
    expect(center.locator("#notice")).to_contain_text("the target's value is kept")
    store = StateStore(airflow_ui.stack.airflow_home / "jirasync" / "state.db", migrate=False)
    try:
        decisions = store.decisions(SEEDED).to_dict("records")
    finally:
        store.close()
    assert [(d["source_id"], d["field"], d["take"]) for d in decisions] == [("src-ada", "Phone", "target")]
    screenshot(page, "sync-center-6-conflicts")


def test_links_are_searched_by_key_or_id(airflow_ui: AirflowUi, page: Page, seeded: str) -> None:
    center = open_center(page, SEEDED, "Links")
    expect(center.locator("#links tbody tr")).to_have_count(3)
    center.locator("input[name=search]").fill("tgt-b")
    expect(center.locator("#links tbody tr")).to_have_count(1)
    expect(row(center, "links", world.FAILED_KEY)).to_be_visible()
    screenshot(page, "sync-center-7-links")


# ---- the buttons: runs started through Airflow's REST API, as the logged-in user -----------------


def start(
    page: Page, airflow_ui: AirflowUi, center: FrameLocator, button: Any, shot: str, *, override: bool = False
) -> dict[str, Any]:
    """Press a start button and confirm; the Airflow run it started, once finished."""
    dag_id = f"jirasync__{STARTED}"
    known = set(airflow_ui.runs(dag_id))
    button.click()
    dialog = center.locator("dialog#confirm")
    expect(dialog).to_be_visible()
    if override:
        dialog.get_by_label("Override the circuit breaker").check()
    screenshot(page, f"{shot}-confirm")
    dialog.get_by_role("button", name="Start").click()
    expect(center.locator("#notice")).to_contain_text("Started a")
    run = airflow_ui.wait_for_new_run(dag_id, known)
    expect(center.locator("#notice")).to_contain_text(run["run_id"])
    return run


def test_the_buttons_start_a_dry_run_a_full_sync_and_a_revert_in_airflow(
    airflow_ui: AirflowUi, page: Page, seeded: str
) -> None:
    center = open_center(page, STARTED)
    health = row(center, "health", STARTED)
    dry = start(
        page, airflow_ui, center, health.get_by_role("button", name="Dry run"), "sync-center-8-dry-run"
    )
    assert dry["conf"] == {"dry_run": True} and dry["state"] == "success"
    full = start(
        page, airflow_ui, center, health.get_by_role("button", name="Full sync"), "sync-center-9-full"
    )
    assert full["conf"] == {"full_sync": True} and full["state"] == "success"

    center = open_center(page, STARTED, "Runs")
    applied = center.locator(f'#runs tbody tr[data-run*="{full["run_id"]}"]')
    expect(applied).to_contain_text("success")
    expect(center.locator("#chart svg rect.bar")).to_have_count(2)  # the dry run and the full sync
    expect(center.locator("#chart svg rect.bar.dry")).to_have_count(1)
    screenshot(page, "sync-center-10-runs-after-buttons")
    store_run_id = applied.get_attribute("data-run")
    revert_button = applied.get_by_role("button", name="Revert")

    # Reverting every change of a first sync is a mass change: only with the override.
    reverted = start(page, airflow_ui, center, revert_button, "sync-center-11-revert-override", override=True)
    assert reverted["conf"] == {"revert_run": store_run_id, "override_circuit_breaker": True}
    assert reverted["state"] == "success"
    summary = airflow_ui.stack.latest_summary(STARTED)
    assert summary is not None and summary["updated"] + summary["unlinked"] > 0
    center = open_center(page, STARTED, "Runs")
    expect(row(center, "health", STARTED)).to_contain_text("healthy")
    screenshot(page, "sync-center-12-runs-after-revert")
    page.goto(f"/dags/jirasync__{STARTED}/runs/{reverted['run_id']}")
    expect(page.get_by_text("oncall").first).to_be_visible()  # Airflow's "Triggering User"
    screenshot(page, "sync-center-13-revert-run-in-airflow")
