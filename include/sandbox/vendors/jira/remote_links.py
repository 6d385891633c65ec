"""Jira issue remote links (upserted by ``globalId``) and create metadata per project and issue type.

Remote links are stored per issue in the ``remote_links`` collection; a POST with a ``globalId``
the issue already has replaces that link (200), as Jira does, instead of adding a second one.
Create metadata lists the fields the create screen has: the system ones and the custom fields
of ``CUSTOM_FIELDS``; a test can make a custom field required with the ``require_field`` action.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sandbox.vendor import VendorError, VendorState
from sandbox.vendors.jira.api import api_url, error, jira, next_number, not_found_issue, query_int
from sandbox.vendors.jira.issues import _issue_type_json, _json_body
from sandbox.vendors.jira.records import find_issue, touch
from sandbox.vendors.jira.seed import ISSUE_TYPES

router = APIRouter(prefix="/rest/api/3")

GLOBAL_ID_MAX = 255
# Custom fields of the sandbox site: any customfield_N may be written; these are on the create screen.
CUSTOM_FIELDS: dict[str, tuple[str, str]] = {
    "customfield_10101": ("Deal amount", "number"),
    "customfield_10102": ("CRM stage", "string"),
    "customfield_10103": ("CRM record", "string"),
    "customfield_10104": ("Closing date", "date"),
    "customfield_10105": ("CRM account", "string"),
    "customfield_10106": ("CRM contact", "string"),
    "customfield_10107": ("CRM owner", "string"),
    "customfield_10108": ("CRM reason", "string"),
}
_SYSTEM_FIELDS: tuple[tuple[str, str, str, bool], ...] = (
    # field id, name, schema type, required
    ("summary", "Summary", "string", True),
    ("issuetype", "Issue Type", "issuetype", True),
    ("project", "Project", "project", True),
    ("description", "Description", "string", False),
    ("labels", "Labels", "array", False),
    ("reporter", "Reporter", "user", True),
    ("assignee", "Assignee", "user", False),
)


def _issue_or_404(state: VendorState, id_or_key: str) -> dict[str, Any]:
    issue = find_issue(state, id_or_key)
    if issue is None:
        raise VendorError(not_found_issue())
    return issue


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
    links = _links(state, _issue_or_404(state, issueIdOrKey))
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
    issue = _issue_or_404(state, issueIdOrKey)
    body = await _json_body(request)
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
    issue = _issue_or_404(state, issueIdOrKey)
    if not globalId:
        return error(400, "The global ID of the remote link to delete is required.")
    found = next((link for link in _links(state, issue) if link.get("globalId") == globalId), None)
    if found is None:
        return error(404, f"No remote link with the global id '{globalId}' exists on this issue.")
    state.collection("remote_links").delete(str(found["id"]))
    touch(state, issue)
    return Response(status_code=204)


# --- create metadata ----------------------------------------------------------------------------


def _project_or_404(state: VendorState, id_or_key: str) -> dict[str, Any]:
    for project in state.collection("projects"):
        if id_or_key in {project["id"], project["key"]}:
            return project
    raise VendorError(error(400, f"No project could be found with id or key '{id_or_key}'."))


@router.get("/issue/createmeta/{projectIdOrKey}/issuetypes")
def create_meta_issue_types(
    request: Request, projectIdOrKey: str, startAt: str | None = None, maxResults: str | None = None
) -> Any:
    _project_or_404(jira(request), projectIdOrKey)
    types = [_issue_type_json(request, type_id) for type_id in ISSUE_TYPES]
    return _page(types, startAt, maxResults, "issueTypes")


@router.get("/issue/createmeta/{projectIdOrKey}/issuetypes/{issueTypeId}")
def create_meta_fields(
    request: Request,
    projectIdOrKey: str,
    issueTypeId: str,
    startAt: str | None = None,
    maxResults: str | None = None,
) -> Any:
    state = jira(request)
    _project_or_404(state, projectIdOrKey)
    if issueTypeId not in ISSUE_TYPES:
        return error(400, f"The issue type with id '{issueTypeId}' does not exist in this project.")
    required = set((state.collection("settings").get("create_screen") or {}).get("required", []))
    fields = [
        _field_meta(field_id, name, kind, is_required, has_default=field_id == "reporter")
        for field_id, name, kind, is_required in _SYSTEM_FIELDS
    ]
    fields += [
        _field_meta(field_id, name, kind, field_id in required, has_default=False)
        for field_id, (name, kind) in CUSTOM_FIELDS.items()
    ]
    return _page(fields, startAt, maxResults, "fields")


def _field_meta(field_id: str, name: str, kind: str, required: bool, *, has_default: bool) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": kind}
    if field_id.startswith("customfield_"):
        schema.update(
            custom=f"com.atlassian.jira.plugin.system.customfieldtypes:{kind}field",
            customId=int(field_id[12:]),
        )
    else:
        schema["system"] = field_id
    return {
        "fieldId": field_id,
        "key": field_id,
        "name": name,
        "required": required,
        "hasDefaultValue": has_default,
        "operations": ["set"],
        "schema": schema,
    }


def _page(
    values: list[dict[str, Any]], start_at: str | None, max_results: str | None, name: str
) -> dict[str, Any]:
    start = max(0, query_int(start_at, 0, "startAt"))
    size = max(1, query_int(max_results, 50, "maxResults"))
    return {
        "startAt": start,
        "maxResults": size,
        "total": len(values),
        name: values[start : start + size],
    }


def require_field(state: VendorState, payload: dict[str, Any]) -> dict[str, Any]:
    """Make a custom field required on every create screen: ``{"field": "customfield_10103"}``."""
    field_id = str(payload["field"])
    if field_id not in CUSTOM_FIELDS:
        raise ValueError(f"no custom field {field_id!r}; fields: {sorted(CUSTOM_FIELDS)}")
    settings = state.collection("settings")
    screen = settings.get("create_screen") or {"required": []}
    screen = {"required": sorted({*screen["required"], field_id})}
    settings.put("create_screen", screen)
    return screen
