"""Each vendor's registration of a sync's events: Jira webhooks, Zoho CRM notification channels,
Salesforce outbound messages. Made or brought up to date, listed and removed.

A registration is the sync's when its URL is the sync's receiver path on that vendor
(``/jirasync-events/<sync>/<vendor>``), whatever Airflow's address: registering again, even from
a new address, updates it instead of adding a second, and listing, removing or renewing needs no
address at all.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from jirasync.connectors.jira import JiraConnector
from jirasync.connectors.query_literals import jql_string
from jirasync.connectors.salesforce import SalesforceConnector
from jirasync.connectors.zoho import ZohoCrmConnector
from jirasync.engine.definitions import SyncDefinition
from jirasync.events.scope import jira_project
from jirasync.syncs.records_definition import crm_object

ISSUE_EVENTS = [
    "jira:issue_created",
    "jira:issue_updated",
    "jira:issue_deleted",
    "comment_created",
    "comment_updated",
    "comment_deleted",
    "attachment_created",
    "attachment_deleted",
]
USER_EVENTS = ["user_created", "user_updated", "user_deleted"]
# Zoho keeps a channel a week at most; renewed daily (the jirasync_event_channels DAG), six days
# leave five for a renewal that failed to be noticed and fixed.
CHANNEL_LIFETIME = dt.timedelta(days=6)
MAX_ZOHO_TOKEN = 50
SALESFORCE_API_VERSION = 62.0


class RegistrationError(Exception):
    """An event registration that cannot be made for a sync, and why."""


@dataclass(frozen=True)
class Registration:
    """What a vendor holds for a sync, as ``jirasync webhooks list`` shows it."""

    vendor: str
    id: str
    says: str


def receiver_path(sync_id: str, vendor: str) -> str:
    return f"/jirasync-events/{sync_id}/{vendor}"


def receiver_url(airflow_url: str, sync_id: str, vendor: str) -> str:
    """Where a vendor sends a sync's events: the receiver of the jirasync plugin on Airflow's api-server."""
    return airflow_url.rstrip("/") + receiver_path(sync_id, vendor)


def _is_receiver(url: str, sync_id: str, vendor: str) -> bool:
    return urlsplit(url).path.endswith(receiver_path(sync_id, vendor))


# --- Jira ----------------------------------------------------------------------------------------


def jira_webhook(definition: SyncDefinition, url: str, secret: str) -> dict[str, Any]:
    """The webhook a sync needs: its family's events, of its project's issues."""
    project = jira_project(definition)
    return {
        "name": f"jirasync {definition.id}",
        "url": url,
        "events": ISSUE_EVENTS if definition.family == "records_to_issues" else USER_EVENTS,
        "filters": {"issue-related-events-section": f"project = {jql_string(project)}" if project else ""},
        "excludeBody": False,
        "secret": secret,
    }


def register_jira(jira: JiraConnector, definition: SyncDefinition, url: str, secret: str) -> str:
    """Make the sync's webhook, or bring the one there up to date: "created" or "updated"."""
    wanted = jira_webhook(definition, url, secret)
    found = _jira_webhooks(jira, definition)
    if not found:
        jira.create_webhook(wanted)
        return "created"
    jira.update_webhook(_webhook_id(found[0]), wanted)
    for duplicate in found[1:]:  # one webhook per sync: a second would send every event twice
        jira.delete_webhook(_webhook_id(duplicate))
    return "updated"


def jira_registrations(jira: JiraConnector, definition: SyncDefinition) -> list[Registration]:
    return [
        Registration(
            "jira", _webhook_id(hook), f"{hook['name']}: {', '.join(hook['events'])} {hook['filters']}"
        )
        for hook in _jira_webhooks(jira, definition)
    ]


def remove_jira(jira: JiraConnector, definition: SyncDefinition) -> int:
    found = _jira_webhooks(jira, definition)
    for hook in found:
        jira.delete_webhook(_webhook_id(hook))
    return len(found)


def _jira_webhooks(jira: JiraConnector, definition: SyncDefinition) -> list[dict[str, Any]]:
    return [hook for hook in jira.webhooks() if _is_receiver(hook.get("url", ""), definition.id, "jira")]


def _webhook_id(hook: dict[str, Any]) -> str:
    """A webhook's id: the end of its ``self`` URL, as Jira lists them."""
    return str(hook["self"]).rstrip("/").rsplit("/", 1)[-1]


# --- Zoho CRM ------------------------------------------------------------------------------------


def channel_id(sync_id: str) -> int:
    """The sync's channel: a number of the sync's own, as Zoho wants a number the client picks."""
    return 1_000_000_000_000 + zlib.crc32(sync_id.encode())


def register_zoho(
    zoho: ZohoCrmConnector, definition: SyncDefinition, url: str, secret: str, now: dt.datetime
) -> str:
    """Subscribe the sync's channel to every change of its module, or renew it: "created" or "renewed"."""
    found = {int(c["channel_id"]) for c in _zoho_channels(zoho, definition)}
    zoho.enable_notifications(_channel(definition, url, secret, now))
    stale = found - {channel_id(definition.id)}
    if stale:  # made by hand, or before: one channel per sync, or each change comes twice
        zoho.disable_notifications(sorted(stale))
    return "renewed" if channel_id(definition.id) in found else "created"


def renew_zoho(
    zoho: ZohoCrmConnector, definition: SyncDefinition, secret: str, now: dt.datetime
) -> dt.datetime:
    """Subscribe the sync's channel again, at the URL it has, for another ``CHANNEL_LIFETIME``; when
    it ends now. Zoho drops an expired channel, so one that is gone must be registered again."""
    found = [c for c in _zoho_channels(zoho, definition) if int(c["channel_id"]) == channel_id(definition.id)]
    if not found:
        raise RegistrationError(
            f"sync {definition.id!r} listens to events, but Zoho CRM has no notification channel for it "
            "(never registered, or expired): run `jirasync webhooks register "
            f"{definition.id} --airflow-url <Airflow's address>`"
        )
    zoho.enable_notifications(_channel(definition, found[0]["notify_url"], secret, now))
    return now + CHANNEL_LIFETIME


def zoho_registrations(zoho: ZohoCrmConnector, definition: SyncDefinition) -> list[Registration]:
    return [
        Registration("zoho", str(c["channel_id"]), f"{', '.join(c['events'])} until {c['channel_expiry']}")
        for c in _zoho_channels(zoho, definition)
    ]


def remove_zoho(zoho: ZohoCrmConnector, definition: SyncDefinition) -> int:
    found = sorted({int(c["channel_id"]) for c in _zoho_channels(zoho, definition)})
    if found:
        zoho.disable_notifications(found)
    return len(found)


def check_zoho_token(definition: SyncDefinition, secret: str) -> None:
    if len(secret) > MAX_ZOHO_TOKEN:
        raise RegistrationError(
            f"Zoho CRM sends back a token of at most {MAX_ZOHO_TOKEN} characters, and the webhook_secret of "
            f"sync {definition.id!r}'s Zoho connection has {len(secret)}: put a shorter random one there "
            "(python -c 'import secrets; print(secrets.token_urlsafe(32))' makes 43), then register again"
        )


def _channel(definition: SyncDefinition, url: str, secret: str, now: dt.datetime) -> dict[str, Any]:
    check_zoho_token(definition, secret)
    return {
        "channel_id": channel_id(definition.id),
        "events": [f"{crm_object(definition)}.all"],
        "notify_url": url,
        "token": secret,
        "channel_expiry": (now + CHANNEL_LIFETIME).astimezone(dt.UTC).replace(microsecond=0).isoformat(),
        "notify_on_related_action": False,
    }


def _zoho_channels(zoho: ZohoCrmConnector, definition: SyncDefinition) -> list[dict[str, Any]]:
    return [
        c
        for c in zoho.notification_channels()
        if _is_receiver(c.get("notify_url", ""), definition.id, "zoho")
    ]


# --- Salesforce ----------------------------------------------------------------------------------


def outbound_message_name(definition: SyncDefinition) -> str:
    """A name Salesforce takes: letters, digits and single underscores, starting with a letter."""
    safe = "_".join(
        part for part in "".join(c if c.isalnum() else "_" for c in definition.id).split("_") if part
    )
    return f"jirasync_{safe}"[:80]


def register_salesforce(
    salesforce: SalesforceConnector, definition: SyncDefinition, url: str, secret: str, integration_user: str
) -> str:
    """Define the sync's outbound message on its object, or bring it up to date: "created" or "updated".
    It carries the record ids only; the run reads the records."""
    metadata = {
        "name": outbound_message_name(definition),
        "description": f"jirasync: changes of {crm_object(definition)} for the sync {definition.id}",
        "endpointUrl": f"{url}?token={quote(secret, safe='')}",
        "fields": ["Id"],
        "includeSessionId": False,
        "integrationUser": integration_user,
        "apiVersion": SALESFORCE_API_VERSION,
        "protected": False,
        "useDeadLetterQueue": False,
    }
    found = _outbound_messages(salesforce, definition)
    if not found:
        salesforce.create_outbound_message(f"{crm_object(definition)}.{metadata['name']}", metadata)
        return "created"
    salesforce.update_outbound_message(found[0]["Id"], metadata)
    for duplicate in found[1:]:
        salesforce.delete_outbound_message(duplicate["Id"])
    return "updated"


def salesforce_registrations(
    salesforce: SalesforceConnector, definition: SyncDefinition
) -> list[Registration]:
    return [
        Registration("salesforce", m["Id"], f"outbound message {m['Name']} on {m['EntityDefinitionId']}")
        for m in _outbound_messages(salesforce, definition)
    ]


def remove_salesforce(salesforce: SalesforceConnector, definition: SyncDefinition) -> int:
    found = _outbound_messages(salesforce, definition)
    for message in found:
        salesforce.delete_outbound_message(message["Id"])
    return len(found)


def _outbound_messages(salesforce: SalesforceConnector, definition: SyncDefinition) -> list[dict[str, Any]]:
    return [
        m
        for m in salesforce.outbound_messages()
        if _is_receiver(m.get("EndpointUrl") or "", definition.id, "salesforce")
    ]
