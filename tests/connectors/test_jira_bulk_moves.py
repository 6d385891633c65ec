"""Bulk transition answers the sandbox does not give on its own (its one workflow always fits one
page, its tasks never fail), scripted on a real loopback server."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from tests.connectors.scripted_server import Reply, ScriptedServer

from jirasync.connectors import PermissionDeniedError, VirtualClock
from jirasync.connectors.jira import JiraConnector, StatusMove

BULK = "/rest/api/3/bulk/issues/transition"


def connect(server: ScriptedServer) -> JiraConnector:
    return JiraConnector.with_api_token(server.url, "bot@example.com", "token-for-bulk", clock=VirtualClock())


def workflow(issues: list[str], *targets: tuple[int, str]) -> dict[str, object]:
    return {
        "isTransitionsFiltered": True,
        "issues": issues,
        "transitions": [
            {"to": {"statusId": 10000 + n, "statusName": name}, "transitionId": n, "transitionName": name}
            for n, name in targets
        ],
    }


def test_workflows_on_later_pages_move_in_the_same_bulk_transition(scripted_server: ScriptedServer) -> None:
    scripted_server.script(
        BULK,
        Reply(
            200, {"availableTransitions": [workflow(["SUP-1", "SUP-2"], (31, "Done"))], "startingAfter": "c1"}
        ),
        Reply(200, {"availableTransitions": [workflow(["ENG-7"], (51, "Done"))], "endingBefore": "c1"}),
        Reply(201, {"taskId": "10641"}),
    )
    scripted_server.script(
        "/rest/api/3/bulk/queue/10641",
        Reply(200, {"taskId": "10641", "status": "COMPLETE", "processedAccessibleIssues": [1, 2, 3]}),
    )
    keys = ["SUP-1", "SUP-2", "ENG-7"]

    moves = connect(scripted_server).move_issues([StatusMove(key, "In Progress", "Done") for key in keys])

    assert moves.moved == set(keys) and moves.calls == 4
    reads = [parse_qs(urlsplit(r.path).query) for r in scripted_server.seen(BULK) if r.method == "GET"]
    assert reads == [
        {"issueIdsOrKeys": ["SUP-1,SUP-2,ENG-7"]},
        {"issueIdsOrKeys": ["SUP-1,SUP-2,ENG-7"], "startingAfter": ["c1"]},
    ]
    (submitted,) = [json.loads(r.body) for r in scripted_server.seen(BULK) if r.method == "POST"]
    assert submitted == {  # one input per workflow, as Jira requires
        "bulkTransitionInputs": [
            {"selectedIssueIdsOrKeys": ["SUP-1", "SUP-2"], "transitionId": "31"},
            {"selectedIssueIdsOrKeys": ["ENG-7"], "transitionId": "51"},
        ],
        "sendBulkNotification": False,
    }


def test_issues_a_bulk_task_failed_are_told_apart_by_their_status(scripted_server: ScriptedServer) -> None:
    scripted_server.script(
        BULK,
        Reply(200, {"availableTransitions": [workflow(["SUP-1", "SUP-2"], (31, "Done"))]}),
        Reply(201, {"taskId": "7"}),
    )
    scripted_server.script(
        "/rest/api/3/bulk/queue/7",
        Reply(
            200,
            {
                "taskId": "7",
                "status": "COMPLETE",
                "processedAccessibleIssues": [101],
                "failedAccessibleIssues": {"102": ["A validator refused the transition."]},
            },
        ),
    )
    scripted_server.script(
        "/rest/api/3/search/jql",
        Reply(
            200,
            {
                "issues": [
                    {"id": "101", "key": "SUP-1", "fields": {"status": {"name": "Done"}}},
                    {"id": "102", "key": "SUP-2", "fields": {"status": {"name": "To Do"}}},
                ],
                "isLast": True,
            },
        ),
    )

    moves = connect(scripted_server).move_issues([StatusMove(k, "To Do", "Done") for k in ("SUP-1", "SUP-2")])

    assert moves.moved == {"SUP-1"} and set(moves.failed) == {"SUP-2"}
    assert moves.failed["SUP-2"].error == (
        "Jira's bulk transition task 7 (COMPLETE) did not move issue SUP-2 to Done: "
        "A validator refused the transition."
    )
    (search,) = [json.loads(r.body) for r in scripted_server.seen("/rest/api/3/search/jql")]
    assert search["jql"] == 'key in ("SUP-1", "SUP-2")'
    assert moves.calls == 1 + 1 + 1 + 1  # read, submit, one poll, the statuses


def test_an_account_without_the_bulk_change_permission_stops_the_run_naming_it(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.script(BULK, Reply(403, {"errors": [{"message": "You don't have permission."}]}))

    with pytest.raises(PermissionDeniedError, match="global permission 'Make bulk changes'"):
        connect(scripted_server).move_issues([StatusMove(k, "To Do", "Done") for k in ("SUP-1", "SUP-2")])
