"""The emulated Assets REST v1: metadata, AQL paging (query string and body), writes, errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.testing import RunningSandbox


class Assets:
    """A bare client of the emulated Assets API, so each test reads as the HTTP it sends."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        credentials = sandbox.credentials["assets"]
        self.workspace_id = sandbox.records("assets", "workspace")[0]["workspaceId"]
        self.base = f"/jsm/assets/workspace/{self.workspace_id}/v1"
        self.http = httpx.Client(
            base_url=sandbox.url("/atlassian"),
            auth=(credentials["email"], credentials["api_token"]),
            timeout=30,
        )

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(self.base + path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.post(self.base + path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.put(self.base + path, **kwargs)

    def delete(self, path: str) -> httpx.Response:
        return self.http.delete(self.base + path)

    def attribute_id(self, type_id: str, name: str) -> str:
        return next(
            a["id"] for a in self.get(f"/objecttype/{type_id}/attributes").json() if a["name"] == name
        )


@pytest.fixture
def api(fresh_sandbox: RunningSandbox) -> Assets:
    return Assets(fresh_sandbox)


def employee_count(sandbox: RunningSandbox) -> int:
    return sum(1 for o in sandbox.records("assets", "objects") if o["objectTypeId"] == "2")


def test_schema_list_is_paged_with_is_last(api):
    page = api.get("/objectschema/list").json()

    assert {"startAt", "maxResults", "total", "values", "isLast"} <= set(page)
    assert page["isLast"] is True
    assert [s["objectSchemaKey"] for s in page["values"]] == ["HR"]


def test_employee_type_has_the_attributes_a_user_asset_needs(api):
    types = {t["name"]: t for t in api.get("/objectschema/1/objecttypes/flat").json()}
    attributes = {a["name"]: a for a in api.get(f"/objecttype/{types['Employee']['id']}/attributes").json()}

    assert attributes["Name"]["label"] is True
    assert attributes["Jira User"]["type"] == 2
    assert attributes["Email"]["defaultType"] == {"id": 8, "name": "Email"}
    assert attributes["Status"]["defaultType"]["name"] == "Text"
    assert attributes["Folder"]["type"] == 1
    assert attributes["Folder"]["referenceObjectTypeId"] == types["Folder"]["id"]


def test_aql_pages_in_the_query_string_until_is_last(api, fresh_sandbox):
    keys: list[str] = []
    start = 0
    while True:
        page = api.post(
            "/object/aql",
            params={"startAt": start, "maxResults": 10},
            json={"qlQuery": "objectType = Employee"},
        ).json()
        keys += [o["objectKey"] for o in page["values"]]
        assert page["last"] is page["isLast"]
        if page["isLast"]:
            break
        start += len(page["values"])

    assert len(keys) == len(set(keys)) == employee_count(fresh_sandbox)


def test_aql_accepts_paging_in_the_body(api):
    in_query = api.post(
        "/object/aql", params={"startAt": 5, "maxResults": 3}, json={"qlQuery": "objectType = Employee"}
    )
    in_body = api.post(
        "/object/aql", json={"qlQuery": "objectType = Employee", "startAt": 5, "maxResults": 3}
    )

    assert in_body.json()["startAt"] == 5
    assert [o["id"] for o in in_body.json()["values"]] == [o["id"] for o in in_query.json()["values"]]


def test_aql_default_page_is_25_and_response_has_the_contract_shape(api):
    page = api.post("/object/aql", json={"qlQuery": "objectType = Employee"}).json()

    assert page["maxResults"] == 25
    assert len(page["values"]) == 25
    assert {"startAt", "maxResults", "total", "isLast", "last", "objectTypeAttributes", "values"} <= set(page)
    obj = page["values"][0]
    assert {"workspaceId", "globalId", "id", "label", "objectKey", "objectType", "created", "updated"} <= set(
        obj
    )
    assert obj["name"] == obj["label"]
    assert obj["_links"]["self"].endswith(f"/object/{obj['id']}")
    assert {a["objectTypeAttributeId"] for a in obj["attributes"]} <= {
        a["id"] for a in page["objectTypeAttributes"]
    }


def test_include_attributes_false_leaves_attributes_out(api):
    page = api.post(
        "/object/aql", params={"includeAttributes": "false"}, json={"qlQuery": "objectType = Employee"}
    )

    assert all(o["attributes"] == [] for o in page.json()["values"])


def test_totalcount_counts_what_aql_finds(api, fresh_sandbox):
    query = {"qlQuery": "objectType = Employee"}

    assert api.post("/object/aql/totalcount", json=query).json() == {
        "totalCount": employee_count(fresh_sandbox)
    }


def test_user_attribute_reads_back_as_a_user_with_the_account_id_as_key(api, fresh_sandbox):
    jira_user = api.attribute_id("2", "Jira User")
    obj = api.post("/object/aql", json={"qlQuery": '"Jira User" IS NOT EMPTY'}).json()["values"][0]

    value = next(a for a in obj["attributes"] if a["objectTypeAttributeId"] == jira_user)[
        "objectAttributeValues"
    ][0]
    account_id = value["user"]["key"]
    user = fresh_sandbox.record("jira", "users", account_id)
    assert value["user"]["displayName"] == user["displayName"] == value["displayValue"]
    assert value["searchValue"] == account_id
    assert {"name", "emailAddress", "avatarUrl", "isDeleted", "self"} <= set(value["user"])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('objectType = Employee AND Status = "Inactive"', lambda o: o["Status"] == "Inactive"),
        (
            "objectType = Employee AND Status != Active",
            lambda o: o["type"] == "Employee" and o["Status"] != "Active",
        ),
        (
            'objectType = "Employee" AND Department IN (Sales, "Finance")',
            lambda o: o["Department"] in ("Sales", "Finance"),
        ),
        (
            "objectType = Employee AND Name LIKE AR",
            lambda o: o["type"] == "Employee" and "ar" in o["Name"].lower(),
        ),
        ("Department = Sales OR Department = People", lambda o: o["Department"] in ("Sales", "People")),
        ("objectSchemaId = 1 AND objectType = Folder", lambda o: o["type"] == "Folder"),
    ],
)
def test_aql_operators_select_the_right_objects(api, query, expected):
    everything = api.post(
        "/object/aql", params={"maxResults": 1000}, json={"qlQuery": "objectSchemaId = 1"}
    ).json()
    names = {a["id"]: a["name"] for a in everything["objectTypeAttributes"]}

    def flat(o: dict[str, Any]) -> dict[str, Any]:
        values = {
            names[a["objectTypeAttributeId"]]: a["objectAttributeValues"][0].get("value")
            for a in o["attributes"]
        }
        return {"type": o["objectType"]["name"], "Status": None, "Department": None, **values}

    found = api.post("/object/aql", params={"maxResults": 1000}, json={"qlQuery": query}).json()["values"]

    assert {o["id"] for o in found} == {o["id"] for o in everything["values"] if expected(flat(o))}
    assert found


def test_malformed_aql_is_400_naming_the_query(api):
    response = api.post("/object/aql", json={"qlQuery": "objectType = "})

    assert response.status_code == 400
    assert "objectType =" in response.json()["errorMessages"][0]


def test_create_folder_under_the_root_then_read_update_and_delete_it(api):
    name, parent = api.attribute_id("1", "Name"), api.attribute_id("1", "Parent")
    body = {
        "objectTypeId": "1",
        "attributes": [
            {"objectTypeAttributeId": name, "objectAttributeValues": [{"value": "A"}]},
            {"objectTypeAttributeId": parent, "objectAttributeValues": [{"value": "HR-1"}]},
        ],
    }

    created = api.post("/object/create", json=body)
    object_id = created.json()["id"]
    renamed = api.put(
        f"/object/{object_id}",
        json={
            "objectTypeId": "1",
            "attributes": [{"objectTypeAttributeId": name, "objectAttributeValues": [{"value": "B"}]}],
        },
    )
    read = api.get(f"/object/{object_id}").json()
    deleted = api.delete(f"/object/{object_id}")

    assert created.status_code == 201
    assert renamed.json()["label"] == read["label"] == "B"
    reference = next(a for a in read["attributes"] if a["objectTypeAttributeId"] == parent)
    assert reference["objectAttributeValues"][0]["referencedObject"]["objectKey"] == "HR-1"
    assert deleted.status_code == 204
    assert api.get(f"/object/{object_id}").status_code == 404


def test_invalid_object_is_400_per_attribute(api):
    email = api.attribute_id("2", "Email")
    response = api.post(
        "/object/create",
        json={
            "objectTypeId": "2",
            "attributes": [{"objectTypeAttributeId": email, "objectAttributeValues": [{"value": "nope"}]}],
        },
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "nope" in errors[f"rlabs-insight-attribute-{email}"]
    assert "Name is required" in errors.values()


def test_a_text_attribute_holds_at_most_255_characters(api):
    name = api.attribute_id("2", "Name")
    response = api.post(
        "/object/create",
        json={
            "objectTypeId": "2",
            "attributes": [{"objectTypeAttributeId": name, "objectAttributeValues": [{"value": "x" * 256}]}],
        },
    )

    assert response.status_code == 400
    assert "256 characters; at most 255" in response.json()["errors"][f"rlabs-insight-attribute-{name}"]


def test_a_second_asset_for_the_same_jira_user_is_refused(api):
    jira_user, name = api.attribute_id("2", "Jira User"), api.attribute_id("2", "Name")
    existing = api.post("/object/aql", json={"qlQuery": '"Jira User" IS NOT EMPTY'}).json()["values"][0]
    account_id = next(a for a in existing["attributes"] if a["objectTypeAttributeId"] == jira_user)[
        "objectAttributeValues"
    ][0]["user"]["key"]

    response = api.post(
        "/object/create",
        json={
            "objectTypeId": "2",
            "attributes": [
                {"objectTypeAttributeId": name, "objectAttributeValues": [{"value": "Twin"}]},
                {"objectTypeAttributeId": jira_user, "objectAttributeValues": [{"value": account_id}]},
            ],
        },
    )

    assert response.status_code == 400
    assert existing["objectKey"] in response.json()["errors"][f"rlabs-insight-attribute-{jira_user}"]


def test_unknown_workspace_is_404(fresh_sandbox, api):
    response = api.http.get("/jsm/assets/workspace/00000000-0000-0000-0000-000000000000/v1/objectschema/list")

    assert response.status_code == 404
    assert response.json()["errorMessages"]


def test_wrong_credentials_get_401_in_the_assets_form(fresh_sandbox, api):
    response = httpx.get(
        fresh_sandbox.url("/atlassian") + api.base + "/objectschema/list", auth=("x@y.z", "wrong")
    )

    assert response.status_code == 401
    assert response.json() == {
        "errorMessages": ["Client must be authenticated to access this resource."],
        "errors": {},
    }


def test_rate_limit_has_no_retry_after(fresh_sandbox, api):
    fresh_sandbox.add_fault("assets", "rate_limit", count=1, retry_after=5)

    response = api.get("/objectschema/list")

    assert response.status_code == 429
    assert "Retry-After" not in response.headers


def test_the_ex_jira_cloud_path_and_the_real_host_serve_the_same_api(fresh_sandbox, api):
    credentials = fresh_sandbox.credentials["assets"]
    via_cloud = api.http.get(f"/ex/jira/some-cloud-id{api.base}/objecttype/2")
    via_host = httpx.get(
        fresh_sandbox.base_url + api.base + "/objecttype/2",
        headers={"Host": "api.atlassian.com"},
        auth=(credentials["email"], credentials["api_token"]),
    )

    assert via_cloud.json()["name"] == via_host.json()["name"] == "Employee"
