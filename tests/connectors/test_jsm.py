"""JsmConnector against the sandbox's JSM: idempotent customer creation, desk paging, and faults."""

from __future__ import annotations

import base64
import logging
import math

import pytest

from jirasync.connectors import ApiError, AuthenticationError, RetryPolicy, VirtualClock
from jirasync.connectors.jsm import JsmConnector, NewCustomer
from sandbox.testing import RunningSandbox

CREATE = "POST /rest/servicedeskapi/customer"
DESK_CUSTOMERS = "GET /rest/servicedeskapi/servicedesk/{desk}/customer"


def connect(sandbox: RunningSandbox, clock: VirtualClock | None = None, **options: object) -> JsmConnector:
    credentials = sandbox.credentials["jsm"]
    return JsmConnector.with_api_token(
        sandbox.url("/jira"),
        credentials["email"],
        credentials["api_token"],
        clock=clock or VirtualClock(),
        **options,
    )


@pytest.fixture
def jsm(fresh_sandbox: RunningSandbox) -> JsmConnector:
    return connect(fresh_sandbox)


def test_create_customer_makes_a_jira_customer_account(fresh_sandbox, jsm):
    customer = jsm.create_customer("fred@example.com", "Fred F. User")

    user = fresh_sandbox.record("jira", "users", customer.account_id)
    assert user["accountType"] == "customer"
    assert (customer.email, customer.display_name) == ("fred@example.com", "Fred F. User")


def test_creating_an_existing_customer_returns_it_instead_of_failing(fresh_sandbox, jsm):
    first = jsm.create_customer("twice@example.com", "Twice")

    again = jsm.create_customer("TWICE@example.com", "Twice")

    assert again.account_id == first.account_id
    customers = [
        u for u in fresh_sandbox.records("jira", "users") if u.get("emailAddress") == "twice@example.com"
    ]
    assert len(customers) == 1


def test_seeded_customer_off_every_desk_is_found_on_conflict(fresh_sandbox, jsm):
    on_desk = set(fresh_sandbox.record("jsm", "desk_customers", "1")["accountIds"])
    loner = next(
        u
        for u in fresh_sandbox.records("jira", "users")
        if u["accountType"] == "customer" and u["accountId"] not in on_desk
    )

    found = jsm.create_customer(loner["emailAddress"].upper(), loner["displayName"])

    assert found.account_id == loner["accountId"]


def test_create_customers_reports_an_outcome_per_record(jsm):
    outcomes = jsm.create_customers(
        [NewCustomer("a@example.com", "A"), NewCustomer("broken", "B"), NewCustomer("a@example.com", "A")]
    )

    assert [o.ok for o in outcomes] == [True, False, True]
    assert outcomes[0].id == outcomes[2].id
    assert "broken" in outcomes[1].error and not outcomes[1].retryable


def test_desk_customers_page_by_start_limit_until_the_last_page(fresh_sandbox, jsm):
    expected = fresh_sandbox.record("jsm", "desk_customers", "1")["accountIds"]

    found = [c.account_id for c in jsm.customers("SUP")]

    assert found == expected
    assert jsm.http.calls[DESK_CUSTOMERS] == max(1, math.ceil(len(expected) / 50))


def test_desk_customers_with_more_than_one_page(fresh_sandbox, jsm):
    created = [jsm.create_customer(f"bulk{n}@example.com", f"Bulk {n}").account_id for n in range(60)]
    jsm.add_customers("1", created)
    expected = fresh_sandbox.record("jsm", "desk_customers", "1")["accountIds"]

    found = [c.account_id for c in jsm.customers("1")]

    assert found == expected and len(found) > 50
    assert jsm.http.calls[DESK_CUSTOMERS] == math.ceil(len(expected) / 50)


def test_add_customers_is_idempotent(fresh_sandbox, jsm):
    customer = jsm.create_customer("member@example.com", "Member")

    jsm.add_customers("1", [customer.account_id])
    jsm.add_customers("1", [customer.account_id, customer.account_id])

    assert fresh_sandbox.record("jsm", "desk_customers", "1")["accountIds"].count(customer.account_id) == 1


def test_adding_an_unknown_account_names_it(jsm):
    with pytest.raises(ApiError, match="qm:ghost"):
        jsm.add_customers("1", ["qm:ghost"])


def test_service_desks_and_assets_workspace(fresh_sandbox, jsm):
    desks = list(jsm.service_desks())

    assert [d.project_key for d in desks] == ["SUP"]
    assert jsm.assets_workspace_id() == fresh_sandbox.records("assets", "workspace")[0]["workspaceId"]


# Faults


def test_a_429_storm_on_create_is_retried_honouring_retry_after(fresh_sandbox):
    clock = VirtualClock()
    fresh_sandbox.add_fault(
        "jsm", "rate_limit", route="/rest/servicedeskapi/customer", retry_after=3, count=4
    )
    jsm = connect(fresh_sandbox, clock)

    customer = jsm.create_customer("storm@example.com", "Storm")

    assert fresh_sandbox.record("jira", "users", customer.account_id)["emailAddress"] == "storm@example.com"
    assert len(clock.sleeps) == 4 and all(wait >= 3 for wait in clock.sleeps)
    assert jsm.http.calls[CREATE] == 5


def test_a_5xx_burst_while_paging_customers_is_retried(fresh_sandbox):
    clock = VirtualClock()
    fresh_sandbox.add_fault("jsm", "error", route="/rest/servicedeskapi/servicedesk", status=502, count=3)
    jsm = connect(fresh_sandbox, clock)

    found = list(jsm.customers("1"))

    assert len(found) == len(fresh_sandbox.record("jsm", "desk_customers", "1")["accountIds"])
    assert len(clock.sleeps) == 3


def test_a_dropped_create_is_retried_and_does_not_duplicate(fresh_sandbox, jsm):
    """The drop answers before the sandbox creates; a second drop-free call then creates exactly once."""
    fresh_sandbox.add_fault("jsm", "drop", route="/rest/servicedeskapi/customer", count=1)

    customer = jsm.create_customer("dropped@example.com", "Dropped")

    assert jsm.http.calls[CREATE] == 2
    same = [
        u for u in fresh_sandbox.records("jira", "users") if u.get("emailAddress") == "dropped@example.com"
    ]
    assert [u["accountId"] for u in same] == [customer.account_id]


def test_rejected_credentials_stop_with_an_authentication_error(fresh_sandbox, jsm):
    fresh_sandbox.add_fault("jsm", "expire_tokens", route="/rest/servicedeskapi", count=1)

    with pytest.raises(AuthenticationError, match="Check the credentials"):
        list(jsm.service_desks())


def test_no_secret_in_logs_or_errors_of_a_failing_run(fresh_sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    credentials = fresh_sandbox.credentials["jsm"]
    fresh_sandbox.add_fault("jsm", "error", route="/rest/servicedeskapi", status=503)
    failing = connect(fresh_sandbox, retry=RetryPolicy(max_attempts=3))
    wrong = JsmConnector.with_api_token(
        fresh_sandbox.url("/jira"), "intruder@example.com", "wrong-jsm-token-24680", clock=VirtualClock()
    )

    errors: list[ApiError] = []
    for attempt in (
        lambda: list(failing.customers("1")),
        lambda: wrong.create_customer("x@example.com", "X"),
    ):
        with pytest.raises(ApiError) as raised:
            attempt()
        errors.append(raised.value)
        logging.getLogger("jirasync.connectors.http").exception("sync failed")
        fresh_sandbox.clear_faults()

    assert [type(e).__name__ for e in errors] == ["ServerError", "AuthenticationError"]
    basic = base64.b64encode(f"{credentials['email']}:{credentials['api_token']}".encode()).decode()
    texts = [caplog.text, *map(str, errors)]
    for secret in (credentials["api_token"], basic, "wrong-jsm-token-24680"):
        assert all(secret not in text for text in texts)
