"""The Salesforce org seeded from the shared world, and the admin actions a Salesforce user would take.

Contacts are the world's CRM contacts (~40% of staff and customers, emails as the CRM typed
them, so some differ from Jira's in case only), each under the Account of their company. Half
the customer contacts (and a tenth of the staff) opened Cases; every Case carries comments and
half carry a file (an Attachment). About a third carry a Salesforce File too (a ContentVersion
published to the Case, as Lightning keeps files), drawn from their own random stream so that adding
them left the rest of the org as it was.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from typing import Any

from sandbox.deliveries import set_delivery_faults
from sandbox.vendor import VendorState
from sandbox.vendors.salesforce.api import (
    INTEGRATION_USER_ID,
    DailyAllowance,
    SalesforceError,
    id_number,
    salesforce_time,
)
from sandbox.vendors.salesforce.login import USERNAME
from sandbox.vendors.salesforce.records import Records, sobject_or_error
from sandbox.vendors.salesforce.schema import (
    ACCOUNT,
    ATTACHMENT,
    CASE,
    CASE_COMMENT,
    CASE_STATUSES,
    CONTACT,
    CONTENT_VERSION,
    USER,
)
from sandbox.world import World

SEED_EPOCH = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
_SUBJECTS = (
    "Cannot log in to the portal",
    "Invoice shows the wrong amount",
    "Export to CSV times out",
    "Feature request: dark mode",
    "Password reset email never arrives",
    "API returns 500 on large uploads",
    "Question about the renewal",
)
_COMMENTS = (
    "Thanks, we are looking into it.",
    "Could you send a screenshot?",
    "This is fixed in the next release.",
    "Still happening on our side.",
)


def seed_salesforce(world: World, state: VendorState) -> None:
    rng = world.rng("salesforce")
    records = Records(state)
    DailyAllowance(state).set(maximum=15_000)

    def stamped(fields: dict[str, Any], days: float) -> dict[str, Any]:
        stamp = salesforce_time(SEED_EPOCH + dt.timedelta(days=days))
        return {
            **{f.name: None for f in fields["_sobject"].fields},
            **{k: v for k, v in fields.items() if k != "_sobject"},
            "IsDeleted": False,
            "CreatedDate": stamp,
            "CreatedById": INTEGRATION_USER_ID,
            "LastModifiedDate": stamp,
            "LastModifiedById": INTEGRATION_USER_ID,
            "SystemModstamp": stamp,
        }

    user = stamped({"_sobject": USER, "Username": USERNAME, "Name": "Integration User", "Email": USERNAME}, 0)
    user.update(Id=INTEGRATION_USER_ID, IsActive=True)
    state.collection(USER.name).put(INTEGRATION_USER_ID, user)

    people = world.members("crm_contact", world.people)
    companies = sorted({p.company for p in people})
    account_ids = records.insert(
        ACCOUNT,
        [stamped({"_sobject": ACCOUNT, "Name": c, "OwnerId": INTEGRATION_USER_ID}, 0) for c in companies],
    )
    account_of = dict(zip(companies, account_ids, strict=True))
    contact_ids = records.insert(
        CONTACT,
        [
            stamped(
                {
                    "_sobject": CONTACT,
                    "FirstName": p.given_name,
                    "LastName": p.family_name,
                    "Email": world.recase(p),
                    "Phone": p.phone,
                    "Title": p.title,
                    "Department": p.department,
                    "AccountId": account_of[p.company],
                    "OwnerId": INTEGRATION_USER_ID,
                },
                rng.uniform(0, 300),
            )
            for p in people
        ],
    )
    openers = [
        (person, contact_id)
        for person, contact_id in zip(people, contact_ids, strict=True)
        if rng.random() < (0.5 if person.kind == "customer" else 0.1)
    ]
    cases = [
        stamped(
            {
                "_sobject": CASE,
                "Subject": rng.choice(_SUBJECTS),
                "Description": f"Reported by {person.display_name}.",
                "Status": rng.choice(CASE_STATUSES),
                "Priority": rng.choice(("High", "Medium", "Low")),
                "Origin": rng.choice(("Phone", "Email", "Web")),
                "ContactId": contact_id,
                "AccountId": account_of[person.company],
                "OwnerId": INTEGRATION_USER_ID,
                "SuppliedEmail": person.email,
                "SuppliedName": person.display_name,
            },
            rng.uniform(0, 300),
        )
        for person, contact_id in openers
    ]
    case_ids = records.insert(CASE, cases)
    comments, files = [], []
    for case_id, case in zip(case_ids, cases, strict=True):
        for _ in range(rng.randrange(1, 4)):
            comments.append(
                stamped(
                    {
                        "_sobject": CASE_COMMENT,
                        "ParentId": case_id,
                        "CommentBody": rng.choice(_COMMENTS),
                        "IsPublished": rng.random() < 0.5,
                    },
                    rng.uniform(300, 330),
                )
            )
        if rng.random() < 0.5:
            content = f"Log for case {case['CaseNumber']}\n".encode()
            files.append(
                stamped(
                    {
                        "_sobject": ATTACHMENT,
                        "ParentId": case_id,
                        "Name": f"case-{case['CaseNumber']}.log",
                        "ContentType": "text/plain",
                        "Body": base64.b64encode(content).decode(),
                        "IsPrivate": False,
                    },
                    rng.uniform(300, 330),
                )
            )
    records.insert(CASE_COMMENT, comments)
    records.insert(ATTACHMENT, files)
    _seed_files(world, records, case_ids, cases, stamped)


def _seed_files(
    world: World,
    records: Records,
    case_ids: list[str],
    cases: list[dict[str, Any]],
    stamped: Callable[[dict[str, Any], float], dict[str, Any]],
) -> None:
    rng = world.rng("salesforce-files")
    versions = [
        stamped(
            {
                "_sobject": CONTENT_VERSION,
                "Title": f"Screenshot {case['CaseNumber']}",
                "PathOnClient": f"screenshot-{case['CaseNumber']}.txt",
                "VersionData": base64.b64encode(f"Screen of case {case['CaseNumber']}\n".encode()).decode(),
                "FirstPublishLocationId": case_id,
                "OwnerId": INTEGRATION_USER_ID,
            },
            rng.uniform(300, 330),
        )
        for case_id, case in zip(case_ids, cases, strict=True)
        if rng.random() < 1 / 3
    ]
    records.insert(CONTENT_VERSION, versions)


def set_daily_limit(state: VendorState, payload: dict[str, Any]) -> dict[str, int]:
    """``{"max": 100, "used": 0}``: the org's DailyApiRequests allowance and how much of it is spent."""
    allowance = DailyAllowance(state)
    allowance.set(int(payload["max"]), int(payload.get("used", 0)))
    used, maximum = allowance.get()
    return {"Max": maximum, "Used": used}


def add_contacts(state: VendorState, payload: dict[str, Any]) -> dict[str, int]:
    """``{"count": 100000}``: many plain contacts at once (an import), for volume tests and benchmarks."""
    count = int(payload["count"])
    if not 1 <= count <= 1_000_000:
        raise ValueError(f"count must be between 1 and 1,000,000, got {count}")
    records = Records(state)
    template = records.prepare_create(CONTACT, {"LastName": "Imported"})
    start = id_number(records.insert(CONTACT, [dict(template)])[0])
    batch = [
        {**template, "FirstName": f"Imported{start + i}", "Email": f"imported.{start + i}@import.example"}
        for i in range(1, count)
    ]
    records.insert(CONTACT, batch)
    return {"added": count, "total": len(records.collection(CONTACT))}


def edit_record(state: VendorState, payload: dict[str, Any]) -> dict[str, Any]:
    """``{"sobject": "Case", "id": "500…", "fields": {"Status": "Closed"}}``: a user's edit in Salesforce."""
    described = sobject_or_error(str(payload["sobject"]))
    records = Records(state)
    try:
        updated = records.prepare_update(described, str(payload["id"]), dict(payload["fields"]))
    except SalesforceError as error:
        raise ValueError(f"{error.error_code}: {error.message}") from None
    records.store(described, [updated])
    return updated


def add_case_comment(state: VendorState, payload: dict[str, Any]) -> dict[str, Any]:
    """``{"case": "500…", "body": "…", "published": true}``: an agent comments on a Case."""
    records = Records(state)
    try:
        comment = records.prepare_create(
            CASE_COMMENT,
            {
                "ParentId": payload["case"],
                "CommentBody": payload["body"],
                "IsPublished": bool(payload.get("published")),
            },
        )
    except SalesforceError as error:
        raise ValueError(f"{error.error_code}: {error.message}") from None
    [comment_id] = records.insert(CASE_COMMENT, [comment])
    return {**comment, "Id": comment_id}


def add_attachment(state: VendorState, payload: dict[str, Any]) -> dict[str, Any]:
    """``{"parent": "500…", "name": "…", "content": base64, "content_type": "…"}``: a file on a Case."""
    records = Records(state)
    fields = {
        "ParentId": payload["parent"],
        "Name": payload["name"],
        "ContentType": payload.get("content_type") or "application/octet-stream",
        "Body": payload["content"],
    }
    try:
        attachment = records.prepare_create(ATTACHMENT, fields)
    except SalesforceError as error:
        raise ValueError(f"{error.error_code}: {error.message}") from None
    [attachment_id] = records.insert(ATTACHMENT, [attachment])
    return {"Id": attachment_id}


def add_file(state: VendorState, payload: dict[str, Any]) -> dict[str, Any]:
    """``{"parent": "500…", "name": "…", "content": base64}``: a Lightning user uploads a file to a
    Case; with ``"document": "069…"`` instead of ``parent``, a new version of that file."""
    records = Records(state)
    fields = {"PathOnClient": payload["name"], "VersionData": payload["content"]}
    if payload.get("document"):
        fields["ContentDocumentId"] = payload["document"]
    else:
        fields["FirstPublishLocationId"] = payload["parent"]
    try:
        version = records.prepare_create(CONTENT_VERSION, fields)
    except SalesforceError as error:
        raise ValueError(f"{error.error_code}: {error.message}") from None
    [version_id] = records.insert(CONTENT_VERSION, [version])
    return {"Id": version_id, "ContentDocumentId": version["ContentDocumentId"]}


def delete_record(state: VendorState, payload: dict[str, Any]) -> dict[str, Any]:
    """``{"sobject": "CaseComment", "id": "00a…"}``: a user deletes a record (to the recycle bin)."""
    described = sobject_or_error(str(payload["sobject"]))
    records = Records(state)
    try:
        deleted = records.prepare_delete(described, str(payload["id"]))
    except SalesforceError as error:
        raise ValueError(f"{error.error_code}: {error.message}") from None
    records.store(described, [deleted])
    return {"deleted": deleted["Id"]}


ACTIONS = {
    "set_daily_limit": set_daily_limit,
    "delete_record": delete_record,
    "add_contacts": add_contacts,
    "edit_record": edit_record,
    "add_case_comment": add_case_comment,
    "add_attachment": add_attachment,
    "add_file": add_file,
    "webhook_deliveries": set_delivery_faults,
}
