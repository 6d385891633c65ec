"""Jira's admin webhooks in the sandbox: registered as Jira registers them, and delivered, signed,
when an issue, a comment or a user changes, through the REST API or as a person would change it;
with the delivery faults (dropped, duplicated, reordered) the admin API sets."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.sandbox.pushes import Received, delivered, receiving

from sandbox.testing import RunningSandbox

SECRET = "the-webhook-secret"


def events(got: Received) -> list[tuple[str, str | None]]:
    """(event, issue key) of each delivery."""
    found = []
    for delivery in got.deliveries:
        payload = json.loads(delivery.body)
        found.append((payload["webhookEvent"], (payload.get("issue") or {}).get("key")))
    return found


@pytest.fixture
def received() -> Iterator[tuple[str, Received]]:
    with receiving() as server:
        yield server


@pytest.fixture
def jira(fresh_sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    credentials = fresh_sandbox.credentials["jira"]
    with httpx.Client(
        base_url=fresh_sandbox.url("/jira"), auth=(credentials["email"], credentials["api_token"])
    ) as client:
        yield client


def register(jira: httpx.Client, url: str, events: list[str], jql: str = "", **more: Any) -> dict[str, Any]:
    body = {
        "name": "jirasync",
        "url": url,
        "events": events,
        "filters": {"issue-related-events-section": jql},
    }
    answer = jira.post("/rest/webhooks/1.0/webhook", json={**body, "secret": SECRET, **more})
    assert answer.status_code == 201, answer.text
    return answer.json()


def two_issues(sandbox: RunningSandbox) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two seeded issues of different projects."""
    issues = sandbox.records("jira", "issues")
    first = issues[0]
    other = next(i for i in issues if i["fields"]["project"] != first["fields"]["project"])
    return first, other


def project_key(sandbox: RunningSandbox, issue: dict[str, Any]) -> str:
    return sandbox.record("jira", "projects", issue["fields"]["project"])["key"]


def test_a_webhook_is_registered_listed_without_its_secret_and_removed(
    fresh_sandbox: RunningSandbox, jira: httpx.Client, received: tuple[str, Received]
) -> None:
    url, _ = received
    hook = register(jira, url, ["jira:issue_updated"])
    assert hook["self"].endswith("/rest/webhooks/1.0/webhook/1") and hook["enabled"] is True
    listed = jira.get("/rest/webhooks/1.0/webhook").json()
    assert [h["url"] for h in listed] == [url] and all("secret" not in h for h in listed)
    refused = jira.post(
        "/rest/webhooks/1.0/webhook", json={"name": "x", "url": "ftp://x", "events": ["nope"]}
    )
    assert refused.status_code == 400 and set(refused.json()["errors"]) == {"url", "events"}
    assert jira.delete("/rest/webhooks/1.0/webhook/1").status_code == 204
    assert jira.get("/rest/webhooks/1.0/webhook/1").status_code == 404


def test_an_issue_edited_through_the_api_is_sent_signed_to_the_webhooks_whose_filter_takes_it(
    fresh_sandbox: RunningSandbox, jira: httpx.Client, received: tuple[str, Received]
) -> None:
    url, got = received
    issue, other = two_issues(fresh_sandbox)
    register(jira, url, ["jira:issue_updated"], f"project = {project_key(fresh_sandbox, issue)}")
    for key in (issue["key"], other["key"]):
        assert (
            jira.put(f"/rest/api/3/issue/{key}", json={"fields": {"summary": f"New {key}"}}).status_code
            == 204
        )
    delivered()

    assert events(got) == [("jira:issue_updated", issue["key"])]
    _, headers, body = got.deliveries[0]
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature"] == expected
    [item] = json.loads(body)["changelog"]["items"]
    assert (item["field"], item["toString"]) == ("summary", f"New {issue['key']}")


def test_a_comment_a_person_adds_raises_its_event_and_the_issue_update(
    fresh_sandbox: RunningSandbox, jira: httpx.Client, received: tuple[str, Received]
) -> None:
    url, got = received
    issue, _ = two_issues(fresh_sandbox)
    register(jira, url, ["comment_created", "jira:issue_updated"])
    fresh_sandbox.mutate("jira", "comment", issue=issue["key"], text="Called the customer")
    delivered()
    assert sorted(events(got)) == [("comment_created", issue["key"]), ("jira:issue_updated", issue["key"])]


def test_a_file_attached_and_removed_raises_attachment_events_naming_the_attachment(
    fresh_sandbox: RunningSandbox, jira: httpx.Client, received: tuple[str, Received]
) -> None:
    url, got = received
    issue, other = two_issues(fresh_sandbox)
    register(
        jira,
        url,
        ["attachment_created", "attachment_deleted"],
        jql=f"project = {project_key(fresh_sandbox, issue)}",
    )
    files = {"file": ("réclamation.pdf", b"%PDF-1.4", "application/pdf")}
    headers = {"X-Atlassian-Token": "no-check"}
    [attached] = jira.post(
        f"/rest/api/3/issue/{issue['key']}/attachments", files=files, headers=headers
    ).json()
    jira.post(f"/rest/api/3/issue/{other['key']}/attachments", files=files, headers=headers)  # filtered out
    jira.delete(f"/rest/api/3/attachment/{attached['id']}")
    delivered()
    sent = [json.loads(delivery.body) for delivery in got.deliveries]
    assert [(p["webhookEvent"], p["attachment"]["id"], p["attachment"]["filename"]) for p in sent] == [
        ("attachment_created", attached["id"], "réclamation.pdf"),
        ("attachment_deleted", attached["id"], "réclamation.pdf"),
    ]


def test_a_customer_created_through_jsm_raises_user_created(
    fresh_sandbox: RunningSandbox, jira: httpx.Client, received: tuple[str, Received]
) -> None:
    url, got = received
    register(jira, url, ["user_created"])
    created = jira.post(
        "/rest/servicedeskapi/customer", json={"email": "ama@example.com", "displayName": "Ama"}
    )
    assert created.status_code == 201, created.text
    delivered()
    assert [json.loads(delivery.body)["user"]["accountId"] for delivery in got.deliveries] == [
        created.json()["accountId"]
    ]


def test_a_property_set_is_not_an_issue_update(
    fresh_sandbox: RunningSandbox, jira: httpx.Client, received: tuple[str, Received]
) -> None:
    """jirasync's own link properties must not come back to it as edits."""
    url, got = received
    issue, _ = two_issues(fresh_sandbox)
    register(jira, url, ["jira:issue_updated", "issue_property_set"])
    answer = jira.put(f"/rest/api/3/issue/{issue['key']}/properties/jirasync.link", json={"a": 1})
    assert answer.status_code in (200, 201)
    delivered()
    assert events(got) == [("issue_property_set", issue["key"])]


@pytest.mark.parametrize(
    ("faults", "expected"),
    [
        ({"duplicate": 1.0}, ["A", "A", "B", "B"]),
        ({"drop": 1.0}, []),
        ({"reorder": 1.0}, ["B", "A"]),
    ],
    ids=["duplicated", "dropped", "reordered"],
)
def test_delivery_faults_duplicate_drop_or_reorder_what_is_sent(
    fresh_sandbox: RunningSandbox,
    jira: httpx.Client,
    received: tuple[str, Received],
    faults: dict[str, float],
    expected: list[str],
) -> None:
    url, got = received
    issue, other = two_issues(fresh_sandbox)
    register(jira, url, ["jira:issue_updated"])
    fresh_sandbox.mutate("jira", "webhook_deliveries", **faults)
    names = {"A": issue["key"], "B": other["key"]}
    for key in names.values():
        fresh_sandbox.mutate("jira", "edit_issue", issue=key, fields={"summary": "changed"})
    delivered()
    assert [key for _, key in events(got)] == [names[name] for name in expected]
