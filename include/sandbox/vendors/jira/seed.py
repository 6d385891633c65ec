"""The Jira part of the world: users (some hiding their email), apps, customers, groups, projects, issues."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sandbox.vendor import VendorState
from sandbox.vendors.jira.api import ADMIN_ACCOUNT_ID, ADMIN_EMAIL, jira_time
from sandbox.vendors.jira.workflow import STATUSES
from sandbox.world import APP_ACCOUNTS, Person, World

# Seeded issues are dated back from here, so "updated >= …" queries are stable across runs.
SEED_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
MAX_SEEDED_ISSUES = 2000

ISSUE_TYPES: dict[str, dict[str, Any]] = {
    "10001": {
        "id": "10001",
        "name": "Task",
        "description": "A small, distinct piece of work.",
        "subtask": False,
    },
    "10002": {"id": "10002", "name": "Bug", "description": "A problem or error.", "subtask": False},
    "10003": {"id": "10003", "name": "Story", "description": "A user-facing feature.", "subtask": False},
}
PROJECTS: dict[str, dict[str, Any]] = {
    "10000": {"id": "10000", "key": "SUP", "name": "Customer Support", "projectTypeKey": "service_desk"},
    "10001": {"id": "10001", "key": "ENG", "name": "Engineering", "projectTypeKey": "software"},
}
GROUPS = {
    "jira-software-users": "6c1a6e1c-0000-4000-8000-000000000001",
    "jira-administrators": "6c1a6e1c-0000-4000-8000-000000000002",
    "support-team": "6c1a6e1c-0000-4000-8000-000000000003",
}


def seed_jira(world: World, state: VendorState) -> None:
    rng = world.rng("jira")
    staff = world.members("jira")
    hidden = {p.index for p in world.members("jira_hidden_email", staff)}
    users: list[dict[str, Any]] = [_admin_user()]
    for person in staff:
        users.append(_user(person, f"712020:{uuid.UUID(int=rng.getrandbits(128), version=4)}", "atlassian"))
        users[-1]["emailVisible"] = person.index not in hidden
    for person in world.customers:
        users.append(_user(person, f"qm:{uuid.UUID(int=rng.getrandbits(128), version=4)}", "customer"))
    for name in APP_ACCOUNTS:
        account_id = f"557058:{uuid.UUID(int=rng.getrandbits(128), version=4)}"
        users.append(
            {
                "accountId": account_id,
                "accountType": "app",
                "displayName": name,
                "active": True,
                "timeZone": "UTC",
                "locale": "en_US",
            }
        )
    state.collection("users").put_many((u["accountId"], u) for u in users)

    atlassian = [u for u in users if u["accountType"] == "atlassian"]
    support = {p.email for p in staff if p.department == "Support"}
    members = {
        "jira-software-users": [u["accountId"] for u in atlassian],
        "jira-administrators": [ADMIN_ACCOUNT_ID],
        "support-team": [u["accountId"] for u in atlassian if u.get("emailAddress") in support],
    }
    state.collection("groups").put_many(
        (group_id, {"groupId": group_id, "name": name, "members": members[name]})
        for name, group_id in GROUPS.items()
    )
    state.collection("projects").put_many(PROJECTS.items())
    _seed_issues(world, state, [u["accountId"] for u in atlassian if u["active"]])


def _seed_issues(world: World, state: VendorState, reporters: list[str]) -> None:
    rng = world.rng("jira-issues")
    issues = []
    numbers = dict.fromkeys(PROJECTS, 0)
    for number in range(min(world.users // 2, MAX_SEEDED_ISSUES)):
        project_id = rng.choice(sorted(PROJECTS))
        numbers[project_id] += 1
        created = SEED_EPOCH - dt.timedelta(minutes=rng.randrange(60, 60 * 24 * 180))
        updated = min(SEED_EPOCH, created + dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 30)))
        issue_id = str(10000 + number)
        issues.append(
            (
                issue_id,
                {
                    "id": issue_id,
                    "key": f"{PROJECTS[project_id]['key']}-{numbers[project_id]}",
                    "fields": {
                        "project": project_id,
                        "issuetype": rng.choice(sorted(ISSUE_TYPES)),
                        "status": rng.choice(sorted(STATUSES)),
                        "summary": f"{rng.choice(_SUMMARIES)} #{number}",
                        "labels": [],
                        "reporter": rng.choice(reporters) if reporters else ADMIN_ACCOUNT_ID,
                        "created": jira_time(created),
                        "updated": jira_time(updated),
                    },
                },
            )
        )
    state.collection("issues").put_many(issues)
    sequences = state.collection("sequences")
    sequences.put("issue", {"next": 10000 + len(issues)})
    sequences.put_many((f"key-{p['key']}", {"next": numbers[pid] + 1}) for pid, p in PROJECTS.items())


def _user(person: Person, account_id: str, account_type: str) -> dict[str, Any]:
    return {
        "accountId": account_id,
        "accountType": account_type,
        "emailAddress": person.email,
        "emailVisible": True,
        "displayName": person.display_name,
        "active": person.active,
        "timeZone": person.time_zone,
        "locale": person.locale,
        "personIndex": person.index,
    }


def _admin_user() -> dict[str, Any]:
    return {
        "accountId": ADMIN_ACCOUNT_ID,
        "accountType": "atlassian",
        "emailAddress": ADMIN_EMAIL,
        "emailVisible": True,
        "displayName": "Sandbox Admin",
        "active": True,
        "timeZone": "UTC",
        "locale": "en_US",
    }


_SUMMARIES = (
    "Cannot log in to the portal",
    "Invoice shows the wrong amount",
    "Export to CSV times out",
    "Add SSO for the partner site",
    "Password reset email not received",
    "Dashboard loads slowly",
    "Update the onboarding checklist",
    "Webhook retries flood the queue",
)
