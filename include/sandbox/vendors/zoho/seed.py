"""Zoho CRM's records from the shared world, and the admin actions a CRM user or a test performs.

Contacts are ``world.members("crm_contact", world.people)``, so they partly match Jira users
by email (with the case some CRM users typed). Accounts are the people's companies; Leads,
Deals and Cases come from ``world.rng("zoho")``, and some Cases and Deals carry notes and
attachments. Each deal has a stage history entry and one or two contact roles.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from sandbox.deliveries import set_delivery_faults
from sandbox.vendor import VendorState
from sandbox.vendors.zoho.api import configure, new_ids, now, owner, settings, zoho_time
from sandbox.vendors.zoho.deal_lists import CONTACT_ROLE_NAMES, history_entry, role_entry
from sandbox.vendors.zoho.metadata import LEAD_SOURCES, MODULES
from sandbox.vendors.zoho.notes import new_attachment, new_note
from sandbox.vendors.zoho.records import display_name, merged_record
from sandbox.world import World

EPOCH = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
_CASE_SUBJECTS = (
    "Cannot log in to the portal",
    "Invoice shows the wrong amount",
    "Export to CSV times out",
    "Feature request: dark mode",
    "Password reset email never arrives",
    "Sync with Jira stopped",
)


def _stamps(rng: Any) -> dict[str, Any]:
    created = EPOCH + dt.timedelta(seconds=rng.randrange(0, 300 * 86400))
    modified = created + dt.timedelta(seconds=rng.randrange(0, 30 * 86400))
    return {
        "Owner": owner(),
        "Created_By": owner(),
        "Modified_By": owner(),
        "Created_Time": zoho_time(created),
        "Modified_Time": zoho_time(modified),
    }


def _lookup(module: str, record: dict[str, Any]) -> dict[str, str]:
    return {"name": display_name(MODULES[module], record), "id": record["id"]}


def seed_zoho(world: World, state: VendorState) -> None:
    rng = world.rng("zoho")
    companies = sorted({p.company for p in world.people})
    account_ids = new_ids(state, len(companies))
    accounts = {
        company: {
            "id": record_id,
            "Account_Name": company,
            "Website": f"https://{company.lower()}.example",
            "Phone": f"+1 555 {1000 + i}",
            "Industry": rng.choice(MODULES["Accounts"].field("Industry").picklist),
            "Account_Type": "Partner" if company == "Northwind" else "Customer",
            **_stamps(rng),
        }
        for i, (company, record_id) in enumerate(zip(companies, account_ids, strict=True))
    }
    members = world.members("crm_contact", world.people)
    contact_ids = new_ids(state, len(members))
    contacts = []
    for person, record_id in zip(members, contact_ids, strict=True):
        contacts.append(
            {
                "id": record_id,
                "First_Name": person.given_name,
                "Last_Name": person.family_name,
                "Full_Name": person.display_name,
                "Email": world.recase(person),
                "Phone": person.phone,
                "Title": person.title,
                "Department": person.department,
                "Account_Name": _lookup("Accounts", accounts[person.company]),
                "Lead_Source": rng.choice(LEAD_SOURCES),
                "Contact_Type": "Staff" if person.kind == "staff" else "Customer",
                "Synced_Jira_User": None,
                **_stamps(rng),
            }
        )
    member_indexes = {p.index for p in members}
    prospects = [p for p in world.customers if p.index not in member_indexes]
    lead_ids = new_ids(state, len(prospects))
    leads = [
        {
            "id": record_id,
            "First_Name": person.given_name,
            "Last_Name": person.family_name,
            "Full_Name": person.display_name,
            "Email": person.email,
            "Company": person.company,
            "Phone": person.phone,
            "Lead_Status": rng.choice(MODULES["Leads"].field("Lead_Status").picklist),
            "Lead_Source": rng.choice(LEAD_SOURCES),
            **_stamps(rng),
        }
        for person, record_id in zip(prospects, lead_ids, strict=True)
    ]
    customers = [c for c in contacts if c["Contact_Type"] == "Customer"] or contacts
    deals = []
    for record_id in new_ids(state, max(1, len(world.people) // 20)):
        contact = rng.choice(customers)
        deals.append(
            {
                "id": record_id,
                "Deal_Name": f"{contact['Account_Name']['name']} renewal {record_id[-4:]}",
                "Stage": rng.choice(MODULES["Deals"].field("Stage").picklist),
                "Amount": float(rng.randrange(1000, 100000)),
                "Closing_Date": (EPOCH + dt.timedelta(days=rng.randrange(0, 365))).date().isoformat(),
                "Account_Name": contact["Account_Name"],
                "Contact_Name": _lookup("Contacts", contact),
                "Jira_Issue_Key": None,
                **_stamps(rng),
            }
        )
    cases = []
    for number, record_id in enumerate(new_ids(state, max(1, len(world.people) // 10)), start=1):
        contact = rng.choice(contacts)
        cases.append(
            {
                "id": record_id,
                "Subject": rng.choice(_CASE_SUBJECTS),
                "Case_Number": str(number).zfill(5),
                "Status": rng.choice(MODULES["Cases"].field("Status").picklist),
                "Priority": rng.choice(MODULES["Cases"].field("Priority").picklist),
                "Case_Origin": rng.choice(MODULES["Cases"].field("Case_Origin").picklist),
                "Type": rng.choice(MODULES["Cases"].field("Type").picklist),
                "Description": "Reported by the customer; see the notes.",
                "Email": contact["Email"],
                "Related_To": _lookup("Contacts", contact),
                "Account_Name": contact["Account_Name"],
                "Jira_Issue_Key": None,
                **_stamps(rng),
            }
        )
    state.collection("Accounts").put_many((a["id"], a) for a in accounts.values())
    state.collection("Contacts").put_many((c["id"], c) for c in contacts)
    state.collection("Leads").put_many((lead["id"], lead) for lead in leads)
    state.collection("Deals").put_many((d["id"], d) for d in deals)
    state.collection("Cases").put_many((c["id"], c) for c in cases)
    notes, attachments = [], []
    for module, records in (("Cases", cases), ("Deals", deals)):
        for record in records:
            if rng.random() < 0.5:
                notes.append(
                    new_note(
                        state,
                        module,
                        record,
                        "Call summary",
                        f"Spoke with the customer about {record['id']}.",
                        stamp=record["Modified_Time"],
                    )
                )
            if rng.random() < 0.25:
                content = f"log excerpt for {record['id']}\n".encode()
                attachments.append(
                    new_attachment(state, module, record, "log.txt", content, stamp=record["Modified_Time"])
                )
    state.collection("Notes").put_many((n["id"], n) for n in notes)
    state.collection("Attachments").put_many((a["id"], a) for a in attachments)
    _seed_deal_lists(world, state, deals, contacts)


def _seed_deal_lists(
    world: World, state: VendorState, deals: list[dict[str, Any]], contacts: list[dict[str, Any]]
) -> None:
    """Each deal's stage history (the move to its stage) and contact roles: its contact's, and now
    and then a colleague's at the same account. Seeded last, with a generator of their own, so the
    other records are what they were before deals had these lists."""
    rng = world.rng("zoho_deal_lists")
    entry_ids = new_ids(state, len(deals))
    history = [
        history_entry(deal, i, deal["Modified_Time"]) for deal, i in zip(deals, entry_ids, strict=True)
    ]
    by_account: dict[str, list[str]] = {}
    for contact in contacts:
        by_account.setdefault(contact["Account_Name"]["id"], []).append(contact["id"])
    roles = []
    for deal in deals:
        contact_id = deal["Contact_Name"]["id"]
        roles.append(role_entry(deal["id"], contact_id, rng.choice(CONTACT_ROLE_NAMES)))
        colleagues = [c for c in by_account[deal["Account_Name"]["id"]] if c != contact_id]
        if colleagues and rng.random() < 0.3:
            roles.append(role_entry(deal["id"], rng.choice(colleagues), rng.choice(CONTACT_ROLE_NAMES)))
    state.collection("Stage_History").put_many((e["id"], e) for e in history)
    state.collection("Contact_Roles").put_many(roles)


# ---- admin actions ---------------------------------------------------------------------------


def generate_records(state: VendorState, payload: dict[str, Any]) -> dict[str, Any]:
    """Add ``count`` valid records to ``module`` in one transaction (for 2,000-wall tests and benchmarks)."""
    module = MODULES.get(payload["module"])
    if module is None:
        raise ValueError(f"no Zoho module {payload['module']!r}; modules: {sorted(MODULES)}")
    count = int(payload["count"])
    if count < 1:
        raise ValueError(f"count must be 1 or more, got {count}")
    ids = new_ids(state, count)
    records = []
    for i, record_id in enumerate(ids):
        values = {f.api_name: f"{f.label} {record_id}" for f in module.fields if f.mandatory}
        if "Stage" in values:
            values["Stage"] = "Qualification"
        if module.api_name in ("Leads", "Contacts"):
            values["Email"] = f"generated.{record_id}@example.com"
        records.append(merged_record(state, module, values, i, None, new_id=record_id))
    state.collection(module.api_name).put_many((r["id"], r) for r in records)
    return {"module": module.api_name, "count": count, "first_id": ids[0], "last_id": ids[-1]}


def add_note(state: VendorState, payload: dict[str, Any]) -> dict[str, Any]:
    """A CRM user adds a note to a record: ``{"module", "record_id", "title", "content"}``."""
    module = payload["module"]
    record = state.collection(module).get(str(payload["record_id"])) if module in MODULES else None
    if record is None:
        raise KeyError(f"no {module} record {payload['record_id']!r} to add a note to")
    note = new_note(
        state, module, record, str(payload.get("title", "")), str(payload["content"]), stamp=now()
    )
    state.collection("Notes").put(note["id"], note)
    return note


def add_attachment(state: VendorState, payload: dict[str, Any]) -> dict[str, Any]:
    """A CRM user attaches a file to a record: ``{"module", "record_id", "file_name", "content": base64}``."""
    module = payload["module"]
    record = state.collection(module).get(str(payload["record_id"])) if module in MODULES else None
    if record is None:
        raise KeyError(f"no {module} record {payload['record_id']!r} to attach a file to")
    content = base64.b64decode(payload["content"])
    attachment = new_attachment(state, module, record, str(payload["file_name"]), content, stamp=now())
    state.collection("Attachments").put(attachment["id"], attachment)
    return {k: v for k, v in attachment.items() if k != "_content"}


def expire_page_tokens(state: VendorState, payload: dict[str, Any]) -> dict[str, Any]:
    """Every page token issued so far expires, as after Zoho's 24 hours."""
    return configure(state, {"page_token_epoch": settings(state)["page_token_epoch"] + 1})


ACTIONS = {
    "configure": configure,
    "generate_records": generate_records,
    "add_note": add_note,
    "add_attachment": add_attachment,
    "expire_page_tokens": expire_page_tokens,
    "webhook_deliveries": set_delivery_faults,
}
