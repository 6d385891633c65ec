"""JiraCloudHook: a real Airflow connection (from an AIRFLOW_CONN_ variable) → connector → sandbox."""

from __future__ import annotations

import json

import pytest

from jirasync.hooks.jira import JiraCloudHook
from sandbox.testing import RunningSandbox


def set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: object) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "jira", **fields}))


def test_hook_reaches_jira_under_a_base_path(
    fresh_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = fresh_sandbox.credentials["jira"]
    set_connection(
        monkeypatch,
        "jira_sandbox",
        host=fresh_sandbox.url("/jira"),
        login=credentials["email"],
        password=credentials["api_token"],
    )
    hook = JiraCloudHook(jira_conn_id="jira_sandbox")

    ok, message = hook.test_connection()
    users = list(hook.get_conn().users())

    assert ok, message
    assert message == "Connected to Jira as Sandbox Admin (712020:00000000-0000-4000-8000-000000000001)."
    assert len(users) == len(fresh_sandbox.records("jira", "users"))


def test_wrong_token_fails_the_connection_test_with_the_reason(
    fresh_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_connection(
        monkeypatch,
        "jira_wrong",
        host=fresh_sandbox.url("/jira"),
        login=fresh_sandbox.credentials["jira"]["email"],
        password="not-the-token-4242",
    )

    ok, message = JiraCloudHook(jira_conn_id="jira_wrong").test_connection()

    assert not ok
    assert message.startswith("Jira GET /rest/api/3/myself failed with HTTP 401")
    assert "Check the credentials" in message
    assert "not-the-token-4242" not in message


def test_incomplete_connection_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    set_connection(monkeypatch, "jira_empty", host="https://example.atlassian.net", login="bot@example.com")

    ok, message = JiraCloudHook(jira_conn_id="jira_empty").test_connection()

    assert not ok
    assert message == (
        "Airflow connection 'jira_empty' lacks password: set host to the Jira site URL, login to the account "
        "email and password to an API token."
    )
