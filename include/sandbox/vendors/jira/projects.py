"""Jira projects and issue types, and how an issue shows its project and issue type."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from sandbox.vendors.jira.api import api_url, error, jira
from sandbox.vendors.jira.seed import ISSUE_TYPES
from sandbox.vendors.jira.versions import RestRoute

router = APIRouter(route_class=RestRoute)


def project_json(request: Request, project: dict[str, Any]) -> dict[str, Any]:
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


def issue_type_json(request: Request, type_id: str) -> dict[str, Any]:
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


@router.get("/project")
def all_projects(request: Request) -> list[dict[str, Any]]:
    """Jira's deprecated "get all projects", still served: a bare array, no paging."""
    return [project_json(request, p) for p in jira(request).collection("projects")]


@router.get("/project/search")
def project_search(request: Request) -> Any:
    projects = [project_json(request, p) for p in jira(request).collection("projects")]
    return {"startAt": 0, "maxResults": 50, "total": len(projects), "isLast": True, "values": projects}


@router.get("/project/{projectIdOrKey}")
def project(request: Request, projectIdOrKey: str) -> Any:
    for record in jira(request).collection("projects"):
        if projectIdOrKey in {record["id"], record["key"]}:
            return {
                **project_json(request, record),
                "issueTypes": [issue_type_json(request, t) for t in ISSUE_TYPES],
            }
    return error(404, "No project could be found with key '" + projectIdOrKey + "'.")


@router.get("/issuetype")
def issue_types(request: Request) -> Any:
    return [issue_type_json(request, t) for t in ISSUE_TYPES]
