"""`jirasync webhooks`: a sync's events registered on each vendor it takes them from (Jira's webhook,
Zoho CRM's notification channel, Salesforce's outbound message), once however often it is asked
and from whichever Airflow address, listed and removed, against the sandbox, through the sync's own
connections."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

from tests.project.cli_runs import SYNCS, connections_of, jirasync

from sandbox.testing import RunningSandbox

ZOHO_SYNC = "zoho_deals_to_jira"
SALESFORCE_SYNC = "salesforce_cases_to_jira"
AIRFLOW = "https://airflow.example.com"
SECRET = "s3cret"


def setup(
    tmp_path: Path, sandbox: RunningSandbox, *, secret: str | None = SECRET, events: bool = True
) -> list[str]:
    """The definitions (listening to events, or not) and connections (each with the webhook secret,
    or none); the command's options that point at them."""
    folder = tmp_path / "syncs"
    folder.mkdir(parents=True)
    for sync in (ZOHO_SYNC, SALESFORCE_SYNC):
        shutil.copy(SYNCS / f"{sync}.yaml", folder)
        if events:
            with (folder / f"{sync}.yaml").open("a") as definition:
                definition.write("\nevents: true\n")
    connections = connections_of(sandbox)
    if secret:
        for conn_id in ("jira_default", "zoho_crm", "salesforce_default"):
            connections[conn_id]["extra"] = {
                **connections[conn_id].get("extra", {}),
                "webhook_secret": secret,
            }
    (tmp_path / "connections.json").write_text(json.dumps(connections))
    return ["--folder", str(folder), "--connections", str(tmp_path / "connections.json")]


def test_a_zoho_sync_s_webhook_and_channel_are_registered_once_listed_and_removed(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    options = setup(tmp_path, fresh_sandbox)
    first = jirasync("webhooks", "register", ZOHO_SYNC, "--airflow-url", AIRFLOW, *options, home=tmp_path)
    assert first.returncode == 0, first.stderr
    said = first.stdout.splitlines()
    assert said[0] == f"created the Jira webhook of {ZOHO_SYNC}: {AIRFLOW}/jirasync-events/{ZOHO_SYNC}/jira"
    assert said[1].startswith(f"created the Zoho CRM notification channel of {ZOHO_SYNC}")
    # Again, from Airflow's new address: both updated, none added.
    moved = "https://airflow.internal.example.com"
    again = jirasync("webhooks", "register", ZOHO_SYNC, "--airflow-url", moved, *options, home=tmp_path)
    assert again.returncode == 0 and again.stdout.startswith("updated the Jira webhook")
    assert "renewed the Zoho CRM notification channel" in again.stdout

    [hook] = fresh_sandbox.records("jira", "webhooks")
    assert hook["url"] == f"{moved}/jirasync-events/{ZOHO_SYNC}/jira" and hook["secret"] == SECRET
    assert hook["filters"]["issue-related-events-section"] == 'project = "SUP"'
    assert {"jira:issue_updated", "comment_created"} <= set(hook["events"])
    [channel] = fresh_sandbox.records("zoho", "notification_channels")
    assert channel["notify_url"] == f"{moved}/jirasync-events/{ZOHO_SYNC}/zoho" and channel["token"] == SECRET
    assert channel["events"] == ["Deals.all"]
    expiry = dt.datetime.fromisoformat(channel["channel_expiry"]) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=5, hours=23) < expiry <= dt.timedelta(days=6), "six days, within Zoho's week"

    listed = jirasync("webhooks", "list", ZOHO_SYNC, *options, home=tmp_path)
    assert listed.returncode == 0 and SECRET not in listed.stdout
    assert [line.split()[0] for line in listed.stdout.splitlines()] == ["jira", "zoho"]
    removed = jirasync("webhooks", "remove", ZOHO_SYNC, *options, home=tmp_path)
    assert (
        removed.returncode == 0
        and removed.stdout.strip() == f"removed from {ZOHO_SYNC}: 1 on jira, 1 on zoho"
    )
    assert fresh_sandbox.records("jira", "webhooks") == []
    assert fresh_sandbox.records("zoho", "notification_channels") == []


def test_a_salesforce_sync_s_outbound_message_is_defined_with_the_secret_and_the_flow_step_named(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    options = setup(tmp_path, fresh_sandbox)
    for _ in range(2):
        done = jirasync(
            "webhooks", "register", SALESFORCE_SYNC, "--airflow-url", AIRFLOW, *options, home=tmp_path
        )
        assert done.returncode == 0, done.stderr
    assert "updated the Salesforce outbound message jirasync_salesforce_cases_to_jira" in done.stdout
    assert "record-triggered flow on Case" in done.stdout and SECRET not in done.stdout
    [message] = fresh_sandbox.records("salesforce", "outbound_messages")
    assert message["FullName"] == "Case.jirasync_salesforce_cases_to_jira"
    assert message["EndpointUrl"] == f"{AIRFLOW}/jirasync-events/{SALESFORCE_SYNC}/salesforce?token={SECRET}"
    removed = jirasync("webhooks", "remove", SALESFORCE_SYNC, *options, home=tmp_path)
    assert removed.stdout.strip() == f"removed from {SALESFORCE_SYNC}: 1 on jira, 1 on salesforce"
    assert fresh_sandbox.records("salesforce", "outbound_messages") == []


def test_without_a_secret_without_events_or_with_a_token_zoho_refuses_nothing_is_registered(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    def register(folder: Path, **setting: object) -> tuple[int, str]:
        options = setup(folder, fresh_sandbox, **setting)  # type: ignore[arg-type]
        done = jirasync("webhooks", "register", ZOHO_SYNC, "--airflow-url", AIRFLOW, *options, home=tmp_path)
        return done.returncode, done.stderr

    code, said = register(tmp_path / "a", secret=None)
    assert code == 1 and "has no webhook_secret in its extras" in said
    code, said = register(tmp_path / "b", events=False)
    assert code == 1 and "set events: true in its definition" in said
    code, said = register(tmp_path / "c", secret="x" * 64)
    assert code == 1 and "at most 50 characters" in said and "x" * 64 not in said
    assert fresh_sandbox.records("zoho", "notification_channels") == []
    assert fresh_sandbox.records("jira", "webhooks") == [], "registered on all the sync's vendors or none"
