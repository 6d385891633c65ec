"""`jirasync webhooks`: a sync's Jira webhook registered once however often it is asked, listed,
and removed, against the sandbox's Jira, through the sync's own connection."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.project.cli_runs import SYNCS, connections_of, jirasync

from sandbox.testing import RunningSandbox

SYNC = "zoho_deals_to_jira"
AIRFLOW = "https://airflow.example.com"
RECEIVER = f"{AIRFLOW}/jirasync-events/{SYNC}/jira"


def setup(
    tmp_path: Path, sandbox: RunningSandbox, *, secret: str | None = "s3cret", events: bool = True
) -> list[str]:
    """The definitions (the sync listening to events, or not) and connections (Jira's with its
    webhook secret, or none); the command's options that point at them."""
    folder = tmp_path / "syncs"
    folder.mkdir(parents=True)
    shutil.copy(SYNCS / f"{SYNC}.yaml", folder)
    if events:
        with (folder / f"{SYNC}.yaml").open("a") as definition:
            definition.write("\nevents: true\n")
    connections = connections_of(sandbox)
    if secret:
        connections["jira_default"]["extra"] = {"webhook_secret": secret}
    (tmp_path / "connections.json").write_text(json.dumps(connections))
    return [
        "--airflow-url",
        AIRFLOW,
        "--folder",
        str(folder),
        "--connections",
        str(tmp_path / "connections.json"),
    ]


def test_a_sync_is_registered_once_listed_and_removed(fresh_sandbox: RunningSandbox, tmp_path: Path) -> None:
    options = setup(tmp_path, fresh_sandbox)
    first = jirasync("webhooks", "register", SYNC, *options, home=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"created the webhook of {SYNC}: {RECEIVER}"
    again = jirasync("webhooks", "register", SYNC, *options, home=tmp_path)
    assert again.returncode == 0 and again.stdout.startswith("updated the webhook")

    [hook] = fresh_sandbox.records("jira", "webhooks")
    assert hook["url"] == RECEIVER and hook["secret"] == "s3cret"
    assert hook["filters"]["issue-related-events-section"] == 'project = "SUP"'
    assert {"jira:issue_updated", "comment_created"} <= set(hook["events"])
    listed = jirasync("webhooks", "list", SYNC, *options, home=tmp_path)
    assert (
        listed.returncode == 0
        and "jirasync zoho_deals_to_jira" in listed.stdout
        and "s3cret" not in listed.stdout
    )

    removed = jirasync("webhooks", "remove", SYNC, *options, home=tmp_path)
    assert removed.returncode == 0 and removed.stdout.strip() == f"removed 1 webhook(s) of {SYNC}"
    assert fresh_sandbox.records("jira", "webhooks") == []


def test_without_a_secret_or_without_events_nothing_is_registered_and_the_fix_is_named(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    no_secret = jirasync(
        "webhooks", "register", SYNC, *setup(tmp_path / "a", fresh_sandbox, secret=None), home=tmp_path
    )
    assert no_secret.returncode == 1 and "has no webhook_secret in its extras" in no_secret.stderr
    not_listening = jirasync(
        "webhooks", "register", SYNC, *setup(tmp_path / "b", fresh_sandbox, events=False), home=tmp_path
    )
    assert not_listening.returncode == 1 and "set events: true in its definition" in not_listening.stderr
    assert fresh_sandbox.records("jira", "webhooks") == []
