"""What of a sync Jira's events concern, for the receiver that checks them and the registration that
asks Jira for them: the sync's Jira side (its connection holds the webhook's secret) and, for a
records ↔ issues sync, its project."""

from __future__ import annotations

from jirasync.engine.definitions import Endpoint, SyncDefinition

JIRA_SYSTEMS = ("jira", "jsm")
WEBHOOK_SECRET = "webhook_secret"  # the extra of the Jira connection that signs and checks the events


def jira_side(definition: SyncDefinition) -> Endpoint | None:
    return next((e for e in (definition.source, definition.target) if e.system in JIRA_SYSTEMS), None)


def jira_project(definition: SyncDefinition) -> str | None:
    """The project whose issues a records ↔ issues sync links; None for the user syncs."""
    return definition.target.options.get("project") if definition.family == "records_to_issues" else None
