"""The sandbox's Entra token endpoint and discovery, and Graph users, answer as Microsoft's do, quirks included."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from sandbox.testing import RunningSandbox

SCOPE = "https://graph.microsoft.com/.default"


def token_form(sandbox: RunningSandbox, **changes: str) -> dict[str, str]:
    credentials = sandbox.credentials["entra"]
    form = {
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
        "grant_type": "client_credentials",
        "scope": SCOPE,
    }
    return {**form, **changes}


def token_url(sandbox: RunningSandbox) -> str:
    return f"{sandbox.url('/entra')}/{sandbox.credentials['entra']['tenant_id']}/oauth2/v2.0/token"


@pytest.fixture
def graph(fresh_sandbox: RunningSandbox) -> httpx.Client:
    token = httpx.post(token_url(fresh_sandbox), data=token_form(fresh_sandbox)).json()["access_token"]
    with httpx.Client(
        base_url=fresh_sandbox.url("/graph"), headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client


def test_client_credentials_give_an_expiring_bearer_token(fresh_sandbox: RunningSandbox) -> None:
    answer = httpx.post(token_url(fresh_sandbox), data=token_form(fresh_sandbox))
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    assert body["access_token"]


def test_a_wrong_secret_gets_the_aad_error_body(fresh_sandbox: RunningSandbox) -> None:
    answer = httpx.post(token_url(fresh_sandbox), data=token_form(fresh_sandbox, client_secret="wrong"))
    assert answer.status_code == 401
    body = answer.json()
    assert body["error"] == "invalid_client"
    assert body["error_codes"] == [7000215]
    assert body["error_description"].startswith("AADSTS7000215:")
    assert {"trace_id", "correlation_id", "timestamp"} <= body.keys()


def test_the_token_endpoint_answers_on_the_real_host_name(fresh_sandbox: RunningSandbox) -> None:
    tenant = fresh_sandbox.credentials["entra"]["tenant_id"]
    answer = httpx.post(
        f"{fresh_sandbox.base_url}/{tenant}/oauth2/v2.0/token",
        data=token_form(fresh_sandbox),
        headers={"Host": "login.microsoftonline.com"},
    )
    assert answer.status_code == 200


AAD_ERROR_KEYS = {"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id"}


def at_real_host(sandbox: RunningSandbox, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """Ask a URL the sandbox gave at a real host name: the sandbox's address, the name in the Host header."""
    parts = urlsplit(url)
    address = parts._replace(netloc=urlsplit(sandbox.base_url).netloc).geturl()
    return httpx.request(method, address, headers={"Host": parts.netloc}, **kwargs)


def test_msal_discovery_then_token_at_the_real_host_name(fresh_sandbox: RunningSandbox) -> None:
    """What MSAL and azure-identity ask login.microsoftonline.com, in order, and a token Graph takes."""
    login = {"Host": "login.microsoftonline.com"}
    authority = "https://login.microsoftonline.com/northwind.example"
    instance = httpx.get(
        f"{fresh_sandbox.base_url}/common/discovery/instance",
        params={"api-version": "1.1", "authorization_endpoint": f"{authority}/oauth2/v2.0/authorize"},
        headers=login,
    )
    assert instance.status_code == 200
    assert instance.json()["tenant_discovery_endpoint"] == (
        "http://login.microsoftonline.com/northwind.example/v2.0/.well-known/openid-configuration"
    )
    assert "login.microsoftonline.com" in instance.json()["metadata"][0]["aliases"]

    configuration = at_real_host(fresh_sandbox, "GET", instance.json()["tenant_discovery_endpoint"]).json()
    tenant = fresh_sandbox.credentials["entra"]["tenant_id"]
    assert configuration["issuer"] == f"http://login.microsoftonline.com/{tenant}/v2.0"
    assert configuration["token_endpoint"] == f"http://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
    assert configuration["authorization_endpoint"].endswith(f"/{tenant}/oauth2/v2.0/authorize")
    keys = at_real_host(fresh_sandbox, "GET", configuration["jwks_uri"])
    assert keys.status_code == 200 and keys.json() == {"keys": []}

    answer = at_real_host(
        fresh_sandbox, "POST", configuration["token_endpoint"], data=token_form(fresh_sandbox)
    )
    token = answer.json()["access_token"]
    users = httpx.get(
        f"{fresh_sandbox.base_url}/v1.0//users",
        headers={"Host": "graph.microsoft.com", "Authorization": f"Bearer {token}"},
    )
    assert users.status_code == 200 and users.json()["value"]


def test_msal_discovery_then_token_at_the_sandbox_prefix_with_http_basic(
    fresh_sandbox: RunningSandbox,
) -> None:
    """A client configured with the sandbox's URL as its authority (MSAL Python sends api-version 1.0)
    follows answers that stay at that URL, and may send its secret as client_secret_basic."""
    entra = fresh_sandbox.url("/entra")
    tenant = fresh_sandbox.credentials["entra"]["tenant_id"]
    instance = httpx.get(
        f"{entra}/common/discovery/instance",
        params={"api-version": "1.0", "authorization_endpoint": f"{entra}/{tenant}/oauth2/v2.0/authorize"},
    ).json()
    assert instance["tenant_discovery_endpoint"] == f"{entra}/{tenant}/v2.0/.well-known/openid-configuration"
    assert any("127.0.0.1" in cloud["aliases"] for cloud in instance["metadata"])
    configuration = httpx.get(instance["tenant_discovery_endpoint"]).json()
    assert configuration["token_endpoint"] == f"{entra}/{tenant}/oauth2/v2.0/token"
    credentials = fresh_sandbox.credentials["entra"]
    answer = httpx.post(
        configuration["token_endpoint"],
        data={"grant_type": "client_credentials", "scope": SCOPE},
        auth=(credentials["client_id"], credentials["client_secret"]),
    )
    assert answer.status_code == 200 and answer.json()["access_token"]


def test_the_openid_configuration_names_the_tenant_as_microsoft_does(fresh_sandbox: RunningSandbox) -> None:
    entra = fresh_sandbox.url("/entra")
    tenant = fresh_sandbox.credentials["entra"]["tenant_id"]
    by_domain = httpx.get(f"{entra}/northwind.example/v2.0/.well-known/openid-configuration").json()
    assert by_domain["issuer"] == f"{entra}/{tenant}/v2.0"  # a domain comes back as the tenant's id
    assert by_domain["jwks_uri"] == f"{entra}/{tenant}/discovery/v2.0/keys"
    common = httpx.get(f"{entra}/common/v2.0/.well-known/openid-configuration").json()
    assert common["issuer"] == f"{entra}/{{tenantid}}/v2.0"
    assert common["token_endpoint"] == f"{entra}/common/oauth2/v2.0/token"
    unknown = httpx.get(f"{entra}/contoso.example/v2.0/.well-known/openid-configuration")
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "invalid_tenant" and unknown.json()["error_codes"] == [90002]
    assert unknown.json().keys() >= AAD_ERROR_KEYS


def test_instance_discovery_refuses_an_authority_of_another_cloud(fresh_sandbox: RunningSandbox) -> None:
    discovery = f"{fresh_sandbox.url('/entra')}/common/discovery/instance"
    other = httpx.get(
        discovery,
        params={
            "api-version": "1.1",
            "authorization_endpoint": "https://login.example.org/t/oauth2/v2.0/authorize",
        },
    )
    assert other.status_code == 400
    assert other.json()["error"] == "invalid_instance" and other.json()["error_codes"] == [50049]
    assert httpx.get(discovery, params={"api-version": "1.1"}).json()["error"] == "invalid_request"


def test_every_entra_error_comes_in_aads_body(fresh_sandbox: RunningSandbox) -> None:
    entra = fresh_sandbox.url("/entra")
    tenant = fresh_sandbox.credentials["entra"]["tenant_id"]
    credentials = fresh_sandbox.credentials["entra"]
    answers = {
        "unserved path": (httpx.get(f"{entra}/{tenant}/oauth2/v2.0/nowhere"), 404, "invalid_request", []),
        "wrong method": (httpx.get(token_url(fresh_sandbox)), 405, "invalid_request", []),
        "JSON, not a form": (
            httpx.post(token_url(fresh_sandbox), json=token_form(fresh_sandbox)),
            400,
            "invalid_request",
            [900144],
        ),
        "no secret": (
            httpx.post(
                token_url(fresh_sandbox),
                data={
                    "client_id": credentials["client_id"],
                    "grant_type": "client_credentials",
                    "scope": SCOPE,
                },
            ),
            401,
            "invalid_client",
            [7000218],
        ),
    }
    for case, (answer, status, error, codes) in answers.items():
        assert answer.status_code == status, case
        body = answer.json()
        assert body.keys() >= AAD_ERROR_KEYS, case
        assert (body["error"], body["error_codes"]) == (error, codes), case
    assert "'grant_type'" in answers["JSON, not a form"][0].json()["error_description"]


def test_graph_refuses_requests_without_a_token(fresh_sandbox: RunningSandbox) -> None:
    answer = httpx.get(f"{fresh_sandbox.url('/graph')}/v1.0/users")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_without_select_only_the_default_properties_come(graph: httpx.Client) -> None:
    user = graph.get("/v1.0/users", params={"$top": "1"}).json()["value"][0]
    assert "department" not in user and "accountEnabled" not in user and "employeeId" not in user
    assert {"id", "displayName", "mail", "userPrincipalName", "jobTitle"} <= user.keys()


def test_select_gives_exactly_the_selected_properties_and_id(graph: httpx.Client) -> None:
    user = graph.get("/v1.0/users", params={"$select": "mail,department", "$top": "1"}).json()["value"][0]
    assert set(user) == {"id", "mail", "department"}


def test_top_above_999_is_refused_as_graph_does(graph: httpx.Client) -> None:
    answer = graph.get("/v1.0/users", params={"$top": "1000"})
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == (
        "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."
    )
    assert graph.get("/v1.0/users", params={"$top": "999"}).status_code == 200


def test_the_default_page_is_100_and_next_links_walk_every_user(
    graph: httpx.Client, fresh_sandbox: RunningSandbox
) -> None:
    first = graph.get("/v1.0/users").json()
    assert len(first["value"]) == 100
    seen = [u["id"] for u in first["value"]]
    page = first
    while "@odata.nextLink" in page:
        assert page["@odata.nextLink"].startswith(fresh_sandbox.url("/graph") + "/v1.0/users?")
        page = graph.get(page["@odata.nextLink"]).json()
        seen += [u["id"] for u in page["value"]]
    assert len(seen) == len(set(seen)) == len(fresh_sandbox.records("graph", "users"))


def test_expanding_the_manager_caps_pages_at_100(graph: httpx.Client) -> None:
    page = graph.get("/v1.0/users", params={"$top": "999", "$expand": "manager"}).json()
    assert len(page["value"]) == 100
    assert "@odata.nextLink" in page
    managed = [u for u in page["value"] if "manager" in u]
    assert managed and all(m["manager"]["id"] for m in managed)


def test_filter_on_a_few_properties(graph: httpx.Client) -> None:
    users = graph.get("/v1.0/users", params={"$top": "999", "$select": "department,accountEnabled"}).json()[
        "value"
    ]
    expected = {u["id"] for u in users if u["department"] == "Support" and u["accountEnabled"]}
    answer = graph.get(
        "/v1.0/users", params={"$top": "999", "$filter": "department eq 'support' and accountEnabled eq true"}
    )
    assert {u["id"] for u in answer.json()["value"]} == expected
    refused = graph.get("/v1.0/users", params={"$filter": "officeLocation eq 'Tokyo'"})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "Request_UnsupportedQuery"


def test_one_user_by_id_or_user_principal_name_and_the_not_found_envelope(graph: httpx.Client) -> None:
    user = graph.get("/v1.0/users", params={"$top": "1"}).json()["value"][0]
    assert graph.get(f"/v1.0/users/{user['id']}").json()["id"] == user["id"]
    assert graph.get(f"/v1.0/users/{user['userPrincipalName'].upper()}").json()["id"] == user["id"]
    missing = graph.get("/v1.0/users/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "Request_ResourceNotFound"
    assert {"date", "request-id", "client-request-id"} <= missing.json()["error"]["innerError"].keys()


def walk_delta(
    graph: httpx.Client, first: str, params: dict[str, str] | None = None
) -> tuple[list[Any], str]:
    page = graph.get(first, params=params).json()
    entries = list(page["value"])
    while "@odata.nextLink" in page:
        assert "@odata.deltaLink" not in page
        page = graph.get(page["@odata.nextLink"]).json()
        entries += page["value"]
    return entries, page["@odata.deltaLink"]


def test_delta_returns_every_user_then_only_what_changed_with_both_removed_reasons(
    graph: httpx.Client, fresh_sandbox: RunningSandbox
) -> None:
    everyone, delta_link = walk_delta(graph, "/v1.0/users/delta", {"$select": "mail,department"})
    assert len(everyone) == len(fresh_sandbox.records("graph", "users"))
    assert delta_link.startswith(fresh_sandbox.url("/graph") + "/v1.0/users/delta?$deltatoken=")
    changed, soft_deleted, purged = (u["id"] for u in everyone[:3])
    fresh_sandbox.edit("graph", "users", changed, department="Legal")
    fresh_sandbox.mutate("graph", "delete_user", id=soft_deleted)
    fresh_sandbox.mutate("graph", "purge_user", id=purged)

    changes, next_link = walk_delta(graph, delta_link)

    by_id = {entry["id"]: entry for entry in changes}
    assert set(by_id) == {changed, soft_deleted, purged}
    assert by_id[changed] == {"id": changed, "mail": everyone[0]["mail"], "department": "Legal"}
    assert by_id[soft_deleted]["@removed"] == {"reason": "changed"}
    assert by_id[purged]["@removed"] == {"reason": "deleted"}
    assert walk_delta(graph, next_link)[0] == []  # nothing changed since


def test_a_restored_user_comes_back_in_the_delta(graph: httpx.Client, fresh_sandbox: RunningSandbox) -> None:
    everyone, delta_link = walk_delta(graph, "/v1.0/users/delta", {"$select": "mail"})
    fresh_sandbox.mutate("graph", "delete_user", id=everyone[0]["id"])
    _, delta_link = walk_delta(graph, delta_link)
    fresh_sandbox.mutate("graph", "restore_user", id=everyone[0]["id"])
    assert walk_delta(graph, delta_link)[0] == [everyone[0]]


def test_delta_pages_follow_the_prefer_max_page_size(graph: httpx.Client) -> None:
    answer = graph.get("/v1.0/users/delta", headers={"Prefer": "odata.maxpagesize=999"})
    assert answer.headers["Preference-Applied"] == "odata.maxpagesize=999"
    assert "@odata.deltaLink" in answer.json()  # the whole small world fits one page


def test_an_expired_delta_link_answers_410_sync_state_not_found(
    graph: httpx.Client, fresh_sandbox: RunningSandbox
) -> None:
    _, delta_link = walk_delta(graph, "/v1.0/users/delta")
    fresh_sandbox.mutate("graph", "expire_delta_links")
    answer = graph.get(delta_link)
    assert answer.status_code == 410
    assert answer.json()["error"]["code"] == "SyncStateNotFound"
    unknown = graph.get("/v1.0/users/delta", params={"$deltatoken": "not-a-token"})
    assert unknown.status_code == 400


def test_throttling_answers_429_with_retry_after(graph: httpx.Client, fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.add_fault("graph", "rate_limit", retry_after=7, count=1)
    answer = graph.get("/v1.0/users")
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "7"
    assert answer.json()["error"]["code"] == "TooManyRequests"


def test_links_point_back_at_the_real_host_when_asked_there(fresh_sandbox: RunningSandbox) -> None:
    tenant = fresh_sandbox.credentials["entra"]["tenant_id"]
    token = httpx.post(
        f"{fresh_sandbox.base_url}/{tenant}/oauth2/v2.0/token",
        data=token_form(fresh_sandbox),
        headers={"Host": "login.microsoftonline.com"},
    ).json()["access_token"]
    headers = {"Host": "graph.microsoft.com", "Authorization": f"Bearer {token}"}
    page = httpx.get(f"{fresh_sandbox.base_url}/v1.0/users", headers=headers).json()
    assert page["@odata.nextLink"].startswith("http://graph.microsoft.com/v1.0/users?")
    assert (
        httpx.get(f"{fresh_sandbox.base_url}/v1.0//users/", headers=headers).json()["value"] == page["value"]
    )
    delta = httpx.get(f"{fresh_sandbox.base_url}/v1.0//users/delta()", headers=headers).json()
    assert delta["@odata.nextLink"].startswith("http://graph.microsoft.com/v1.0/users/delta?")
    unserved = httpx.get(f"{fresh_sandbox.base_url}/v1.0/me/", headers=headers)
    assert_graph_error(unserved, 400, "BadRequest", "Resource not found for the segment 'me'.")


def test_a_doubled_slash_after_the_version_and_a_trailing_slash_are_read_as_graph_reads_them(
    graph: httpx.Client,
) -> None:
    plain = graph.get("/v1.0/users", params={"$top": "3"}).json()["value"]
    assert graph.get("/v1.0//users", params={"$top": "3"}).json()["value"] == plain
    assert graph.get("/v1.0/users/", params={"$top": "3"}).json()["value"] == plain
    assert graph.get(f"/v1.0//users/{plain[0]['id']}/").json()["id"] == plain[0]["id"]


def test_the_delta_function_form_walks_the_same_round_as_delta(
    graph: httpx.Client, fresh_sandbox: RunningSandbox
) -> None:
    everyone, delta_link = walk_delta(graph, "/v1.0/users/delta()", {"$select": "department"})
    assert everyone == walk_delta(graph, "/v1.0/users/delta", {"$select": "department"})[0]
    assert len(everyone) == len(fresh_sandbox.records("graph", "users"))
    fresh_sandbox.edit("graph", "users", everyone[0]["id"], department="Legal")
    assert walk_delta(graph, delta_link)[0] == [{"id": everyone[0]["id"], "department": "Legal"}]


def test_a_users_manager_comes_as_a_typed_directory_object_honouring_select(
    graph: httpx.Client, fresh_sandbox: RunningSandbox
) -> None:
    users = {u["id"]: u for u in fresh_sandbox.records("graph", "users")}
    managed = next(u for u in users.values() if u["manager"])
    manager = users[managed["manager"]]

    whole = graph.get(f"/v1.0/users/{managed['id']}/manager").json()
    assert whole["@odata.context"].endswith("/v1.0/$metadata#directoryObjects/$entity")
    assert whole["@odata.type"] == "#microsoft.graph.user"
    assert whole["id"] == manager["id"] and whole["mail"] == manager["mail"]
    assert "department" not in whole  # the default properties, as /users without $select

    chosen = graph.get(
        f"/v1.0/users/{managed['userPrincipalName']}/manager", params={"$select": "displayName,department"}
    ).json()
    assert chosen["@odata.context"].endswith("#directoryObjects(displayName,department)/$entity")
    assert {k: v for k, v in chosen.items() if not k.startswith("@")} == {
        "id": manager["id"],
        "displayName": manager["displayName"],
        "department": manager["department"],
    }


def test_no_manager_or_no_user_answers_404_request_resource_not_found(
    graph: httpx.Client, fresh_sandbox: RunningSandbox
) -> None:
    top = next(u for u in fresh_sandbox.records("graph", "users") if not u["manager"])
    answer = graph.get(f"/v1.0/users/{top['id']}/manager")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "Request_ResourceNotFound"
    assert answer.json()["error"]["message"].startswith("Resource 'manager' does not exist")
    missing = graph.get("/v1.0/users/00000000-0000-0000-0000-000000000000/manager")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "Request_ResourceNotFound"


def assert_graph_error(answer: httpx.Response, status: int, code: str, message: str) -> None:
    assert answer.status_code == status
    body = answer.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"] == message
    assert set(body["error"]["innerError"]) == {"date", "request-id", "client-request-id"}


def test_a_path_graph_does_not_serve_answers_in_graphs_error_body(graph: httpx.Client) -> None:
    user_id = graph.get("/v1.0/users", params={"$top": "1"}).json()["value"][0]["id"]
    assert_graph_error(
        graph.get("/v1.0/groupz"), 400, "BadRequest", "Resource not found for the segment 'groupz'."
    )
    assert_graph_error(
        graph.get(f"/v1.0//users/{user_id}/photos/"),
        400,
        "BadRequest",
        "Resource not found for the segment 'photos'.",
    )
    assert_graph_error(graph.get("/v2.0/users"), 400, "BadRequest", "Invalid version.")


def test_a_method_a_path_does_not_take_answers_405_in_graphs_error_body(graph: httpx.Client) -> None:
    for answer in (graph.delete("/v1.0/users"), graph.put("/v1.0//users/delta()", json={})):
        assert_graph_error(
            answer, 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."
        )
