"""SalesforceConnectorHook: a real Airflow connection of the provider's type → SalesforceConnector → sandbox."""

from __future__ import annotations

import json

import pytest

from jirasync.hooks.salesforce import SalesforceConnectorHook
from sandbox.testing import RunningSandbox


def set_connection(
    monkeypatch: pytest.MonkeyPatch, conn_id: str, sandbox: RunningSandbox, **changes: str
) -> None:
    credentials = {**sandbox.credentials["salesforce"], **changes}
    connection = {
        "conn_type": "salesforce",
        "login": credentials["username"],
        "password": credentials["password"],
        "extra": {"security_token": credentials["security_token"], "sandbox_url": sandbox.base_url},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))


def test_the_hook_builds_a_connector_that_reads_the_org(
    fresh_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_connection(monkeypatch, "salesforce_sandbox", fresh_sandbox)
    hook = SalesforceConnectorHook(salesforce_conn_id="salesforce_sandbox")

    ok, message = hook.test_connection()
    connector = hook.get_connector()
    accounts = list(connector.query("SELECT Id, Name FROM Account"))

    assert ok, message
    assert message == "Logged in to Salesforce; 14999 API requests left today"
    assert len(accounts) == len(fresh_sandbox.records("salesforce", "Account"))
    assert connector.calls.by_endpoint() == {
        "POST /services/Soap/u/59.0": 1,
        "GET /services/data/v59.0/query": 1,
    }


def test_a_wrong_password_fails_the_connection_test_without_showing_it(
    fresh_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_connection(monkeypatch, "salesforce_wrong", fresh_sandbox, password="Not-The-Password-99")

    ok, message = SalesforceConnectorHook(salesforce_conn_id="salesforce_wrong").test_connection()

    assert not ok
    assert "INVALID_LOGIN" in message and "Check the credentials" in message
    assert "Not-The-Password-99" not in message
    assert fresh_sandbox.credentials["salesforce"]["security_token"] not in message
