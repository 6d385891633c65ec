"""The ``timeout`` and ``max_wait`` extras of a connection reach the connector's calls."""

from __future__ import annotations

import json

import pytest

from jirasync.connectors.errors import RateLimitedError
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
