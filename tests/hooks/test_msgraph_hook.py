"""MicrosoftGraphHook: a real Airflow connection (AIRFLOW_CONN_ variable) → GraphConnector → sandbox."""

from __future__ import annotations

import json

import pytest

from jirasync.hooks.msgraph import MicrosoftGraphHook
from sandbox.testing import RunningSandbox


def set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: object) -> None:
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "jirasync_msgraph", **fields})
    )


def sandbox_connection(sandbox: RunningSandbox, secret: str | None = None) -> dict[str, object]:
    credentials = sandbox.credentials["entra"]
    return {
        "host": sandbox.url("/graph"),
        "login": credentials["client_id"],
        "password": secret or credentials["client_secret"],
        "extra": {"tenant_id": credentials["tenant_id"], "login_url": sandbox.url("/entra")},
    }


def test_hook_reads_users_through_the_connection(
    fresh_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_connection(monkeypatch, "graph_sandbox", **sandbox_connection(fresh_sandbox))
    hook = MicrosoftGraphHook(msgraph_conn_id="graph_sandbox")

    ok, message = hook.test_connection()
    users = hook.get_conn().read_users(["mail"])

    assert (ok, message) == (True, "Connected to Microsoft Graph and read a user.")
    assert len(users) == len(fresh_sandbox.records("graph", "users"))


def test_a_wrong_secret_fails_the_connection_test_with_the_reason(
    fresh_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_connection(
        monkeypatch, "graph_wrong", **sandbox_connection(fresh_sandbox, secret="not-the-secret-4242")
    )

    ok, message = MicrosoftGraphHook(msgraph_conn_id="graph_wrong").test_connection()

    assert not ok
    assert "HTTP 401" in message and "AADSTS7000215" in message
    assert "not-the-secret-4242" not in message


def test_a_connection_without_tenant_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    set_connection(
        monkeypatch, "graph_empty", host="https://graph.microsoft.com", login="app", password="s3cr3t-value"
    )

    ok, message = MicrosoftGraphHook(msgraph_conn_id="graph_empty").test_connection()

    assert not ok
    assert "'graph_empty' lacks the tenant id" in message
    assert "s3cr3t-value" not in message
