"""A deal's stage history and contact roles, and the related-list metadata, on the real sandbox server.

Zoho's ``related_lists.json`` and ``deal_contact_roles.json`` are not among the local copies of its
OpenAPI documents, so their documented shapes (the properties each answer must carry) are checked
here by hand; the stage history read is checked against ``related_records.json`` itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.sandbox.test_zoho_openapi import assert_matches_spec, zoho_client

from sandbox.testing import RunningSandbox

HISTORY_FIELDS = "Stage,Amount,Closing_Date,Probability,Expected_Revenue,Duration_Days,Modified_Time"
# What related_lists.json requires of each related list.
RELATED_LIST_PROPERTIES = {
    "id", "sequence_number", "display_label", "api_name", "module", "name", "action", "href", "type",
    "visible", "customize_sort", "customize_fields", "customize_display_label", "sort_by", "sort_order",
    "fields", "status",
}  # fmt: skip


@pytest.fixture
def zoho(fresh_sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with zoho_client(fresh_sandbox) as client:
        yield client


def a_deal(zoho: httpx.Client) -> dict[str, Any]:
    fields = "Stage,Amount,Closing_Date,Contact_Name,Modified_Time"
    return zoho.get("/crm/v8/Deals", params={"fields": fields, "per_page": 1}).json()["data"][0]


def history(zoho: httpx.Client, deal_id: str, **params: Any) -> httpx.Response:
    return zoho.get(f"/crm/v8/Deals/{deal_id}/Stage_History", params={"fields": HISTORY_FIELDS, **params})


def test_a_seeded_deal_has_one_stage_history_entry_for_its_stage(zoho: httpx.Client) -> None:
    deal = a_deal(zoho)

    answer = history(zoho, deal["id"])

    assert answer.status_code == 200
    assert_matches_spec(
        answer.json(),
        "related_records.json",
        "/crm/v8/{module_api_name}/{record_id}/{related_list_api_name}",
        "get",
    )
    (entry,) = answer.json()["data"]
    assert {k: entry[k] for k in ("Stage", "Amount", "Closing_Date", "Modified_Time")} == {
        k: deal[k] for k in ("Stage", "Amount", "Closing_Date", "Modified_Time")
    }
    assert entry["Duration_Days"] is None  # the deal is still in that stage
    assert answer.json()["info"] == {"per_page": 200, "count": 1, "page": 1, "more_records": False}


def test_each_stage_change_adds_an_entry_newest_first_whoever_makes_it(
    fresh_sandbox: RunningSandbox, zoho: httpx.Client
) -> None:
    deal = a_deal(zoho)
    others = [stage for stage in ("Proposal", "Negotiation", "Closed Won") if stage != deal["Stage"]]
    zoho.put("/crm/v8/Deals", json={"data": [{"id": deal["id"], "Amount": 5.0}]})  # no stage change
    zoho.put("/crm/v8/Deals", json={"data": [{"id": deal["id"], "Stage": others[0]}]})
    fresh_sandbox.edit("zoho", "Deals", deal["id"], Stage=others[1])  # a person, in the CRM

    entries = history(zoho, deal["id"]).json()["data"]

    assert [e["Stage"] for e in entries] == [others[1], others[0], deal["Stage"]]
    assert entries[1]["Amount"] == 5.0 and entries[1]["Probability"] in (75, 90, 100)
    assert entries[1]["Expected_Revenue"] == 5.0 * entries[1]["Probability"] / 100
    assert [e["Duration_Days"] is None for e in entries] == [True, False, False]
    page = history(zoho, deal["id"], per_page=2, page=2).json()
    assert [e["Stage"] for e in page["data"]] == [deal["Stage"]]
    assert page["info"]["more_records"] is False
    assert history(zoho, deal["id"], per_page=2, page=3).status_code == 204


def test_a_related_list_read_needs_its_fields_and_a_deal_that_exists(zoho: httpx.Client) -> None:
    deal_id = a_deal(zoho)["id"]

    unasked = zoho.get(f"/crm/v8/Deals/{deal_id}/Stage_History")
    unknown = zoho.get(f"/crm/v8/Deals/{deal_id}/Stage_History", params={"fields": "Stage,Colour"})
    no_deal = history(zoho, "1")
    roles_unasked = zoho.get(f"/crm/v8/Deals/{deal_id}/Contact_Roles")

    assert unasked.status_code == roles_unasked.status_code == 400
    assert unasked.json()["details"] == roles_unasked.json()["details"] == {"param_name": "fields"}
    assert (unknown.status_code, unknown.json()["details"]["api_name"]) == (400, "Colour")
    assert (no_deal.status_code, no_deal.json()["code"]) == (400, "INVALID_DATA")


def test_contact_roles_answer_the_deals_contacts_with_their_role(zoho: httpx.Client) -> None:
    deal = a_deal(zoho)
    path = f"/crm/v8/Deals/{deal['id']}/Contact_Roles"

    answer = zoho.get(path, params={"fields": "Full_Name,Email"})

    rows = answer.json()["data"]
    assert answer.status_code == 200 and deal["Contact_Name"]["id"] in [r["id"] for r in rows]
    for row in rows:
        assert set(row) == {"id", "Full_Name", "Email", "Contact_Role"}
        assert set(row["Contact_Role"]) == {"name", "id"}
    assert answer.json()["info"]["count"] == len(rows)
    picked = zoho.get(path, params={"fields": "Email,Contact_Role", "ids": deal["Contact_Name"]["id"]})
    assert [r["id"] for r in picked.json()["data"]] == [deal["Contact_Name"]["id"]]
    made = zoho.post("/crm/v8/Deals", json={"data": [{"Deal_Name": "New", "Stage": "Qualification"}]})
    new_deal = made.json()["data"][0]["details"]["id"]
    none = zoho.get(f"/crm/v8/Deals/{new_deal}/Contact_Roles", params={"fields": "Email"})
    assert (none.status_code, none.content) == (204, b"")
    assert [e["Stage"] for e in history(zoho, new_deal).json()["data"]] == ["Qualification"]


def test_the_related_list_metadata_lists_the_deals_own_lists(zoho: httpx.Client) -> None:
    answer = zoho.get("/crm/v8/settings/related_lists", params={"module": "Deals"})
    module = zoho.get("/crm/v8/settings/modules/Deals").json()["modules"][0]

    lists = answer.json()["related_lists"]
    assert [r["api_name"] for r in lists] == ["Stage_History", "Contact_Roles", "Notes", "Attachments"]
    assert all(set(r) == RELATED_LIST_PROPERTIES for r in lists)
    assert lists[1]["module"]["api_name"] == "Contacts" and lists[1]["href"] == "Deals/{ID}/Contact_Roles"
    assert module["related_lists"] == lists
    missing = zoho.get("/crm/v8/settings/related_lists")
    unknown = zoho.get("/crm/v8/settings/related_lists", params={"module": "Potatoes"})
    assert (missing.status_code, missing.json()["details"]) == (400, {"param_name": "module"})
    assert (unknown.status_code, unknown.json()["code"]) == (400, "INVALID_MODULE")
