"""Zoho CRM as ordinary clients call it: ``requests`` with a JSON string and no ``Content-Type``
(or ``text/plain``, or ``curl -d``'s form type), trailing slashes, paths that are not modules, and
wrong paths and methods answered in Zoho's error bodies; at the ``/zoho`` prefix and at
``www.zohoapis.com`` (by Host header), as a client configured with either reaches it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.testing import RunningSandbox

ADMIN_ID = "4150868000000225013"


class Crm:
    """A plain ``requests`` session on the sandbox's Zoho CRM, by prefix or by real host name."""

    def __init__(self, sandbox: RunningSandbox, by_host: bool) -> None:
        self.session = requests.Session()
        token = requests.post(
            sandbox.url("/zoho-accounts") + "/oauth/v2/token",
            data={**sandbox.credentials["zoho"], "grant_type": "refresh_token"},
            timeout=60,
        ).json()["access_token"]
        self.session.headers["Authorization"] = f"Zoho-oauthtoken {token}"
        if by_host:
            self.base = sandbox.base_url
            self.session.headers["Host"] = f"www.zohoapis.com:{sandbox.port}"
        else:
            self.base = sandbox.url("/zoho")

    def call(self, method: str, path: str, **options: Any) -> requests.Response:
        """No redirect is followed: a client that does not follow one must get its answer at once."""
        return self.session.request(method, self.base + path, allow_redirects=False, timeout=60, **options)

    def send(self, method: str, path: str, body: Any, content_type: str | None) -> requests.Response:
        """A JSON body sent as a string; ``requests`` then sets no ``Content-Type`` of its own."""
        headers = {"Content-Type": content_type} if content_type else {}
        return self.call(method, path, data=json.dumps(body), headers=headers)


@pytest.fixture(params=["prefix", "host"])
def crm(request: pytest.FixtureRequest, fresh_sandbox: RunningSandbox) -> Iterator[Crm]:
    client = Crm(fresh_sandbox, by_host=request.param == "host")
    yield client
    client.session.close()


def _deal_id(sandbox: RunningSandbox, index: int = 0) -> str:
    return sorted(d["id"] for d in sandbox.records("zoho", "Deals"))[index]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_json_bodies_are_read_whatever_their_content_type(
    fresh_sandbox: RunningSandbox, crm: Crm, content_type: str | None
) -> None:
    lead = {"Last_Name": "Mbeki", "Company": "Umoja", "Email": "t.mbeki@umoja.example"}
    inserted = crm.send("POST", "/crm/v8/Leads", {"data": [lead]}, content_type)
    assert inserted.status_code == 200, inserted.text
    lead_id = inserted.json()["data"][0]["details"]["id"]
    updated = crm.send(
        "PUT", "/crm/v8/Leads", {"data": [{"id": lead_id, "Company": "Umoja Ltd"}]}, content_type
    )
    single = crm.send(
        "PUT", f"/crm/v8/Leads/{lead_id}", {"data": [{"Phone": "+27 21 555 0100"}]}, content_type
    )
    upserted = crm.send(
        "POST",
        "/crm/v8/Leads/upsert",
        {
            "data": [{"Last_Name": "Mbeki", "Email": lead["Email"], "Lead_Status": "Qualified"}],
            "duplicate_check_fields": ["Email"],
        },
        content_type,
    )
    assert [a.json()["data"][0]["status"] for a in (updated, single, upserted)] == ["success"] * 3
    assert upserted.json()["data"][0]["action"] == "update"
    stored = fresh_sandbox.record("zoho", "Leads", lead_id)
    assert (stored["Company"], stored["Phone"], stored["Lead_Status"]) == (
        "Umoja Ltd",
        "+27 21 555 0100",
        "Qualified",
    )

    query = f"select Last_Name from Leads where Email = '{lead['Email']}'"
    found = crm.send("POST", "/crm/v8/coql", {"select_query": query}, content_type)
    assert [r["id"] for r in found.json()["data"]] == [lead_id]

    note = {"Note_Content": "called back", "Parent_Id": {"module": {"api_name": "Leads"}, "id": lead_id}}
    created = crm.send("POST", "/crm/v8/Notes", {"data": [note]}, content_type)
    note_id = created.json()["data"][0]["details"]["id"]
    related = crm.send(
        "POST", f"/crm/v8/Leads/{lead_id}/Notes", {"data": [{"Note_Content": "again"}]}, content_type
    )
    edited = crm.send(
        "PUT", f"/crm/v8/Notes/{note_id}", {"data": [{"Note_Content": "called twice"}]}, content_type
    )
    assert [a.status_code for a in (created, related, edited)] == [200, 200, 200]
    contents = {
        n["Note_Content"] for n in fresh_sandbox.records("zoho", "Notes") if n["Parent_Id"]["id"] == lead_id
    }
    assert contents == {"called twice", "again"}


def test_a_body_that_is_not_json_is_refused_as_invalid_data(fresh_sandbox: RunningSandbox, crm: Crm) -> None:
    before = len(fresh_sandbox.records("zoho", "Leads"))

    answer = crm.call("POST", "/crm/v8/Leads", data='{"data": [{"Last_Name": "Mbeki",}]}')

    assert answer.status_code == 400
    assert {k: answer.json()[k] for k in ("code", "status")} == {"code": "INVALID_DATA", "status": "error"}
    assert len(fresh_sandbox.records("zoho", "Leads")) == before


def test_an_unreadable_upload_is_an_invalid_request(fresh_sandbox: RunningSandbox, crm: Crm) -> None:
    answer = crm.call(
        "POST",
        f"/crm/v8/Deals/{_deal_id(fresh_sandbox)}/Attachments",
        data=b"no parts here",
        headers={"Content-Type": "multipart/form-data"},
    )

    assert answer.status_code == 400
    assert {k: answer.json()[k] for k in ("code", "status")} == {"code": "INVALID_REQUEST", "status": "error"}


def test_a_trailing_slash_is_served_in_place(fresh_sandbox: RunningSandbox, crm: Crm) -> None:
    listed = crm.call("GET", "/crm/v8/Deals/", params={"fields": "Deal_Name", "per_page": 2})
    inserted = crm.send("POST", "/crm/v8/Leads/", {"data": [{"Last_Name": "Ito", "Company": "Kaze"}]}, None)
    lists = crm.call("GET", "/crm/v8/settings/related_lists/", params={"module": "Deals"})

    assert [a.status_code for a in (listed, inserted, lists)] == [200, 200, 200]
    assert listed.json()["info"]["count"] == 2
    assert (
        fresh_sandbox.record("zoho", "Leads", inserted.json()["data"][0]["details"]["id"])["Last_Name"]
        == "Ito"
    )


def test_paths_that_are_not_modules_are_not_taken_for_modules(crm: Crm) -> None:
    users = crm.call("GET", "/crm/v8/users", params={"type": "CurrentUser"})
    lists = crm.call("GET", "/crm/v8/settings/related_lists", params={"module": "Deals"})

    assert users.status_code == 200 and [u["id"] for u in users.json()["users"]] == [ADMIN_ID]
    assert {"Notes", "Attachments", "Stage_History", "Contact_Roles"} <= {
        r["api_name"] for r in lists.json()["related_lists"]
    }
    assert crm.call("GET", "/crm/v8/coql").json()["code"] == "INVALID_REQUEST_METHOD"
    assert crm.call("POST", "/crm/v8/users/anything/else").json()["code"] == "INVALID_URL_PATTERN"
    for path in ("/crm/v8/settings", "/crm/v8/settings/layouts_of_nothing", "/crm/v8/Notes/1/Nothing"):
        answer = crm.call("GET", path)
        assert (answer.status_code, answer.json()["code"]) == (404, "INVALID_URL_PATTERN"), path


def test_users_are_filtered_by_type(crm: Crm) -> None:
    def ids(kind: str | None) -> list[str]:
        answer = crm.call("GET", "/crm/v8/users", params={"type": kind} if kind else None)
        return [] if answer.status_code == 204 else [u["id"] for u in answer.json()["users"]]

    every = crm.call("GET", "/crm/v8/users", params={"type": "AllUsers"}).json()["users"]
    by_id = {u["id"]: u for u in every}
    assert ids(None) == ids("AllUsers") == [u["id"] for u in every] and len(every) == 4
    assert ids("ActiveUsers") == [u["id"] for u in every if u["status"] == "active"]
    assert [by_id[i]["status"] for i in ids("DeactiveUsers")] == ["disabled"]
    assert [by_id[i]["confirm"] for i in ids("NotConfirmedUsers")] == [False]
    assert set(ids("ConfirmedUsers")) == {i for i, u in by_id.items() if u["confirm"]}
    assert ids("AdminUsers") == ids("ActiveConfirmedAdmins") == ids("CurrentUser") == [ADMIN_ID]
    assert ids("DeletedUsers") == []
    pages = [crm.call("GET", "/crm/v8/users", params={"per_page": 3, "page": n}).json() for n in (1, 2)]
    assert [[u["id"] for u in p["users"]] for p in pages] == [ids(None)[:3], ids(None)[3:]]
    assert [p["info"]["more_records"] for p in pages] == [True, False]
    refused = crm.call("GET", "/crm/v8/users", params={"type": "Everyone"})
    assert (refused.status_code, refused.json()["code"]) == (400, "INVALID_DATA")


def test_the_current_user_owns_the_records_and_is_read_by_id(fresh_sandbox: RunningSandbox, crm: Crm) -> None:
    deal = crm.call("GET", f"/crm/v8/Deals/{_deal_id(fresh_sandbox)}").json()["data"][0]

    one = crm.call("GET", f"/crm/v8/users/{deal['Owner']['id']}")

    assert one.json()["users"][0]["email"] == deal["Owner"]["email"]
    assert crm.call("GET", "/crm/v8/users/4150868000000000001").status_code == 204


def test_a_records_notes_are_read_and_written_through_its_notes_related_list(
    fresh_sandbox: RunningSandbox, crm: Crm
) -> None:
    deal, other = _deal_id(fresh_sandbox, 0), _deal_id(fresh_sandbox, 1)
    path = f"/crm/v8/Deals/{deal}/Notes"
    seeded = {n["id"] for n in fresh_sandbox.records("zoho", "Notes") if n["Parent_Id"]["id"] == deal}
    made = crm.send("POST", path, {"data": [{"Note_Content": c} for c in ("one", "two", "three")]}, None)
    one, two, three = (a["details"]["id"] for a in made.json()["data"])
    elsewhere = crm.send("POST", f"/crm/v8/Deals/{other}/Notes", {"data": [{"Note_Content": "x"}]}, None)
    foreign = elsewhere.json()["data"][0]["details"]["id"]

    listed = crm.call("GET", path)
    assert {n["id"] for n in listed.json()["data"]} == seeded | {one, two, three}
    assert crm.call("GET", f"{path}/{one}").json()["data"][0]["Note_Content"] == "one"
    assert crm.call("GET", f"{path}/{foreign}").status_code == 204
    stamp = crm.call("GET", f"{path}/{one}").json()["data"][0]["Modified_Time"]
    changed = crm.call("GET", path, headers={"If-Modified-Since": stamp})
    assert {n["id"] for n in changed.json()["data"]} == {one, two, three}
    assert crm.call("GET", path, headers={"If-Modified-Since": "2999-01-01T00:00:00Z"}).status_code == 304

    single = crm.send("PUT", f"{path}/{one}", {"data": [{"Note_Content": "one, edited"}]}, None)
    several = crm.send(
        "PUT", path, {"data": [{"id": two, "Note_Title": "2"}, {"id": foreign, "Note_Content": "no"}]}, None
    )
    assert single.json()["data"][0]["message"] == "record updated"
    assert [a["status"] for a in several.json()["data"]] == ["success", "error"]
    assert fresh_sandbox.record("zoho", "Notes", one)["Note_Content"] == "one, edited"
    assert fresh_sandbox.record("zoho", "Notes", two)["Note_Title"] == "2"
    assert fresh_sandbox.record("zoho", "Notes", foreign)["Note_Content"] == "x"

    removed = crm.call("DELETE", f"{path}/{three}")
    batch = crm.call("DELETE", path, params={"ids": f"{two},{foreign}"})
    assert removed.json()["data"][0]["message"] == "record deleted"
    assert [a["status"] for a in batch.json()["data"]] == ["success", "error"]
    assert {n["id"] for n in crm.call("GET", path).json()["data"]} == seeded | {one}
    assert crm.call("GET", f"/crm/v8/Notes/{foreign}").status_code == 200


def test_notes_are_updated_and_deleted_in_batches(fresh_sandbox: RunningSandbox, crm: Crm) -> None:
    deal = _deal_id(fresh_sandbox)
    made = crm.send(
        "POST", f"/crm/v8/Deals/{deal}/Notes", {"data": [{"Note_Content": "a"}, {"Note_Content": "b"}]}, None
    )
    first, second = (a["details"]["id"] for a in made.json()["data"])

    updated = crm.send(
        "PUT", "/crm/v8/Notes", {"data": [{"id": first, "Note_Content": "a2"}, {"Note_Content": "?"}]}, None
    )
    deleted = crm.call("DELETE", "/crm/v8/Notes", params={"ids": f"{second},1"})

    assert [a["status"] for a in updated.json()["data"]] == ["success", "error"]
    assert fresh_sandbox.record("zoho", "Notes", first)["Note_Content"] == "a2"
    assert [a["status"] for a in deleted.json()["data"]] == ["success", "error"]
    assert crm.call("GET", f"/crm/v8/Notes/{second}").status_code == 204
    missing = crm.call("DELETE", "/crm/v8/Notes")
    assert (missing.status_code, missing.json()["code"]) == (400, "REQUIRED_PARAM_MISSING")


def test_unknown_paths_and_wrong_methods_answer_in_zohos_error_body(crm: Crm) -> None:
    unknown = crm.call("GET", "/crm/v8/Deals/1/Stage_History/2/more")
    other_version = crm.call("GET", "/crm/v9/Deals")
    wrong_method = crm.call("PATCH", "/crm/v8/Deals")

    not_found = {
        "code": "INVALID_URL_PATTERN",
        "details": {},
        "message": "Please check if the URL trying to access is a correct one",
        "status": "error",
    }
    assert [(a.status_code, a.json()) for a in (unknown, other_version)] == [(404, not_found)] * 2
    assert (wrong_method.status_code, wrong_method.json()) == (
        400,
        {
            **not_found,
            "code": "INVALID_REQUEST_METHOD",
            "message": "The http request method type is not a valid one",
        },
    )


@pytest.mark.parametrize("by_host", [False, True], ids=["prefix", "host"])
def test_the_accounts_server_answers_wrong_paths_and_methods_in_its_oauth_shape(
    fresh_sandbox: RunningSandbox, by_host: bool
) -> None:
    base = fresh_sandbox.base_url if by_host else fresh_sandbox.url("/zoho-accounts")
    headers = {"Host": f"accounts.zoho.com:{fresh_sandbox.port}"} if by_host else {}

    unknown = requests.post(base + "/oauth/v2/nothing", headers=headers, timeout=60)
    wrong_method = requests.get(base + "/oauth/v2/token", headers=headers, timeout=60)

    assert (unknown.status_code, unknown.json()["error"]) == (404, "invalid_request")
    assert (wrong_method.status_code, wrong_method.json()["error"]) == (405, "invalid_request")
