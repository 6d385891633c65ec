"""ScimHook: a real Airflow connection (AIRFLOW_CONN_ variable) → ScimConnector → sandbox."""

from __future__ import annotations

import json

import pytest

from jirasync.hooks.scim import ScimHook
from sandbox.testing import RunningSandbox


def set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: object) -> None:
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "jirasync_scim", **fields})
    )


def test_hook_reads_users_through_the_connection(
    fresh_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = fresh_sandbox.credentials["scim"]["bearer_token"]
    set_connection(monkeypatch, "scim_sandbox", host=f"{fresh_sandbox.url('/scim')}/v2", password=token)
    hook = ScimHook(scim_conn_id="scim_sandbox")

    ok, message = hook.test_connection()
    result = hook.get_conn().read_users(["userName"])

    assert ok, message
    assert "incremental reads ask only for changes" in message
    assert len(result.users) == len(fresh_sandbox.records("scim", "users"))


def test_a_wrong_token_fails_the_connection_test_with_the_reason(
    fresh_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_connection(
        monkeypatch, "scim_wrong", host=f"{fresh_sandbox.url('/scim')}/v2", password="not-the-token-4242"
    )

    ok, message = ScimHook(scim_conn_id="scim_wrong").test_connection()

    assert not ok
    assert "HTTP 401" in message and "bearer token is missing or invalid" in message
    assert "not-the-token-4242" not in message


def test_a_connection_without_token_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    set_connection(monkeypatch, "scim_empty", host="https://idp.example.com/scim/v2")

    ok, message = ScimHook(scim_conn_id="scim_empty").test_connection()

    assert not ok
    assert "'scim_empty' lacks Bearer token" in message
