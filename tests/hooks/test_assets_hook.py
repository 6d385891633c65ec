"""AssetsHook: a real ``jirasync_assets`` Airflow connection (from AIRFLOW_CONN_) → connector → sandbox."""

from __future__ import annotations

import json

import pytest

from jirasync.hooks.assets import AssetsHook
from sandbox.testing import RunningSandbox


def set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: object) -> None:
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "jirasync_assets", **fields})
    )


def sandbox_connection(
    sandbox: RunningSandbox, workspace_id: str, password: str | None = None
) -> dict[str, object]:
    credentials = sandbox.credentials["assets"]
    return {
        "host": sandbox.url("/atlassian"),
        "login": credentials["email"],
        "password": password or credentials["api_token"],
        "extra": {"workspace_id": workspace_id},
    }


def test_hook_reaches_the_workspace_and_searches(
    fresh_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace_id = fresh_sandbox.records("assets", "workspace")[0]["workspaceId"]
    set_connection(monkeypatch, "assets_sandbox", **sandbox_connection(fresh_sandbox, workspace_id))
    hook = AssetsHook(assets_conn_id="assets_sandbox")

    ok, message = hook.test_connection()

    assert (ok, message) == (True, f"Connected to Assets workspace {workspace_id}: 1 schema(s).")
    assert hook.get_conn().count("objectType = Employee") > 0


def test_empty_workspace_id_says_where_to_find_it(
    fresh_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_connection(monkeypatch, "assets_no_workspace", **sandbox_connection(fresh_sandbox, ""))

    ok, message = AssetsHook(assets_conn_id="assets_no_workspace").test_connection()

    assert not ok
    assert "workspace_id" in message and "/rest/servicedeskapi/assets/workspace" in message


def test_wrong_workspace_or_token_fails_the_test_with_the_reason(
    fresh_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace_id = fresh_sandbox.records("assets", "workspace")[0]["workspaceId"]
    set_connection(monkeypatch, "assets_other", **sandbox_connection(fresh_sandbox, "not-this-workspace"))
    set_connection(
        monkeypatch, "assets_bad", **sandbox_connection(fresh_sandbox, workspace_id, "bad-token-8642")
    )

    other = AssetsHook(assets_conn_id="assets_other").test_connection()
    bad = AssetsHook(assets_conn_id="assets_bad").test_connection()

    assert not other[0] and "HTTP 404" in other[1] and "No workspace found" in other[1]
    assert not bad[0] and "HTTP 401" in bad[1] and "bad-token-8642" not in bad[1]


def test_hook_matches_the_declared_connection_type() -> None:
    from jirasync.provider_info import CONNECTION_TYPES

    declared = next(c for c in CONNECTION_TYPES if c["connection-type"] == AssetsHook.conn_type)

    assert declared["hook-class-name"] == f"{AssetsHook.__module__}.{AssetsHook.__name__}"
    assert "workspace_id" in declared["conn-fields"]
