"""The fields of the sandbox site: Jira's system fields and the site's custom fields.

One catalogue serves ``GET /field`` (what clients read to map field names to ids before a
search), the create metadata per project and issue type, and issue rendering: a field the
issue has no value for comes back as ``null`` (``[]`` for lists) when asked for, as Jira
answers it, instead of being left out. The create screen has the system fields of
``CREATE_SCREEN`` and every custom field; a test can make a custom field required with the
``require_field`` action.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request

from sandbox.vendor import VendorError, VendorState
from sandbox.vendors.jira.api import error, jira, query_int
from sandbox.vendors.jira.projects import issue_type_json
from sandbox.vendors.jira.seed import ISSUE_TYPES
from sandbox.vendors.jira.versions import RestRoute

router = APIRouter(route_class=RestRoute)

CUSTOM_TYPE_PREFIX = "com.atlassian.jira.plugin.system.customfieldtypes:"
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
# The custom field type (its plugin key) of each value type: a number field is Jira's "float".
_CUSTOM_TYPES = {"number": "float", "string": "textfield", "date": "datepicker"}


@dataclass(frozen=True)
class Field:
    """One field as ``GET /field`` lists it (``FieldDetails``)."""

    id: str
    name: str
    schema: dict[str, Any]
    clause_names: tuple[str, ...]
    orderable: bool = True
    navigable: bool = True

    @property
    def custom(self) -> bool:
        return "custom" in self.schema

    @property
    def empty(self) -> Any:
        """The value of the field on an issue that has none: lists are empty, the rest null."""
        return [] if self.schema["type"] == "array" else None

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.id,
            "name": self.name,
            "custom": self.custom,
            "orderable": self.orderable,
            "navigable": self.navigable,
            "searchable": True,
            "clauseNames": list(self.clause_names),
            "schema": self.schema,
        }


def _system(
    field_id: str,
    name: str,
    kind: str,
    *clause_names: str,
    items: str | None = None,
    orderable: bool = True,
    navigable: bool = True,
) -> Field:
    schema = {"type": kind, **({"items": items} if items else {}), "system": field_id}
    return Field(field_id, name, schema, clause_names, orderable, navigable)


def _custom(field_id: str, name: str, kind: str) -> Field:
    number = int(field_id.removeprefix("customfield_"))
    schema = {"type": kind, "custom": CUSTOM_TYPE_PREFIX + _CUSTOM_TYPES[kind], "customId": number}
    return Field(field_id, name, schema, (f"cf[{number}]", name))


SYSTEM_FIELDS: tuple[Field, ...] = (
    _system("summary", "Summary", "string", "summary"),
    _system("description", "Description", "string", "description"),
    _system("environment", "Environment", "string", "environment"),
    _system("issuetype", "Issue Type", "issuetype", "issuetype", "type"),
    _system("project", "Project", "project", "project", orderable=False),
    _system("status", "Status", "status", "status", orderable=False),
    _system("priority", "Priority", "priority", "priority"),
    _system("resolution", "Resolution", "resolution", "resolution"),
    _system("labels", "Labels", "array", "labels", items="string"),
    _system("assignee", "Assignee", "user", "assignee"),
    _system("reporter", "Reporter", "user", "reporter"),
    _system("creator", "Creator", "user", "creator", orderable=False),
    _system("created", "Created", "datetime", "created", "createdDate", orderable=False),
    _system("updated", "Updated", "datetime", "updated", "updatedDate", orderable=False),
    _system("resolutiondate", "Resolved", "datetime", "resolutiondate", "resolved", orderable=False),
    _system("duedate", "Due date", "date", "due", "duedate"),
    _system("components", "Components", "array", "component", items="component"),
    _system("fixVersions", "Fix versions", "array", "fixVersion", items="version"),
    _system("versions", "Affects versions", "array", "affectedVersion", items="version"),
    _system("issuelinks", "Linked Issues", "array", "issueLink", items="issuelinks"),
    _system("subtasks", "Sub-tasks", "array", "subtasks", items="issuelinks", orderable=False),
    _system("attachment", "Attachment", "array", "attachments", items="attachment", navigable=False),
    _system("comment", "Comment", "comments-page", "comment", navigable=False),
)
FIELDS: dict[str, Field] = {
    **{f.id: f for f in SYSTEM_FIELDS},
    **{field_id: _custom(field_id, name, kind) for field_id, (name, kind) in CUSTOM_FIELDS.items()},
}
# The system fields of the create screen, and whether a create must give them.
CREATE_SCREEN: dict[str, bool] = {
    "summary": True,
    "issuetype": True,
    "project": True,
    "description": False,
    "labels": False,
    "reporter": True,
    "assignee": False,
}


@router.get("/field")
def fields() -> list[dict[str, Any]]:
    return [f.json() for f in FIELDS.values()]


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
    types = [issue_type_json(request, type_id) for type_id in ISSUE_TYPES]
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
    on_screen = {**CREATE_SCREEN, **{field_id: field_id in required for field_id in CUSTOM_FIELDS}}
    metadata = [
        _field_meta(FIELDS[field_id], is_required, has_default=field_id == "reporter")
        for field_id, is_required in on_screen.items()
    ]
    return _page(metadata, startAt, maxResults, "fields")


def _field_meta(field: Field, required: bool, *, has_default: bool) -> dict[str, Any]:
    return {
        "fieldId": field.id,
        "key": field.id,
        "name": field.name,
        "required": required,
        "hasDefaultValue": has_default,
        "operations": ["set"],
        "schema": field.schema,
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
