"""Comments and attachments of issues, and how an issue's ``comment`` and ``attachment`` fields show them."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from sandbox.vendor import VendorError, VendorState
from sandbox.vendors.jira.api import (
    ADMIN_ACCOUNT_ID,
    api_url,
    error,
    jira,
    json_body,
    next_number,
    now,
    query_int,
    user_details_json,
)
from sandbox.vendors.jira.records import (
    FieldErrors,
    add_comment,
    delete_comment,
    edit_comment,
    issue_or_404,
    require_issue,
    touch,
)
from sandbox.vendors.jira.versions import RestRoute

router = APIRouter(route_class=RestRoute)

COMMENTS_PAGE_DEFAULT = 100
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
OCTET_STREAM = "application/octet-stream"


def comment_json(
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


def issue_comments(state: VendorState, issue: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's comments, oldest first."""
    found = [c for c in state.collection("comments") if c["issueId"] == issue["id"]]
    return sorted(found, key=lambda c: (c["created"], int(c["id"])))


def comment_page_json(request: Request, issue: dict[str, Any]) -> dict[str, Any]:
    """An issue's ``comment`` field: every comment, on one page."""
    found = issue_comments(jira(request), issue)
    return {
        "comments": [comment_json(request, issue, c) for c in found],
        "self": api_url(request, f"/rest/api/3/issue/{issue['id']}/comment"),
        "maxResults": len(found),
        "total": len(found),
        "startAt": 0,
    }


@router.get("/issue/{issueIdOrKey}/comment")
def comments(
    request: Request,
    issueIdOrKey: str,
    startAt: str | None = None,
    maxResults: str | None = None,
    orderBy: str | None = None,
    expand: str | None = None,
) -> Any:
    issue = issue_or_404(jira(request), issueIdOrKey)
    start = max(0, query_int(startAt, 0, "startAt"))
    size = max(0, query_int(maxResults, COMMENTS_PAGE_DEFAULT, "maxResults"))
    found = issue_comments(jira(request), issue)
    if (orderBy or "").startswith("-"):
        found.reverse()
    return {
        "comments": [comment_json(request, issue, c, expand) for c in found[start : start + size]],
        "startAt": start,
        "maxResults": size,
        "total": len(found),
    }


@router.post("/issue/{issueIdOrKey}/comment")
async def comment(request: Request, issueIdOrKey: str) -> Any:
    issue = issue_or_404(jira(request), issueIdOrKey)
    body = await json_body(request)
    extra = {"visibility": body["visibility"]} if body.get("visibility") else {}
    try:
        created = add_comment(
            jira(request), issue, body.get("body"), properties=body.get("properties"), **extra
        )
    except FieldErrors as problem:
        return problem.response()
    return JSONResponse(comment_json(request, issue, created), status_code=201)


def _comment_or_404(request: Request, issue: dict[str, Any], comment_id: str) -> dict[str, Any]:
    found = jira(request).collection("comments").get(comment_id)
    if found is None or found["issueId"] != issue["id"]:
        raise VendorError(error(404, f"Can not find a comment for the id: {comment_id}."))
    return found


@router.get("/issue/{issueIdOrKey}/comment/{commentId}")
def get_comment(request: Request, issueIdOrKey: str, commentId: str, expand: str | None = None) -> Any:
    issue = issue_or_404(jira(request), issueIdOrKey)
    return comment_json(request, issue, _comment_or_404(request, issue, commentId), expand)


@router.put("/issue/{issueIdOrKey}/comment/{commentId}")
async def update_comment(request: Request, issueIdOrKey: str, commentId: str) -> Any:
    """A new body, and properties when given; 200 with the comment."""
    issue = issue_or_404(jira(request), issueIdOrKey)
    found = _comment_or_404(request, issue, commentId)
    body = await json_body(request)
    try:
        edited = edit_comment(jira(request), issue, found, body.get("body"), body.get("properties"))
    except FieldErrors as problem:
        return problem.response()
    return comment_json(request, issue, edited)


@router.delete("/issue/{issueIdOrKey}/comment/{commentId}")
def remove_comment(request: Request, issueIdOrKey: str, commentId: str) -> Response:
    issue = issue_or_404(jira(request), issueIdOrKey)
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
    issue = issue_or_404(jira(request), issueIdOrKey)
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
        created.append(attachment_json(request, record))
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


def issue_attachments(state: VendorState, issue: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in state.collection("attachments") if a["issueId"] == issue["id"]]


def attachment_json(request: Request, record: dict[str, Any]) -> dict[str, Any]:
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
    return {**attachment_json(request, record), "id": int(record["id"])}  # AttachmentMetadata: a number


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
