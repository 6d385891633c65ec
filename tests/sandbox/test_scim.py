"""The sandbox's SCIM 2.0 server answers as RFC 7644 says, with a server's own limits."""

from __future__ import annotations

import httpx

from sandbox.testing import RunningSandbox

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def test_bearer_auth_is_required_and_the_error_status_is_a_string(fresh_sandbox: RunningSandbox) -> None:
    answer = httpx.get(f"{fresh_sandbox.url('/scim')}/v2/Users", headers={"Authorization": "Bearer wrong"})
    assert answer.status_code == 401
    assert answer.json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "401",
        "detail": "Authorization failure: the bearer token is missing or invalid.",
    }


def test_paging_is_one_based_and_count_is_capped_at_100(
    scim: httpx.Client, fresh_sandbox: RunningSandbox
) -> None:
    total = len(fresh_sandbox.records("scim", "users"))
    first = scim.get("/Users", params={"startIndex": "1", "count": "500"}).json()
    assert first["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert (first["totalResults"], first["startIndex"], first["itemsPerPage"]) == (total, 1, 100)
    second = scim.get("/Users", params={"startIndex": "2", "count": "2"}).json()
    assert [u["id"] for u in second["Resources"]] == [u["id"] for u in first["Resources"][1:3]]
    beyond = scim.get("/Users", params={"startIndex": str(total + 1)}).json()
    assert (beyond["totalResults"], beyond["itemsPerPage"], beyond["Resources"]) == (total, 0, [])


def test_the_user_carries_the_enterprise_extension_and_meta(
    scim: httpx.Client, fresh_sandbox: RunningSandbox
) -> None:
    user = scim.get("/Users", params={"count": "1"}).json()["Resources"][0]
    assert {"employeeNumber", "department"} <= user[ENTERPRISE].keys()
    assert user["meta"]["location"] == f"{fresh_sandbox.url('/scim')}/v2/Users/{user['id']}"
    assert user["meta"]["version"].startswith('W/"')
    assert scim.get(f"/Users/{user['id']}").json() == user


def test_a_managed_user_names_the_manager_by_id(scim: httpx.Client) -> None:
    users = scim.get("/Users", params={"count": "100"}).json()["Resources"]
    ids = {u["id"] for u in users}
    managed = [u for u in users if "manager" in u[ENTERPRISE]]
    assert managed and all(u[ENTERPRISE]["manager"]["value"] in ids for u in managed)


def test_filter_with_value_path_and_or(scim: httpx.Client) -> None:
    users = scim.get("/Users", params={"count": "3"}).json()["Resources"]
    emails = [u["emails"][0]["value"] for u in users[:2]]
    text = " or ".join(f'emails[type eq "work"].value eq "{e.upper()}"' for e in emails)
    found = scim.get("/Users", params={"filter": text}).json()
    assert found["totalResults"] == 2
    assert {u["id"] for u in found["Resources"]} == {u["id"] for u in users[:2]}


def test_a_bad_filter_is_an_invalid_filter_error(scim: httpx.Client) -> None:
    answer = scim.get("/Users", params={"filter": 'userName eq "x" and'})
    assert answer.status_code == 400
    assert answer.json()["scimType"] == "invalidFilter"
    assert answer.json()["status"] == "400"


def test_attributes_and_excluded_attributes(scim: httpx.Client) -> None:
    only = scim.get("/Users", params={"count": "1", "attributes": f"userName,{ENTERPRISE}:department"}).json()
    assert set(only["Resources"][0]) == {"id", "schemas", "userName", ENTERPRISE}
    assert set(only["Resources"][0][ENTERPRISE]) == {"department"}
    without = scim.get("/Users", params={"count": "1", "excludedAttributes": "emails,phoneNumbers"}).json()
    assert "emails" not in without["Resources"][0] and "userName" in without["Resources"][0]


def test_an_admin_change_moves_last_modified_and_version(
    scim: httpx.Client, fresh_sandbox: RunningSandbox
) -> None:
    before = scim.get("/Users", params={"count": "1"}).json()["Resources"][0]
    assert scim.get(
        "/Users", params={"filter": f'meta.lastModified gt "{before["meta"]["lastModified"]}"'}
    ).json()["totalResults"] < len(fresh_sandbox.records("scim", "users"))
    fresh_sandbox.edit("scim", "users", before["id"], title="Chief Explorer")
    after = scim.get(f"/Users/{before['id']}").json()
    assert after["title"] == "Chief Explorer"
    assert after["meta"]["lastModified"] > before["meta"]["lastModified"]
    assert after["meta"]["version"] != before["meta"]["version"]
    assert after["meta"]["created"] == before["meta"]["created"]
    recent = scim.get("/Users", params={"filter": 'meta.lastModified gt "2026-01-01T00:00:00Z"'}).json()
    assert [u["id"] for u in recent["Resources"]] == [before["id"]]


def test_discovery_says_filtering_is_supported_and_the_cap(scim: httpx.Client) -> None:
    config = scim.get("/ServiceProviderConfig").json()
    assert config["filter"] == {"supported": True, "maxResults": 100}
