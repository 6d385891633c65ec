"""What each vendor pushes, and how the receiver knows it came from the vendor.

- Jira signs its webhooks: ``X-Hub-Signature: sha256=<HMAC-SHA256 of the body>`` with the secret
  the webhook was registered with.
- Zoho CRM signs nothing: a notification carries back the ``token`` its channel was enabled with.
- Salesforce's outbound messages carry the org's ``OrganizationId``; the shared secret rides in the
  endpoint URL's ``token`` parameter (an outbound message can set no header), which Airflow's
  access log masks as it masks any parameter so named.

The secrets are extras of the sync's connection to the vendor (``webhook_secret``, and for
Salesforce ``organization_id``). An event is kept small: the vendor, its event, the object and the
records it names; the run reads the records themselves.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jirasync.engine.definitions import SyncDefinition
from jirasync.events.scope import JIRA_SYSTEMS, ORGANIZATION_ID, WEBHOOK_SECRET, jira_project
from jirasync.syncs.records_definition import CRM_SYSTEMS, crm_object

Event = dict[str, Any]  # {"vendor", "event", "object", "records", "at"}
OUTBOUND = "{http://soap.sforce.com/2005/09/outbound}"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
SALESFORCE_ACK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
    '<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack>'
    "</notificationsResponse></soapenv:Body></soapenv:Envelope>"
)


def described(event: Event, most: int = 5) -> str:
    """``Deals.update of 4150868000001, 4150868000002 and 98 more``: an event in a log line."""
    records = list(event.get("records") or [])
    shown = ", ".join(records[:most]) or "no record"
    more = f" and {len(records) - most} more" if len(records) > most else ""
    return f"{event.get('event')} of {shown}{more}"


class NotAnEvent(ValueError):
    """A proven body that says nothing the receiver understands."""


@dataclass(frozen=True)
class Pushed:
    """A request as the receiver got it."""

    body: bytes
    headers: Mapping[str, str]  # lower-case names
    query: Mapping[str, str]


@dataclass(frozen=True)
class EventSource:
    """One vendor's pushes: the systems of the sync's side they come from, the connection extras
    that prove them, the proof, and what they say."""

    vendor: str  # the receiver's path: /<sync>/<vendor>
    systems: tuple[str, ...]
    needs: tuple[str, ...]
    proven: Callable[[Mapping[str, Any], Pushed], bool]
    read: Callable[[bytes], Event]
    outside: Callable[[SyncDefinition, Event], str | None]


def _jira_proven(extras: Mapping[str, Any], pushed: Pushed) -> bool:
    signature = pushed.headers.get("x-hub-signature") or ""
    if not signature.startswith("sha256="):
        return False
    expected = hmac.new(str(extras[WEBHOOK_SECRET]).encode(), pushed.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.removeprefix("sha256="))


def _jira_event(body: bytes) -> Event:
    payload = _json(body)
    if not isinstance(payload.get("webhookEvent"), str):
        raise NotAnEvent("a Jira webhook names its event in webhookEvent")
    issue, attachment, user = (
        payload.get(name) if isinstance(payload.get(name), dict) else {}
        for name in ("issue", "attachment", "user")
    )
    # An attachment's event names the attachment alone; a user's event names the user who acted too.
    record = issue.get("key") or issue.get("id") or attachment.get("id") or user.get("accountId")
    return {
        "vendor": "jira",
        "event": payload["webhookEvent"],
        "object": "issue" if issue else "attachment" if attachment else "user",
        "records": [str(record)] if record else [],
        "at": payload.get("timestamp"),
    }


def _outside_project(definition: SyncDefinition, event: Event) -> str | None:
    """An issue of another project than a records ↔ issues sync's (a webhook whose filter is wider)."""
    project = jira_project(definition)
    if (
        project
        and event["object"] == "issue"
        and not all(r.startswith(f"{project}-") for r in event["records"])
    ):
        return f"the issue is not in the sync's project {project}"
    return None


def _zoho_proven(extras: Mapping[str, Any], pushed: Pushed) -> bool:
    try:
        token = json.loads(pushed.body).get("token")
    except (ValueError, AttributeError):
        return False
    return isinstance(token, str) and hmac.compare_digest(
        token.encode(), str(extras[WEBHOOK_SECRET]).encode()
    )


def _zoho_event(body: bytes) -> Event:
    payload = _json(body)
    ids, module, operation = payload.get("ids"), payload.get("module"), payload.get("operation")
    if not isinstance(ids, list) or not isinstance(module, str) or not isinstance(operation, str):
        raise NotAnEvent("a Zoho CRM notification names its module, operation and ids")
    return {
        "vendor": "zoho",
        "event": f"{module}.{operation}",
        "object": module,
        "records": [str(i) for i in ids],
        "at": payload.get("server_time"),
    }


def _salesforce_proven(extras: Mapping[str, Any], pushed: Pushed) -> bool:
    token = pushed.query.get("token") or ""
    if not hmac.compare_digest(token.encode(), str(extras[WEBHOOK_SECRET]).encode()):
        return False
    try:
        organization = ElementTree.fromstring(pushed.body).findtext(f".//{OUTBOUND}OrganizationId") or ""
    except ElementTree.ParseError:
        return False
    # Ids are 15 characters, case-sensitive, or 18 with a case-insensitive suffix.
    return organization[:15] == str(extras[ORGANIZATION_ID])[:15] != ""


def _salesforce_event(body: bytes) -> Event:
    try:
        envelope = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise NotAnEvent("the body is not XML") from None
    objects = envelope.findall(f".//{OUTBOUND}Notification/{OUTBOUND}sObject")
    if not objects:
        raise NotAnEvent("a Salesforce outbound message holds at least one Notification")
    types = {str(o.get(XSI_TYPE, "")).rpartition(":")[2] for o in objects}
    if len(types) != 1:
        raise NotAnEvent("a Salesforce outbound message is of one object")
    sobject = types.pop()
    records = [o.findtext("{urn:sobject.enterprise.soap.sforce.com}Id") or "" for o in objects]
    return {
        "vendor": "salesforce",
        "event": f"{sobject} outbound message",
        "object": sobject,
        "records": [r for r in records if r],
        "at": None,
    }


def _outside_object(definition: SyncDefinition, event: Event) -> str | None:
    """A record of another module or sObject than the one the sync reads."""
    if definition.source.system not in CRM_SYSTEMS:
        return f"the sync reads no {event['object']} from the CRM"
    wanted = crm_object(definition)
    return None if event["object"] == wanted else f"the sync reads {wanted}, not {event['object']}"


def _json(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError:
        raise NotAnEvent("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise NotAnEvent("the body is not a JSON object")
    return payload


SOURCES = {
    source.vendor: source
    for source in (
        EventSource("jira", JIRA_SYSTEMS, (WEBHOOK_SECRET,), _jira_proven, _jira_event, _outside_project),
        EventSource("zoho", ("zoho_crm",), (WEBHOOK_SECRET,), _zoho_proven, _zoho_event, _outside_object),
        EventSource(
            "salesforce",
            ("salesforce",),
            (WEBHOOK_SECRET, ORGANIZATION_ID),
            _salesforce_proven,
            _salesforce_event,
            _outside_object,
        ),
    )
}
