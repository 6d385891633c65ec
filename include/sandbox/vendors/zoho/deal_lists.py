"""A deal's own related lists: ``Stage_History`` and ``Contact_Roles``.

Zoho adds a stage history entry each time a deal's ``Stage`` changes (the first when the deal is
made), whoever changes it: a write through the API or a person in the CRM (here: the admin API,
through ``Vendor.on_change``). An entry holds the deal's stage, amount, closing date and the
stage's probability as they were then; the entry a deal leaves gets the days it stayed. A
deal's contact roles are contacts related to it, each with a role (Purchasing, Evaluator, ...);
a read answers the contacts' asked fields and each one's ``Contact_Role``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse

from sandbox.changes import Change
from sandbox.vendor import VendorState
from sandbox.vendors.zoho.api import ZohoError, ZohoRoute, new_ids, now, owner, parse_time, zoho
from sandbox.vendors.zoho.metadata import CONTACT_ROLES, MODULES, STAGE_HISTORY, stable_id
from sandbox.vendors.zoho.records import (
    modified_since,
    page_answer,
    page_of,
    per_page_of,
    records_of,
    render,
    selected_fields,
)

router = APIRouter(route_class=ZohoRoute)
HISTORY = "Stage_History"
ROLES = "Contact_Roles"
# Zoho's default probability of each stage of the sandbox's pipeline.
STAGE_PROBABILITY = {
    "Qualification": 10,
    "Needs Analysis": 20,
    "Proposal": 75,
    "Negotiation": 90,
    "Closed Won": 100,
    "Closed Lost": 0,
}
CONTACT_ROLE_NAMES = ("Decision Maker", "Evaluator", "Executive Sponsor", "Influencer", "Purchasing")


def contact_role(name: str) -> dict[str, str]:
    """A role as a relation names it: ``{"name", "id"}``."""
    return {"name": name, "id": stable_id("contact_role", name)}


def history_entry(deal: dict[str, Any], entry_id: str, stamp: str) -> dict[str, Any]:
    """The stage history entry for the stage ``deal`` is in, moved to at ``stamp``."""
    probability = STAGE_PROBABILITY.get(deal.get("Stage") or "")
    amount = deal.get("Amount")
    return {
        "id": entry_id,
        "_deal_id": deal["id"],
        "Stage": deal.get("Stage"),
        "Amount": amount,
        "Closing_Date": deal.get("Closing_Date"),
        "Probability": probability,
        "Expected_Revenue": None if amount is None or probability is None else amount * probability / 100,
        "Duration_Days": None,  # set when the deal leaves the stage
        "Modified_Time": stamp,
        "Modified_By": owner(),
    }


def role_entry(deal_id: str, contact_id: str, role: str) -> tuple[str, dict[str, Any]]:
    """A contact's role on a deal, under the id the store keeps it by."""
    return f"{deal_id}:{contact_id}", {
        "_deal_id": deal_id,
        "_contact_id": contact_id,
        "Contact_Role": contact_role(role),
    }


def record_stage_change(
    state: VendorState, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> None:
    """A deal was written: a new entry when it is new or its stage changed, at the deal's new
    modification time (a person's edit that left it as it was is stamped now)."""
    if after is None or (before is not None and before.get("Stage") == after.get("Stage")):
        return
    history = state.collection(HISTORY)
    stamped = before is None or after.get("Modified_Time") != before.get("Modified_Time")
    stamp = str(after["Modified_Time"]) if stamped and after.get("Modified_Time") else now()
    if before is not None:
        left = _history_of(state, after["id"])
        if left:
            days = (parse_time(stamp) - parse_time(left[0]["Modified_Time"])) // dt.timedelta(days=1)
            history.put(left[0]["id"], {**left[0], "Duration_Days": max(0, days)})
    entry = history_entry(after, new_ids(state, 1)[0], stamp)
    history.put(entry["id"], entry)


def record_changes(state: VendorState, changes: list[Change]) -> None:
    """Deals written through the API or by a person (the admin API): their stage history."""
    for change in changes:
        if change.collection == "Deals" and change.after is not None:
            record_stage_change(state, change.before, {**change.after, "id": change.record_id})


def _history_of(state: VendorState, deal_id: str) -> list[dict[str, Any]]:
    """A deal's entries, newest first, as Zoho lists them."""
    entries = [e for e in state.collection(HISTORY) if e["_deal_id"] == deal_id]
    return sorted(entries, key=lambda e: (parse_time(e["Modified_Time"]), int(e["id"])), reverse=True)


def _deal(state: VendorState, deal_id: str) -> dict[str, Any]:
    deal = records_of(state, MODULES["Deals"]).get(deal_id)
    if deal is None:
        raise ZohoError(400, "INVALID_DATA", "the related id given seems to be invalid", api_name="id")
    return deal


@router.get("/crm/v8/Deals/{deal_id}/Stage_History")
def stage_history(
    request: Request,
    deal_id: str,
    fields: str | None = None,
    page: str | None = None,
    per_page: str | None = None,
    if_modified_since: str | None = Header(None),
) -> Response:
    """The related-list read: ``fields`` required, ``page``/``per_page``, 204 when there is none."""
    state = zoho(request)
    _deal(state, deal_id)
    wanted = selected_fields(STAGE_HISTORY, fields)
    entries = modified_since(_history_of(state, deal_id), if_modified_since)
    size, number = per_page_of(per_page), page_of(page)
    answer = page_answer(state, HISTORY, entries, (number - 1) * size, size, wanted, with_token=False)
    return Response(status_code=204) if answer is None else JSONResponse(answer)


@router.get("/crm/v8/Deals/{deal_id}/Contact_Roles")
def contact_roles(
    request: Request, deal_id: str, fields: str | None = None, ids: str | None = None
) -> Response:
    """The deal's contacts (``ids`` picks some) with the asked fields and each one's role; ``fields``
    is required, there is no paging, and a deal without contact roles answers 204."""
    state = zoho(request)
    _deal(state, deal_id)
    wanted = [name for name in selected_fields(CONTACT_ROLES, fields) or [] if name != "Contact_Role"]
    picked = {i.strip() for i in ids.split(",")} if ids else None
    contacts = records_of(state, MODULES["Contacts"])
    rows = []
    for relation in sorted(state.collection(ROLES), key=lambda r: int(r["_contact_id"])):
        contact = contacts.get(relation["_contact_id"])
        if relation["_deal_id"] != deal_id or contact is None:
            continue
        if picked is None or contact["id"] in picked:
            rows.append({**render(contact, wanted), "Contact_Role": relation["Contact_Role"]})
    if not rows:
        return Response(status_code=204)
    info = {"per_page": 200, "count": len(rows), "page": 1, "more_records": False}
    return JSONResponse({"data": rows, "info": info})
