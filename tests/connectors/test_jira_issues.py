"""JiraConnector against the sandbox's Jira: issue search, writes, transitions, comments, attachments, properties."""

from __future__ import annotations

import io
import math

import pytest
from tests.connectors.jira_client import connect, new_task

from jirasync.connectors import (
    ConnectionFailedError,
    VirtualClock,
)
from jirasync.connectors.adf import adf_to_text
from jirasync.connectors.http import CallCounter
from jirasync.connectors.jira import (
    BULK_TASK_PATIENCE,
    JiraConnector,
    JiraRequestError,
    StatusMove,
    issue_update,
)
from sandbox.testing import RunningSandbox

# Issues


def test_search_issues_pages_by_token_with_explicit_fields(fresh_sandbox: RunningSandbox) -> None:
    stored = {i["id"]: i for i in fresh_sandbox.records("jira", "issues")}
    expected = {i for i, issue in stored.items() if issue["key"].startswith("SUP-")}
    jira = connect(fresh_sandbox)

    issues = list(jira.search_issues("project = SUP ORDER BY key", ["summary", "status"], page_size=7))

    assert {i.id for i in issues} == expected
    assert len(issues) == len(expected)
    assert all(i.fields["summary"] == stored[i.id]["fields"]["summary"] for i in issues)
    assert all("name" in i.fields["status"] for i in issues)
    assert jira.http.calls["POST /rest/api/3/search/jql"] == math.ceil(len(expected) / 7)
    assert jira.approximate_count("project = SUP") == len(expected)


def test_search_issues_needs_fields(fresh_sandbox: RunningSandbox) -> None:
    with pytest.raises(JiraRequestError, match="needs the fields to return"):
        list(connect(fresh_sandbox).search_issues("project = SUP", []))


def test_create_and_edit_an_issue(fresh_sandbox: RunningSandbox) -> None:
    jira = connect(fresh_sandbox)

    created = jira.create_issue(new_task("Printer on fire")["fields"], properties={"crm": {"id": "Z-1"}})
    jira.edit_issue(
        created.key, fields={"summary": "Printer still on fire"}, update={"labels": [{"add": "crm"}]}
    )

    found = list(jira.search_issues(f"key = {created.key}", ["summary", "labels"]))
    assert [(i.key, i.fields["summary"], i.fields["labels"]) for i in found] == [
        (created.key, "Printer still on fire", ["crm"])
    ]
    assert jira.issue_property(created.key, "crm") == {"id": "Z-1"}


def test_bulk_create_gives_one_outcome_per_record_in_batches_of_fifty(fresh_sandbox: RunningSandbox) -> None:
    jira = connect(fresh_sandbox)
    issues = [new_task(f"Imported case {n}") for n in range(60)]
    issues[3] = issue_update({"project": {"key": "SUP"}, "issuetype": {"id": "99999"}, "summary": "bad type"})
    issues[55] = issue_update({"project": {"key": "SUP"}, "issuetype": {"name": "Task"}})  # no summary

    outcomes = jira.create_issues(issues)

    assert len(outcomes) == 60
    assert [n for n, o in enumerate(outcomes) if not o.ok] == [3, 55]
    assert "issuetype" in (outcomes[3].error or "") and not outcomes[3].retryable
    assert "summary" in (outcomes[55].error or "")
    keys = [o.id for o in outcomes if o.ok]
    assert len(set(keys)) == 58 and all(k and k.startswith("SUP-") for k in keys)
    assert jira.http.calls["POST /rest/api/3/issue/bulk"] == 2
    summaries = {i.key: i.fields["summary"] for i in jira.search_issues("project = SUP", ["summary"])}
    assert summaries[outcomes[10].id] == "Imported case 10"
    assert summaries[outcomes[59].id] == "Imported case 59"


def test_bulk_create_where_every_record_fails(fresh_sandbox: RunningSandbox) -> None:
    outcomes = connect(fresh_sandbox).create_issues(
        [issue_update({"project": {"key": "SUP"}, "issuetype": {"id": "99999"}, "summary": "x"})] * 2
    )

    assert [o.ok for o in outcomes] == [False, False]


def created(jira: JiraConnector, count: int) -> list[str]:
    """The keys of ``count`` new tasks, in To Do."""
    return [o.id or "" for o in jira.create_issues([new_task(f"To move {n}") for n in range(count)])]


def statuses(sandbox: RunningSandbox) -> dict[str, str]:
    names = {"10000": "To Do", "10001": "In Progress", "10002": "Done"}
    return {i["key"]: names[i["fields"]["status"]] for i in sandbox.records("jira", "issues")}


def test_issues_sharing_a_status_and_a_target_move_in_one_bulk_transition(
    fresh_sandbox: RunningSandbox,
) -> None:
    clock = VirtualClock()
    jira = connect(fresh_sandbox, clock)
    together = created(jira, 3)
    alone, *stuck = created(jira, 3)
    for key in stuck:
        fresh_sandbox.mutate("jira", "transition", issue=key, to="Done")
    jira.http.calls = CallCounter()

    moves = jira.move_issues(
        [StatusMove(key, "To Do", "In Progress") for key in together]
        + [StatusMove(alone, "to do", "done")]
        + [StatusMove(key, "Done", "In Progress") for key in stuck]
    )

    assert moves.moved == {*together, alone} and moves.failed == {}
    assert moves.no_transition == set(stuck)
    now = statuses(fresh_sandbox)
    assert [now[key] for key in together] == ["In Progress"] * 3 and now[alone] == "Done"
    assert jira.http.calls.by_endpoint() == {
        "GET /rest/api/3/bulk/issues/transition": 2,  # the three to move, the two stuck in Done
        "POST /rest/api/3/bulk/issues/transition": 1,
        "GET /rest/api/3/bulk/queue/{taskId}": 1,
        "GET /rest/api/3/issue/{issueIdOrKey}/transitions": 1,  # the issue alone in its group
        "POST /rest/api/3/issue/{issueIdOrKey}/transitions": 1,
    }
    assert moves.calls == jira.http.calls.total
    assert clock.sleeps == [0.5]  # the task is looked at once, after half a second


def test_a_running_bulk_task_is_polled_with_growing_waits_until_it_ends(
    fresh_sandbox: RunningSandbox,
) -> None:
    clock = VirtualClock()
    jira = connect(fresh_sandbox, clock)
    keys = created(jira, 2)
    fresh_sandbox.mutate("jira", "slow_bulk_tasks", polls=3)

    moves = jira.move_issues([StatusMove(key, "To Do", "Done") for key in keys])

    assert moves.moved == set(keys)
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0]
    assert jira.http.calls["GET /rest/api/3/bulk/queue/{taskId}"] == 4
    assert moves.calls == 2 + 4


def test_a_bulk_task_that_does_not_end_in_time_is_settled_by_the_issues_statuses(
    fresh_sandbox: RunningSandbox,
) -> None:
    clock = VirtualClock()
    jira = connect(fresh_sandbox, clock)
    keys = created(jira, 2)
    fresh_sandbox.mutate("jira", "slow_bulk_tasks", polls=1000)

    moves = jira.move_issues([StatusMove(key, "To Do", "Done") for key in keys])

    assert sum(clock.sleeps) >= BULK_TASK_PATIENCE and max(clock.sleeps) == 8.0
    assert moves.moved == set(keys)  # Jira moved them; its task had not said so yet
    polls = len(clock.sleeps)
    assert jira.http.calls["POST /rest/api/3/search/jql"] == 1 and moves.calls == 2 + polls + 1


def test_a_deleted_issue_does_not_hold_back_the_others_of_its_bulk_move(
    fresh_sandbox: RunningSandbox,
) -> None:
    jira = connect(fresh_sandbox)
    keys = created(jira, 3)
    fresh_sandbox.mutate("jira", "delete_issue", issue=keys[1])

    moves = jira.move_issues([StatusMove(key, "To Do", "In Progress") for key in keys])

    assert moves.moved == {keys[0], keys[2]} and set(moves.failed) == {keys[1]}
    assert "HTTP 404" in (moves.failed[keys[1]].error or "") and not moves.failed[keys[1]].retryable
    # Jira refused the read of the three's transitions; each then moved on its own.
    assert jira.http.calls["GET /rest/api/3/bulk/issues/transition"] == 1
    assert jira.http.calls["POST /rest/api/3/bulk/issues/transition"] == 0
    assert moves.calls == 1 + 3 + 2


def test_comments_are_written_as_adf(fresh_sandbox: RunningSandbox) -> None:
    jira = connect(fresh_sandbox)
    issue = jira.create_issue(new_task("Talk to me")["fields"])

    comment = jira.add_comment(issue.key, "Customer called.\nSecond line.\n\nNew paragraph.")

    assert comment["body"]["type"] == "doc"
    [stored] = list(jira.comments(issue.key))
    assert stored["id"] == comment["id"]
    assert adf_to_text(stored["body"]) == "Customer called.\nSecond line.\n\nNew paragraph."


def test_attachment_upload_listing_download_and_delete_with_a_unicode_name(
    fresh_sandbox: RunningSandbox,
) -> None:
    jira = connect(fresh_sandbox)
    issue = jira.create_issue(new_task("With a file")["fields"])

    [attachment] = jira.add_attachment(
        issue.key, "facture été.pdf", io.BytesIO(b"%PDF-1.7 fake"), "application/pdf"
    )
    [listed] = jira.attachments(issue.key)
    with jira.open_attachment(str(listed["id"])) as content:
        downloaded = content.content

    assert attachment["filename"] == listed["filename"] == "facture été.pdf"
    assert attachment["size"] == listed["size"] == len(b"%PDF-1.7 fake")
    assert listed["mimeType"] == "application/pdf" and downloaded == b"%PDF-1.7 fake"
    jira.delete_attachment(str(listed["id"]))
    assert jira.attachments(issue.key) == []


def test_issue_property_lifecycle(fresh_sandbox: RunningSandbox) -> None:
    jira = connect(fresh_sandbox)
    issue = jira.create_issue(new_task("Linked to CRM")["fields"])

    assert jira.issue_property(issue.key, "crm.link") is None
    assert jira.put_issue_property(issue.key, "crm.link", {"module": "Cases", "id": "5001"}) == "created"
    assert jira.put_issue_property(issue.key, "crm.link", {"module": "Cases", "id": "5002"}) == "updated"
    assert jira.issue_property(issue.key, "crm.link") == {"module": "Cases", "id": "5002"}
    assert jira.issue_property_keys(issue.key) == ["crm.link"]
    jira.delete_issue_property(issue.key, "crm.link")
    assert jira.issue_property_keys(issue.key) == []


# Faults on issue endpoints


def test_a_burst_of_5xx_is_retried_for_reads(fresh_sandbox: RunningSandbox) -> None:
    clock = VirtualClock()
    fresh_sandbox.add_fault("jira", "error", route="/rest/api/3/search/jql", status=503, count=3)
    jira = connect(fresh_sandbox, clock)

    issues = list(jira.search_issues("project = ENG", ["summary"]))

    assert len(issues) == len(
        [i for i in fresh_sandbox.records("jira", "issues") if i["key"].startswith("ENG-")]
    )
    assert len(clock.sleeps) == 3


def test_a_500_on_bulk_create_fails_its_records_as_retryable_without_resending(
    fresh_sandbox: RunningSandbox,
) -> None:
    fresh_sandbox.add_fault("jira", "error", route="/rest/api/3/issue/bulk", status=500, count=1)
    jira = connect(fresh_sandbox)

    outcomes = jira.create_issues([new_task("a"), new_task("b")])

    assert [(o.ok, o.retryable) for o in outcomes] == [(False, True), (False, True)]
    assert "HTTP 500" in (outcomes[0].error or "")
    assert jira.http.calls["POST /rest/api/3/issue/bulk"] == 1


def test_a_dropped_connection_on_create_is_reported_not_resent(
    fresh_sandbox: RunningSandbox,
) -> None:
    fresh_sandbox.add_fault("jira", "drop", route="/rest/api/3/issue", method="POST", count=1)
    jira = connect(fresh_sandbox)

    with pytest.raises(ConnectionFailedError, match="may have been applied"):
        jira.create_issue(new_task("dropped")["fields"])
    assert jira.http.calls["POST /rest/api/3/issue"] == 1


def test_a_comment_carries_properties_from_its_create_and_is_edited_and_deleted(
    fresh_sandbox: RunningSandbox,
) -> None:
    jira = connect(fresh_sandbox)
    issue = jira.create_issue(new_task("Mirrors")["fields"])

    created = jira.add_comment(issue.key, "From the CRM", properties={"jirasync.origin": {"id": "N1"}})
    jira.update_comment(
        issue.key, created["id"], {**created["body"], "content": created["body"]["content"] * 2}
    )
    [listed] = list(jira.comments(issue.key, with_properties=True))
    [plain] = list(jira.comments(issue.key))
    jira.delete_comment(issue.key, created["id"])

    assert listed["properties"] == [{"key": "jirasync.origin", "value": {"id": "N1"}}]
    assert "properties" not in plain
    assert adf_to_text(listed["body"]) == "From the CRM\n\nFrom the CRM"
    assert list(jira.comments(issue.key)) == []


def test_an_upload_refused_with_429_is_sent_again_whole(fresh_sandbox: RunningSandbox) -> None:
    clock = VirtualClock()
    jira = connect(fresh_sandbox, clock)
    issue = jira.create_issue(new_task("Busy")["fields"])
    fresh_sandbox.add_fault("jira", "rate_limit", route=f"/rest/api/3/issue/{issue.key}/attachments", count=1)

    [attachment] = jira.add_attachment(
        issue.key, "trace.bin", io.BytesIO(b"x" * 70_000), "application/octet-stream"
    )

    assert attachment["size"] == 70_000  # the second attempt read the file from its start
    assert jira.http.calls["POST /rest/api/3/issue/{issueIdOrKey}/attachments"] == 2
