"""Jira issues: search by JQL, create, bulk create, edit, transitions, comments, attachments, properties."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from sandbox.vendor import VendorError, VendorState
from sandbox.vendors.jira import jql as jql_language
from sandbox.vendors.jira.api import (
    ADMIN_ACCOUNT_ID,
    api_url,
    error,
    jira,
    next_number,
    not_found_issue,
    now,
    query_int,
    user_details_json,
    user_json,
)
from sandbox.vendors.jira.records import (
    FieldErrors,
    add_comment,
    create_issue,
    delete_comment,
    delete_issue,
    edit_comment,
    edit_issue,
    find_issue,
    require_issue,
    touch,
    transition_issue,
)
from sandbox.vendors.jira.seed import ISSUE_TYPES
from sandbox.vendors.jira.users import property_value
from sandbox.vendors.jira.workflow import STATUSES, available_transitions, status_json, transition_json

router = APIRouter(prefix="/rest/api/3")

SEARCH_PAGE_DEFAULT = 50
SEARCH_PAGE_MAX = 5000  # for id/key only
SEARCH_PAGE_MAX_WITH_FIELDS = 100
BULK_CREATE_MAX = 50
COMMENTS_PAGE_DEFAULT = 100
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
OCTET_STREAM = "application/octet-stream"
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
    body = await _json_body(request)
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
    body = await _json_body(request)
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
    body: dict[str, Any] = {"issues": [_issue_json(request, i, fields, properties) for i in page]}
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
        matches = jql_language.matcher(query, _resolver(state), dt.datetime.now(dt.UTC))
    except jql_language.JqlError as bad:
        raise VendorError(error(400, str(bad))) from None
    found = [i for i in state.collection("issues") if matches(i)]
    found.sort(key=lambda i: int(i["id"]))
    for field, descending in reversed(query.order):
        found.sort(key=jql_language.sort_key(field), reverse=descending)
    return found


def _resolver(state: VendorState):
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


def _issue_json(
    request: Request, issue: dict[str, Any], fields: list[str], properties: list[str] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"id": issue["id"]}
    wanted = _wanted_fields(issue, fields)
    if wanted or "key" in fields:
        body["key"] = issue["key"]
        body["self"] = api_url(request, f"/rest/api/3/issue/{issue['id']}")
    if wanted:
        body["fields"] = {name: _field_json(request, name, issue["fields"].get(name)) for name in wanted}
    if "attachment" in fields or "*all" in fields:  # kept apart from the fields: their own collection
        body.setdefault("fields", {})["attachment"] = [
            _attachment_json(request, a)
            for a in jira(request).collection("attachments")
            if a["issueId"] == issue["id"]
        ]
    if properties:
        stored = issue.get("properties", {})
        body["properties"] = {k: stored[k] for k in properties if k in stored}
    return body


def _wanted_fields(issue: dict[str, Any], fields: list[str]) -> list[str]:
    stored = list(issue["fields"])
    wanted: list[str] = []
    for name in fields:
        if name in {"*all", "*navigable"}:
            wanted.extend(stored)
        elif name not in {"id", "key"} and not name.startswith("-"):
            wanted.append(name)
    excluded = {name[1:] for name in fields if name.startswith("-")}
    return [name for name in dict.fromkeys(wanted) if name not in excluded]


def _field_json(request: Request, name: str, value: Any) -> Any:
    base = api_url(request, "")
    if value is None:
        return None
    if name == "status":
        return status_json(base, value)
    if name == "project":
        return _project_json(request, jira(request).collection("projects").get(value))
    if name == "issuetype":
        return _issue_type_json(request, value)
    if name in {"reporter", "assignee", "creator"}:
        user = jira(request).collection("users").get(value)
        return user_json(request, user) if user else None
    return value


def _project_json(request: Request, project: dict[str, Any]) -> dict[str, Any]:
    return {
        "self": api_url(request, f"/rest/api/3/project/{project['id']}"),
        "id": project["id"],
        "key": project["key"],
        "name": project["name"],
        "projectTypeKey": project["projectTypeKey"],
        "simplified": False,
        "avatarUrls": {
            "48x48": api_url(request, f"/rest/api/3/universal_avatar/view/type/project/{project['id']}")
        },
    }


def _issue_type_json(request: Request, type_id: str) -> dict[str, Any]:
    issue_type = ISSUE_TYPES[type_id]
    return {
        "self": api_url(request, f"/rest/api/3/issuetype/{type_id}"),
        "id": type_id,
        "description": issue_type["description"],
        "iconUrl": api_url(request, f"/rest/api/2/universal_avatar/view/type/issuetype/avatar/{type_id}"),
        "name": issue_type["name"],
        "subtask": issue_type["subtask"],
        "avatarId": 10318,
        "hierarchyLevel": 0,
    }


def _comment_json(
    request: Request, issue: dict[str, Any], comment: dict[str, Any], expand: str | None = None
) -> dict[str, Any]:
    """A comment as Jira answers it; ``expand=properties`` adds its entity properties."""
    author = jira(request).collection("users").get(comment["author"])
    author_json = user_details_json(request, author) if author else None
    body = {
        "self": api_url(request, f"/rest/api/3/issue/{issue['id']}/comment/{comment['id']}"),
        "id": comment["id"],
        "author": author_json,
        "body": comment["body"],
        "updateAuthor": author_json,
        "created": comment["created"],
        "updated": comment["updated"],
        "jsdPublic": comment.get("jsdPublic", True),
    }
    if comment.get("visibility"):
        body["visibility"] = comment["visibility"]
    if "properties" in (expand or "").split(","):
        body["properties"] = [{"key": k, "value": v} for k, v in (comment.get("properties") or {}).items()]
    return body


# --- issues -------------------------------------------------------------------------------------


def _issue_or_404(request: Request, id_or_key: str) -> dict[str, Any]:
    issue = find_issue(jira(request), id_or_key)
    if issue is None:
        raise VendorError(not_found_issue())
    return issue


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise VendorError(error(400, "The request body is not valid JSON.")) from None
    if not isinstance(body, dict):
        raise VendorError(error(400, "The request body must be a JSON object."))
    return body


def _field_errors(problem: FieldErrors, status: int = 400) -> JSONResponse:
    return error(status, *problem.messages, errors=problem.errors)


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
        return JSONResponse(_create_one(request, await _json_body(request)), status_code=201)
    except FieldErrors as problem:
        return _field_errors(problem)


@router.post("/issue/bulk")
async def bulk_create(request: Request) -> Any:
    """Up to 50 issues; 201 if any was created, 400 if all failed; per-element errors either way."""
    updates = (await _json_body(request)).get("issueUpdates") or []
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
    issue = _issue_or_404(request, issueIdOrKey)
    return _issue_json(request, issue, _split(fields) or ["*all"], _split(properties))


@router.put("/issue/{issueIdOrKey}")
async def edit(request: Request, issueIdOrKey: str, returnIssue: str | None = None) -> Any:
    issue = _issue_or_404(request, issueIdOrKey)
    body = await _json_body(request)
    state = jira(request)
    try:
        issue = edit_issue(state, issue, body.get("fields") or {}, body.get("update"))
    except FieldErrors as problem:
        return _field_errors(problem)
    for entry in body.get("properties") or []:
        issue = state.collection("issues").put(
            issue["id"],
            {**issue, "properties": {**issue.get("properties", {}), entry["key"]: entry["value"]}},
        )
    if returnIssue == "true":
        return _issue_json(request, issue, ["*all"])
    return Response(status_code=204)


@router.delete("/issue/{issueIdOrKey}")
def delete(request: Request, issueIdOrKey: str) -> Response:
    delete_issue(jira(request), _issue_or_404(request, issueIdOrKey))
    return Response(status_code=204)


@router.get("/issue/{issueIdOrKey}/transitions")
def transitions(request: Request, issueIdOrKey: str) -> Any:
    """Only the transitions the workflow allows from the issue's status."""
    issue = _issue_or_404(request, issueIdOrKey)
    base = api_url(request, "")
    return {
        "transitions": [transition_json(base, t) for t in available_transitions(issue["fields"]["status"])]
    }


@router.post("/issue/{issueIdOrKey}/transitions")
async def do_transition(request: Request, issueIdOrKey: str) -> Any:
    issue = _issue_or_404(request, issueIdOrKey)
    body = await _json_body(request)
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
        return _field_errors(problem)
    return Response(status_code=204)


# --- comments -----------------------------------------------------------------------------------


@router.get("/issue/{issueIdOrKey}/comment")
def comments(
    request: Request,
    issueIdOrKey: str,
    startAt: str | None = None,
    maxResults: str | None = None,
    orderBy: str | None = None,
    expand: str | None = None,
) -> Any:
    issue = _issue_or_404(request, issueIdOrKey)
    start = max(0, query_int(startAt, 0, "startAt"))
    size = max(0, query_int(maxResults, COMMENTS_PAGE_DEFAULT, "maxResults"))
    found = [c for c in jira(request).collection("comments") if c["issueId"] == issue["id"]]
    found.sort(key=lambda c: (c["created"], int(c["id"])), reverse=(orderBy or "").startswith("-"))
    return {
        "comments": [_comment_json(request, issue, c, expand) for c in found[start : start + size]],
        "startAt": start,
        "maxResults": size,
        "total": len(found),
    }


@router.post("/issue/{issueIdOrKey}/comment")
async def comment(request: Request, issueIdOrKey: str) -> Any:
    issue = _issue_or_404(request, issueIdOrKey)
    body = await _json_body(request)
    extra = {"visibility": body["visibility"]} if body.get("visibility") else {}
    try:
        created = add_comment(
            jira(request), issue, body.get("body"), properties=body.get("properties"), **extra
        )
    except FieldErrors as problem:
        return _field_errors(problem)
    return JSONResponse(_comment_json(request, issue, created), status_code=201)


def _comment_or_404(request: Request, issue: dict[str, Any], comment_id: str) -> dict[str, Any]:
    found = jira(request).collection("comments").get(comment_id)
    if found is None or found["issueId"] != issue["id"]:
        raise VendorError(error(404, f"Can not find a comment for the id: {comment_id}."))
    return found


@router.get("/issue/{issueIdOrKey}/comment/{commentId}")
def get_comment(request: Request, issueIdOrKey: str, commentId: str, expand: str | None = None) -> Any:
    issue = _issue_or_404(request, issueIdOrKey)
    return _comment_json(request, issue, _comment_or_404(request, issue, commentId), expand)


@router.put("/issue/{issueIdOrKey}/comment/{commentId}")
async def update_comment(request: Request, issueIdOrKey: str, commentId: str) -> Any:
    """A new body, and properties when given; 200 with the comment."""
    issue = _issue_or_404(request, issueIdOrKey)
    found = _comment_or_404(request, issue, commentId)
    body = await _json_body(request)
    try:
        edited = edit_comment(jira(request), issue, found, body.get("body"), body.get("properties"))
    except FieldErrors as problem:
        return _field_errors(problem)
    return _comment_json(request, issue, edited)


@router.delete("/issue/{issueIdOrKey}/comment/{commentId}")
def remove_comment(request: Request, issueIdOrKey: str, commentId: str) -> Response:
    issue = _issue_or_404(request, issueIdOrKey)
    delete_comment(jira(request), issue, _comment_or_404(request, issue, commentId))
    return Response(status_code=204)


@router.get("/comment/{commentId}/properties/{propertyKey}")
def comment_property(request: Request, commentId: str, propertyKey: str) -> Any:
    found = jira(request).collection("comments").get(commentId)
    properties = (found or {}).get("properties") or {}
    if propertyKey not in properties:
        return error(404, f"The property with key '{propertyKey}' does not exist.")
    return {"key": propertyKey, "value": properties[propertyKey]}


# --- attachments --------------------------------------------------------------------------------


@router.post("/issue/{issueIdOrKey}/attachments")
async def attach(request: Request, issueIdOrKey: str) -> Any:
    """Multipart part ``file``; without ``X-Atlassian-Token: no-check`` Jira's XSRF guard answers 403."""
    if request.headers.get("x-atlassian-token", "").lower() != "no-check":
        return PlainTextResponse("XSRF check failed", status_code=403)
    issue = _issue_or_404(request, issueIdOrKey)
    form = await request.form()
    uploads = [value for key, value in form.multi_items() if key == "file" and hasattr(value, "read")]
    if not uploads:
        return error(400, "No attachment was sent: send the file as the multipart part named 'file'.")
    state = jira(request)
    created = []
    for upload in uploads:
        content = await upload.read()
        if len(content) > ATTACHMENT_MAX_BYTES:
            return error(
                413,
                f"The file {upload.filename} exceeds the maximum attachment size of {ATTACHMENT_MAX_BYTES} bytes.",
            )
        record = store_attachment(
            state, issue, upload.filename or "attachment", content, upload.content_type or OCTET_STREAM
        )
        created.append(_attachment_json(request, record))
    return created


def store_attachment(
    state: VendorState, issue: dict[str, Any], filename: str, content: bytes, mime_type: str
) -> dict[str, Any]:
    """A file attached to an issue, which counts as a change of the issue (its ``updated``)."""
    record = {
        "id": str(next_number(state, "attachment", 10000)),
        "issueId": issue["id"],
        "filename": filename,
        "author": ADMIN_ACCOUNT_ID,
        "created": now(),
        "size": len(content),
        "mimeType": mime_type,
        "content": base64.b64encode(content).decode(),
    }
    state.collection("attachments").put(record["id"], record)
    touch(state, issue)
    return record


def delete_attachment(state: VendorState, attachment: dict[str, Any]) -> None:
    """Remove a file from its issue, which, as attaching one, counts as a change of the issue."""
    state.collection("attachments").delete(attachment["id"])
    touch(state, require_issue(state, attachment["issueId"]))


def _attachment_json(request: Request, record: dict[str, Any]) -> dict[str, Any]:
    author = jira(request).collection("users").get(record["author"])
    return {
        "self": api_url(request, f"/rest/api/3/attachment/{record['id']}"),
        "id": record["id"],
        "filename": record["filename"],
        "author": user_details_json(request, author) if author else None,
        "created": record["created"],
        "size": record["size"],
        "mimeType": record["mimeType"],
        "content": api_url(request, f"/rest/api/3/attachment/content/{record['id']}"),
    }


@router.get("/attachment/{attachmentId}")
def attachment(request: Request, attachmentId: str) -> Any:
    record = jira(request).collection("attachments").get(attachmentId)
    if record is None:
        return error(404, f"The attachment with id '{attachmentId}' does not exist.")
    return {**_attachment_json(request, record), "id": int(record["id"])}  # AttachmentMetadata: a number


@router.delete("/attachment/{attachmentId}")
def remove_attachment(request: Request, attachmentId: str) -> Any:
    state = jira(request)
    record = state.collection("attachments").get(attachmentId)
    if record is None:
        return error(404, f"The attachment with id '{attachmentId}' does not exist.")
    delete_attachment(state, record)
    return Response(status_code=204)


@router.get("/attachment/content/{attachmentId}")
def attachment_content(request: Request, attachmentId: str) -> Any:
    record = jira(request).collection("attachments").get(attachmentId)
    if record is None:
        return error(404, f"The attachment with id '{attachmentId}' does not exist.")
    return Response(base64.b64decode(record["content"]), media_type=record["mimeType"])


# --- issue properties ---------------------------------------------------------------------------


@router.get("/issue/{issueIdOrKey}/properties")
def issue_property_keys(request: Request, issueIdOrKey: str) -> Any:
    issue = _issue_or_404(request, issueIdOrKey)
    return {
        "keys": [
            {"key": k, "self": api_url(request, f"/rest/api/3/issue/{issue['id']}/properties/{k}")}
            for k in issue.get("properties", {})
        ]
    }


@router.get("/issue/{issueIdOrKey}/properties/{propertyKey}")
def get_issue_property(request: Request, issueIdOrKey: str, propertyKey: str) -> Any:
    issue = _issue_or_404(request, issueIdOrKey)
    if propertyKey not in issue.get("properties", {}):
        return error(404, f"The property '{propertyKey}' does not exist.")
    return {"key": propertyKey, "value": issue["properties"][propertyKey]}


@router.put("/issue/{issueIdOrKey}/properties/{propertyKey}")
async def set_issue_property(request: Request, issueIdOrKey: str, propertyKey: str) -> Any:
    issue = _issue_or_404(request, issueIdOrKey)
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
    issue = _issue_or_404(request, issueIdOrKey)
    if propertyKey not in issue.get("properties", {}):
        return error(404, f"The property '{propertyKey}' does not exist.")
    remaining = {k: v for k, v in issue["properties"].items() if k != propertyKey}
    jira(request).collection("issues").put(issue["id"], {**issue, "properties": remaining})
    return Response(status_code=204)


# --- projects and issue types -------------------------------------------------------------------


@router.get("/project/search")
def project_search(request: Request) -> Any:
    projects = [_project_json(request, p) for p in jira(request).collection("projects")]
    return {"startAt": 0, "maxResults": 50, "total": len(projects), "isLast": True, "values": projects}


@router.get("/project/{projectIdOrKey}")
def project(request: Request, projectIdOrKey: str) -> Any:
    for record in jira(request).collection("projects"):
        if projectIdOrKey in {record["id"], record["key"]}:
            return {
                **_project_json(request, record),
                "issueTypes": [_issue_type_json(request, t) for t in ISSUE_TYPES],
            }
    return error(404, "No project could be found with key '" + projectIdOrKey + "'.")


@router.get("/issuetype")
def issue_types(request: Request) -> Any:
    return [_issue_type_json(request, t) for t in ISSUE_TYPES]
