"""Changes made to Jira as a person in Jira would make them, for the admin API (``/_sandbox/actions/jira/…``)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from typing import Any

from sandbox.deliveries import set_delivery_faults
from sandbox.vendor import VendorState
from sandbox.vendors.jira.api import ADMIN_ACCOUNT_ID, email_keys
from sandbox.vendors.jira.bulk import slow_bulk_tasks
from sandbox.vendors.jira.comments import OCTET_STREAM, delete_attachment, store_attachment
from sandbox.vendors.jira.fields import require_field
from sandbox.vendors.jira.records import (
    FieldErrors,
    add_comment,
    create_issue,
    delete_comment,
    delete_issue,
    edit_comment,
    edit_issue,
    require_issue,
    transition_issue,
)
from sandbox.vendors.jira.wiki import text_to_adf
from sandbox.vendors.jira.workflow import TRANSITIONS, available_transitions, status_by_name


def _checked(change: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return change()
    except FieldErrors as problem:
        raise ValueError(str(problem)) from None


def create(state: VendorState, payload: dict[str, Any]) -> dict[str, Any]:
    """``{"project": "SUP", "summary": "…", "issuetype": "Task", "description": "text"}``"""
    fields: dict[str, Any] = {
        "project": {"key": payload["project"]},
        "issuetype": {"name": payload.get("issuetype", "Task")},
        "summary": payload["summary"],
    }
    if "description" in payload:
        fields["description"] = text_to_adf(payload["description"])
    return _checked(lambda: create_issue(state, fields, reporter=payload.get("reporter") or ADMIN_ACCOUNT_ID))


def edit(state: VendorState, payload: dict[str, Any]) -> dict[str, Any]:
    """``{"issue": "SUP-1", "fields": {"summary": "…", "labels": ["x"]}}``: bumps ``updated``."""
    issue = require_issue(state, payload["issue"])
    return _checked(lambda: edit_issue(state, issue, payload.get("fields") or {}))


def transition(state: VendorState, payload: dict[str, Any]) -> dict[str, Any]:
    """``{"issue": "SUP-1", "to": "Done"}`` (or ``"transition": "31"``), only along the workflow."""
    issue = require_issue(state, payload["issue"])
    transition_id = payload.get("transition")
    if transition_id is None:
        target = status_by_name(payload["to"])
        transition_id = next(
            (t for t in available_transitions(issue["fields"]["status"]) if TRANSITIONS[t][2] == target), None
        )
        if transition_id is None:
            raise ValueError(f"issue {issue['key']} cannot move to {payload['to']!r} from its status")
    return _checked(lambda: transition_issue(state, issue, str(transition_id)))


def comment(state: VendorState, payload: dict[str, Any]) -> dict[str, Any]:
    """``{"issue": "SUP-1", "text": "…", "author": accountId?, "internal": false, "body": ADF?}``:
    ``internal`` as a JSM agent's "Comment internally"; ``body`` a whole document instead of ``text``."""
    issue = require_issue(state, payload["issue"])
    author = payload.get("author") or ADMIN_ACCOUNT_ID
    body = payload.get("body") or text_to_adf(payload["text"])
    properties = (
        [{"key": "sd.public.comment", "value": {"internal": True}}] if payload.get("internal") else None
    )
    return _checked(lambda: add_comment(state, issue, body, author, properties))


def attach(state: VendorState, payload: dict[str, Any]) -> dict[str, Any]:
    """``{"issue": "SUP-1", "filename": "…", "content": base64, "mimeType": "…"}``: a person attaches a file."""
    issue = require_issue(state, payload["issue"])
    content = base64.b64decode(payload["content"])
    return store_attachment(
        state, issue, payload["filename"], content, payload.get("mimeType") or OCTET_STREAM
    )


def detach(state: VendorState, payload: dict[str, Any]) -> dict[str, Any]:
    """``{"id": "10000"}``: a person deletes a file from its issue."""
    found = state.collection("attachments").get(str(payload["id"]))
    if found is None:
        raise KeyError(f"no Jira attachment {payload['id']!r}")
    delete_attachment(state, found)
    return {"deleted": found["id"]}


def change_comment(state: VendorState, payload: dict[str, Any]) -> dict[str, Any]:
    """``{"id": "10001", "text": "…"}`` edits a comment; ``{"id", "delete": true}`` deletes it."""
    found = state.collection("comments").get(str(payload["id"]))
    if found is None:
        raise KeyError(f"no Jira comment {payload['id']!r}")
    issue = require_issue(state, found["issueId"])
    if payload.get("delete"):
        delete_comment(state, issue, found)
        return {"deleted": found["id"]}
    return _checked(lambda: edit_comment(state, issue, found, text_to_adf(payload["text"])))


def delete(state: VendorState, payload: dict[str, Any]) -> dict[str, Any]:
    """``{"issue": "SUP-1"}``"""
    issue = require_issue(state, payload["issue"])
    delete_issue(state, issue)
    return {"deleted": issue["key"]}


def add_user(state: VendorState, payload: dict[str, Any]) -> dict[str, Any]:
    """``{"email": "…", "displayName": "…", "emailVisible": true, "accountType": "atlassian"}``"""
    users = state.collection("users")
    email = payload["email"]
    if users.index("email", email_keys).exact(email.casefold()):
        raise ValueError(f"a Jira user with email {email!r} already exists")
    account_type = payload.get("accountType", "atlassian")
    account_id = f"{'qm' if account_type == 'customer' else '712020'}:{uuid.uuid4()}"
    return users.put(
        account_id,
        {
            "accountId": account_id,
            "accountType": account_type,
            "emailAddress": email,
            "emailVisible": payload.get("emailVisible", True),
            "displayName": payload.get("displayName") or email.split("@")[0],
            "active": True,
            "timeZone": payload.get("timeZone", "UTC"),
            "locale": payload.get("locale", "en_US"),
        },
    )


def deactivate_user(state: VendorState, payload: dict[str, Any]) -> dict[str, Any]:
    """``{"accountId": "…"}``: the user stays in ``users/search`` but leaves ``user/search``."""
    users = state.collection("users")
    user = users.get(payload["accountId"])
    if user is None:
        raise KeyError(f"no Jira user {payload['accountId']!r}")
    return users.put(user["accountId"], {**user, "active": False})


ACTIONS: dict[str, Callable[[VendorState, dict[str, Any]], Any]] = {
    "create_issue": create,
    "edit_issue": edit,
    "transition": transition,
    "comment": comment,
    "change_comment": change_comment,
    "attach": attach,
    "detach": detach,
    "delete_issue": delete,
    "add_user": add_user,
    "deactivate_user": deactivate_user,
    "require_field": require_field,
    "slow_bulk_tasks": slow_bulk_tasks,
    "webhook_deliveries": set_delivery_faults,
}
