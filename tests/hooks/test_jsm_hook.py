"""JsmHook: a real Airflow connection of the Jira provider's type (from AIRFLOW_CONN_) → connector → sandbox."""

from __future__ import annotations

import json

import pytest

from jirasync.hooks.jsm import JsmHook
from sandbox.testing import RunningSandbox


def set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: object) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "jira", **fields}))


def test_hook_reaches_jsm_under_a_base_path(
    fresh_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = fresh_sandbox.credentials["jsm"]
    set_connection(
        monkeypatch,
        "jsm_sandbox",
        host=fresh_sandbox.url("/jira"),
        login=credentials["email"],
        password=credentials["api_token"],
    )
    hook = JsmHook(jira_conn_id="jsm_sandbox")

    ok, message = hook.test_connection()

    assert (ok, message) == (True, "Connected to Jira Service Management: 1 service desk(s).")
    assert (
        hook.get_conn().assets_workspace_id()
        == fresh_sandbox.records("assets", "workspace")[0]["workspaceId"]
    )


def test_wrong_token_fails_the_connection_test_without_the_token(
    fresh_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_connection(
        monkeypatch,
        "jsm_wrong",
        host=fresh_sandbox.url("/jira"),
        login=fresh_sandbox.credentials["jsm"]["email"],
        password="not-the-jsm-token-1357",
    )

    ok, message = JsmHook(jira_conn_id="jsm_wrong").test_connection()

    assert not ok
    assert message.startswith(
        "Jira Service Management GET /rest/servicedeskapi/servicedesk failed with HTTP 401"
    )
    assert "not-the-jsm-token-1357" not in message


def test_incomplete_connection_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    set_connection(monkeypatch, "jsm_empty", host="https://example.atlassian.net", login="bot@example.com")

    ok, message = JsmHook(jira_conn_id="jsm_empty").test_connection()

    assert not ok
    assert "lacks password" in message and "API token" in message
