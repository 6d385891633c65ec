"""Jira's rules for changing issues, shared by the REST routes and the admin actions.

An issue is stored as ``{"id", "key", "fields": {...ids and raw values...}, "properties": {...}}``;
what a client sees is rendered from it by ``issues``.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.responses import JSONResponse

from sandbox.vendor import VendorError, VendorState
from sandbox.vendors.jira.api import ADMIN_ACCOUNT_ID, error, next_number, not_found_issue, now
from sandbox.vendors.jira.seed import ISSUE_TYPES
from sandbox.vendors.jira.wiki import is_adf
from sandbox.vendors.jira.workflow import INITIAL_STATUS, TRANSITIONS

SUMMARY_MAX = 255
RICH_TEXT_FIELDS = {"description", "environment"}  # ADF in v3, wiki markup in v2
_USER_FIELDS = {"assignee", "reporter"}
_CUSTOM_FIELD = re.compile(r"customfield_\d+")


class FieldErrors(Exception):
    """Field-level problems with an issue write, as Jira's ``errors`` map."""

    def __init__(self, errors: dict[str, str], messages: tuple[str, ...] = ()) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()) or "; ".join(messages))
        self.errors = errors
        self.messages = list(messages)

    def response(self) -> JSONResponse:
        return error(400, *self.messages, errors=self.errors)


def find_issue(state: VendorState, id_or_key: str) -> dict[str, Any] | None:
    issues = state.collection("issues")
    found = issues.get(id_or_key)
    if found is not None:
        return found
    wanted = id_or_key.upper()
    return next((i for i in issues if i["key"] == wanted), None)


def issue_or_404(state: VendorState, id_or_key: str) -> dict[str, Any]:
    """The issue a route names, or Jira's 404 for it."""
    issue = find_issue(state, id_or_key)
    if issue is None:
        raise VendorError(not_found_issue())
    return issue


def require_issue(state: VendorState, id_or_key: str) -> dict[str, Any]:
    issue = find_issue(state, id_or_key)
    if issue is None:
        raise KeyError(f"no Jira issue {id_or_key!r}")
    return issue


def create_issue(
    state: VendorState,
    fields: dict[str, Any],
    properties: list[dict[str, Any]] | None = None,
    reporter: str = ADMIN_ACCOUNT_ID,
) -> dict[str, Any]:
    stored = _checked_fields(state, fields, creating=True)
    project = state.collection("projects").get(stored["project"])
    issue_id = str(next_number(state, "issue", 10000))
    number = next_number(state, f"key-{project['key']}", 1)
    timestamp = now()
    issue = {
        "id": issue_id,
        "key": f"{project['key']}-{number}",
        "fields": {
            "labels": [],
            "reporter": reporter,
            **stored,
            "status": INITIAL_STATUS,
            "created": timestamp,
            "updated": timestamp,
        },
        "properties": {p["key"]: p["value"] for p in properties or []},
    }
    state.collection("issues").put(issue_id, issue)
    return issue


def edit_issue(
    state: VendorState, issue: dict[str, Any], fields: dict[str, Any], update: dict[str, Any] | None = None
) -> dict[str, Any]:
    changed = dict(issue["fields"])
    changed.update(_checked_fields(state, fields, creating=False))
    for name, operations in (update or {}).items():
        changed.update(
            _checked_fields(state, {name: _apply_operations(changed.get(name), operations)}, False)
        )
    changed["updated"] = now()
    return _save(state, {**issue, "fields": changed})


def transition_issue(state: VendorState, issue: dict[str, Any], transition_id: str) -> dict[str, Any]:
    """Move the issue along the workflow; an unavailable transition is refused as Jira does."""
    transition = TRANSITIONS.get(str(transition_id))
    if transition is None or issue["fields"]["status"] not in transition[1]:
        raise FieldErrors({}, (f"Transition id '{transition_id}' is not valid for this issue.",))
    return _save(state, {**issue, "fields": {**issue["fields"], "status": transition[2], "updated": now()}})


def add_comment(
    state: VendorState,
    issue: dict[str, Any],
    body: Any,
    author: str = ADMIN_ACCOUNT_ID,
    properties: Any = None,
    **extra: Any,
) -> dict[str, Any]:
    if not is_adf(body):
        raise FieldErrors({"comment": "Comment body must be an Atlassian Document (ADF)."})
    timestamp = now()
    comment = {
        "id": str(next_number(state, "comment", 10000)),
        "issueId": issue["id"],
        "author": author,
        "body": body,
        "created": timestamp,
        "updated": timestamp,
        **extra,
    }
    return _save_comment(state, issue, comment, properties)


def edit_comment(
    state: VendorState, issue: dict[str, Any], comment: dict[str, Any], body: Any, properties: Any = None
) -> dict[str, Any]:
    """A new body (and properties, when given) for a comment, stamped ``updated`` now."""
    if not is_adf(body):
        raise FieldErrors({"comment": "Comment body must be an Atlassian Document (ADF)."})
    return _save_comment(state, issue, {**comment, "body": body, "updated": now()}, properties)


def delete_comment(state: VendorState, issue: dict[str, Any], comment: dict[str, Any]) -> None:
    state.collection("comments").delete(comment["id"])
    touch(state, issue)


def _save_comment(
    state: VendorState, issue: dict[str, Any], comment: dict[str, Any], properties: Any
) -> dict[str, Any]:
    """Store a comment with its entity properties (``[{"key", "value"}]``, as the spec's ``Comment``
    takes them on create and update). JSM's ``sd.public.comment`` ``{"internal": true}`` makes it an
    internal comment (``jsdPublic: false``), as a JSM agent's "Comment internally" does."""
    if properties is not None:
        if not isinstance(properties, list) or not all(
            isinstance(p, dict) and isinstance(p.get("key"), str) and p.get("key") for p in properties
        ):
            raise FieldErrors({"properties": "Comment properties must be a list of {key, value}."})
        kept = {**(comment.get("properties") or {}), **{p["key"]: p.get("value") for p in properties}}
        comment = {**comment, "properties": kept}
        visibility = kept.get("sd.public.comment")
        if isinstance(visibility, dict) and "internal" in visibility:
            comment["jsdPublic"] = not visibility["internal"]
    state.collection("comments").put(comment["id"], comment)
    touch(state, issue)
    return comment


def touch(state: VendorState, issue: dict[str, Any]) -> dict[str, Any]:
    """Mark the issue updated now, so ``updated >=`` finds what changed."""
    return _save(state, {**issue, "fields": {**issue["fields"], "updated": now()}})


def delete_issue(state: VendorState, issue: dict[str, Any]) -> None:
    """The issue, with its comments and files."""
    state.collection("issues").delete(issue["id"])
    for name in ("comments", "attachments"):
        held = state.collection(name)
        for item in held:
            if item["issueId"] == issue["id"]:
                held.delete(item["id"])


def _save(state: VendorState, issue: dict[str, Any]) -> dict[str, Any]:
    return state.collection("issues").put(issue["id"], issue)


def _apply_operations(current: Any, operations: list[dict[str, Any]]) -> Any:
    value = current
    for operation in operations:
        for verb, argument in operation.items():
            if verb == "set":
                value = argument
            elif verb == "add":
                value = [*(value or []), argument] if isinstance(value, list) or value is None else argument
            elif verb == "remove":
                value = [v for v in value or [] if v != argument]
            else:
                raise FieldErrors({}, (f"The operation '{verb}' is not supported.",))
    return value


def _checked_fields(state: VendorState, fields: dict[str, Any], creating: bool) -> dict[str, Any]:
    """The fields as stored (project and issue type by id, users by accountId), or every problem at once."""
    stored: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, value in fields.items():
        if name == "project":
            project = _project(state, value)
            if project is None:
                errors[name] = "Specify a valid project ID or key"
            else:
                stored[name] = project
        elif name == "issuetype":
            issue_type = _issue_type(value)
            if issue_type is None:
                errors[name] = "The issue type selected is invalid."
            else:
                stored[name] = issue_type
        elif name == "summary":
            if not isinstance(value, str) or not value.strip():
                errors[name] = "You must specify a summary of the issue."
            elif len(value) > SUMMARY_MAX:
                errors[name] = f"Summary must be less than {SUMMARY_MAX} characters."
            else:
                stored[name] = value
        elif name in RICH_TEXT_FIELDS:
            if value is not None and not is_adf(value):
                errors[name] = (
                    "Operation value must be an Atlassian Document (see the Atlassian Document Format)."
                )
            else:
                stored[name] = value
        elif name == "labels":
            bad = [v for v in value or [] if not isinstance(v, str) or " " in v]
            if not isinstance(value, list) or bad:
                errors[name] = f"The label '{bad[0] if bad else value}' contains spaces which is invalid."
            else:
                stored[name] = value
        elif name in _USER_FIELDS:
            account_id = (value or {}).get("accountId") if isinstance(value, dict) else None
            if value is not None and state.collection("users").get(account_id or "") is None:
                errors[name] = "Specified user does not exist or you do not have required permissions"
            else:
                stored[name] = account_id
        elif _CUSTOM_FIELD.fullmatch(name):
            stored[name] = value
        else:
            errors[name] = f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
    if creating:
        for name, message in (
            ("project", "Specify a valid project ID or key"),
            ("issuetype", "Specify an issue type"),
            ("summary", "You must specify a summary of the issue."),
        ):
            if name not in fields:
                errors.setdefault(name, message)
    if errors:
        raise FieldErrors(errors)
    return stored


def _project(state: VendorState, value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    for project in state.collection("projects"):
        if str(value.get("id")) == project["id"] or value.get("key") == project["key"]:
            return project["id"]
    return None


def _issue_type(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    for type_id, issue_type in ISSUE_TYPES.items():
        if str(value.get("id")) == type_id or value.get("name") == issue_type["name"]:
            return type_id
    return None
