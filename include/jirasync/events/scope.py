"""What of a sync a vendor's events concern, for the receiver that checks them and the registration
that asks the vendors for them: the sync's side on that vendor (its connection holds the secrets
the events are proven with) and, for a records ↔ issues sync, its Jira project."""

from __future__ import annotations

from collections.abc import Iterable

from jirasync.engine.definitions import Endpoint, SyncDefinition

JIRA_SYSTEMS = ("jira", "jsm")
WEBHOOK_SECRET = "webhook_secret"  # the connection extra that signs or proves the vendor's events
ORGANIZATION_ID = "organization_id"  # the Salesforce connection extra: the org whose messages are taken


def side_on(definition: SyncDefinition, systems: Iterable[str]) -> Endpoint | None:
    wanted = set(systems)
    return next((e for e in (definition.source, definition.target) if e.system in wanted), None)


def jira_side(definition: SyncDefinition) -> Endpoint | None:
    return side_on(definition, JIRA_SYSTEMS)


def jira_project(definition: SyncDefinition) -> str | None:
    """The project whose issues a records ↔ issues sync links; None for the user syncs."""
    return definition.target.options.get("project") if definition.family == "records_to_issues" else None
