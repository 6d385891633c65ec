"""Jira's bulk transition: the transitions issues have in common, the submitted task and its progress.

Jira answers a bulk transition with a task id and moves the issues in the background; the client
polls ``/bulk/queue/{taskId}`` until the task ends. The sandbox moves the issues when the request
is accepted and keeps the task's result; the ``slow_bulk_tasks`` action makes the tasks submitted
after it answer RUNNING to their first polls, so a client's polling can be seen at work.

The bulk endpoints answer errors as ``BulkOperationErrorResponse`` (``{"errors": [{"message"}]}``),
not as the ``ErrorCollection`` of the other issue routes. Every sandbox project uses the one
workflow of ``workflow``: the available transitions come as one workflow group, always on one
page (Jira pages them 50 workflows at a time), and a bulk transition takes one transition input.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.vendor import VendorState
from sandbox.vendors.jira.api import ADMIN_ACCOUNT_ID, jira, json_body, next_number, now
from sandbox.vendors.jira.records import find_issue, transition_issue
from sandbox.vendors.jira.versions import RestRoute
from sandbox.vendors.jira.workflow import STATUSES, TRANSITIONS, available_transitions

router = APIRouter(route_class=RestRoute)

BULK_ISSUES_MAX = 1000  # issues per request, for the available transitions and for a bulk transition
INVALID_ISSUES = "Some of the issues in the issueIdsOrKeys are not valid"
TASK_RUNNING_PERCENT = 50


def bulk_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message}]}, status_code=status)


@router.get("/bulk/issues/transition")
def available(request: Request, issueIdsOrKeys: str | None = None) -> Any:
    """The transitions the issues have in common, grouped by workflow: issues in different statuses
    of one workflow may have none in common."""
    wanted = list(dict.fromkeys(part.strip() for part in (issueIdsOrKeys or "").split(",") if part.strip()))
    if not wanted:
        return bulk_error(400, "The issueIdsOrKeys parameter is required.")
    if len(wanted) > BULK_ISSUES_MAX:
        return bulk_error(400, f"You can request available transitions for up to {BULK_ISSUES_MAX:,} issues.")
    issues = [find_issue(jira(request), id_or_key) for id_or_key in wanted]
    if any(issue is None for issue in issues):
        return bulk_error(400, INVALID_ISSUES)
    common = set(TRANSITIONS)
    for issue in issues:
        common &= set(available_transitions(issue["fields"]["status"]))
    return {
        "availableTransitions": [
            {
                "isTransitionsFiltered": common != set(TRANSITIONS),
                "issues": [issue["key"] for issue in issues],
                "transitions": [_transition_json(t) for t in TRANSITIONS if t in common],
            }
        ]
    }


def _transition_json(transition_id: str) -> dict[str, Any]:
    name, _sources, to = TRANSITIONS[transition_id]
    return {
        "to": {"statusId": int(to), "statusName": STATUSES[to]["name"]},
        "transitionId": int(transition_id),
        "transitionName": name,
    }


@router.post("/bulk/issues/transition")
async def submit(request: Request) -> Any:
    """Up to 1,000 issues, one transition input per workflow; 201 with the task's id."""
    body = await json_body(request)
    inputs = body.get("bulkTransitionInputs")
    if not isinstance(inputs, list) or not inputs:
        return bulk_error(400, "bulkTransitionInputs must list the issues to transition.")
    if any(not entry.get("selectedIssueIdsOrKeys") or not entry.get("transitionId") for entry in inputs):
        return bulk_error(400, "Each transition input needs selectedIssueIdsOrKeys and a transitionId.")
    if sum(len(entry["selectedIssueIdsOrKeys"]) for entry in inputs) > BULK_ISSUES_MAX:
        return bulk_error(400, f"You can transition up to {BULK_ISSUES_MAX:,} issues in a single operation.")
    if len(inputs) > 1:  # the sandbox's issues all share one workflow
        return bulk_error(400, "Every transition input must correspond to a distinct workflow.")
    (entry,) = inputs
    transition_id = str(entry["transitionId"])
    if transition_id not in TRANSITIONS:
        return bulk_error(400, f"The transition id {transition_id} is not valid for the selected issues.")
    state = jira(request)
    issues = [find_issue(state, str(id_or_key)) for id_or_key in entry["selectedIssueIdsOrKeys"]]
    if any(issue is None for issue in issues):
        return bulk_error(400, INVALID_ISSUES)
    task = _run_task(state, issues, transition_id)
    return JSONResponse({"taskId": task["taskId"]}, status_code=201)


def _run_task(state: VendorState, issues: list[dict[str, Any]], transition_id: str) -> dict[str, Any]:
    """Move each issue the transition leads from its status; the others fail with Jira's reason."""
    submitted = now()
    processed: list[int] = []
    failed: dict[str, list[str]] = {}
    for issue in issues:
        if issue["fields"]["status"] in TRANSITIONS[transition_id][1]:
            transition_issue(state, issue, transition_id)
            processed.append(int(issue["id"]))
        else:
            status = STATUSES[issue["fields"]["status"]]["name"]
            failed[issue["id"]] = [f"Transition {transition_id} is not available from status {status}."]
    settings = state.collection("settings").get("bulk_tasks") or {"polls": 0}
    task = {
        "taskId": str(next_number(state, "bulk_task", 10000)),
        "created": submitted,
        "started": submitted,
        "updated": now(),
        "running_polls": settings["polls"],
        "processedAccessibleIssues": processed,
        "failedAccessibleIssues": failed,
        "totalIssueCount": len(issues),
    }
    state.collection("bulk_tasks").put(task["taskId"], task)
    return task


@router.get("/bulk/queue/{taskId}")
def progress(request: Request, taskId: str) -> Any:
    """RUNNING while the task has polls to wait out, then COMPLETE with the issues it moved and failed."""
    tasks = jira(request).collection("bulk_tasks")
    task = tasks.get(taskId)
    if task is None:
        return JSONResponse(
            {
                "errorMessages": ["The task associated with this taskId is not a bulk operation task"],
                "errors": {},
                "httpStatusCode": {"empty": False, "present": True},
            },
            status_code=400,
        )
    answer = {
        "taskId": task["taskId"],
        "submittedBy": {"accountId": ADMIN_ACCOUNT_ID},
        "created": task["created"],
        "started": task["started"],
        "updated": task["updated"],
    }
    if task["running_polls"] > 0:
        tasks.put(taskId, {**task, "running_polls": task["running_polls"] - 1})
        return {**answer, "status": "RUNNING", "progressPercent": TASK_RUNNING_PERCENT}
    result = {
        "status": "COMPLETE",
        "progressPercent": 100,
        "processedAccessibleIssues": task["processedAccessibleIssues"],
        "invalidOrInaccessibleIssueCount": 0,
        "totalIssueCount": task["totalIssueCount"],
    }
    if task["failedAccessibleIssues"]:
        result["failedAccessibleIssues"] = task["failedAccessibleIssues"]
    return {**answer, **result}


def slow_bulk_tasks(state: VendorState, payload: dict[str, Any]) -> dict[str, Any]:
    """``{"polls": 2}``: each bulk task submitted from now on answers RUNNING to its first 2 polls."""
    polls = int(payload["polls"])
    if polls < 0:
        raise ValueError(f"polls must be 0 or more, got {polls}")
    return state.collection("settings").put("bulk_tasks", {"polls": polls})
