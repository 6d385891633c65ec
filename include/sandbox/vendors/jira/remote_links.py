"""Jira issue remote links, upserted by ``globalId``.

Remote links are stored per issue in the ``remote_links`` collection; a POST with a ``globalId``
the issue already has replaces that link (200), as Jira does, instead of adding a second one.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sandbox.vendor import VendorError, VendorState
from sandbox.vendors.jira.api import api_url, error, jira, json_body, next_number
from sandbox.vendors.jira.records import issue_or_404, touch
from sandbox.vendors.jira.versions import RestRoute

router = APIRouter(route_class=RestRoute)

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


def _by_global_id(state: VendorState, issue: dict[str, Any], global_id: str) -> dict[str, Any]:
    found = next((link for link in _links(state, issue) if link.get("globalId") == global_id), None)
    if found is None:
        raise VendorError(
            error(404, f"No remote link with the global id '{global_id}' exists on this issue.")
        )
    return found


def _by_id(state: VendorState, issue: dict[str, Any], link_id: str) -> dict[str, Any]:
    found = state.collection("remote_links").get(link_id)
    if found is None or found["issueId"] != issue["id"]:
        raise VendorError(error(404, f"No remote link with the id '{link_id}' exists on this issue."))
    return found


def _checked(body: dict[str, Any]) -> dict[str, Any]:
    """The parts of a link a write gives, or Jira's 400 naming what is missing (the spec's example
    keys the error by the object's field: ``{"title": "'title' is required."}``)."""
    link_object = body.get("object")
    if not isinstance(link_object, dict):
        raise VendorError(error(400, errors={"object": "'object' is required."}))
    missing = [name for name in ("title", "url") if not link_object.get(name)]
    if missing:
        raise VendorError(error(400, errors={name: f"'{name}' is required." for name in missing}))
    global_id = body.get("globalId")
    if global_id is not None and len(str(global_id)) > GLOBAL_ID_MAX:
        raise VendorError(
            error(400, errors={"globalId": f"The global ID must be at most {GLOBAL_ID_MAX} characters."})
        )
    return {
        "globalId": global_id,
        "application": body.get("application"),
        "relationship": body.get("relationship"),
        "object": link_object,
    }


def _store(state: VendorState, issue: dict[str, Any], link_id: int, link: dict[str, Any]) -> None:
    state.collection("remote_links").put(str(link_id), {"id": link_id, "issueId": issue["id"], **link})
    touch(state, issue)


@router.get("/issue/{issueIdOrKey}/remotelink")
def remote_links(request: Request, issueIdOrKey: str, globalId: str | None = None) -> Any:
    """Every remote link of the issue, or the one with ``globalId`` (404 if none)."""
    state = jira(request)
    issue = issue_or_404(state, issueIdOrKey)
    if globalId is None:
        return [_link_json(request, link) for link in _links(state, issue)]
    return _link_json(request, _by_global_id(state, issue, globalId))


@router.post("/issue/{issueIdOrKey}/remotelink")
async def upsert_remote_link(request: Request, issueIdOrKey: str) -> Any:
    """Create a link (201), or update the issue's link with the same ``globalId`` (200)."""
    state = jira(request)
    issue = issue_or_404(state, issueIdOrKey)
    link = _checked(await json_body(request))
    existing = next(
        (
            known
            for known in _links(state, issue)
            if link["globalId"] and known.get("globalId") == link["globalId"]
        ),
        None,
    )
    link_id = existing["id"] if existing else next_number(state, "remote_link", 10000)
    _store(state, issue, link_id, link)
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
    _delete(state, issue, _by_global_id(state, issue, globalId))
    return Response(status_code=204)


@router.get("/issue/{issueIdOrKey}/remotelink/{linkId}")
def remote_link(request: Request, issueIdOrKey: str, linkId: str) -> Any:
    state = jira(request)
    return _link_json(request, _by_id(state, issue_or_404(state, issueIdOrKey), linkId))


@router.put("/issue/{issueIdOrKey}/remotelink/{linkId}")
async def update_remote_link(request: Request, issueIdOrKey: str, linkId: str) -> Response:
    """Replace the link with this id, whatever its ``globalId``: 204."""
    state = jira(request)
    issue = issue_or_404(state, issueIdOrKey)
    found = _by_id(state, issue, linkId)
    _store(state, issue, found["id"], _checked(await json_body(request)))
    return Response(status_code=204)


@router.delete("/issue/{issueIdOrKey}/remotelink/{linkId}")
def delete_remote_link_by_id(request: Request, issueIdOrKey: str, linkId: str) -> Response:
    state = jira(request)
    issue = issue_or_404(state, issueIdOrKey)
    _delete(state, issue, _by_id(state, issue, linkId))
    return Response(status_code=204)


def _delete(state: VendorState, issue: dict[str, Any], link: dict[str, Any]) -> None:
    state.collection("remote_links").delete(str(link["id"]))
    touch(state, issue)
