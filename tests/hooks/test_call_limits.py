"""The ``timeout``, ``max_wait``, ``rate_limit`` and ``concurrency`` extras of a connection reach the connector's calls."""

from __future__ import annotations

import json

import pytest

from jirasync.connectors.budget import LEASE_MARGIN, REDIS_URL_VARIABLE
from jirasync.connectors.errors import RateLimitedError
from jirasync.connectors.http import DEFAULT_TIMEOUT
from jirasync.hooks.jira import JiraCloudHook
from jirasync.hooks.scim import ScimHook
from sandbox.testing import RunningSandbox


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
