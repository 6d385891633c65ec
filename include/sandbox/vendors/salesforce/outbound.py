"""Salesforce's outbound messages: defined through the Tooling API (``WorkflowOutboundMessage``),
and sent, as SOAP, to their endpoint URL when records of their object are created or edited.

On Salesforce an outbound message goes when a flow or workflow rule sends it; here each one goes
as the record-triggered flow an admin adds for it would ("a record is created or updated"), for
writes through the REST API or the admin API. A message names the org (``OrganizationId``) and
holds one ``Notification`` per record written, with the fields the definition lists. Deleting a
record sends none, as no flow runs on delete. Deliveries leave through ``sandbox.deliveries``
(Salesforce would retry a refused one for a day; these are not retried) and the admin action
``webhook_deliveries`` sets their faults.
"""

from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from fastapi import APIRouter, Request, Response

from sandbox.changes import Change
from sandbox.deliveries import DELIVERIES, faults_of
from sandbox.vendor import VendorState
from sandbox.vendors.salesforce.api import (
    INTEGRATION_USER_ID,
    ORG_ID,
    SalesforceError,
    SalesforceRoute,
    api_version,
    json_object,
    next_ids,
    salesforce,
)
from sandbox.vendors.salesforce.schema import SObject, sobject_named

TOOLING = "/services/data/{version}/tooling"
DEFINITIONS = "outbound_messages"
# The Tooling object's id prefix; the sandbox keeps no other of its kind.
OUTBOUND_MESSAGE = SObject("WorkflowOutboundMessage", "Outbound Message", "04k", ())
NOTIFICATION = SObject("OutboundMessageNotification", "Notification", "04l", ())
SELECTABLE = (
    "Id",
    "Name",
    "FullName",
    "ApiVersion",
    "EndpointUrl",
    "IncludeSessionId",
    "IntegrationUserId",
    "EntityDefinitionId",
)
_QUERY = re.compile(r"\s*SELECT\s+(?P<fields>[\w\s,]+?)\s+FROM\s+WorkflowOutboundMessage\s*", re.IGNORECASE)

router = APIRouter(route_class=SalesforceRoute)


@router.post(TOOLING + "/sobjects/WorkflowOutboundMessage", status_code=201)
async def create(request: Request, version: str) -> dict[str, Any]:
    state = salesforce(request)
    definition = _checked(await json_object(request), api_version(version))
    definition["Id"] = next_ids(state, OUTBOUND_MESSAGE, 1)[0]
    state.collection(DEFINITIONS).put(definition["Id"], definition)
    return {"id": definition["Id"], "success": True, "errors": [], "warnings": [], "infos": []}


@router.get(TOOLING + "/sobjects/WorkflowOutboundMessage/{message_id}")
def get(request: Request, version: str, message_id: str) -> dict[str, Any]:
    return _shown(_definition(salesforce(request), message_id), version, (*SELECTABLE, "Metadata"))


@router.patch(TOOLING + "/sobjects/WorkflowOutboundMessage/{message_id}", status_code=204)
async def update(request: Request, version: str, message_id: str) -> Response:
    state = salesforce(request)
    current = _definition(state, message_id)
    body = await json_object(request)
    changed = _checked({"FullName": current["FullName"], **body}, api_version(version))
    state.collection(DEFINITIONS).put(message_id, {**changed, "Id": message_id})
    return Response(status_code=204)


@router.delete(TOOLING + "/sobjects/WorkflowOutboundMessage/{message_id}", status_code=204)
def delete(request: Request, version: str, message_id: str) -> Response:
    state = salesforce(request)
    _definition(state, message_id)
    state.collection(DEFINITIONS).delete(message_id)
    return Response(status_code=204)


@router.get(TOOLING + "/query")
def query(request: Request, version: str, q: str | None = None) -> dict[str, Any]:
    """``SELECT <fields> FROM WorkflowOutboundMessage``: the one Tooling query the sandbox answers."""
    api_version(version)
    found = _QUERY.fullmatch(q or "")
    if found is None:
        raise SalesforceError(
            400,
            "MALFORMED_QUERY",
            "The sandbox's Tooling API answers SELECT <fields> FROM WorkflowOutboundMessage",
        )
    fields = [name.strip() for name in found["fields"].split(",")]
    unknown = [name for name in fields if name not in SELECTABLE]
    if unknown:
        raise SalesforceError(
            400, "INVALID_FIELD", f"No such column '{unknown[0]}' on entity 'WorkflowOutboundMessage'."
        )
    records = [
        _shown(d, version, fields) for d in sorted(_definitions(salesforce(request)), key=lambda d: d["Id"])
    ]
    return {
        "size": len(records),
        "totalSize": len(records),
        "done": True,
        "queryLocator": None,
        "entityTypeName": "WorkflowOutboundMessage",
        "records": records,
    }


def _checked(body: dict[str, Any], version: str) -> dict[str, Any]:
    """A definition from ``{"FullName": "<Object>.<Name>", "Metadata": {...}}``, or Salesforce's 400."""
    full_name, metadata = body.get("FullName"), body.get("Metadata")
    if not isinstance(full_name, str) or "." not in full_name or not isinstance(metadata, dict):
        raise SalesforceError(
            400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [FullName, Metadata]"
        )
    object_name = full_name.partition(".")[0]
    sobject = sobject_named(object_name)
    if sobject is None:
        raise SalesforceError(400, "INVALID_INPUT", f"Cannot find object: {object_name}", ["FullName"])
    endpoint = metadata.get("endpointUrl")
    if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")):
        raise SalesforceError(400, "INVALID_INPUT", "Endpoint URL: Invalid URL", ["endpointUrl"])
    fields = metadata.get("fields") or ["Id"]
    unknown = [f for f in fields if not isinstance(f, str) or sobject.field(f) is None]
    if unknown:
        raise SalesforceError(400, "INVALID_INPUT", f"Invalid field: {unknown[0]}", ["fields"])
    return {
        "FullName": full_name,
        "Name": str(metadata.get("name") or full_name.partition(".")[2]),
        "ApiVersion": float(metadata.get("apiVersion") or version),
        "EndpointUrl": endpoint,
        "IncludeSessionId": bool(metadata.get("includeSessionId", False)),
        "IntegrationUserId": INTEGRATION_USER_ID,
        "EntityDefinitionId": sobject.name,
        "Metadata": {**metadata, "fields": list(fields)},
    }


def _definitions(state: VendorState) -> list[dict[str, Any]]:
    # Looked for, not opened: opening would add an empty collection to a world that has none.
    found = next((c for c in state.collections() if c.name == DEFINITIONS), None)
    return list(found or ())


def _definition(state: VendorState, message_id: str) -> dict[str, Any]:
    found = state.collection(DEFINITIONS).get(message_id)
    if found is None:
        raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
    return found


def _shown(definition: dict[str, Any], version: str, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    url = f"/services/data/{version}/tooling/sobjects/WorkflowOutboundMessage/{definition['Id']}"
    return {
        "attributes": {"type": "WorkflowOutboundMessage", "url": url},
        **{f: definition[f] for f in fields},
    }


# --- sending -------------------------------------------------------------------------------------


def notify(state: VendorState, changes: list[Change]) -> None:
    """Send the outbound messages of the records these writes created or edited."""
    definitions = _definitions(state)
    if not definitions:
        return
    written: dict[str, dict[str, dict[str, Any]]] = {}  # object → id → the record as written
    for change in changes:
        if change.after is not None and not change.after.get("IsDeleted"):
            written.setdefault(change.collection, {})[change.record_id] = change.after
    faults = faults_of(state)
    for definition in definitions:
        records = written.get(definition["EntityDefinitionId"])
        if records:
            body = _message(state, definition, records).encode()
            headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
            DELIVERIES.send(definition["EndpointUrl"], body, headers, faults)


def _message(state: VendorState, definition: dict[str, Any], records: dict[str, dict[str, Any]]) -> str:
    instance = f"https://{state.config.site}.my.salesforce.com"
    version = definition["ApiVersion"]
    sobject = definition["EntityDefinitionId"]
    ids = next_ids(state, NOTIFICATION, len(records))
    notifications = "".join(
        "<Notification>"
        f"<Id>{notification_id}</Id>"
        f'<sObject xsi:type={quoteattr("sf:" + sobject)} xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
        + "".join(
            f"<sf:{name}>{escape(str(record[name]))}</sf:{name}>"
            for name in definition["Metadata"]["fields"]
            if record.get(name) is not None
        )
        + "</sObject></Notification>"
        for notification_id, record in zip(ids, records.values(), strict=True)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        f"<OrganizationId>{ORG_ID}</OrganizationId>"
        f"<ActionId>{definition['Id']}</ActionId>"
        '<SessionId xsi:nil="true"/>'
        f"<EnterpriseUrl>{instance}/services/Soap/c/{version}/{ORG_ID[:15]}</EnterpriseUrl>"
        f"<PartnerUrl>{instance}/services/Soap/u/{version}/{ORG_ID[:15]}</PartnerUrl>"
        f"{notifications}</notifications></soapenv:Body></soapenv:Envelope>"
    )
