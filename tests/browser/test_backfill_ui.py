"""A backfill over three days, made in the Airflow UI's Backfill dialog as a data engineer makes it.

The sync (SCIM → Jira, daily) has users changed on each of three past days; the backfill's three
runs go one after the other, each over its day, and each writes that day's users only.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import RowMapping
from tests.browser.conftest import AirflowUi, screenshot

from jirasync.local_stack import PROJECT_ROOT

SYNC = "scim_to_jira_daily"
DAG_ID = f"jirasync__{SYNC}"
WAIT_S = 600
UI_WAIT_MS = 60_000  # a page's tables load slowly on a busy machine


@pytest.fixture
def daily_sync(airflow_ui: AirflowUi) -> Iterator[None]:
    """The shipped SCIM sync on a daily schedule, unpaused as the README says, once its first
    scheduled run (of yesterday's interval, which unpausing starts) has finished."""
    shipped = (PROJECT_ROOT / "include" / "syncs" / "scim_to_jira.yaml").read_text()
    path = airflow_ui.stack.syncs_dir / f"{SYNC}.yaml"
    path.write_text(shipped.replace('schedule: "0 */2 * * *"', 'schedule: "@daily"'))
    try:
        wait_for(
            lambda: airflow_ui.query("SELECT 1 FROM dag WHERE dag_id = :dag", dag=DAG_ID),
            "the daily sync's DAG",
        )
        airflow_ui.stack.airflow("dags", "unpause", DAG_ID, capture=True)
        wait_for(
            lambda: airflow_ui.query(
                "SELECT 1 FROM dag_run WHERE dag_id = :dag AND run_type = 'scheduled' AND state = 'success'",
                dag=DAG_ID,
            ),
            "the scheduled run",
        )
        yield
    finally:
        path.unlink()


def wait_for(condition: Any, what: str) -> Any:
    deadline = time.monotonic() + WAIT_S
    while not (found := condition()):
        assert time.monotonic() < deadline, f"{what} did not happen within {WAIT_S} s"
        time.sleep(2)
    return found


def backfill_runs(airflow_ui: AirflowUi) -> list[RowMapping]:
    return airflow_ui.query(
        "SELECT run_id, state, data_interval_start, data_interval_end, start_date, end_date FROM dag_run "
        "WHERE dag_id = :dag AND run_type = 'backfill' ORDER BY logical_date",
        dag=DAG_ID,
    )


def summary_of(airflow_ui: AirflowUi, run_id: str) -> dict[str, Any]:
    with sqlite3.connect(airflow_ui.stack.airflow_home / "jirasync" / "state.db") as db:
        [(summary,)] = db.execute(
            "SELECT summary FROM runs WHERE run_id LIKE ? ORDER BY started_at DESC LIMIT 1",
            (f"{SYNC}:{run_id}:%",),
        ).fetchall()
    return json.loads(summary)


def test_a_backfill_from_the_ui_runs_three_days_in_order_each_over_its_day(
    airflow_ui: AirflowUi, page: Page, daily_sync: None
) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    days = [today - timedelta(days=n) for n in (5, 4, 3)]
    users = [u for u in airflow_ui.sandbox.records("scim", "users") if u["active"]][:6]
    for n, user in enumerate(users):
        day = days[n // 2]
        stamp = (day + timedelta(hours=9)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        airflow_ui.sandbox.edit(
            "scim",
            "users",
            user["id"],
            title=f"Changed on {day:%d %b}",
            meta={**user["meta"], "lastModified": stamp},
        )

    page.goto(f"/dags/{DAG_ID}")
    page.get_by_role("button", name="Trigger Dag").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Backfill", exact=True).click()
    for field, day in zip(dialog.get_by_test_id("datetime-input").all(), (days[0], days[-1]), strict=True):
        field.click()  # a popover with the date and the time to type
        page.get_by_placeholder("YYYY/MM/DD").fill(f"{day:%Y/%m/%d}")
        page.get_by_placeholder("HH:mm").fill("00:00")
        dialog.get_by_text("Date Range").click()  # closes the popover
        # Gone before the next one opens: on a busy machine its closing animation outlasts the click.
        expect(page.get_by_placeholder("YYYY/MM/DD")).to_have_count(0)
    expect(dialog.get_by_text("3 runs will be triggered.")).to_be_visible()
    expect(dialog.locator('input[type="number"]')).to_have_value("1")  # Max Active Runs: the DAG's own
    screenshot(page, "backfill-1-dialog")
    dialog.get_by_role("button", name="Run Backfill").click()

    runs = wait_for(
        lambda: (
            (found := backfill_runs(airflow_ui))
            and len(found) == 3
            and all(r["state"] in ("success", "failed") for r in found)
            and found
        ),
        "three finished backfill runs",
    )
    assert [r["state"] for r in runs] == ["success"] * 3, [dict(r) for r in runs]
    assert [(r["data_interval_start"], r["data_interval_end"]) for r in runs] == [
        (day, day + timedelta(days=1)) for day in days
    ]
    for earlier, later in itertools.pairwise(runs):  # one at a time, oldest first
        assert later["start_date"] >= earlier["end_date"]
    for run in runs:
        summary = summary_of(airflow_ui, run["run_id"])
        assert summary["read_source"] == 2, summary  # that day's two users, nobody else

    page.goto(f"/dags/{DAG_ID}/runs")
    expect(page.get_by_text(runs[0]["run_id"]).first).to_be_visible(timeout=UI_WAIT_MS)
    screenshot(page, "backfill-2-runs")
    page.goto(f"/dags/{DAG_ID}/backfills")
    expect(page.get_by_role("row").nth(1)).to_be_visible(timeout=UI_WAIT_MS)
    screenshot(page, "backfill-3-backfills")
