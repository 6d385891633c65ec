"""ZohoCrmHook: a real Airflow connection (from an AIRFLOW_CONN_ variable) → connector → sandbox."""

from __future__ import annotations

import json

import pytest

from jirasync.hooks.zoho import ZohoCrmHook
from sandbox.testing import RunningSandbox


def set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: object) -> None:
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "jirasync_zoho_crm", **fields})
    )


def test_hook_reaches_the_crm_through_the_accounts_server(
    fresh_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = fresh_sandbox.credentials["zoho"]
    set_connection(
        monkeypatch,
        "zoho_sandbox",
        login=credentials["client_id"],
        password=credentials["client_secret"],
        extra={
            "data_centre": "EU",
            "refresh_token": credentials["refresh_token"],
            "accounts_url": fresh_sandbox.url("/zoho-accounts"),
        },
    )
    hook = ZohoCrmHook(zoho_conn_id="zoho_sandbox")

    ok, message = hook.test_connection()
    contacts = list(hook.get_conn().records("Contacts", ["Email"]))

    assert ok, message
    assert message == f"Connected to Zoho CRM at {fresh_sandbox.url('/zoho')} (5 modules)."
    assert len(contacts) == len(fresh_sandbox.records("zoho", "Contacts"))


def test_wrong_secret_fails_the_connection_test_without_showing_it(
    fresh_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = fresh_sandbox.credentials["zoho"]
    set_connection(
        monkeypatch,
        "zoho_wrong",
        login=credentials["client_id"],
        password="not-the-client-secret-4242",
        extra={
            "refresh_token": credentials["refresh_token"],
            "accounts_url": fresh_sandbox.url("/zoho-accounts"),
        },
    )

    ok, message = ZohoCrmHook(zoho_conn_id="zoho_wrong").test_connection()

    assert not ok
    assert "token refused: invalid_client" in message
    assert "not-the-client-secret-4242" not in message
    assert credentials["refresh_token"] not in message


def test_incomplete_connection_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    set_connection(monkeypatch, "zoho_empty", login="1000.client", extra={"data_centre": "IN"})

    ok, message = ZohoCrmHook(zoho_conn_id="zoho_empty").test_connection()

    assert not ok
    assert "lacks password (client secret), extra refresh_token" in message


def test_unknown_data_centre_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    set_connection(
        monkeypatch,
        "zoho_mars",
        login="1000.client",
        password="secret-value",
        extra={"data_centre": "MARS", "refresh_token": "1000.r"},
    )

    ok, message = ZohoCrmHook(zoho_conn_id="zoho_mars").test_connection()

    assert not ok
    assert message == "Zoho data centre 'MARS' is unknown: use one of US, EU, IN, AU, JP, CN, UK, CA, SA"
