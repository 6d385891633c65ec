"""Changes reach the other side in seconds, through Airflow: the sandbox's Jira sends its webhook,
its Zoho CRM its notification, its Salesforce its outbound message, to the receiver in Airflow's
api-server, which records it as an event of the sync's Asset, and Airflow's scheduler runs the
sync on it.

These tests use the live Airflow of the browser tests (api-server, scheduler, dag-processor), as
a vendor reaches it over HTTP. The syncs are shipped definitions with ``events: true``, on
connections of their own that hold the secrets, registered on each vendor by ``jirasync webhooks
register``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect
from tests.browser.conftest import AirflowUi, screenshot
from tests.project.cli_runs import jirasync

from jirasync.engine.store import StateStore
from jirasync.live_airflow import api_session
from jirasync.local_stack import PROJECT_ROOT

SYNC = "zoho_deals_to_jira_events"
DAG_ID = f"jirasync__{SYNC}"
SALESFORCE_SYNC = "salesforce_cases_to_jira_events"
CONTACTS_SYNC = "jira_to_zoho_contacts_events"
# Each vendor's connection of the listening syncs, with the secret their events are proven with
# (Zoho sends back a token of at most 50 characters); Salesforce's also names the org.
SECRET = "a-secret-only-the-vendors-and-airflow-know"
ORGANIZATION = "00DRO0000000001AAA"
EVENT_CONNECTIONS = {
    "jira_events": ("jira_default", {"webhook_secret": SECRET}),
    "zoho_events": ("zoho_crm", {"webhook_secret": SECRET}),
    "salesforce_events": ("salesforce_default", {"webhook_secret": SECRET, "organization_id": ORGANIZATION}),
}
WAIT_S = 120


@pytest.fixture(scope="module")
def event_connections(airflow_ui: AirflowUi, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The listening syncs' connections, in Airflow and in a file for ``jirasync webhooks``."""
    connections = airflow_ui.stack.connections()
    for conn_id, (base, extras) in EVENT_CONNECTIONS.items():
        connection = {**connections[base], "extra": {**connections[base].get("extra", {}), **extras}}
        connections[conn_id] = connection
        added = {**connection, "extra": json.dumps(connection["extra"])}
        airflow_ui.stack.airflow(
            "connections", "add", conn_id, "--conn-json", json.dumps(added), capture=True
        )
    path = tmp_path_factory.mktemp("events") / "connections.json"
    path.write_text(json.dumps(connections))
    yield path
    for conn_id in EVENT_CONNECTIONS:
        airflow_ui.stack.airflow("connections", "delete", conn_id, capture=True)


@contextmanager
def _listen(
    airflow_ui: AirflowUi,
    api: requests.Session,
    connections: Path,
    shipped: str,
    sync: str,
    conn_ids: dict[str, str],
) -> Iterator[None]:
    """The shipped definition as ``sync``, with events on, through the connections ``conn_ids`` names
    (shipped → listening); its DAG parsed, unpaused and run once; its events registered on each
    vendor by ``jirasync webhooks register``, as an admin registers them."""
    definition = (PROJECT_ROOT / "include" / "syncs" / shipped).read_text()
    for shipped_conn, own in conn_ids.items():
        definition = definition.replace(f"conn_id: {shipped_conn}\n", f"conn_id: {own}\n")
    path = airflow_ui.stack.syncs_dir / f"{sync}.yaml"
    kept = [line for line in definition.splitlines(keepends=True) if not line.startswith("schedule:")]
    path.write_text("".join(kept) + "\nevents: true\n")
    dag_id = f"jirasync__{sync}"
    try:
        _wait(
            lambda: api.get(f"{airflow_ui.url}/api/v2/dags/{dag_id}", timeout=30).ok, f"{dag_id} to be parsed"
        )
        api.patch(
            f"{airflow_ui.url}/api/v2/dags/{dag_id}", json={"is_paused": False}, timeout=30
        ).raise_for_status()
        assert _trigger(airflow_ui, api, dag_id)["state"] == "success"
        options = ["--airflow-url", airflow_ui.url, "--folder", str(airflow_ui.stack.syncs_dir)]
        registered = jirasync(
            "webhooks", "register", sync, *options, "--connections", str(connections), home=connections.parent
        )
        assert registered.returncode == 0, registered.stderr
        yield
    finally:
        path.unlink()


@pytest.fixture(scope="module")
def listening(airflow_ui: AirflowUi, event_connections: Path) -> Iterator[requests.Session]:
    """Zoho CRM Deals ↔ SUP issues listening to Jira's webhooks and Zoho's notifications; a REST
    session as the UI's user."""
    api = api_session(airflow_ui.url, *airflow_ui.login)
    conn_ids = {"jira_default": "jira_events", "zoho_crm": "zoho_events"}
    with _listen(airflow_ui, api, event_connections, "zoho_deals_to_jira.yaml", SYNC, conn_ids):
        yield api


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

    # On-call reads what started the run in its first task's log.
    said = _started_by(airflow_ui, DAG_ID, known)
    assert "started by" in said and f"comment_created of {issue['key']}" in said
    new = sorted(run_id for run_id in airflow_ui.runs(DAG_ID) if run_id not in known)
    # In the UI, the run is one that its Asset events triggered, and they are listed with it.
    page.goto(f"/dags/{DAG_ID}/runs/{new[0]}")
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
    zoho = json.dumps({"module": "Deals", "operation": "update", "ids": ["1"], "token": "a guess"})
    assert (
        requests.post(f"{airflow_ui.url}/jirasync-events/{SYNC}/zoho", data=zoho, timeout=30).status_code
        == 401
    )
    assert _events(airflow_ui) == events_before


def test_a_deal_edited_in_zoho_reaches_its_issue_in_seconds_through_a_notification(
    airflow_ui: AirflowUi, listening: requests.Session
) -> None:
    issue, deal = _linked_pair(airflow_ui)
    known = set(airflow_ui.runs(DAG_ID))
    name = "Renamed in Zoho: «Ünïcode» deal"
    changed = time.monotonic()
    airflow_ui.sandbox.edit("zoho", "Deals", deal, Deal_Name=name)
    _wait(lambda: _issue(airflow_ui, issue["key"])["fields"]["summary"] == name, "the summary in Jira")
    seconds = time.monotonic() - changed
    assert f"Deals.update of {deal}" in _started_by(airflow_ui, DAG_ID, known)
    print(f"Zoho deal to Jira issue through a notification-triggered run: {seconds:.1f} s")


def test_a_case_edited_in_salesforce_reaches_its_issue_through_an_outbound_message(
    airflow_ui: AirflowUi, event_connections: Path
) -> None:
    api = api_session(airflow_ui.url, *airflow_ui.login)
    conn_ids = {"jira_default": "jira_events", "salesforce_default": "salesforce_events"}
    dag_id = f"jirasync__{SALESFORCE_SYNC}"
    with _listen(
        airflow_ui, api, event_connections, "salesforce_cases_to_jira.yaml", SALESFORCE_SYNC, conn_ids
    ):
        issue, case = _linked_pair(airflow_ui, SALESFORCE_SYNC)
        known = set(airflow_ui.runs(dag_id))
        subject = "Printer & «scanner» jammed again"
        airflow_ui.sandbox.mutate(
            "salesforce", "edit_record", sobject="Case", id=case, fields={"Subject": subject}
        )
        _wait(lambda: _issue(airflow_ui, issue["key"])["fields"]["summary"] == subject, "the summary in Jira")
        assert f"Case outbound message of {case}" in _started_by(airflow_ui, dag_id, known)
    # The shared secret rides in the outbound message's URL: Airflow's access log masks it.
    logged = (airflow_ui.stack.airflow_home.parent / "standalone.log").read_text()
    assert f"/jirasync-events/{SALESFORCE_SYNC}/salesforce" in logged and SECRET not in logged


def test_a_jira_user_added_reaches_the_crm_through_a_user_event(
    airflow_ui: AirflowUi, event_connections: Path
) -> None:
    api = api_session(airflow_ui.url, *airflow_ui.login)
    conn_ids = {"jira_default": "jira_events", "zoho_crm": "zoho_events"}
    dag_id = f"jirasync__{CONTACTS_SYNC}"
    with _listen(airflow_ui, api, event_connections, "jira_to_zoho_contacts.yaml", CONTACTS_SYNC, conn_ids):
        known = set(airflow_ui.runs(dag_id))
        email = "zoe.ngata@example.com"
        user = airflow_ui.sandbox.mutate("jira", "add_user", email=email, displayName="Zoë Ngata")
        _wait(
            lambda: any(c.get("Email") == email for c in airflow_ui.sandbox.records("zoho", "Contacts")),
            "the contact in Zoho",
        )
        assert f"user_created of {user['accountId']}" in _started_by(airflow_ui, dag_id, known)


def _trigger(airflow_ui: AirflowUi, api: requests.Session, dag_id: str = DAG_ID) -> dict[str, Any]:
    known = set(airflow_ui.runs(dag_id))
    api.post(
        f"{airflow_ui.url}/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": {}}, timeout=30
    ).raise_for_status()
    return airflow_ui.wait_for_new_run(dag_id, known)


def _linked_pair(airflow_ui: AirflowUi, sync: str = SYNC) -> tuple[dict[str, Any], str]:
    """An issue the first run linked to a CRM record, and the record's id, from the state store."""
    links = StateStore(airflow_ui.stack.state_url).links(sync)
    assert not links.empty, f"the first run of {sync} linked no record to an issue"
    record, key = links.iloc[0]["source_id"], links.iloc[0]["target_id"]
    return _issue(airflow_ui, key), record


def _issue(airflow_ui: AirflowUi, key: str) -> dict[str, Any]:
    return next(i for i in airflow_ui.sandbox.records("jira", "issues") if key in (i["key"], i["id"]))


def _started_by(airflow_ui: AirflowUi, dag_id: str, known: set[str]) -> str:
    """What the first task of the runs started since ``known`` logged, once each was asset triggered."""
    new = sorted(run_id for run_id in airflow_ui.runs(dag_id) if run_id not in known)
    assert new and all(run_id.startswith("asset_triggered__") for run_id in new), new
    logs = airflow_ui.stack.airflow_home / "logs" / f"dag_id={dag_id}"
    return "".join(
        log.read_text()
        for run_id in new
        for log in (logs / f"run_id={run_id}").glob("task_id=extract_source/*.log")
    )


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
