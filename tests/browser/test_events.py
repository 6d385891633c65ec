"""Changes in Jira reach the CRM in seconds, through Airflow: the sandbox's Jira sends its webhook
to the receiver in Airflow's api-server, which records it as an event of the sync's Asset, and
Airflow's scheduler runs the sync on it.

No browser here: these tests use the live Airflow of the browser tests (api-server, scheduler,
dag-processor), as a vendor reaches it over HTTP. The sync is ``zoho_deals_to_jira`` with
``events: true``, on a Jira connection of its own that holds the webhook's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect
from tests.browser.conftest import AirflowUi, screenshot

from jirasync.engine.store import StateStore
from jirasync.live_airflow import api_session
from jirasync.local_stack import PROJECT_ROOT, sandbox_connections

SYNC = "zoho_deals_to_jira_events"
DAG_ID = f"jirasync__{SYNC}"
CONNECTION = "jira_events"
SECRET = "a-secret-only-jira-and-airflow-know"
WAIT_S = 120


@pytest.fixture(scope="module")
def listening(airflow_ui: AirflowUi) -> Iterator[requests.Session]:
    """The sync with events on, its Jira connection with the webhook secret, its DAG parsed,
    unpaused and run once (its deals linked to issues), and Jira's webhook registered for it; a
    REST session as the UI's user."""
    definition = (PROJECT_ROOT / "include" / "syncs" / "zoho_deals_to_jira.yaml").read_text()
    definition = definition.replace("conn_id: jira_default", f"conn_id: {CONNECTION}") + "\nevents: true\n"
    path = airflow_ui.stack.syncs_dir / f"{SYNC}.yaml"
    path.write_text(
        "".join(line for line in definition.splitlines(keepends=True) if not line.startswith("schedule:"))
    )
    jira = sandbox_connections(airflow_ui.stack.sandbox_url, None)["jira_default"]
    connection = {**jira, "extra": json.dumps({"webhook_secret": SECRET})}
    airflow_ui.stack.airflow(
        "connections", "add", CONNECTION, "--conn-json", json.dumps(connection), capture=True
    )
    api = api_session(airflow_ui.url, *airflow_ui.login)
    try:
        _wait(
            lambda: api.get(f"{airflow_ui.url}/api/v2/dags/{DAG_ID}", timeout=30).ok, "the DAG to be parsed"
        )
        api.patch(
            f"{airflow_ui.url}/api/v2/dags/{DAG_ID}", json={"is_paused": False}, timeout=30
        ).raise_for_status()
        first = _trigger(airflow_ui, api)
        assert first["state"] == "success", first
        _register_webhook(airflow_ui)
        yield api
    finally:
        path.unlink()
        airflow_ui.stack.airflow("connections", "delete", CONNECTION, capture=True)


@pytest.fixture(autouse=True)
def deliveries_without_faults(airflow_ui: AirflowUi) -> None:
    airflow_ui.sandbox.mutate("jira", "webhook_deliveries")


def test_a_comment_in_jira_reaches_the_crm_in_seconds_through_a_webhook_triggered_run(
    airflow_ui: AirflowUi, listening: requests.Session, page: Page
) -> None:
    sandbox = airflow_ui.sandbox
    issue, deal = _linked_pair(airflow_ui)
    known = set(airflow_ui.runs(DAG_ID))

    changed = time.monotonic()
    sandbox.mutate("jira", "comment", issue=issue["key"], text="Customer confirmed the order by phone")
    _wait(lambda: any("confirmed the order" in text for text in _notes(airflow_ui, deal)), "the note in Zoho")
    seconds = time.monotonic() - changed

    new = {run_id: run for run_id, run in airflow_ui.runs(DAG_ID).items() if run_id not in known}
    assert new and all(run_id.startswith("asset_triggered__") for run_id in new), new
    # On-call reads what started the run in its first task's log.
    logs = airflow_ui.stack.airflow_home / "logs" / f"dag_id={DAG_ID}" / f"run_id={min(new)}"
    said = "".join(log.read_text() for log in logs.glob("task_id=extract_source/*.log"))
    assert "started by" in said and f"comment_created of {issue['key']}" in said
    # In the UI, the run is one that its Asset events triggered, and they are listed with it.
    page.goto(f"/dags/{DAG_ID}/runs/{min(new)}")
    expect(page.get_by_text("Asset Triggered")).to_be_visible()
    page.get_by_text("Asset Events", exact=True).click()
    expect(page.get_by_text(f"jirasync.events.{SYNC}").first).to_be_visible()
    screenshot(page, "events-1-run-and-its-triggering-events")
    print(f"Jira comment to Zoho note through a webhook-triggered run: {seconds:.1f} s")
    assert seconds < WAIT_S


def test_duplicated_and_reordered_deliveries_mirror_each_comment_once(
    airflow_ui: AirflowUi, listening: requests.Session
) -> None:
    sandbox = airflow_ui.sandbox
    issue, deal = _linked_pair(airflow_ui)
    sandbox.mutate("jira", "webhook_deliveries", duplicate=1.0, reorder=0.5)
    events_before, runs_before = _events(airflow_ui), set(airflow_ui.runs(DAG_ID))
    texts = [f"Follow-up {n}: spare parts shipped" for n in range(3)]
    for text in texts:
        sandbox.mutate("jira", "comment", issue=issue["key"], text=text)
    _wait(lambda: all(any(t in note for note in _notes(airflow_ui, deal)) for t in texts), "the three notes")
    _wait(lambda: _idle(airflow_ui), "the runs the events started to end")
    mirrored = [note for note in _notes(airflow_ui, deal) if "spare parts shipped" in note]
    assert len(mirrored) == len(texts)  # each once, however many deliveries and runs
    events = _events(airflow_ui) - events_before
    runs = len(set(airflow_ui.runs(DAG_ID)) - runs_before)
    print(f"{events} deliveries recorded, {runs} runs started on them")
    assert 0 < runs < events  # events that came together made one run


def test_a_dropped_event_is_healed_by_the_next_poll(
    airflow_ui: AirflowUi, listening: requests.Session
) -> None:
    sandbox = airflow_ui.sandbox
    issue, deal = _linked_pair(airflow_ui)
    sandbox.mutate("jira", "webhook_deliveries", drop=1.0)
    events_before = _events(airflow_ui)
    sandbox.mutate("jira", "comment", issue=issue["key"], text="Lost on the way, found by the poll")
    time.sleep(5)
    assert _events(airflow_ui) == events_before  # nothing came
    assert _trigger(airflow_ui, listening)["state"] == "success"  # the scheduled run, started by hand
    assert any("found by the poll" in note for note in _notes(airflow_ui, deal))


def test_a_webhook_with_a_bad_signature_is_refused_and_starts_nothing(
    airflow_ui: AirflowUi, listening: requests.Session
) -> None:
    body = json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"key": "SUP-1"}}).encode()
    url = f"{airflow_ui.url}/jirasync-events/{SYNC}/jira"
    events_before = _events(airflow_ui)
    forged = {"X-Hub-Signature": "sha256=" + hmac.new(b"a guess", body, hashlib.sha256).hexdigest()}
    assert requests.post(url, data=body, headers=forged, timeout=30).status_code == 401
    assert requests.post(url, data=body, timeout=30).status_code == 401
    assert _events(airflow_ui) == events_before


def _trigger(airflow_ui: AirflowUi, api: requests.Session) -> dict[str, Any]:
    known = set(airflow_ui.runs(DAG_ID))
    api.post(
        f"{airflow_ui.url}/api/v2/dags/{DAG_ID}/dagRuns", json={"logical_date": None, "conf": {}}, timeout=30
    ).raise_for_status()
    return airflow_ui.wait_for_new_run(DAG_ID, known)


def _linked_pair(airflow_ui: AirflowUi) -> tuple[dict[str, Any], str]:
    """An issue the first run linked to a deal, and the deal's id, from the state store."""
    links = StateStore(airflow_ui.stack.state_url).links(SYNC)
    assert not links.empty, "the first run linked no deal to an issue"
    deal, key = links.iloc[0]["source_id"], links.iloc[0]["target_id"]
    issue = next(i for i in airflow_ui.sandbox.records("jira", "issues") if key in (i["key"], i["id"]))
    return issue, deal


def _register_webhook(airflow_ui: AirflowUi) -> None:
    """As an admin registers it in Jira: the receiver's URL for the sync, its events, a JQL filter, the secret."""
    credentials = airflow_ui.sandbox.credentials["jira"]
    hook = {
        "name": "jirasync",
        "url": f"{airflow_ui.url}/jirasync-events/{SYNC}/jira",
        "events": ["jira:issue_created", "jira:issue_updated", "comment_created", "comment_updated"],
        "filters": {"issue-related-events-section": "project = SUP"},
        "secret": SECRET,
    }
    requests.post(
        f"{airflow_ui.sandbox.url('/jira')}/rest/webhooks/1.0/webhook",
        json=hook,
        auth=(credentials["email"], credentials["api_token"]),
        timeout=30,
    ).raise_for_status()


def _notes(airflow_ui: AirflowUi, deal_id: str) -> list[str]:
    return [
        n["Note_Content"]
        for n in airflow_ui.sandbox.records("zoho", "Notes")
        if n["Parent_Id"]["id"] == deal_id
    ]


def _idle(airflow_ui: AirflowUi) -> bool:
    """No run of the sync queued or running."""
    return all(run["state"] in ("success", "failed") for run in airflow_ui.runs(DAG_ID).values())


def _events(airflow_ui: AirflowUi) -> int:
    [row] = airflow_ui.query(
        "SELECT count(*) AS n FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.name = :name",
        name=f"jirasync.events.{SYNC}",
    )
    return row["n"]


def _wait(done: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not done():
        assert time.monotonic() < deadline, f"gave up waiting {WAIT_S} s for {what}"
        time.sleep(0.5)
