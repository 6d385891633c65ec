"""Zoho CRM as ordinary clients call it: ``requests`` with a JSON string and no ``Content-Type``
(or ``text/plain``, or ``curl -d``'s form type); at the ``/zoho`` prefix and at
``www.zohoapis.com`` (by Host header), as a client configured with either reaches it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.testing import RunningSandbox


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
