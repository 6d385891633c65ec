"""Jira webhooks for the syncs that listen to events (``events: true``): made or brought up to date,
listed and removed, as ``jirasync webhooks`` does.

A sync's webhook is the one whose URL is its receiver's (``receiver_url``), so registering again
updates it instead of adding a second one. It sends the events the sync's family uses, of the
issues of its Jira project only (a JQL filter), signed with the ``webhook_secret`` of the sync's
Jira connection, which the receiver checks them with.
"""

from __future__ import annotations

from typing import Any

from jirasync.connectors.jira import JiraConnector
from jirasync.connectors.query_literals import jql_string
from jirasync.engine.definitions import SyncDefinition
from jirasync.events.scope import jira_project

ISSUE_EVENTS = [
    "jira:issue_created",
    "jira:issue_updated",
    "jira:issue_deleted",
    "comment_created",
    "comment_updated",
    "comment_deleted",
]
USER_EVENTS = ["user_created", "user_updated", "user_deleted"]


class RegistrationError(Exception):
    """A webhook that cannot be registered for a sync, and why."""


def receiver_url(airflow_url: str, sync_id: str) -> str:
    """Where Jira sends a sync's events: the receiver of the jirasync plugin on Airflow's api-server."""
    return f"{airflow_url.rstrip('/')}/jirasync-events/{sync_id}/jira"


def webhook_for(definition: SyncDefinition, airflow_url: str, secret: str) -> dict[str, Any]:
    """The webhook a sync needs: its family's events, of its project's issues."""
    if not definition.events:
        raise RegistrationError(
            f"sync {definition.id!r} does not listen to events: set events: true in its definition"
        )
    project = jira_project(definition)
    return {
        "name": f"jirasync {definition.id}",
        "url": receiver_url(airflow_url, definition.id),
        "events": ISSUE_EVENTS if definition.family == "records_to_issues" else USER_EVENTS,
        "filters": {"issue-related-events-section": f"project = {jql_string(project)}" if project else ""},
        "excludeBody": False,
        "secret": secret,
    }


def register(jira: JiraConnector, definition: SyncDefinition, airflow_url: str, secret: str) -> str:
    """Make the sync's webhook, or bring the one there up to date: "created" or "updated"."""
    wanted = webhook_for(definition, airflow_url, secret)
    found = registered(jira, definition, airflow_url)
    if not found:
        jira.create_webhook(wanted)
        return "created"
    jira.update_webhook(_id(found[0]), wanted)
    for duplicate in found[1:]:  # one webhook per sync: a second would send every event twice
        jira.delete_webhook(_id(duplicate))
    return "updated"


def registered(jira: JiraConnector, definition: SyncDefinition, airflow_url: str) -> list[dict[str, Any]]:
    url = receiver_url(airflow_url, definition.id)
    return [hook for hook in jira.webhooks() if hook.get("url") == url]


def remove(jira: JiraConnector, definition: SyncDefinition, airflow_url: str) -> int:
    """Remove the sync's webhooks; how many there were."""
    found = registered(jira, definition, airflow_url)
    for hook in found:
        jira.delete_webhook(_id(hook))
    return len(found)


def _id(hook: dict[str, Any]) -> str:
    """A webhook's id: the end of its ``self`` URL, as Jira lists them."""
    return str(hook["self"]).rstrip("/").rsplit("/", 1)[-1]
