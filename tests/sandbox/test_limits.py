"""Vendor rate limits set through /_sandbox/limits: driven with plain concurrent HTTP, and a
jirasync connector that gets through a limited Jira with the answers it gets from an open one."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests
from tests.sandbox.test_salesforce_sandbox import oauth_token
from tests.sandbox.test_zoho_openapi import zoho_client

from jirasync.connectors.jira import JiraConnector
from jirasync.connectors.query_literals import soql_string
from jirasync.connectors.salesforce import SalesforceConnector, password_login
from jirasync.connectors.zoho import ZohoAuth, ZohoCrmConnector
from sandbox.testing import RunningSandbox


def _all_at_once(call: Callable[[], requests.Response], times: int) -> list[requests.Response]:
    """``times`` calls released together, so they are in flight at once."""
    start = threading.Barrier(times)

    def released() -> requests.Response:
        start.wait()
        return call()

    with ThreadPoolExecutor(times) as pool:
        return list(pool.map(lambda _: released(), range(times)))


def _jira_get(sandbox: RunningSandbox, path: str) -> requests.Response:
    credentials = sandbox.credentials["jira"]
    return requests.get(
        sandbox.url("/jira") + path, auth=(credentials["email"], credentials["api_token"]), timeout=60
    )


def _assert_waits_out_the_limit(
    sandbox: RunningSandbox,
    vendor: str,
    search_all: Callable[[], list[list[str]]],
    *,
    refused: int,
    answered: int,
    **limit: float,
) -> list[list[str]]:
    """``search_all`` gets the same answers with ``limit`` on ``vendor`` as from an open sandbox:
    the vendor refused some requests (its ``refused`` status) and answered ``answered`` with 200.
    The answers."""
    open_answers = search_all()
    sandbox.clear_counters()
    sandbox.limit(vendor, **limit)
    limited_answers = search_all()
    log = requests.get(sandbox.base_url + "/_sandbox/log", timeout=30).json()
    statuses = [entry["status"] for entry in log if entry["vendor"] == vendor]
    assert limited_answers == open_answers
    assert refused in statuses  # over the limit, and the connector waited it out
    assert statuses.count(200) == answered
    return open_answers


def test_no_limit_is_set_until_one_is_asked_for(fresh_sandbox: RunningSandbox) -> None:
    assert requests.get(fresh_sandbox.base_url + "/_sandbox/limits", timeout=30).json() == {}


def test_jira_over_its_per_second_limit_gets_429_with_retry_after_and_its_rate_limit_headers(
    fresh_sandbox: RunningSandbox,
) -> None:
    fresh_sandbox.limit("jira", per_second=0.01)  # one request, then the next one in 100 s

    answers = _all_at_once(lambda: _jira_get(fresh_sandbox, "/rest/api/3/myself"), 6)

    assert sorted(a.status_code for a in answers) == [200, 429, 429, 429, 429, 429]
    refused = next(a for a in answers if a.status_code == 429)
    assert 90 <= int(refused.headers["Retry-After"]) <= 100
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["RateLimit-Reason"] == "jira-burst-based"
    assert refused.json() == {"errorMessages": ["Rate limit exceeded."], "errors": {}}


def test_a_reset_lifts_every_limit(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.limit("jira", per_second=0.01)
    _jira_get(fresh_sandbox, "/rest/api/3/myself")

    fresh_sandbox.reset()

    assert _jira_get(fresh_sandbox, "/rest/api/3/myself").status_code == 200


def test_zoho_over_its_concurrency_limit_gets_its_too_many_requests_body(
    fresh_sandbox: RunningSandbox,
) -> None:
    fresh_sandbox.limit("zoho", concurrent=2)
    fresh_sandbox.add_fault("zoho", "latency", latency_ms=3000, route="/crm/v8/Leads")
    with zoho_client(fresh_sandbox) as zoho:
        answers = _all_at_once(lambda: zoho.get("/crm/v8/Leads", params={"fields": "Last_Name"}), 5)
        fresh_sandbox.clear_faults()
        after = zoho.get("/crm/v8/Leads", params={"fields": "Last_Name"})

    assert sorted(a.status_code for a in answers) == [200, 200, 429, 429, 429]
    assert next(a for a in answers if a.status_code == 429).json()["code"] == "TOO_MANY_REQUESTS"
    assert after.status_code == 200  # the slots are free again


def test_salesforce_over_its_concurrent_limit_gets_request_limit_exceeded(
    fresh_sandbox: RunningSandbox,
) -> None:
    token = oauth_token(fresh_sandbox).json()["access_token"]
    fresh_sandbox.limit("salesforce", concurrent=1)
    fresh_sandbox.add_fault("salesforce", "latency", latency_ms=3000, route="/services/data/v59.0/limits")

    answers = _all_at_once(
        lambda: requests.get(
            fresh_sandbox.url("/salesforce") + "/services/data/v59.0/limits",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        ),
        3,
    )

    assert sorted(a.status_code for a in answers) == [200, 403, 403]
    refused = next(a for a in answers if a.status_code == 403)
    assert refused.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_the_jira_connector_gets_the_same_answers_through_a_limited_sandbox(
    fresh_sandbox: RunningSandbox,
) -> None:
    credentials = fresh_sandbox.credentials["jira"]
    emails = [u["emailAddress"] for u in fresh_sandbox.records("jira", "users") if u.get("emailAddress")][:40]

    def search_all() -> list[list[str]]:
        jira = JiraConnector.with_api_token(
            fresh_sandbox.url("/jira"), credentials["email"], credentials["api_token"]
        )
        with ThreadPoolExecutor(8) as pool:
            found = list(pool.map(lambda e: [u.account_id for u in jira.search_users(query=e)], emails))
        jira.close()
        return found

    _assert_waits_out_the_limit(
        fresh_sandbox, "jira", search_all, refused=429, answered=len(emails), per_second=10
    )


def test_the_zoho_connector_gets_the_same_answers_through_its_concurrency_limit(
    fresh_sandbox: RunningSandbox,
) -> None:
    emails = [c["Email"] for c in fresh_sandbox.records("zoho", "Contacts") if c.get("Email")][:24]
    fresh_sandbox.add_fault("zoho", "latency", latency_ms=200, route="/crm/v8/Contacts/search")

    def search_all() -> list[list[str]]:
        values = fresh_sandbox.credentials["zoho"]
        auth = ZohoAuth(
            fresh_sandbox.url("/zoho-accounts"),
            values["client_id"],
            values["client_secret"],
            values["refresh_token"],
        )
        zoho = ZohoCrmConnector(auth)
        with ThreadPoolExecutor(8) as pool:
            found = list(
                pool.map(lambda e: [r["id"] for r in zoho.search("Contacts", f"(Email:equals:{e})")], emails)
            )
        zoho.close()
        return found

    answers = _assert_waits_out_the_limit(
        fresh_sandbox, "zoho", search_all, refused=429, answered=len(emails), concurrent=2
    )
    assert all(answers)


def test_the_salesforce_connector_waits_out_its_concurrent_limit_and_gets_the_same_answers(
    fresh_sandbox: RunningSandbox,
) -> None:
    """Salesforce refuses requests over its concurrent limit with the same 403 as a spent daily
    allowance; unlike that one, it is backed off and retried, and every query gets its answer."""
    emails = [c["Email"] for c in fresh_sandbox.records("salesforce", "Contact") if c.get("Email")][:12]
    fresh_sandbox.add_fault("salesforce", "latency", latency_ms=200, route="/services/data/v59.0/query")

    def search_all() -> list[list[str]]:
        values = fresh_sandbox.credentials["salesforce"]
        login = password_login(values["username"], values["password"], values["security_token"])
        salesforce = SalesforceConnector(login, redirect_to=fresh_sandbox.base_url)
        salesforce.limits()  # log in before the queries start together

        def ids(email: str) -> list[str]:
            soql = f"SELECT Id FROM Contact WHERE Email = {soql_string(email)}"
            return [record["Id"] for record in salesforce.query(soql)]

        with ThreadPoolExecutor(6) as pool:
            found = list(pool.map(ids, emails))
        salesforce.close()
        return found

    # 200s: each query, the login and the limits read
    answers = _assert_waits_out_the_limit(
        fresh_sandbox, "salesforce", search_all, refused=403, answered=len(emails) + 2, concurrent=2
    )
    assert all(answers)
