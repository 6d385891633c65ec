"""The server itself: real-host routing, auth on every route, faults, counters, persistence."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from sandbox.testing import RunningSandbox, running_sandbox

MYSELF = "/rest/api/3/myself"


def _jira_get(sandbox: RunningSandbox, path: str, **kwargs) -> requests.Response:
    creds = sandbox.credentials["jira"]
    return requests.get(sandbox.url("/jira") + path, auth=(creds["email"], creds["api_token"]), **kwargs)


def test_wrong_credentials_get_jiras_401_body(fresh_sandbox: RunningSandbox) -> None:
    response = requests.get(fresh_sandbox.url("/jira") + MYSELF, auth=("someone@example.com", "wrong"))
    assert response.status_code == 401
    assert response.json() == {
        "errorMessages": ["Client must be authenticated to access this resource."],
        "errors": {},
    }


def test_the_real_host_name_serves_the_real_paths(fresh_sandbox: RunningSandbox) -> None:
    creds = fresh_sandbox.credentials["jira"]
    response = requests.get(
        fresh_sandbox.base_url + MYSELF,
        auth=(creds["email"], creds["api_token"]),
        headers={"Host": "jirasync.atlassian.net"},
    )
    assert response.status_code == 200
    assert response.json()["self"].startswith("http://jirasync.atlassian.net/rest/api/3/user?")


def test_counters_count_per_route_and_reset(fresh_sandbox: RunningSandbox) -> None:
    _jira_get(fresh_sandbox, MYSELF)
    _jira_get(fresh_sandbox, MYSELF)
    assert fresh_sandbox.counters() == {"jira GET /rest/api/3/myself": 2}
    assert [e["status"] for e in fresh_sandbox.request_log()] == [200, 200]
    fresh_sandbox.clear_counters()
    assert fresh_sandbox.counters() == {}


def test_rate_limit_burst_answers_429_count_times(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.add_fault("jira", "rate_limit", count=2, retry_after=0)
    first, second, third = (_jira_get(fresh_sandbox, MYSELF) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 200)
    assert first.headers["Retry-After"] == "0"
    assert first.headers["X-RateLimit-Remaining"] == "0"
    assert "X-RateLimit-Reset" in first.headers


def test_rate_limit_retry_after_is_configurable(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.add_fault("jira", "rate_limit", count=1, retry_after=7)
    assert _jira_get(fresh_sandbox, MYSELF).headers["Retry-After"] == "7"


def test_error_share_answers_5xx_for_the_route_only(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.add_fault("jira", "error", route="/rest/api/3/myself", status=502, share=1.0)
    failed = _jira_get(fresh_sandbox, MYSELF)
    assert failed.status_code == 502
    assert failed.json()["errorMessages"] == ["Bad Gateway"]
    assert _jira_get(fresh_sandbox, "/rest/api/3/serverInfo").status_code == 200


def test_error_share_hits_about_that_share(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.add_fault("jira", "error", share=0.5)
    statuses = [_jira_get(fresh_sandbox, MYSELF).status_code for _ in range(40)]
    assert 8 < statuses.count(503) < 32
    assert statuses.count(200) == 40 - statuses.count(503)


def test_dropped_connection_closes_without_a_full_response(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.add_fault("jira", "drop", count=1)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        _jira_get(fresh_sandbox, MYSELF)
    assert _jira_get(fresh_sandbox, MYSELF).status_code == 200


def test_latency_delays_the_answer(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.add_fault("jira", "latency", latency_ms=300, count=1)
    assert _jira_get(fresh_sandbox, MYSELF).elapsed.total_seconds() >= 0.3


def test_expired_token_rejects_once_then_accepts(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.add_fault("jira", "expire_tokens", count=1)
    assert _jira_get(fresh_sandbox, MYSELF).status_code == 401
    assert _jira_get(fresh_sandbox, MYSELF).status_code == 200


def test_reset_clears_faults(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.add_fault("jira", "error")
    fresh_sandbox.reset()
    assert _jira_get(fresh_sandbox, MYSELF).status_code == 200


def test_unknown_vendor_fault_is_refused(fresh_sandbox: RunningSandbox) -> None:
    with pytest.raises(RuntimeError, match="no vendor 'nope'"):
        fresh_sandbox.add_fault("nope", "error")


def test_the_world_survives_a_restart(tmp_path: Path) -> None:
    with running_sandbox(tmp_path, seed=11, users=50) as first:
        first.edit("jira", "issues", "10000", key="SUP-999")
        before = first.export("jira")
    with running_sandbox(tmp_path, seed=99, users=10) as second:
        after = second.export("jira")
    assert after == before
    assert after["vendors"]["jira"]["issues"]["10000"]["key"] == "SUP-999"


def test_same_seed_gives_the_same_world_in_every_vendor(tmp_path: Path) -> None:
    with running_sandbox(tmp_path / "a", seed=5, users=60) as first:
        one = first.export()
    with running_sandbox(tmp_path / "b", seed=5, users=60) as second:
        two = second.export()
    assert one == two
    seeded = {name for name, collections in one["vendors"].items() if any(collections.values())}
    assert seeded == {"jira", "jsm", "assets", "graph", "scim", "zoho", "salesforce"}
    assert len(one["vendors"]["jira"]["users"]) > 50


def test_another_seed_gives_another_world_in_every_vendor(tmp_path: Path) -> None:
    with running_sandbox(tmp_path / "a", seed=5, users=60) as first:
        one = first.export()["vendors"]
    with running_sandbox(tmp_path / "b", seed=6, users=60) as second:
        two = second.export()["vendors"]
    for vendor in ("jira", "assets", "graph", "scim", "zoho", "salesforce"):
        assert one[vendor] != two[vendor], vendor


def _put_property(sandbox: RunningSandbox, account_id: str, value: dict, **kwargs) -> requests.Response:
    creds = sandbox.credentials["jira"]
    return requests.put(
        sandbox.url("/jira") + "/rest/api/3/user/properties/jirasync.fault",
        params={"accountId": account_id},
        json=value,
        auth=(creds["email"], creds["api_token"]),
        **kwargs,
    )


def _property(sandbox: RunningSandbox, account_id: str) -> object:
    for record in sandbox.records("jira", "user_properties"):
        if record.get("accountId", record.get("id")) == account_id:
            return record["properties"].get("jirasync.fault")
    return None


def _some_account(sandbox: RunningSandbox) -> str:
    return next(u["accountId"] for u in sandbox.records("jira", "users") if u["accountType"] == "atlassian")


def test_a_write_dropped_after_apply_is_applied_though_the_client_never_learns(
    fresh_sandbox: RunningSandbox,
) -> None:
    account = _some_account(fresh_sandbox)
    fresh_sandbox.add_fault("jira", "drop_after_apply", route="/rest/api/3/user/properties", count=1)
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        _put_property(fresh_sandbox, account, {"attempt": 1})
    assert _property(fresh_sandbox, account) == {"attempt": 1}


def test_a_write_whose_client_gave_up_waiting_is_applied_all_the_same(fresh_sandbox: RunningSandbox) -> None:
    account = _some_account(fresh_sandbox)
    fresh_sandbox.add_fault("jira", "latency", route="/rest/api/3/user/properties", latency_ms=1500, count=1)
    with pytest.raises(requests.Timeout):
        _put_property(fresh_sandbox, account, {"attempt": 2}, timeout=0.3)
    deadline = time.monotonic() + 10
    while _property(fresh_sandbox, account) != {"attempt": 2}:
        assert time.monotonic() < deadline, "the write was not applied after the client gave up"
        time.sleep(0.1)
