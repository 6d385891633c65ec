"""The ``timeout``, ``max_wait``, ``rate_limit`` and ``concurrency`` extras of a connection reach the connector's calls."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from redis import Redis

from jirasync.connectors.budget import KEY_PREFIX, LEASE_MARGIN, REDIS_URL_VARIABLE
from jirasync.connectors.errors import RateLimitedError
from jirasync.connectors.http import DEFAULT_TIMEOUT
from jirasync.hooks.assets import AssetsHook
from jirasync.hooks.jira import JiraCloudHook
from jirasync.hooks.msgraph import MicrosoftGraphHook
from jirasync.hooks.salesforce import SalesforceConnectorHook
from jirasync.hooks.scim import ScimHook
from jirasync.hooks.zoho import ZohoCrmHook
from jirasync.local_stack import sandbox_connections
from sandbox.testing import RunningSandbox

REDIS_URL = "redis://127.0.0.1:6379/0"


def scim_connection(monkeypatch: pytest.MonkeyPatch, sandbox: RunningSandbox, **extra: object) -> ScimHook:
    monkeypatch.setenv(
        "AIRFLOW_CONN_SCIM_LIMITS",
        json.dumps(
            {
                "conn_type": "jirasync_scim",
                "host": sandbox.url("/scim/v2"),
                "password": sandbox.credentials["scim"]["bearer_token"],
                "extra": extra,
            }
        ),
    )
    return ScimHook(scim_conn_id="scim_limits")


def test_a_retry_after_beyond_max_wait_fails_the_call_at_once_saying_so(
    fresh_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector = scim_connection(monkeypatch, fresh_sandbox, max_wait="5", timeout=7).get_conn()
    assert connector.http.timeout[1] == 7.0
    fresh_sandbox.add_fault("scim", "rate_limit", retry_after=30, count=1)

    with pytest.raises(RateLimitedError) as raised:
        connector.check_connection()

    assert "next wait would be 30 s, the retry budget is 5 s" in str(raised.value)
    assert sum(fresh_sandbox.counters().values()) == 1  # not retried before the 30 s


@pytest.mark.parametrize("value", ["soon", 0, -3])
def test_a_limit_that_is_no_number_of_seconds_names_the_connection_and_the_extra(
    fresh_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch, value: object
) -> None:
    hook = scim_connection(monkeypatch, fresh_sandbox, max_wait=value)
    with pytest.raises(
        ValueError, match=r"Airflow connection 'scim_limits': extra max_wait=.* is not a number"
    ):
        hook.get_conn()


def jira_connection(
    monkeypatch: pytest.MonkeyPatch, sandbox: RunningSandbox, **extra: object
) -> JiraCloudHook:
    credentials = sandbox.credentials["jira"]
    monkeypatch.setenv(
        "AIRFLOW_CONN_JIRA_LIMITS",
        json.dumps(
            {
                "conn_type": "jira",
                "host": sandbox.url("/jira"),
                "login": credentials["email"],
                "password": credentials["api_token"],
                "extra": extra,
            }
        ),
    )
    return JiraCloudHook(jira_conn_id="jira_limits")


def test_rate_limit_and_concurrency_make_the_jira_budget_in_redis_when_one_is_named(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(REDIS_URL_VARIABLE, "redis://127.0.0.1:6379/0")
    connector = jira_connection(monkeypatch, sandbox, rate_limit="50", concurrency="8").get_conn()
    budget = connector.http.budget
    assert (budget.name, budget.per_second, budget.concurrency) == ("jira_limits", 50.0, 8)
    assert budget.redis is not None
    assert budget.lease == sum(DEFAULT_TIMEOUT) + LEASE_MARGIN  # a call's timeouts and a margin
    assert connector.myself()["accountId"]  # calls go through it


def test_without_redis_the_budget_is_the_process_own(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(REDIS_URL_VARIABLE, raising=False)
    budget = jira_connection(monkeypatch, sandbox, rate_limit="5").get_conn().http.budget
    assert (budget.concurrency, budget.redis) == (1, None)


def test_a_shorter_timeout_makes_a_shorter_lease(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dead worker's slot comes back once no call of the connection could still be running."""
    budget = jira_connection(monkeypatch, sandbox, rate_limit="5", timeout="5").get_conn().http.budget
    assert budget.lease == DEFAULT_TIMEOUT[0] + 5 + LEASE_MARGIN


# Each sandbox connection by its id, and the hook that reads it under another id.
VENDOR_HOOKS: dict[str, Callable[[str], Any]] = {
    "entra_id": lambda conn_id: MicrosoftGraphHook(msgraph_conn_id=conn_id),
    "scim": lambda conn_id: ScimHook(scim_conn_id=conn_id),
    "zoho_crm": lambda conn_id: ZohoCrmHook(zoho_conn_id=conn_id),
    "salesforce_default": lambda conn_id: SalesforceConnectorHook(salesforce_conn_id=conn_id),
    "jira_assets": lambda conn_id: AssetsHook(assets_conn_id=conn_id),
}


@pytest.mark.parametrize("shipped", list(VENDOR_HOOKS))
def test_every_vendors_calls_draw_on_their_connections_budget_in_redis(
    fresh_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch, shipped: str
) -> None:
    """Not only Jira's: a Zoho or Salesforce account's limit holds for every worker together too."""
    workspace = fresh_sandbox.record("assets", "workspace", "workspace")["workspaceId"]
    connection = sandbox_connections(fresh_sandbox.base_url, workspace)[shipped]
    connection["extra"] = {**connection.get("extra", {}), "rate_limit": "40", "concurrency": "2"}
    conn_id = f"{shipped}_budgeted"
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
    monkeypatch.setenv(REDIS_URL_VARIABLE, REDIS_URL)
    redis = Redis.from_url(REDIS_URL)
    bucket = f"{KEY_PREFIX}:{conn_id}:rate"
    redis.delete(bucket)

    ok, message = VENDOR_HOOKS[shipped](conn_id).test_connection()

    assert ok, message
    assert redis.exists(bucket), f"the calls of {conn_id} took no permit from its budget in Redis"
    redis.delete(bucket)
