"""Jira issues: search by JQL, create, bulk create, edit, transitions, properties; how an issue looks."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sandbox.vendor import VendorError, VendorState
from sandbox.vendors.jira import jql as jql_language
from sandbox.vendors.jira.api import api_url, error, jira, json_body, query_int, user_json
from sandbox.vendors.jira.comments import attachment_json, comment_page_json, issue_attachments
from sandbox.vendors.jira.fields import FIELDS
from sandbox.vendors.jira.projects import issue_type_json, project_json
from sandbox.vendors.jira.records import (
    FieldErrors,
    add_comment,
    create_issue,
    delete_issue,
    edit_issue,
    issue_or_404,
    transition_issue,
)
from sandbox.vendors.jira.seed import ISSUE_TYPES
from sandbox.vendors.jira.users import property_value
from sandbox.vendors.jira.versions import RestRoute
from sandbox.vendors.jira.workflow import STATUSES, available_transitions, status_json, transition_json

router = APIRouter(route_class=RestRoute)

SEARCH_PAGE_DEFAULT = 50
SEARCH_PAGE_MAX = 5000  # for id/key only
SEARCH_PAGE_MAX_WITH_FIELDS = 100
BULK_CREATE_MAX = 50
REMOVED_SEARCH = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)


# --- search -------------------------------------------------------------------------------------


# The old search answers 410 on both API versions.
removed_router = APIRouter()


@removed_router.api_route("/rest/api/3/search", methods=["GET", "POST"])
@removed_router.api_route("/rest/api/2/search", methods=["GET", "POST"])
def removed_search() -> JSONResponse:
    return error(410, REMOVED_SEARCH)


@router.get("/search/jql")
def search_get(
    request: Request,
    jql: str = "",
    nextPageToken: str | None = None,
    maxResults: str | None = None,
    fields: str | None = None,
    properties: str | None = None,
) -> Any:
    return _search(
        request,
        jql,
        nextPageToken,
        query_int(maxResults, SEARCH_PAGE_DEFAULT, "maxResults"),
        _split(fields),
        _split(properties),
    )


@router.post("/search/jql")
async def search_post(request: Request) -> Any:
    body = await json_body(request)
    return _search(
        request,
        body.get("jql") or "",
        body.get("nextPageToken"),
        int(body.get("maxResults") or SEARCH_PAGE_DEFAULT),
        list(body.get("fields") or []),
        list(body.get("properties") or []),
    )


@router.post("/search/approximate-count")
async def approximate_count(request: Request) -> Any:
    body = await json_body(request)
    return {"count": len(_matching_issues(jira(request), body.get("jql") or ""))}


def _search(
    request: Request, jql: str, token: str | None, size: int, fields: list[str], properties: list[str]
) -> dict[str, Any]:
    """One page of issues. The token encodes the offset and the JQL it belongs to; the last page has none."""
    issues = _matching_issues(jira(request), jql)
    fields = fields or ["id"]
    only_ids = set(fields) <= {"id", "key"}
    size = max(1, min(size, SEARCH_PAGE_MAX if only_ids else SEARCH_PAGE_MAX_WITH_FIELDS))
    start = _token_offset(token, jql) if token else 0
    page = issues[start : start + size]
    body: dict[str, Any] = {"issues": [issue_json(request, i, fields, properties) for i in page]}
    if start + size < len(issues):
        body["nextPageToken"] = _token(start + size, jql)
        body["isLast"] = False
    else:
        body["isLast"] = True
    return body


def _matching_issues(state: VendorState, jql: str) -> list[dict[str, Any]]:
    try:
        query = jql_language.parse(jql)
        jql_language.require_bounded(query)
        matches = jql_language.matcher(query, jql_resolver(state), dt.datetime.now(dt.UTC))
    except jql_language.JqlError as bad:
        raise VendorError(error(400, str(bad))) from None
    found = [i for i in state.collection("issues") if matches(i)]
    found.sort(key=lambda i: int(i["id"]))
    for field, descending in reversed(query.order):
        found.sort(key=jql_language.sort_key(field), reverse=descending)
    return found


def jql_resolver(state: VendorState):
    """Turn names in JQL values into the ids stored on issues; an unknown name is Jira's 400."""
    projects = list(state.collection("projects"))

    def resolve(clause: jql_language.Clause) -> jql_language.Clause:
        if clause.field not in {"project", "issuetype", "status"} or clause.operator == "~":
            return clause
        ids = []
        for value in clause.values:
            if clause.field == "project":
                found = [p["id"] for p in projects if value.casefold() in {p["id"], p["key"].casefold()}]
            else:
                catalogue = ISSUE_TYPES if clause.field == "issuetype" else STATUSES
                found = [i for i, t in catalogue.items() if value.casefold() in {i, t["name"].casefold()}]
            if not found:
                raise jql_language.JqlError(
                    f"The value '{value}' does not exist for the field '{clause.field}'."
                )
            ids.extend(found)
        return jql_language.Clause(clause.field, clause.operator, tuple(ids))

    return resolve


def _token(offset: int, jql: str) -> str:
    payload = json.dumps({"o": offset, "q": hashlib.sha1(jql.encode()).hexdigest()[:12]})
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _token_offset(token: str, jql: str) -> int:
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if payload["q"] == hashlib.sha1(jql.encode()).hexdigest()[:12]:
            return int(payload["o"])
    except (ValueError, KeyError, TypeError):
        pass
    raise VendorError(error(400, "The provided next page token is invalid or expired."))


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


# --- rendering ----------------------------------------------------------------------------------


def issue_json(
    request: Request, issue: dict[str, Any], fields: list[str], properties: list[str] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"id": issue["id"]}
    wanted = _wanted_fields(issue, fields)
    if wanted or "key" in fields:
        body["key"] = issue["key"]
        body["self"] = api_url(request, f"/rest/api/3/issue/{issue['id']}")
    if wanted:
        body["fields"] = {name: _field_json(request, issue, name) for name in wanted}
    if properties:
        stored = issue.get("properties", {})
        body["properties"] = {k: stored[k] for k in properties if k in stored}
    return body


def _wanted_fields(issue: dict[str, Any], fields: list[str]) -> list[str]:
    """The site's fields and any other the issue holds, as ``*all``, ``*navigable``, names and
    ``-name`` select them; a name the site does not know and the issue does not hold is left
    out, as Jira leaves out unknown names."""
    known = [*FIELDS, *(name for name in issue["fields"] if name not in FIELDS)]
    wanted: list[str] = []
    for name in fields:
        if name == "*all":
            wanted.extend(known)
        elif name == "*navigable":
            wanted.extend(n for n in known if n not in FIELDS or FIELDS[n].navigable)
        elif name in known:
            wanted.append(name)
    excluded = {name[1:] for name in fields if name.startswith("-")}
    return [name for name in dict.fromkeys(wanted) if name not in excluded]


def _field_json(request: Request, issue: dict[str, Any], name: str) -> Any:
    """A field as Jira shows it: references expanded, unset as ``null`` or ``[]``. Comments and
    attachments are kept in their own collections; the sandbox keeps no creator and shows the reporter."""
    if name == "comment":
        return comment_page_json(request, issue)
    if name == "attachment":
        return [attachment_json(request, a) for a in issue_attachments(jira(request), issue)]
    value = issue["fields"].get(name)
    if name == "creator":
        value = value or issue["fields"].get("reporter")
    if value is None:
        return FIELDS[name].empty if name in FIELDS else None
    if name == "status":
        return status_json(api_url(request, ""), value)
    if name == "project":
        return project_json(request, jira(request).collection("projects").get(value))
    if name == "issuetype":
        return issue_type_json(request, value)
    if name in {"reporter", "assignee", "creator"}:
        user = jira(request).collection("users").get(value)
        return user_json(request, user) if user else None
    return value


# --- issues -------------------------------------------------------------------------------------


def _created_json(request: Request, issue: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": issue["id"],
        "key": issue["key"],
        "self": api_url(request, f"/rest/api/3/issue/{issue['id']}"),
    }


def _create_one(request: Request, update: dict[str, Any]) -> dict[str, Any]:
    """Create an issue from ``IssueUpdateDetails``; a transition in it is applied after the create."""
    state = jira(request)
    issue = create_issue(state, update.get("fields") or {}, update.get("properties"))
    created = _created_json(request, issue)
    if update.get("transition"):
        transition_issue(state, issue, str(update["transition"].get("id")))
        created["transition"] = {"status": 204, "errorCollection": {"errorMessages": [], "errors": {}}}
    return created


@router.post("/issue")
async def create(request: Request) -> Any:
    try:
        return JSONResponse(_create_one(request, await json_body(request)), status_code=201)
    except FieldErrors as problem:
        return problem.response()


@router.post("/issue/bulk")
async def bulk_create(request: Request) -> Any:
    """Up to 50 issues; 201 if any was created, 400 if all failed; per-element errors either way."""
    updates = (await json_body(request)).get("issueUpdates") or []
    if len(updates) > BULK_CREATE_MAX:
        return error(400, f"The number of issues to create is more than the limit of {BULK_CREATE_MAX}.")
    issues, errors = [], []
    for number, update in enumerate(updates):
        try:
            issues.append(_create_one(request, update))
        except FieldErrors as problem:
            errors.append(
                {
                    "status": 400,
                    "elementErrors": {"errorMessages": problem.messages, "errors": problem.errors},
                    "failedElementNumber": number,
                }
            )
    return JSONResponse({"issues": issues, "errors": errors}, status_code=201 if issues else 400)


@router.get("/issue/{issueIdOrKey}")
def get_issue(
    request: Request, issueIdOrKey: str, fields: str | None = None, properties: str | None = None
) -> Any:
    issue = issue_or_404(jira(request), issueIdOrKey)
    return issue_json(request, issue, _split(fields) or ["*all"], _split(properties))


@router.put("/issue/{issueIdOrKey}")
async def edit(request: Request, issueIdOrKey: str, returnIssue: str | None = None) -> Any:
    issue = issue_or_404(jira(request), issueIdOrKey)
    body = await json_body(request)
    state = jira(request)
    try:
        issue = edit_issue(state, issue, body.get("fields") or {}, body.get("update"))
    except FieldErrors as problem:
        return problem.response()
    for entry in body.get("properties") or []:
        issue = state.collection("issues").put(
            issue["id"],
            {**issue, "properties": {**issue.get("properties", {}), entry["key"]: entry["value"]}},
        )
    if returnIssue == "true":
        return issue_json(request, issue, ["*all"])
    return Response(status_code=204)


@router.delete("/issue/{issueIdOrKey}")
def delete(request: Request, issueIdOrKey: str) -> Response:
    delete_issue(jira(request), issue_or_404(jira(request), issueIdOrKey))
    return Response(status_code=204)


@router.get("/issue/{issueIdOrKey}/transitions")
def transitions(request: Request, issueIdOrKey: str) -> Any:
    """Only the transitions the workflow allows from the issue's status."""
    issue = issue_or_404(jira(request), issueIdOrKey)
    base = api_url(request, "")
    return {
        "transitions": [transition_json(base, t) for t in available_transitions(issue["fields"]["status"])]
    }


@router.post("/issue/{issueIdOrKey}/transitions")
async def do_transition(request: Request, issueIdOrKey: str) -> Any:
    issue = issue_or_404(jira(request), issueIdOrKey)
    body = await json_body(request)
    transition_id = str((body.get("transition") or {}).get("id") or "")
    if not transition_id:
        return error(400, "Missing 'transition' identifier")
    state = jira(request)
    try:
        issue = transition_issue(state, issue, transition_id)
        if body.get("fields"):
            issue = edit_issue(state, issue, body["fields"])
        for entry in (body.get("update") or {}).get("comment") or []:
            add_comment(state, issue, entry["add"]["body"])
    except FieldErrors as problem:
        return problem.response()
    return Response(status_code=204)


# --- issue properties ---------------------------------------------------------------------------


@router.get("/issue/{issueIdOrKey}/properties")
def issue_property_keys(request: Request, issueIdOrKey: str) -> Any:
    issue = issue_or_404(jira(request), issueIdOrKey)
    return {
        "keys": [
            {"key": k, "self": api_url(request, f"/rest/api/3/issue/{issue['id']}/properties/{k}")}
            for k in issue.get("properties", {})
        ]
    }


@router.get("/issue/{issueIdOrKey}/properties/{propertyKey}")
def get_issue_property(request: Request, issueIdOrKey: str, propertyKey: str) -> Any:
    issue = issue_or_404(jira(request), issueIdOrKey)
    if propertyKey not in issue.get("properties", {}):
        return error(404, f"The property '{propertyKey}' does not exist.")
    return {"key": propertyKey, "value": issue["properties"][propertyKey]}


@router.put("/issue/{issueIdOrKey}/properties/{propertyKey}")
async def set_issue_property(request: Request, issueIdOrKey: str, propertyKey: str) -> Any:
    issue = issue_or_404(jira(request), issueIdOrKey)
    value = await property_value(request, propertyKey)
    if isinstance(value, Response):
        return value
    created = propertyKey not in issue.get("properties", {})
    jira(request).collection("issues").put(
        issue["id"], {**issue, "properties": {**issue.get("properties", {}), propertyKey: value}}
    )
    return JSONResponse({}, status_code=201 if created else 200)


@router.delete("/issue/{issueIdOrKey}/properties/{propertyKey}")
def delete_issue_property(request: Request, issueIdOrKey: str, propertyKey: str) -> Any:
    issue = issue_or_404(jira(request), issueIdOrKey)
    if propertyKey not in issue.get("properties", {}):
        return error(404, f"The property '{propertyKey}' does not exist.")
    remaining = {k: v for k, v in issue["properties"].items() if k != propertyKey}
    jira(request).collection("issues").put(issue["id"], {**issue, "properties": remaining})
    return Response(status_code=204)
