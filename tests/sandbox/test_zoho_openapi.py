"""Every emulated Zoho CRM endpoint's success answer validates against Zoho's own OpenAPI documents
(``zoho-crm-v8/`` among the vendor specs, checked by ``tests/openapi.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests import openapi

from sandbox.testing import RunningSandbox


def assert_matches_spec(body: Any, document: str, path: str, method: str, status: int = 200) -> None:
    """``body`` is what Zoho's ``document`` (``record.json``) says ``method`` ``path`` answers."""
    openapi.assert_matches_spec(body, openapi.ZOHO + document, path, method, status)


def assert_matches_schema(body: Any, document: str, schema_name: str) -> None:
    """For a body no single documented response pins down (an error on any path): one named schema."""
    openapi.assert_valid(body, openapi.component(openapi.ZOHO + document, schema_name), schema_name)


def zoho_client(sandbox: RunningSandbox) -> httpx.Client:
    """A client on the sandbox's Zoho API with a fresh access token from its accounts server."""
    answer = httpx.post(
        sandbox.url("/zoho-accounts") + "/oauth/v2/token",
        data={**sandbox.credentials["zoho"], "grant_type": "refresh_token"},
    ).json()
    return httpx.Client(
        base_url=answer["api_domain"],
        headers={"Authorization": f"Zoho-oauthtoken {answer['access_token']}"},
        timeout=60,
    )


@pytest.fixture
def zoho(fresh_sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with zoho_client(fresh_sandbox) as client:
        yield client


def _first(zoho: httpx.Client, module: str) -> dict[str, Any]:
    return zoho.get(f"/crm/v8/{module}", params={"fields": "Modified_Time", "per_page": 1}).json()["data"][0]


def test_record_reads_match_the_spec(zoho: httpx.Client) -> None:
    fields = "First_Name,Last_Name,Email,Account_Name,Synced_Jira_User,Contact_Type,Modified_Time,Owner"
    page = zoho.get("/crm/v8/Contacts", params={"fields": fields, "per_page": 5})
    assert page.status_code == 200 and page.json()["info"]["more_records"] is True
    assert_matches_spec(page.json(), "record.json", "/crm/v8/{module_api_name}", "get")
    token_page = zoho.get(
        "/crm/v8/Contacts",
        params={"fields": fields, "per_page": 5, "page_token": page.json()["info"]["next_page_token"]},
    )
    assert_matches_spec(token_page.json(), "record.json", "/crm/v8/{module_api_name}", "get")
    one = zoho.get(f"/crm/v8/Contacts/{page.json()['data'][0]['id']}")
    assert_matches_spec(one.json(), "record.json", "/crm/v8/{module_api_name}/{id}", "get")


def test_search_matches_the_spec(zoho: httpx.Client) -> None:
    email = _first(zoho, "Contacts")
    contact = zoho.get(f"/crm/v8/Contacts/{email['id']}").json()["data"][0]
    for params in (
        {"email": contact["Email"].upper()},
        {"criteria": f"(Last_Name:equals:{contact['Last_Name']})"},
    ):
        answer = zoho.get("/crm/v8/Contacts/search", params=params)
        assert answer.status_code == 200, answer.text
        assert contact["id"] in [r["id"] for r in answer.json()["data"]]
        assert_matches_spec(answer.json(), "record.json", "/crm/v8/{module_api_name}/search", "get")


def test_writes_match_the_spec(zoho: httpx.Client) -> None:
    inserted = zoho.post("/crm/v8/Leads", json={"data": [{"Last_Name": "Okafor", "Company": "Acme"}]})
    assert_matches_spec(inserted.json(), "record.json", "/crm/v8/{module_api_name}", "post")
    lead_id = inserted.json()["data"][0]["details"]["id"]
    updated = zoho.put("/crm/v8/Leads", json={"data": [{"id": lead_id, "Lead_Status": "Qualified"}]})
    assert_matches_spec(updated.json(), "record.json", "/crm/v8/{module_api_name}", "put")
    single = zoho.put(f"/crm/v8/Leads/{lead_id}", json={"data": [{"Phone": "+1 555 0100"}]})
    assert_matches_spec(single.json(), "record.json", "/crm/v8/{module_api_name}/{id}", "put")
    upserted = zoho.post(
        "/crm/v8/Leads/upsert",
        json={
            "data": [{"Last_Name": "Okafor", "Company": "Acme", "Email": "n@acme.example"}],
            "duplicate_check_fields": ["Email"],
        },
    )
    assert_matches_spec(upserted.json(), "record.json", "/crm/v8/{module_api_name}/upsert", "post")
    deleted = zoho.delete("/crm/v8/Leads", params={"ids": lead_id})
    assert_matches_spec(deleted.json(), "record.json", "/crm/v8/{module_api_name}", "delete")
    deleted_list = zoho.get("/crm/v8/Leads/deleted", params={"type": "all"})
    assert deleted_list.json()["data"][0]["id"] == lead_id
    assert_matches_spec(deleted_list.json(), "record.json", "/crm/v8/{module_api_name}/deleted", "get")


def test_related_records_match_the_spec(zoho: httpx.Client) -> None:
    case = zoho.get("/crm/v8/Cases", params={"fields": "Related_To", "per_page": 1}).json()["data"][0]
    contact_id = case["Related_To"]["id"]
    cases = zoho.get(f"/crm/v8/Contacts/{contact_id}/Cases", params={"fields": "Subject,Status"})
    assert case["id"] in [c["id"] for c in cases.json()["data"]]
    assert_matches_spec(
        cases.json(),
        "related_records.json",
        "/crm/v8/{module_api_name}/{record_id}/{related_list_api_name}",
        "get",
    )


def test_notes_match_the_spec(zoho: httpx.Client) -> None:
    case_id = _first(zoho, "Cases")["id"]
    v8 = {
        "Note_Title": "t",
        "Note_Content": "v8 form",
        "Parent_Id": {"module": {"api_name": "Cases"}, "id": case_id},
    }
    older = {"Note_Title": "t", "Note_Content": "older form", "Parent_Id": case_id, "se_module": "Cases"}
    created = zoho.post("/crm/v8/Notes", json={"data": [v8, older]})
    assert [a["status"] for a in created.json()["data"]] == ["success", "success"]
    assert_matches_spec(created.json(), "notes.json", "/crm/v8/Notes", "post")
    listed = zoho.get(f"/crm/v8/Cases/{case_id}/Notes", params={"fields": "Note_Title,Note_Content"})
    assert {"v8 form", "older form"} <= {n["Note_Content"] for n in listed.json()["data"]}
    assert_matches_spec(listed.json(), "notes.json", "/crm/v8/Notes", "get")
    every = zoho.get("/crm/v8/Notes", params={"fields": "Note_Title", "per_page": 10})
    assert_matches_spec(every.json(), "notes.json", "/crm/v8/Notes", "get")


def test_attachments_match_the_spec(zoho: httpx.Client) -> None:
    case_id = _first(zoho, "Cases")["id"]
    uploaded = zoho.post(f"/crm/v8/Cases/{case_id}/Attachments", files={"file": ("trace.log", b"boom\n")})
    assert_matches_spec(
        uploaded.json(), "attachments.json", "/crm/v8/{module}/{record_id}/Attachments", "post"
    )
    listed = zoho.get(f"/crm/v8/Cases/{case_id}/Attachments", params={"fields": "id,File_Name,Size"})
    assert_matches_spec(listed.json(), "attachments.json", "/crm/v8/{module}/{record_id}/Attachments", "get")
    attachment_id = uploaded.json()["data"][0]["details"]["id"]
    assert zoho.get(f"/crm/v8/Cases/{case_id}/Attachments/{attachment_id}").content == b"boom\n"
    removed = zoho.delete(f"/crm/v8/Cases/{case_id}/Attachments/{attachment_id}")
    assert_matches_spec(
        removed.json(), "attachments.json", "/crm/v8/{module}/{record_id}/Attachments/{id}", "delete"
    )


def test_coql_matches_the_spec(zoho: httpx.Client) -> None:
    query = "select Last_Name, Email, Account_Name from Contacts where Last_Name is not null order by Modified_Time desc limit 0, 5"
    answer = zoho.post("/crm/v8/coql", json={"select_query": query})
    assert answer.status_code == 200 and len(answer.json()["data"]) == 5
    assert_matches_spec(answer.json(), "coql.json", "/crm/v8/coql", "post")


def test_metadata_matches_the_spec(zoho: httpx.Client) -> None:
    modules = zoho.get("/crm/v8/settings/modules")
    assert {"Leads", "Contacts", "Accounts", "Deals", "Cases"} <= {
        m["api_name"] for m in modules.json()["modules"]
    }
    assert_matches_spec(modules.json(), "modules.json", "/crm/v8/settings/modules", "get")
    one = zoho.get("/crm/v8/settings/modules/Cases")
    assert_matches_spec(one.json(), "modules.json", "/crm/v8/settings/modules/{api_name}", "get")
    fields = zoho.get("/crm/v8/settings/fields", params={"module": "Contacts"}).json()
    by_name = {f["api_name"]: f for f in fields["fields"]}
    assert by_name["Synced_Jira_User"]["custom_field"] is True
    assert [v["actual_value"] for v in by_name["Contact_Type"]["pick_list_values"]] == ["Staff", "Customer"]
    assert_matches_spec(fields, "fields.json", "/crm/v8/settings/fields", "get")


def test_notes_changed_since_a_time_are_listed_and_edited_as_zoho_does(zoho: httpx.Client) -> None:
    case_id = _first(zoho, "Cases")["id"]
    note = {"Note_Content": "fresh", "Parent_Id": {"module": {"api_name": "Cases"}, "id": case_id}}
    note_id = zoho.post("/crm/v8/Notes", json={"data": [note]}).json()["data"][0]["details"]["id"]
    stamp = zoho.get(f"/crm/v8/Notes/{note_id}").json()["data"][0]["Modified_Time"]
    changed = zoho.get("/crm/v8/Notes", headers={"If-Modified-Since": stamp})
    assert [n["id"] for n in changed.json()["data"]] == [note_id]
    assert_matches_spec(changed.json(), "notes.json", "/crm/v8/Notes", "get")
    later = zoho.get("/crm/v8/Notes", headers={"If-Modified-Since": "2999-01-01T00:00:00+00:00"})
    assert later.status_code == 304
    updated = zoho.put(f"/crm/v8/Notes/{note_id}", json={"data": [{"Note_Content": "edited"}]})
    assert_matches_spec(updated.json(), "notes.json", "/crm/v8/Notes/{id}", "put")
    assert zoho.get(f"/crm/v8/Notes/{note_id}").json()["data"][0]["Note_Content"] == "edited"
    deleted = zoho.delete(f"/crm/v8/Notes/{note_id}")
    assert_matches_spec(deleted.json(), "notes.json", "/crm/v8/Notes/{id}", "delete")
    assert zoho.get(f"/crm/v8/Notes/{note_id}").status_code == 204


def test_users_match_the_spec(zoho: httpx.Client) -> None:
    every = zoho.get("/crm/v8/users", params={"type": "AllUsers"})
    assert len(every.json()["users"]) > 1
    assert_matches_spec(every.json(), "users.json", "/crm/v8/users", "get")
    current = zoho.get("/crm/v8/users", params={"type": "CurrentUser"})
    assert_matches_spec(current.json(), "users.json", "/crm/v8/users", "get")
    one = zoho.get(f"/crm/v8/users/{current.json()['users'][0]['id']}")
    assert one.json()["users"] == current.json()["users"]
    assert_matches_spec(one.json(), "users.json", "/crm/v8/users/{user}", "get")


def test_a_records_notes_related_list_matches_the_spec(zoho: httpx.Client) -> None:
    deal_id = _first(zoho, "Deals")["id"]
    path = f"/crm/v8/Deals/{deal_id}/Notes"
    made = zoho.post(path, json={"data": [{"Note_Content": c} for c in ("a", "b", "c", "d")]}).json()
    first, second, third, fourth = (a["details"]["id"] for a in made["data"])
    listed = zoho.get(path)
    assert {first, second, third, fourth} <= {n["id"] for n in listed.json()["data"]}
    related = "/crm/v8/{module_api_name}/{record_id}/{related_list_api_name}"
    assert_matches_spec(listed.json(), "related_records.json", related, "get")
    assert_matches_spec(listed.json(), "notes.json", "/crm/v8/Notes", "get")
    one = zoho.get(f"{path}/{first}")
    assert_matches_spec(one.json(), "related_records.json", related + "/{related_record_id}", "get")
    assert_matches_spec(one.json(), "notes.json", "/crm/v8/Notes/{id}", "get")
    updated = zoho.put(f"{path}/{first}", json={"data": [{"Note_Content": "a2"}]})
    assert_matches_spec(updated.json(), "notes.json", "/crm/v8/Notes/{id}", "put")
    several = zoho.put(path, json={"data": [{"id": second, "Note_Content": "b2"}]})
    assert_matches_spec(several.json(), "notes.json", "/crm/v8/Notes", "put")
    deleted = zoho.delete(f"{path}/{third}")
    assert_matches_spec(deleted.json(), "notes.json", "/crm/v8/Notes/{id}", "delete")
    batch = zoho.delete(path, params={"ids": fourth})
    assert_matches_spec(batch.json(), "notes.json", "/crm/v8/Notes", "delete")


def test_error_bodies_match_the_spec(zoho: httpx.Client) -> None:
    unknown = zoho.get("/crm/v8/Deals/1/Notes/2/more")
    wrong_method = zoho.patch("/crm/v8/Deals")
    assert (unknown.status_code, wrong_method.status_code) == (404, 400)
    for answer in (unknown, wrong_method):
        assert_matches_schema(answer.json(), "related_records.json", "API_Exception")
        assert_matches_schema(answer.json(), "record.json", "API_Exception")
    not_json = zoho.post("/crm/v8/Leads", content=b"{data: [", headers={"Content-Type": "text/plain"})
    assert not_json.status_code == 400
    assert_matches_schema(not_json.json(), "record.json", "API_Exception")
    bad_type = zoho.get("/crm/v8/users", params={"type": "Everyone"})
    assert_matches_spec(bad_type.json(), "users.json", "/crm/v8/users", "get", 400)
