"""A JiraConnector on the test sandbox's Jira, shared by the Jira connector tests."""

from __future__ import annotations

from jirasync.connectors import VirtualClock
from jirasync.connectors.jira import JiraConnector, issue_update
from sandbox.testing import RunningSandbox

SUPPORT_TEAM = "6c1a6e1c-0000-4000-8000-000000000003"
USERS = "GET /rest/api/3/users/search"


def connect(sandbox: RunningSandbox, clock: VirtualClock | None = None, **options: object) -> JiraConnector:
    """The connector with a virtual clock, so retries record their waits instead of sleeping."""
    credentials = sandbox.credentials["jira"]
    return JiraConnector.with_api_token(
        sandbox.url("/jira"),
        credentials["email"],
        credentials["api_token"],
        clock=clock or VirtualClock(),
        **options,
    )


def new_task(summary: str, **fields: object) -> dict[str, object]:
    return issue_update(
        {"project": {"key": "SUP"}, "issuetype": {"name": "Task"}, "summary": summary, **fields}
    )
