"""GraphConnector against the sandbox: minimal full reads, delta reads, resync, faults and redaction."""

from __future__ import annotations

import logging

import pytest

from jirasync.connectors import AuthenticationError, RetryPolicy, VirtualClock
from jirasync.connectors.graph import GraphConnector, odata_equals
from sandbox.testing import RunningSandbox

ATTRIBUTES = ["mail", "department", "jobTitle", "accountEnabled"]


def connector(
    sandbox: RunningSandbox, secret: str | None = None, clock: VirtualClock | None = None
) -> GraphConnector:
    credentials = sandbox.credentials["entra"]
    return GraphConnector(
        sandbox.url("/graph"),
        credentials["tenant_id"],
        credentials["client_id"],
        secret or credentials["client_secret"],
        login_url=sandbox.url("/entra"),
        clock=clock,
        retry=RetryPolicy(max_attempts=5),
    )


def test_a_full_read_selects_exactly_the_mapped_attributes_in_pages_of_999(
    fresh_sandbox: RunningSandbox,
) -> None:
    graph = connector(fresh_sandbox)
    users = graph.read_users(ATTRIBUTES)
    assert len(users) == len(fresh_sandbox.records("graph", "users"))
    assert all(set(u) == {"id", *ATTRIBUTES} for u in users)
    assert graph.calls() == {"GET /v1.0/users": 1, "POST /{tenant}/oauth2/v2.0/token": 1}
    [request] = [r for r in fresh_sandbox.request_log() if r["vendor"] == "graph"]
    assert "%24select=mail%2Cdepartment%2CjobTitle%2CaccountEnabled" in request["query"]
    assert "expand" not in request["query"]


def test_the_manager_is_expanded_only_when_mapped(fresh_sandbox: RunningSandbox) -> None:
    graph = connector(fresh_sandbox)
    users = graph.read_users(["mail"], manager=True)
    count = len(fresh_sandbox.records("graph", "users"))
    assert len(users) == count
    assert graph.calls()["GET /v1.0/users"] == -(-count // 100)  # Graph caps expanded pages at 100
    by_id = {u["id"]: u for u in users}
    managed = [u for u in users if u["manager"] is not None]
    assert managed and all(m["manager"]["id"] in by_id for m in managed)


def test_incremental_reads_return_only_changes_and_removals_then_a_new_link(
    fresh_sandbox: RunningSandbox,
) -> None:
    graph = connector(fresh_sandbox)
    first = graph.read_changes(ATTRIBUTES, manager=True)
    assert first.full and not first.removed
    assert len(first.users) == len(fresh_sandbox.records("graph", "users"))
    changed, soft_deleted, purged = (u["id"] for u in first.users[:3])
    fresh_sandbox.edit("graph", "users", changed, jobTitle="Head of Tours")
    fresh_sandbox.mutate("graph", "delete_user", id=soft_deleted)
    fresh_sandbox.mutate("graph", "purge_user", id=purged)

    second = graph.read_changes(ATTRIBUTES, manager=True, delta_link=first.delta_link)

    assert not second.full
    assert [(u["id"], u["jobTitle"]) for u in second.users] == [(changed, "Head of Tours")]
    assert "manager" not in second.users[0]  # the manager did not change, so Graph says nothing of it
    assert {(r.id, r.reason) for r in second.removed} == {(soft_deleted, "changed"), (purged, "deleted")}
    assert second.delta_link != first.delta_link
    third = graph.read_changes(ATTRIBUTES, delta_link=second.delta_link)
    assert (third.users, third.removed) == ([], [])


def test_an_expired_delta_link_leads_to_a_full_resync(
    fresh_sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    graph = connector(fresh_sandbox)
    first = graph.read_changes(ATTRIBUTES)
    fresh_sandbox.mutate("graph", "expire_delta_links")
    with caplog.at_level(logging.WARNING):
        again = graph.read_changes(ATTRIBUTES, delta_link=first.delta_link)
    assert again.full
    assert len(again.users) == len(fresh_sandbox.records("graph", "users"))
    assert "no longer knows the stored delta link" in caplog.text
    assert graph.read_changes(ATTRIBUTES, delta_link=again.delta_link).users == []


def test_throttling_is_waited_out_for_at_least_retry_after(fresh_sandbox: RunningSandbox) -> None:
    clock = VirtualClock()
    graph = connector(fresh_sandbox, clock=clock)
    fresh_sandbox.add_fault("graph", "rate_limit", route="/v1.0/users", retry_after=13, count=2)
    users = graph.read_users(["mail"])
    assert len(users) == len(fresh_sandbox.records("graph", "users"))
    assert clock.sleeps[:2] and all(wait >= 13 for wait in clock.sleeps[:2])
    assert graph.calls()["GET /v1.0/users"] == 3


def test_server_errors_are_retried(fresh_sandbox: RunningSandbox) -> None:
    graph = connector(fresh_sandbox, clock=VirtualClock())
    fresh_sandbox.add_fault("graph", "error", route="/v1.0/users/delta", status=503, count=2)
    assert graph.read_changes(["mail"]).full


def test_a_token_revoked_mid_run_is_renewed_once(fresh_sandbox: RunningSandbox) -> None:
    graph = connector(fresh_sandbox)
    first = graph.read_changes(["mail"])
    fresh_sandbox.add_fault("graph", "expire_tokens", count=1)
    fresh_sandbox.edit("graph", "users", first.users[0]["id"], mail="moved@northwind.example")
    changes = graph.read_changes(["mail"], delta_link=first.delta_link)
    assert [u["mail"] for u in changes.users] == ["moved@northwind.example"]
    assert graph.calls()["POST /{tenant}/oauth2/v2.0/token"] == 2


def test_a_wrong_secret_fails_clearly_without_showing_it(
    fresh_sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "wrong-secret-value-0123456789"
    graph = connector(fresh_sandbox, secret=secret)
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError) as caught:
        graph.read_users(["mail"])
    assert "AADSTS7000215" in str(caught.value)
    assert "credentials" in str(caught.value)  # says what to check
    assert secret not in str(caught.value) and secret not in caplog.text


def test_tokens_never_reach_the_logs(fresh_sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture) -> None:
    graph = connector(fresh_sandbox, clock=VirtualClock())
    fresh_sandbox.add_fault("graph", "rate_limit", retry_after=1, count=1)
    with caplog.at_level(logging.DEBUG):
        first = graph.read_changes(["mail"])
        graph.read_changes(["mail"], delta_link=first.delta_link)
    token = graph.auth.access_token()
    assert caplog.records  # the retry and the requests were logged
    assert token not in caplog.text
    assert fresh_sandbox.credentials["entra"]["client_secret"] not in caplog.text


def test_one_user_is_read_by_an_odata_filter_on_its_email(fresh_sandbox: RunningSandbox) -> None:
    target = next(u for u in fresh_sandbox.records("graph", "users") if u.get("mail"))
    graph = connector(fresh_sandbox)
    users = graph.read_users(ATTRIBUTES, where=odata_equals("mail", target["mail"]))
    assert [u["id"] for u in users] == [target["id"]]
    assert graph.calls() == {"GET /v1.0/users": 1, "POST /{tenant}/oauth2/v2.0/token": 1}


def test_odata_equals_escapes_quotes() -> None:
    assert odata_equals("mail", "o'brien@example.com") == "mail eq 'o''brien@example.com'"
