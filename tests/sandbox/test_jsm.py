"""The emulated JSM endpoints answer as the JSM OpenAPI document says, quirks included."""

from __future__ import annotations

import httpx
import pytest
from tests import openapi

from sandbox.testing import RunningSandbox

OPT_IN = {"X-ExperimentalApi": "opt-in"}


def assert_matches_spec(path: str, method: str, response: httpx.Response) -> None:
    """Validate the body against the operation's response schema in the JSM document."""
    openapi.assert_matches_spec(
        response.json(), "jira-service-management.json", path, method, response.status_code
    )


@pytest.fixture
def jsm(fresh_sandbox: RunningSandbox) -> httpx.Client:
    credentials = fresh_sandbox.credentials["jsm"]
    return httpx.Client(
        base_url=fresh_sandbox.url("/jira"), auth=(credentials["email"], credentials["api_token"]), timeout=30
    )


def test_create_customer_matches_spec_and_is_a_jira_customer_user(jsm, fresh_sandbox):
    response = jsm.post(
        "/rest/servicedeskapi/customer", json={"email": "fred@example.com", "displayName": "Fred"}
    )

    assert response.status_code == 201
    assert_matches_spec("/rest/servicedeskapi/customer", "post", response)
    account_id = response.json()["accountId"]
    user = fresh_sandbox.record("jira", "users", account_id)
    assert (user["accountType"], user["emailAddress"]) == ("customer", "fred@example.com")


@pytest.mark.parametrize(("strict", "status"), [("true", 409), ("false", 400), (None, 400)])
def test_duplicate_customer_is_409_only_when_strict(jsm, strict, status):
    jsm.post("/rest/servicedeskapi/customer", json={"email": "dup@example.com", "displayName": "Dup"})
    params = {"strictConflictStatusCode": strict} if strict else {}

    response = jsm.post(
        "/rest/servicedeskapi/customer",
        params=params,
        json={"email": "DUP@example.com", "displayName": "Dup"},
    )

    assert response.status_code == status
    assert set(response.json()) == {"errorMessage", "i18nErrorMessage"}


def test_customer_with_a_malformed_email_is_400_in_the_jsm_form(jsm):
    response = jsm.post("/rest/servicedeskapi/customer", json={"email": "not-an-email"})

    assert response.status_code == 400
    assert "not-an-email" in response.json()["errorMessage"]


def test_desk_customers_need_the_experimental_opt_in(jsm):
    response = jsm.get("/rest/servicedeskapi/servicedesk/1/customer")

    assert response.status_code == 412
    body = response.json()
    assert "X-ExperimentalApi" in body["errorMessage"]
    assert body["i18nErrorMessage"]["i18nKey"] == "sd.api.experimental.optin.required"


def test_desk_customers_page_with_start_limit_to_the_last_page(jsm, fresh_sandbox):
    desk = fresh_sandbox.records("jsm", "desk_customers")[0]
    seen: list[str] = []
    start, pages = 0, 0
    while True:
        response = jsm.get(
            "/rest/servicedeskapi/servicedesk/1/customer", params={"start": start, "limit": 7}, headers=OPT_IN
        )
        assert_matches_spec("/rest/servicedeskapi/servicedesk/{serviceDeskId}/customer", "get", response)
        page = response.json()
        pages += 1
        seen += [u["accountId"] for u in page["values"]]
        assert ("next" in page["_links"]) is not page["isLastPage"]
        if page["isLastPage"]:
            break
        start += page["size"]

    assert seen == desk["accountIds"]
    assert pages == -(-len(seen) // 7)


def test_desk_customers_limit_is_capped_at_50(jsm, fresh_sandbox):
    page = jsm.get(
        "/rest/servicedeskapi/servicedesk/1/customer", params={"limit": 500}, headers=OPT_IN
    ).json()

    assert page["limit"] == 50


def test_desk_is_found_by_project_key_and_unknown_desk_is_404(jsm):
    by_key = jsm.get("/rest/servicedeskapi/servicedesk/SUP/customer", params={"limit": 1}, headers=OPT_IN)
    unknown = jsm.get("/rest/servicedeskapi/servicedesk/999/customer", headers=OPT_IN)

    assert by_key.status_code == 200
    assert unknown.status_code == 404
    assert "999" in unknown.json()["errorMessage"]


def test_adding_customers_is_204_even_for_members_and_400_naming_unknown_accounts(jsm, fresh_sandbox):
    created = jsm.post("/rest/servicedeskapi/customer", json={"email": "new@example.com", "displayName": "N"})
    account_id = created.json()["accountId"]
    path = "/rest/servicedeskapi/servicedesk/1/customer"

    first = jsm.post(path, json={"accountIds": [account_id]})
    again = jsm.post(path, json={"accountIds": [account_id]})
    unknown = jsm.post(path, json={"accountIds": ["qm:nobody"]})

    assert (first.status_code, again.status_code, unknown.status_code) == (204, 204, 400)
    assert "qm:nobody" in unknown.json()["errorMessage"]
    assert fresh_sandbox.record("jsm", "desk_customers", "1")["accountIds"].count(account_id) == 1


def test_service_desks_match_spec(jsm):
    response = jsm.get("/rest/servicedeskapi/servicedesk")

    assert_matches_spec("/rest/servicedeskapi/servicedesk", "get", response)
    assert [d["projectKey"] for d in response.json()["values"]] == ["SUP"]


def test_assets_workspace_discovery_matches_spec_and_names_the_assets_workspace(jsm, fresh_sandbox):
    response = jsm.get("/rest/servicedeskapi/assets/workspace")

    assert_matches_spec("/rest/servicedeskapi/assets/workspace", "get", response)
    workspace = fresh_sandbox.records("assets", "workspace")[0]["workspaceId"]
    assert response.json()["values"] == [{"workspaceId": workspace}]


def test_unauthenticated_call_is_401_in_the_jsm_form(fresh_sandbox):
    response = httpx.get(fresh_sandbox.url("/jira") + "/rest/servicedeskapi/servicedesk")

    assert response.status_code == 401
    assert set(response.json()) == {"errorMessage", "i18nErrorMessage"}


def test_jsm_answers_on_the_real_site_host(fresh_sandbox):
    credentials = fresh_sandbox.credentials["jsm"]
    response = httpx.get(
        fresh_sandbox.base_url + "/rest/servicedeskapi/servicedesk",
        headers={"Host": fresh_sandbox.config.jira_host},
        auth=(credentials["email"], credentials["api_token"]),
    )

    assert response.status_code == 200
    assert response.json()["_links"]["base"].startswith(f"http://{fresh_sandbox.config.jira_host}")
