"""Writes to the sandbox's SCIM server (RFC 7644 §3.3-3.6, §3.14) as provisioning clients send them.

The request sequences are Entra provisioning's and Okta's: look the user up by ``userName``,
create it, PATCH changes (Entra: capitalised ops, ``"False"`` strings, value paths; Okta:
path-less replace), deprovision with ``active: false``, delete.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
from scim2_models import (
    Context,
    Email,
    EnterpriseUser,
    Error,
    Group,
    GroupMember,
    ListResponse,
    PatchOp,
    PatchOperation,
    ResourceType,
    Schema,
    ServiceProviderConfig,
    User,
)

from jirasync.connectors.scim import ScimConnector
from sandbox.testing import RunningSandbox

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def new_user(user_name: str = "ada.lovelace@example.com", **extra: Any) -> dict[str, Any]:
    """The body Entra provisioning POSTs for a new user."""
    return {
        "schemas": [CORE, ENTERPRISE],
        "externalId": "ada",
        "userName": user_name,
        "active": True,
        "displayName": "Ada Lovelace",
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "name": {"formatted": "Ada Lovelace", "familyName": "Lovelace", "givenName": "Ada"},
        ENTERPRISE: {"department": "Analytics"},
        **extra,
    }


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def created(scim: httpx.Client, body: dict[str, Any], endpoint: str = "/Users") -> dict[str, Any]:
    answer = scim.post(endpoint, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def assert_error(answer: httpx.Response, status: int, scim_type: str | None = None) -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type
    assert body["detail"]
    Error.model_validate(body)


def test_entra_creates_a_user_it_did_not_find(scim: httpx.Client) -> None:
    lookup = {"filter": 'userName eq "ada.lovelace@example.com"'}
    assert scim.get("/Users", params=lookup).json()["totalResults"] == 0
    answer = scim.post("/Users", json=new_user(), headers={"Content-Type": "application/scim+json"})
    assert answer.status_code == 201
    assert answer.headers["content-type"].startswith("application/scim+json")
    user = answer.json()
    assert answer.headers["Location"] == user["meta"]["location"]
    assert answer.headers["ETag"] == user["meta"]["version"]
    assert user["meta"]["resourceType"] == "User"
    assert user["meta"]["created"] == user["meta"]["lastModified"]
    assert (user["userName"], user["active"], user[ENTERPRISE]) == (
        "ada.lovelace@example.com",
        True,
        {"department": "Analytics"},
    )
    assert user["schemas"] == [CORE, ENTERPRISE]
    assert scim.get(answer.headers["Location"]).json() == user
    assert [u["id"] for u in scim.get("/Users", params=lookup).json()["Resources"]] == [user["id"]]


def test_a_user_name_taken_in_any_case_is_a_uniqueness_conflict(scim: httpx.Client) -> None:
    first = created(scim, new_user())
    assert_error(scim.post("/Users", json=new_user("ADA.Lovelace@example.com")), 409, "uniqueness")
    other = created(scim, new_user("grace@example.com"))
    renamed = scim.patch(
        f"/Users/{other['id']}", json=patch({"op": "replace", "path": "userName", "value": first["userName"]})
    )
    assert_error(renamed, 409, "uniqueness")
    assert scim.get(f"/Users/{other['id']}").json()["userName"] == "grace@example.com"


def test_entra_patch_operations_with_paths(scim: httpx.Client) -> None:
    user = created(scim, new_user())
    answer = scim.patch(
        f"/Users/{user['id']}",
        json=patch(
            {"op": "Replace", "path": "Name.GivenName", "value": "Augusta Ada"},
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "ada@example.org"},
            {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+44 20 7946 0000"},
            {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Engines"},
            {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "boss-id"},
            {"op": "Replace", "path": "DISPLAYNAME", "value": "Countess of Lovelace"},
            {"op": "Remove", "path": "externalId"},
        ),
    )
    assert answer.status_code == 200, answer.text
    after = answer.json()
    assert after["name"] == {
        "formatted": "Ada Lovelace",
        "familyName": "Lovelace",
        "givenName": "Augusta Ada",
    }
    assert after["emails"] == [{"primary": True, "type": "work", "value": "ada@example.org"}]
    assert after["phoneNumbers"] == [{"type": "mobile", "value": "+44 20 7946 0000"}]
    assert after[ENTERPRISE] == {"department": "Engines", "manager": {"value": "boss-id"}}
    assert after["displayName"] == "Countess of Lovelace"
    assert "externalId" not in after
    assert answer.headers["ETag"] == after["meta"]["version"] != user["meta"]["version"]
    assert scim.get(f"/Users/{user['id']}").json() == after


def test_patch_without_path_and_multi_valued_add_and_remove(scim: httpx.Client) -> None:
    user = created(scim, new_user())
    after = scim.patch(
        f"/Users/{user['id']}",
        json=patch(
            {
                "op": "replace",
                "value": {  # with what the server owns, as clients sending the whole user do
                    "schemas": [CORE],
                    "id": user["id"],
                    "meta": user["meta"],
                    "title": "Analyst",
                    "name.familyName": "King",
                    ENTERPRISE: {"division": "R&D"},
                },
            },
            {"op": "add", "path": "emails", "value": [{"type": "home", "value": "ada@home.example"}]},
            {"op": "add", "path": "emails", "value": [{"type": "home", "value": "ada@home.example"}]},
        ),
    ).json()
    assert (after["title"], after["name"]["familyName"]) == ("Analyst", "King")
    assert after[ENTERPRISE] == {"department": "Analytics", "division": "R&D"}
    assert [e["type"] for e in after["emails"]] == ["work", "home"]
    removed = scim.patch(
        f"/Users/{user['id']}", json=patch({"op": "remove", "path": 'emails[type eq "home"]'})
    ).json()
    assert [e["type"] for e in removed["emails"]] == ["work"]


def test_deprovisioning_with_active_false_as_entra_and_okta_send_it(scim: httpx.Client) -> None:
    entra = created(scim, new_user())
    okta = created(scim, new_user("okta.user@example.com"))
    entra_patch = patch({"op": "Replace", "path": "active", "value": "False"})
    assert scim.patch(f"/Users/{entra['id']}", json=entra_patch).json()["active"] is False
    okta_patch = patch({"op": "replace", "value": {"active": False}})
    assert scim.patch(f"/Users/{okta['id']}", json=okta_patch).json()["active"] is False
    inactive = scim.get("/Users", params={"filter": "active eq false", "attributes": "userName"}).json()
    assert {entra["id"], okta["id"]} <= {u["id"] for u in inactive["Resources"]}
    reactivated = scim.patch(
        f"/Users/{entra['id']}", json=patch({"op": "Replace", "path": "active", "value": "True"})
    )
    assert reactivated.json()["active"] is True


def test_a_body_without_content_type_is_read_as_json(scim: httpx.Client) -> None:
    answer = scim.post("/Users", content=json.dumps(new_user()).encode())
    assert "content-type" not in answer.request.headers
    assert answer.status_code == 201, answer.text


def test_put_replaces_the_whole_user_but_not_what_the_server_owns(scim: httpx.Client) -> None:
    user = created(scim, new_user())
    body = {"schemas": [CORE], "id": "ignored", "userName": "ada.lovelace@example.com", "title": "Analyst"}
    answer = scim.put(f"/Users/{user['id']}", json=body)
    assert answer.status_code == 200, answer.text
    replaced = answer.json()
    assert replaced["id"] == user["id"]
    assert replaced["meta"]["created"] == user["meta"]["created"]
    assert {k: v for k, v in replaced.items() if k != "meta"} == {
        "schemas": [CORE],
        "id": user["id"],
        "userName": "ada.lovelace@example.com",
        "title": "Analyst",
    }
    assert_error(
        scim.put(f"/Users/{user['id']}", json={"schemas": [CORE], "title": "x"}), 400, "invalidValue"
    )


def test_delete_then_the_user_is_gone(scim: httpx.Client) -> None:
    user = created(scim, new_user())
    answer = scim.delete(f"/Users/{user['id']}")
    assert (answer.status_code, answer.content) == (204, b"")
    assert_error(scim.get(f"/Users/{user['id']}"), 404)
    assert_error(scim.delete(f"/Users/{user['id']}"), 404)
    assert_error(
        scim.patch(f"/Users/{user['id']}", json=patch({"op": "replace", "path": "title", "value": "x"})), 404
    )
    assert (
        scim.get("/Users", params={"filter": 'userName eq "ada.lovelace@example.com"'}).json()["totalResults"]
        == 0
    )


def test_etags_are_preconditions(scim: httpx.Client) -> None:
    user = created(scim, new_user())
    url, version = f"/Users/{user['id']}", user["meta"]["version"]
    unchanged = scim.get(url, headers={"If-None-Match": version})
    assert (unchanged.status_code, unchanged.content, unchanged.headers["ETag"]) == (304, b"", version)
    assert scim.get(url, headers={"If-None-Match": 'W/"other"'}).status_code == 200
    change = patch({"op": "replace", "path": "title", "value": "Analyst"})
    changed = scim.patch(url, json=change, headers={"If-Match": version})
    assert changed.status_code == 200
    assert_error(scim.patch(url, json=change, headers={"If-Match": version}), 412)
    assert_error(scim.put(url, json=new_user(), headers={"If-Match": version}), 412)
    assert_error(scim.delete(url, headers={"If-Match": version}), 412)
    assert scim.get(url).json()["title"] == "Analyst"
    assert scim.delete(url, headers={"If-Match": changed.headers["ETag"]}).status_code == 204


def test_search_by_post_answers_as_the_query_string_does(scim: httpx.Client) -> None:
    query = {"filter": 'userName sw "a"', "startIndex": 2, "count": 3}
    by_get = scim.get("/Users", params={**query, "attributes": "userName,emails"}).json()
    body = {"schemas": [SEARCH], **query, "attributes": ["userName", "emails"]}
    by_post = scim.post("/Users/.search", json=body)
    assert by_post.status_code == 200
    assert by_post.json() == by_get
    assert by_get["itemsPerPage"] == 3 and set(by_get["Resources"][0]) == {
        "id",
        "schemas",
        "userName",
        "emails",
    }
    assert_error(scim.post("/Users/.search", json={"filter": "userName pr"}), 400, "invalidSyntax")
    assert_error(
        scim.post("/Users/.search", json={"schemas": [SEARCH], "filter": "userName eq"}), 400, "invalidFilter"
    )


def test_groups_and_their_members(scim: httpx.Client) -> None:
    ada = created(scim, new_user())
    grace = created(scim, new_user("grace@example.com"))
    group = created(
        scim, {"schemas": [GROUP], "displayName": "Engineers", "members": [{"value": ada["id"]}]}, "/Groups"
    )
    assert group["meta"]["location"].endswith(f"/Groups/{group['id']}")
    assert group["members"] == [{"value": ada["id"], "display": "Ada Lovelace", "type": "User"}]
    url = f"/Groups/{group['id']}"
    entra_add = patch(
        {"op": "Add", "path": "members", "value": [{"value": grace["id"]}, {"value": ada["id"]}]}
    )
    assert [m["value"] for m in scim.patch(url, json=entra_add).json()["members"]] == [ada["id"], grace["id"]]
    member_filter = f'id eq "{group["id"]}" and members[value eq "{grace["id"]}"]'
    assert scim.get("/Groups", params={"filter": member_filter}).json()["totalResults"] == 1
    okta_remove = patch({"op": "remove", "path": f'members[value eq "{grace["id"]}"]'})
    assert [m["value"] for m in scim.patch(url, json=okta_remove).json()["members"]] == [ada["id"]]
    assert scim.get("/Groups", params={"filter": member_filter}).json()["totalResults"] == 0
    entra_remove = patch({"op": "Remove", "path": "members", "value": [{"value": ada["id"]}]})
    assert "members" not in scim.patch(url, json=entra_remove).json()
    assert_error(
        scim.patch(url, json=patch({"op": "add", "path": "members", "value": [{"value": "nobody"}]})),
        400,
        "invalidValue",
    )
    scim.patch(url, json=entra_add)
    scim.delete(f"/Users/{grace['id']}")
    assert [m["value"] for m in scim.get(url).json()["members"]] == [ada["id"]]
    assert scim.get(url, params={"excludedAttributes": "members"}).json()["displayName"] == "Engineers"
    assert scim.delete(url).status_code == 204
    assert scim.get("/Groups").json()["totalResults"] == 0


def test_a_member_is_a_user_or_a_group_named_as_it_is_named(scim: httpx.Client) -> None:
    nameless = created(scim, {"schemas": [CORE], "userName": "nameless@example.com"})
    inner = created(scim, {"schemas": [GROUP], "displayName": "Inner"}, "/Groups")
    members = [{"value": nameless["id"]}, {"value": inner["id"]}]
    outer = created(scim, {"schemas": [GROUP], "displayName": "Outer", "members": members}, "/Groups")
    assert outer["members"] == [
        {"value": nameless["id"], "type": "User"},
        {"value": inner["id"], "display": "Inner", "type": "Group"},
    ]


def test_every_error_is_a_scim_error(scim: httpx.Client) -> None:
    user = created(scim, new_user())
    url = f"/Users/{user['id']}"
    assert_error(scim.get("/Nothing"), 404)
    assert_error(scim.delete("/Users"), 405)
    assert_error(scim.post(url, json=new_user()), 405)
    not_json = scim.post("/Users", content=b"{not json", headers={"Content-Type": "application/scim+json"})
    assert_error(not_json, 400, "invalidSyntax")
    assert_error(scim.post("/Users", json=["a list"]), 400, "invalidSyntax")
    assert_error(scim.patch(url, json={"Operations": []}), 400, "invalidSyntax")
    assert_error(scim.patch(url, json=patch({"op": "move", "path": "title"})), 400, "invalidSyntax")
    for operation, scim_type in [
        ({"op": "replace", "path": "nickname.first", "value": "x"}, "invalidPath"),
        ({"op": "replace", "path": "favouriteColour", "value": "x"}, "invalidPath"),
        ({"op": "replace", "path": "urn:example:params:Thing:title", "value": "x"}, "invalidPath"),
        ({"op": "remove"}, "noTarget"),
        ({"op": "replace", "path": 'emails[type eq "home"].value', "value": "x"}, "noTarget"),
        ({"op": "replace", "path": 'emails[type eq "home"', "value": "x"}, "invalidPath"),
        ({"op": "replace", "path": "emails[type zz 1].value", "value": "x"}, "invalidFilter"),
        ({"op": "replace", "path": "active", "value": "maybe"}, "invalidValue"),
        ({"op": "replace", "path": "title"}, "invalidValue"),
        ({"op": "replace", "path": "id", "value": "mine"}, "mutability"),
        ({"op": "remove", "path": "userName"}, "invalidValue"),
    ]:
        assert_error(scim.patch(url, json=patch(operation)), 400, scim_type)
    assert scim.get(url).json() == user  # no failed PATCH changed anything


def test_discovery_describes_what_is_served(scim: httpx.Client) -> None:
    config = scim.get("/ServiceProviderConfig").json()
    assert (config["patch"], config["etag"], config["bulk"]["supported"]) == (
        {"supported": True},
        {"supported": True},
        False,
    )
    types = scim.get("/ResourceTypes").json()["Resources"]
    assert [(t["id"], t["endpoint"], t["schema"]) for t in types] == [
        ("User", "/Users", CORE),
        ("Group", "/Groups", GROUP),
    ]
    for resource_type in types:
        assert scim.get(resource_type["meta"]["location"]).json() == resource_type
        assert scim.get(resource_type["endpoint"]).status_code == 200
        for schema in [resource_type["schema"], *(e["schema"] for e in resource_type["schemaExtensions"])]:
            assert scim.get(f"/Schemas/{schema}").json()["id"] == schema
    assert_error(scim.get("/ResourceTypes/Printer"), 404)
    schemas = {s["id"]: s for s in scim.get("/Schemas").json()["Resources"]}
    assert set(schemas) == {CORE, ENTERPRISE, GROUP}
    user_name = next(a for a in schemas[CORE]["attributes"] if a["name"] == "userName")
    assert (user_name["required"], user_name["uniqueness"]) == (True, "server")


def test_the_scim_connector_sees_api_writes_as_it_sees_admin_changes(
    scim: httpx.Client, fresh_sandbox: RunningSandbox
) -> None:
    connector = ScimConnector(
        f"{fresh_sandbox.url('/scim')}/v2", fresh_sandbox.credentials["scim"]["bearer_token"]
    )
    since = connector.read_users(modified_since=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)).latest_modified
    assert since is None  # nothing changed since the seed
    everyone = {u["id"] for u in connector.read_users().users}

    ada = created(scim, new_user())
    first = connector.read_users(
        ["userName", "active"], modified_since=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    assert [(u["id"], u["active"]) for u in first.users] == [(ada["id"], True)]

    scim.patch(f"/Users/{ada['id']}", json=patch({"op": "Replace", "path": "active", "value": "False"}))
    assert first.latest_modified is not None
    second = connector.read_users(["active"], modified_since=first.latest_modified)
    assert [(u["id"], u["active"]) for u in second.users] == [(ada["id"], False)]
    assert second.latest_modified is not None and second.latest_modified > first.latest_modified

    seeded = next(iter(everyone))
    scim.delete(f"/Users/{seeded}")
    assert {u["id"] for u in connector.read_users().users} == everyone - {seeded} | {ada["id"]}
    assert connector.find_users('userName eq "ADA.LOVELACE@example.com"')[0]["id"] == ada["id"]


def test_a_client_on_scim2_models_sends_and_reads_every_message(scim: httpx.Client) -> None:
    """scim2-models are the RFC's messages as a Python SCIM client builds and checks them."""
    Account = User[EnterpriseUser]
    account = Account(
        user_name="bjensen@example.com",
        emails=[Email(value="bjensen@example.com", type="work", primary=True)],
        active=True,
    )
    account[EnterpriseUser] = EnterpriseUser(department="Tours")
    answer = scim.post("/Users", json=account.model_dump(scim_ctx=Context.RESOURCE_CREATION_REQUEST))
    user = Account.model_validate(answer.json(), scim_ctx=Context.RESOURCE_CREATION_RESPONSE)
    assert user.id and user.meta and user.meta.version == answer.headers["ETag"]
    change = PatchOp[Account](operations=[PatchOperation(op="replace", path="active", value=False)])
    answer = scim.patch(f"/Users/{user.id}", json=change.model_dump(scim_ctx=Context.RESOURCE_PATCH_REQUEST))
    assert Account.model_validate(answer.json(), scim_ctx=Context.RESOURCE_PATCH_RESPONSE).active is False
    found = scim.get("/Users", params={"filter": 'userName eq "bjensen@example.com"'}).json()
    listed = ListResponse[Account].model_validate(found, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    assert [u.id for u in listed.resources or []] == [user.id]
    team = Group(display_name="Tours", members=[GroupMember(value=user.id)])
    answer = scim.post("/Groups", json=team.model_dump(scim_ctx=Context.RESOURCE_CREATION_REQUEST))
    group = Group.model_validate(answer.json(), scim_ctx=Context.RESOURCE_CREATION_RESPONSE)
    assert [(m.value, m.type) for m in group.members or []] == [(user.id, "User")]
    ServiceProviderConfig.model_validate(scim.get("/ServiceProviderConfig").json())
    assert ListResponse[ResourceType].model_validate(scim.get("/ResourceTypes").json()).total_results == 2
    assert ListResponse[Schema].model_validate(scim.get("/Schemas").json()).total_results == 3
