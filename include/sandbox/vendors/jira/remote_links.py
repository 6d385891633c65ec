"""Jira issue remote links, upserted by ``globalId``.

Remote links are stored per issue in the ``remote_links`` collection; a POST with a ``globalId``
the issue already has replaces that link (200), as Jira does, instead of adding a second one.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sandbox.vendor import VendorState
from sandbox.vendors.jira.api import api_url, error, jira, json_body, next_number
from sandbox.vendors.jira.records import issue_or_404, touch

router = APIRouter(prefix="/rest/api/3")

GLOBAL_ID_MAX = 255


def _links(state: VendorState, issue: dict[str, Any]) -> list[dict[str, Any]]:
    found = [link for link in state.collection("remote_links") if link["issueId"] == issue["id"]]
    return sorted(found, key=lambda link: link["id"])


def _link_json(request: Request, link: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": link["id"],
        "self": api_url(request, f"/rest/api/3/issue/{link['issueId']}/remotelink/{link['id']}"),
        "object": link["object"],
    }
    for name in ("globalId", "application", "relationship"):
        if link.get(name) is not None:
            body[name] = link[name]
    return body


@router.get("/issue/{issueIdOrKey}/remotelink")
def remote_links(request: Request, issueIdOrKey: str, globalId: str | None = None) -> Any:
    """Every remote link of the issue, or the one with ``globalId`` (404 if none)."""
    state = jira(request)
    links = _links(state, issue_or_404(state, issueIdOrKey))
    if globalId is None:
        return [_link_json(request, link) for link in links]
    found = next((link for link in links if link.get("globalId") == globalId), None)
    if found is None:
        return error(404, f"No remote link with the global id '{globalId}' exists on this issue.")
    return _link_json(request, found)


@router.post("/issue/{issueIdOrKey}/remotelink")
async def upsert_remote_link(request: Request, issueIdOrKey: str) -> Any:
    """Create a link (201), or update the issue's link with the same ``globalId`` (200)."""
    state = jira(request)
    issue = issue_or_404(state, issueIdOrKey)
    body = await json_body(request)
    link_object = body.get("object")
    if not isinstance(link_object, dict) or not link_object.get("url") or not link_object.get("title"):
        missing = "url" if isinstance(link_object, dict) and link_object.get("title") else "title"
        return error(
            400,
            errors={
                f"object.{missing}" if isinstance(link_object, dict) else "object": (
                    f"'{missing}' is required." if isinstance(link_object, dict) else "'object' is required."
                )
            },
        )
    global_id = body.get("globalId")
    if global_id is not None and len(str(global_id)) > GLOBAL_ID_MAX:
        return error(400, errors={"globalId": f"The global ID must be at most {GLOBAL_ID_MAX} characters."})
    existing = next(
        (link for link in _links(state, issue) if global_id and link.get("globalId") == global_id), None
    )
    link_id = existing["id"] if existing else next_number(state, "remote_link", 10000)
    stored = {
        "id": link_id,
        "issueId": issue["id"],
        "globalId": global_id,
        "application": body.get("application"),
        "relationship": body.get("relationship"),
        "object": link_object,
    }
    state.collection("remote_links").put(str(link_id), stored)
    touch(state, issue)
    answer = {
        "id": link_id,
        "self": api_url(request, f"/rest/api/3/issue/{issue['id']}/remotelink/{link_id}"),
    }
    return JSONResponse(answer, status_code=200 if existing else 201)


@router.delete("/issue/{issueIdOrKey}/remotelink")
def delete_remote_link(request: Request, issueIdOrKey: str, globalId: str | None = None) -> Any:
    state = jira(request)
    issue = issue_or_404(state, issueIdOrKey)
    if not globalId:
        return error(400, "The global ID of the remote link to delete is required.")
    found = next((link for link in _links(state, issue) if link.get("globalId") == globalId), None)
    if found is None:
        return error(404, f"No remote link with the global id '{globalId}' exists on this issue.")
    state.collection("remote_links").delete(str(found["id"]))
    touch(state, issue)
    return Response(status_code=204)
