"""A sync's event registrations on every vendor it takes events from, as ``jirasync webhooks``
makes, lists and removes them (``jirasync.events.vendors`` does each vendor's part).

Every sync that listens to events (``events: true``) takes Jira's: its issues' and comments' for a
records ↔ issues sync, its users' for the user syncs. A records ↔ issues sync also takes its CRM's:
Zoho CRM notifications of its module, or Salesforce outbound messages of its object. Each vendor's
events are proven with the ``webhook_secret`` in the extras of the sync's connection to it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol

from jirasync.connectors.redaction import register_secret
from jirasync.engine.definitions import Endpoint, SyncDefinition
from jirasync.events import vendors
from jirasync.events.scope import WEBHOOK_SECRET, jira_side
from jirasync.events.vendors import Registration, RegistrationError, receiver_url

CRM_VENDORS = {"zoho_crm": "zoho", "salesforce": "salesforce"}


class ConnectionLike(Protocol):
    """What registration reads of an Airflow connection."""

    login: str | None

    @property
    def extra_dejson(self) -> dict[str, Any]: ...


def event_sides(definition: SyncDefinition) -> list[tuple[str, Endpoint]]:
    """The vendors the sync takes events from, each with the sync's side on it."""
    if not definition.events:
        raise RegistrationError(
            f"sync {definition.id!r} does not listen to events: set events: true in its definition"
        )
    sides = []
    jira = jira_side(definition)
    if jira is not None:
        sides.append(("jira", jira))
    if definition.family == "records_to_issues" and definition.source.system in CRM_VENDORS:
        sides.append((CRM_VENDORS[definition.source.system], definition.source))
    return sides


def register(
    definition: SyncDefinition,
    airflow_url: str,
    connect: Callable[[Endpoint], Any],
    connection: Callable[[str], ConnectionLike],
    now: dt.datetime,
) -> list[str]:
    """Make or update the sync's registration on each vendor; what was done, a line each. Every
    vendor's secret is checked first: a sync is registered on all its vendors or on none."""
    ready = []
    for vendor, endpoint in event_sides(definition):
        conn = connection(endpoint.conn_id)
        secret = conn.extra_dejson.get(WEBHOOK_SECRET)
        if not secret:
            raise RegistrationError(
                f"the connection {endpoint.conn_id!r} has no webhook_secret in its extras: put a long random "
                f"string there (Airflow's receiver checks every {vendor} event with it), then register again"
            )
        if vendor == "zoho":
            vendors.check_zoho_token(definition, secret)
        register_secret(secret)  # Salesforce's endpoint URL holds it: kept out of any error that quotes one
        ready.append((vendor, endpoint, conn, secret))
    said = []
    for vendor, endpoint, conn, secret in ready:
        url = receiver_url(airflow_url, definition.id, vendor)
        connector = connect(endpoint)
        if vendor == "jira":
            done = vendors.register_jira(connector, definition, url, secret)
            said.append(f"{done} the Jira webhook of {definition.id}: {url}")
        elif vendor == "zoho":
            done = vendors.register_zoho(connector, definition, url, secret, now)
            said.append(
                f"{done} the Zoho CRM notification channel of {definition.id}: {url} (until "
                f"{now + vendors.CHANNEL_LIFETIME:%Y-%m-%d %H:%M} UTC; the jirasync_event_channels DAG renews it daily)"
            )
        else:
            done = vendors.register_salesforce(connector, definition, url, secret, conn.login or "")
            said.append(
                f"{done} the Salesforce outbound message {vendors.outbound_message_name(definition)} of "
                f"{definition.id}: {url}?token=… Salesforce sends it only from a flow or workflow rule: in Setup, "
                f"add it to a record-triggered flow on {definition.source.options.get('sobject')} "
                "(when a record is created or updated), once"
            )
    return said


def registrations(definition: SyncDefinition, connect: Callable[[Endpoint], Any]) -> list[Registration]:
    listed = {
        "jira": vendors.jira_registrations,
        "zoho": vendors.zoho_registrations,
        "salesforce": vendors.salesforce_registrations,
    }
    return [
        found
        for vendor, endpoint in event_sides(definition)
        for found in listed[vendor](connect(endpoint), definition)
    ]


def remove(definition: SyncDefinition, connect: Callable[[Endpoint], Any]) -> dict[str, int]:
    """Remove the sync's registrations; how many each vendor had."""
    removers = {
        "jira": vendors.remove_jira,
        "zoho": vendors.remove_zoho,
        "salesforce": vendors.remove_salesforce,
    }
    return {
        vendor: removers[vendor](connect(endpoint), definition)
        for vendor, endpoint in event_sides(definition)
    }
