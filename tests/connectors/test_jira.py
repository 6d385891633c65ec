"""JiraConnector against the sandbox's Jira: users, groups, user properties, and the HTTP layer's faults on them."""

from __future__ import annotations

import base64
import logging
import math

import pytest
from tests.connectors.jira_client import USERS, connect

from jirasync.connectors import (
    ApiError,
    AuthenticationError,
    RateLimitedError,
    RetryPolicy,
    VirtualClock,
)
from jirasync.connectors.jira import (
    PROPERTY_VALUE_LIMIT,
    JiraConnector,
    JiraRequestError,
)
from sandbox.testing import RunningSandbox

# Users


def test_users_reads_every_account_with_its_type_in_the_fewest_calls(fresh_sandbox: RunningSandbox) -> None:
    stored = {u["accountId"]: u for u in fresh_sandbox.records("jira", "users")}
    jira = connect(fresh_sandbox)

    users = list(jira.users())

    assert {u.account_id for u in users} == set(stored)
    assert len(users) == len(stored)
    assert {u.account_type for u in users} == {"atlassian", "customer", "app"}
    for user in users:
        assert user.account_type == stored[user.account_id]["accountType"]
        assert user.active == stored[user.account_id]["active"]
    hidden = [u for u in users if not stored[u.account_id].get("emailVisible", True)]
    assert hidden and all(u.email is None for u in hidden)
    assert jira.http.calls[USERS] == math.ceil(len(stored) / 1000) + 1  # the pages, then an empty one


def test_search_users_by_query_and_by_account_id(fresh_sandbox: RunningSandbox) -> None:
    someone = next(
        u for u in fresh_sandbox.records("jira", "users") if u["accountType"] == "atlassian" and u["active"]
    )
    jira = connect(fresh_sandbox)

    by_id = jira.search_users(account_id=someone["accountId"])
    by_query = jira.search_users(query=someone["emailAddress"])

    assert [u.account_id for u in by_id] == [someone["accountId"]]
    assert someone["accountId"] in {u.account_id for u in by_query}
    with pytest.raises(JiraRequestError, match="exactly one of query= or account_id="):
        jira.search_users()


def test_group_members_page_by_fifty(fresh_sandbox: RunningSandbox) -> None:
    group = fresh_sandbox.record("jira", "groups", "6c1a6e1c-0000-4000-8000-000000000001")
    active = {u["accountId"] for u in fresh_sandbox.records("jira", "users") if u["active"]}
    jira = connect(fresh_sandbox)

    members = list(jira.group_members(group["groupId"], include_inactive=True))
    active_members = list(jira.group_members(group["groupId"]))

    assert sorted(u.account_id for u in members) == sorted(group["members"])
    assert {u.account_id for u in active_members} == set(group["members"]) & active
    assert len(group["members"]) > 50
    assert jira.http.calls["GET /rest/api/3/group/member"] >= math.ceil(len(group["members"]) / 50)


def test_groups_lists_every_group_by_name_and_id_across_pages(fresh_sandbox: RunningSandbox) -> None:
    for number in range(60):
        group_id = f"00000000-0000-4000-8000-{number:012d}"
        fresh_sandbox.put(
            "jira", "groups", group_id, {"groupId": group_id, "name": f"team-{number}", "members": []}
        )
    stored = {g["groupId"]: g["name"] for g in fresh_sandbox.records("jira", "groups")}
    jira = connect(fresh_sandbox)

    groups = list(jira.groups())

    assert {g.id: g.name for g in groups} == stored
    assert len(groups) == len(stored) > 50
    assert jira.http.calls["GET /rest/api/3/group/bulk"] == math.ceil(len(stored) / 50)


# User properties


def test_user_property_lifecycle(fresh_sandbox: RunningSandbox) -> None:
    account_id = next(
        u["accountId"] for u in fresh_sandbox.records("jira", "users") if u["accountType"] == "atlassian"
    )
    jira = connect(fresh_sandbox)

    assert jira.user_property(account_id, "jirasync.identity") is None
    assert jira.put_user_property(account_id, "jirasync.identity", {"department": "Support"}) == "created"
    assert jira.put_user_property(account_id, "jirasync.identity", {"department": "Sales"}) == "updated"
    assert jira.user_property(account_id, "jirasync.identity") == {"department": "Sales"}
    assert "jirasync.identity" in jira.user_property_keys(account_id)
    jira.delete_user_property(account_id, "jirasync.identity")
    assert jira.user_property(account_id, "jirasync.identity") is None


def test_oversized_property_is_refused_before_any_call(fresh_sandbox: RunningSandbox) -> None:
    jira = connect(fresh_sandbox)

    with pytest.raises(
        JiraRequestError, match=r"user property 'big' of user acc-1: the value is 32,77\d characters"
    ):
        jira.put_user_property("acc-1", "big", "x" * PROPERTY_VALUE_LIMIT)
    with pytest.raises(JiraRequestError, match="issue property 'k' of issue SUP-1"):
        jira.put_issue_property("SUP-1", "k", {"text": "x" * PROPERTY_VALUE_LIMIT})

    assert jira.http.calls.total == 0


# Faults


def test_users_survive_a_429_storm_with_retry_after_zero(fresh_sandbox: RunningSandbox) -> None:
    clock = VirtualClock()
    fresh_sandbox.add_fault("jira", "rate_limit", route="/rest/api/3/users/search", retry_after=0, count=6)
    jira = connect(fresh_sandbox, clock)

    users = list(jira.users())

    assert len(users) == len(fresh_sandbox.records("jira", "users"))
    assert len(clock.sleeps) == 6 and all(wait >= 1.0 for wait in clock.sleeps)
    assert jira.http.calls[USERS] == 6 + 2


def test_an_endless_429_storm_ends_in_a_clear_error_within_the_budget(fresh_sandbox: RunningSandbox) -> None:
    clock = VirtualClock()
    fresh_sandbox.add_fault("jira", "rate_limit", route="/rest/api/3/users/search", retry_after=30)
    jira = connect(fresh_sandbox, clock, retry=RetryPolicy(max_total_wait=100))

    with pytest.raises(
        RateLimitedError, match=r"Jira GET /rest/api/3/users/search failed with HTTP 429.*gave up"
    ):
        list(jira.users())

    assert sum(clock.sleeps) <= 100


def test_an_expired_token_mid_run_stops_with_an_authentication_error(fresh_sandbox: RunningSandbox) -> None:
    jira = connect(fresh_sandbox)
    users = jira.users()
    next(users)  # the first page is read
    fresh_sandbox.add_fault("jira", "expire_tokens", route="/rest/api/3/users/search", count=1)

    with pytest.raises(AuthenticationError) as raised:
        list(users)

    assert raised.value.status == 401 and not raised.value.retryable
    assert "Check the credentials" in str(raised.value)
    assert jira.http.calls[USERS] == 2  # a static API token cannot be refreshed, so no retry


def test_a_burst_of_5xx_on_user_reads_is_retried(fresh_sandbox: RunningSandbox) -> None:
    clock = VirtualClock()
    fresh_sandbox.add_fault("jira", "error", route="/rest/api/3/users/search", status=500, count=3)
    jira = connect(fresh_sandbox, clock)

    assert len(list(jira.users())) == len(fresh_sandbox.records("jira", "users"))
    assert len(clock.sleeps) == 3


def test_a_dropped_connection_while_reading_users_is_retried(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.add_fault("jira", "drop", route="/rest/api/3/users/search", count=1)
    jira = connect(fresh_sandbox)

    assert len(list(jira.users())) == len(fresh_sandbox.records("jira", "users"))
    assert jira.http.calls[USERS] == 3


def test_no_secret_in_logs_or_errors_of_a_failing_run(
    fresh_sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api_token = fresh_sandbox.credentials["jira"]["api_token"]
    fresh_sandbox.add_fault("jira", "error", route="/rest/api/3/users/search", status=503)
    jira = connect(fresh_sandbox, retry=RetryPolicy(max_attempts=3))
    wrong = JiraConnector.with_api_token(
        fresh_sandbox.url("/jira"), "intruder@example.com", "wrong-token-0123456789", clock=VirtualClock()
    )

    errors: list[ApiError] = []
    for attempt in (
        lambda: list(jira.users()),
        lambda: wrong.myself(),
    ):
        with pytest.raises(ApiError) as raised:
            attempt()
        errors.append(raised.value)
        logging.getLogger("jirasync.connectors.http").exception("sync failed")

    assert [type(e).__name__ for e in errors] == ["ServerError", "AuthenticationError"]
    texts = [caplog.text, *map(str, errors)]
    basic = base64.b64encode(f"{fresh_sandbox.credentials['jira']['email']}:{api_token}".encode()).decode()
    for secret in (api_token, basic, "wrong-token-0123456789"):
        assert all(secret not in text for text in texts)
