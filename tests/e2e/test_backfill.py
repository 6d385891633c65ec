"""A backfill over three days, as ``airflow backfill create`` makes it, of a SCIM → Jira sync.

Each backfilled run's data interval is one day, and the run re-syncs the users whose SCIM record
was modified that day (``meta.lastModified``), nothing else; backfilling again writes nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.e2e.harness import EndToEnd, end_to_end, webhook_receiver
from tests.e2e.test_identity_to_jira import matchable, properties, scim_email

DAILY = "scim_to_jira_daily"
CONTACTS_DAILY = "jira_to_zoho_contacts_daily"
PROPERTY = "jirasync.scim"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def e2e(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EndToEnd]:
    with end_to_end(
        tmp_path_factory.mktemp("backfill"),
        users=120,
        seed=5,
        definitions=["scim_to_jira.yaml", "jira_to_zoho_contacts.yaml"],
    ) as world:
        world.add_variant("scim_to_jira.yaml", DAILY, {'schedule: "0 */2 * * *"': 'schedule: "@daily"'})
        world.add_variant(
            "jira_to_zoho_contacts.yaml", CONTACTS_DAILY, {'schedule: "@hourly"': 'schedule: "@daily"'}
        )
        yield world


def changed_on(e2e: EndToEnd, user_id: str, day: datetime, title: str) -> None:
    """A person edits the user's title in the identity provider on ``day``, at noon."""
    user = e2e.sandbox.record("scim", "users", user_id)
    stamp = (day + timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    e2e.sandbox.edit("scim", "users", user_id, title=title, meta={**user["meta"], "lastModified": stamp})


def written_users(ledger: list[dict[str, Any]]) -> set[str]:
    return {row["source_id"] for row in ledger if row["outcome"] == "ok" and row["kind"] == "update"}


def test_a_backfill_over_three_days_resyncs_each_days_changes_in_its_own_run(e2e: EndToEnd) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    days = [today - timedelta(days=n) for n in (5, 4, 3)]
    active = [u for u in e2e.sandbox.records("scim", "users") if u["active"]]
    matched = matchable(e2e, [scim_email(u) for u in active], "email")
    chosen = sorted(matched)[:6]
    by_day = {day: set(chosen[2 * n : 2 * n + 2]) for n, day in enumerate(days)}
    for day, users in by_day.items():
        for user_id in users:
            changed_on(e2e, user_id, day, f"Changed on {day:%d %b}")

    runs = e2e.backfill(DAILY, days[0], days[-1])

    assert [(run.interval_start, run.interval_end) for run in runs] == [
        (day, day + timedelta(days=1)) for day in days
    ]
    for run, day in zip(runs, days, strict=True):
        # Only the users modified in the run's window are read, and only they are written.
        assert run.summary["read_source"] == 2
        assert written_users(run.ledger) == by_day[day]
        assert run.summary["updated"] == 2
        assert f"backfilled run of the data interval {day:%Y-%m-%d} 00:00" in run.log_path.read_text()
    written = properties(e2e, PROPERTY)
    for day, users in by_day.items():
        assert {written[matched[u]]["title"] for u in users} == {f"Changed on {day:%d %b}"}
    # A window-limited read judges nobody gone, and leaves the scheduled runs' cursor alone.
    assert sum(run.summary["deleted"] + run.summary["cleared"] for run in runs) == 0
    with sqlite3.connect(e2e.stack.airflow_home / "jirasync" / "state.db") as db:
        cursors = db.execute("SELECT source FROM cursors WHERE sync_id = ?", (DAILY,)).fetchall()
    assert ("source",) not in cursors

    again = e2e.backfill(DAILY, days[0], days[-1], reprocess="completed")
    assert [run.summary["updated"] for run in again] == [0, 0, 0]  # idempotent
    assert [run.summary["read_source"] for run in again] == [2, 2, 2]


def test_a_backfill_of_jira_users_reconciles_the_current_state_once_and_says_why(e2e: EndToEnd) -> None:
    """Jira keeps no modified time on users: the first run writes what is missing, the next nothing."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first, second = e2e.backfill(CONTACTS_DAILY, today - timedelta(days=3), today - timedelta(days=2))

    assert first.summary["created"] + first.summary["linked"] > 0
    assert sum(second.summary[name] for name in ("created", "updated", "linked", "unlinked")) == 0
    assert second.summary["read_source"] == first.summary["read_source"]  # the whole scope, each time
    assert "Jira keeps no modified time on users" in second.log_path.read_text()


LATE = "scim_to_jira_late"  # has a deadline and a webhook of its own


def test_a_run_past_its_deadline_alerts_the_definitions_notifiers(
    e2e: EndToEnd, monkeypatch: pytest.MonkeyPatch
) -> None:
    e2e.add_variant(
        "scim_to_jira.yaml",
        LATE,
        {
            "schedule:": "deadline: 1s\nnotify:\n  - {kind: webhook, conn_id: late_webhook, endpoint: /late}\nschedule:"
        },
    )
    with webhook_receiver() as webhook:
        monkeypatch.setenv("AIRFLOW_CONN_LATE_WEBHOOK", webhook.connection)
        callbacks = e2e.miss_deadline(LATE, late_by=timedelta(seconds=2))
    assert callbacks == [(True, None)]
    [(path, sent)] = webhook.received
    assert path == "/late"
    assert sent["dag_id"] == f"jirasync__{LATE}" and sent["run_id"].startswith("manual__")
    assert "has not finished 0:00:01 after it was queued" in sent["alert"]


@pytest.mark.parametrize("kind", ["webhook", "slack"])
def test_notifiers_in_airflows_configuration_hear_of_every_syncs_failures(
    e2e: EndToEnd, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    with webhook_receiver() as webhook:  # an incident tool's endpoint, or Slack's incoming webhook
        monkeypatch.setenv("AIRFLOW_CONN_ONCALL", webhook.connection)
        monkeypatch.setenv(
            "AIRFLOW__JIRASYNC__NOTIFY", json.dumps([{"kind": kind, "conn_id": "oncall", "endpoint": "/all"}])
        )
        e2e.run_failing(DAILY, only="not an email")
    [(path, sent)] = webhook.received
    assert path == "/all"
    if kind == "webhook":
        assert sent["dag_id"] == f"jirasync__{DAILY}" and sent["step"] == "extract_source"
        assert "neither an email address nor a record id" in sent["error"]
    else:  # Slack takes one message
        assert set(sent) == {"text"}
        assert sent["text"].startswith(f"jirasync: jirasync__{DAILY} failed at step extract_source\n")
        assert "*error*: " in sent["text"] and "neither an email address nor a record id" in sent["text"]
