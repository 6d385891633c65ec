"""Jira's admin webhooks (``/rest/webhooks/1.0/webhook``): registered with a URL, the events, a JQL
filter and a secret, and delivered, signed, when issues, comments or users change.

Every write to Jira, through its REST API or the admin API, is told to ``on_change``, which makes
the events Jira would send (``jira:issue_created``/``updated``/``deleted``, ``comment_created``/
``updated``/``deleted``, ``attachment_created``/``deleted`` (the attachment alone, as Jira sends
it), ``user_created``/``updated``/``deleted``; an issue whose entity properties
alone changed raises ``issue_property_set``, not an update) for each enabled webhook that listens
to them and whose filter matches the issue. A webhook with a secret is signed as Jira Cloud signs
it: ``X-Hub-Signature: sha256=<HMAC-SHA256 of the body with the secret>``.

They leave through ``sandbox.deliveries``, whose faults (delayed, dropped, duplicated, reordered)
the admin action ``webhook_deliveries`` sets.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from typing import Any

from fastapi import APIRouter, Request, Response

from sandbox.changes import Change
from sandbox.deliveries import DELIVERIES, faults_of
from sandbox.vendor import VendorError, VendorState
from sandbox.vendors.jira import jql as jql_language
from sandbox.vendors.jira.api import ADMIN_ACCOUNT_ID, api_url, error, jira, json_body, next_number, now
from sandbox.vendors.jira.issues import jql_resolver

PATH = "/rest/webhooks/1.0/webhook"
EVENTS = (
    "jira:issue_created",
    "jira:issue_updated",
    "jira:issue_deleted",
    "issue_property_set",
    "comment_created",
    "comment_updated",
    "comment_deleted",
    "attachment_created",
    "attachment_deleted",
    "user_created",
    "user_updated",
    "user_deleted",
)
FILTER = "issue-related-events-section"  # the filter's key: JQL on the issues whose events are sent

router = APIRouter()


# --- registration ------------------------------------------------------------------------------


@router.post(PATH, status_code=201)
async def register(request: Request) -> dict[str, Any]:
    state = jira(request)
    hook = {
        "id": str(next_number(state, "webhook", 1)),
        **_checked(await json_body(request)),
        "lastUpdated": now(),
    }
    state.collection("webhooks").put(hook["id"], hook)
    return _hook_json(request, hook)


@router.get(PATH)
def list_webhooks(request: Request) -> list[dict[str, Any]]:
    hooks = sorted(jira(request).collection("webhooks"), key=lambda hook: int(hook["id"]))
    return [_hook_json(request, hook) for hook in hooks]


@router.get(PATH + "/{webhook_id}")
def get_webhook(request: Request, webhook_id: str) -> dict[str, Any]:
    return _hook_json(request, _hook_or_404(jira(request), webhook_id))


@router.put(PATH + "/{webhook_id}")
async def update_webhook(request: Request, webhook_id: str) -> dict[str, Any]:
    state = jira(request)
    hook = _hook_or_404(state, webhook_id)
    changed = {**hook, **_checked(await json_body(request), hook), "lastUpdated": now()}
    state.collection("webhooks").put(webhook_id, changed)
    return _hook_json(request, changed)


@router.delete(PATH + "/{webhook_id}", status_code=204)
def delete_webhook(request: Request, webhook_id: str) -> Response:
    state = jira(request)
    _hook_or_404(state, webhook_id)
    state.collection("webhooks").delete(webhook_id)
    return Response(status_code=204)


def _checked(body: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    """The webhook a body registers (or, with ``current``, what it changes), or Jira's 400."""
    given = {**(current or {}), **body}
    problems: dict[str, str] = {}
    if not isinstance(given.get("name"), str) or not given["name"].strip():
        problems["name"] = "The webhook name is required."
    if not isinstance(given.get("url"), str) or not given["url"].startswith(("http://", "https://")):
        problems["url"] = "The webhook URL must be an http(s) URL."
    events = given.get("events")
    if not isinstance(events, list) or not events or not set(events) <= set(EVENTS):
        problems["events"] = f"Give the events to send, of: {', '.join(EVENTS)}."
    filters = given.get("filters") or {}
    if not isinstance(filters, dict) or not isinstance(filters.get(FILTER, ""), str):
        problems["filters"] = f"filters is an object whose {FILTER!r} is a JQL query."
    if problems:
        raise VendorError(error(400, errors=problems))
    return {
        "name": given["name"],
        "url": given["url"],
        "events": list(events),
        "filters": {FILTER: filters.get(FILTER, "")},
        "excludeBody": bool(given.get("excludeBody", False)),
        "enabled": bool(given.get("enabled", True)),
        "secret": given.get("secret") or None,
    }


def _hook_or_404(state: VendorState, webhook_id: str) -> dict[str, Any]:
    hook = state.collection("webhooks").get(webhook_id)
    if hook is None:
        raise VendorError(error(404, f"No webhook with id {webhook_id}."))
    return hook


def _hook_json(request: Request, hook: dict[str, Any]) -> dict[str, Any]:
    """A webhook as Jira lists it: its secret is never shown again."""
    shown = {name: value for name, value in hook.items() if name not in ("id", "secret")}
    return {"self": api_url(request, f"{PATH}/{hook['id']}"), **shown}


# --- events ------------------------------------------------------------------------------------


def on_change(state: VendorState, changes: list[Change]) -> None:
    """Send the events of these writes to the webhooks that listen to them."""
    # Looked for, not opened: opening would add an empty collection to a world that has none.
    registered = next((c for c in state.collections() if c.name == "webhooks"), None)
    hooks = [hook for hook in registered or () if hook.get("enabled", True)]
    if not hooks:
        return
    faults = faults_of(state)
    for change in changes:
        made = _event(state, change)
        if made is None:
            continue
        event, payload, issue = made
        for hook in hooks:
            if event in hook["events"] and _matches(state, hook, issue):
                body = (
                    {"timestamp": payload["timestamp"], "webhookEvent": event}
                    if hook["excludeBody"]
                    else payload
                )
                encoded = json.dumps(body).encode()
                DELIVERIES.send(hook["url"], encoded, _headers(encoded, hook.get("secret")), faults)


def _event(state: VendorState, change: Change) -> tuple[str, dict[str, Any], dict[str, Any] | None] | None:
    """The event a write raises, its payload, and the issue it is about (for the filter)."""
    before, after = change.before, change.after
    stamp = {"timestamp": int(time.time() * 1000), "user": _user(ADMIN_ACCOUNT_ID)}
    if change.collection == "issues":
        issue = after or before
        if before is None:
            return (
                "jira:issue_created",
                {**stamp, "webhookEvent": "jira:issue_created", "issue": _issue(issue)},
                issue,
            )
        if after is None:
            return (
                "jira:issue_deleted",
                {**stamp, "webhookEvent": "jira:issue_deleted", "issue": _issue(issue)},
                issue,
            )
        items = _changelog(before["fields"], after["fields"])
        if not items and before.get("properties") != after.get("properties"):
            return (
                "issue_property_set",
                {**stamp, "webhookEvent": "issue_property_set", "issue": _issue(issue)},
                issue,
            )
        body = {
            **stamp,
            "webhookEvent": "jira:issue_updated",
            "issue_event_type_name": "issue_generic",
            "issue": _issue(issue),
            "changelog": {"id": str(next_number(state, "changelog", 10000)), "items": items},
        }
        return "jira:issue_updated", body, issue
    if change.collection == "comments":
        comment = after or before
        issue = state.collection("issues").get(comment["issueId"])
        kind = (
            "comment_created" if before is None else "comment_deleted" if after is None else "comment_updated"
        )
        comment_json = {
            key: comment.get(key) for key in ("id", "author", "body", "created", "updated", "jsdPublic")
        }
        body = {
            **stamp,
            "webhookEvent": kind,
            "comment": comment_json,
            "issue": _issue(issue) if issue else None,
        }
        return kind, body, issue
    if change.collection == "attachments":
        attachment = after or before
        kind = "attachment_created" if before is None else "attachment_deleted"
        shown = ("id", "filename", "author", "created", "size", "mimeType")
        body = {**stamp, "webhookEvent": kind, "attachment": {key: attachment.get(key) for key in shown}}
        return kind, body, state.collection("issues").get(attachment["issueId"])
    if change.collection == "users":
        user = after or before
        kind = "user_created" if before is None else "user_deleted" if after is None else "user_updated"
        return kind, {**stamp, "webhookEvent": kind, "user": _user(user.get("accountId"))}, None
    return None


def _issue(issue: dict[str, Any]) -> dict[str, Any]:
    fields = issue["fields"]
    shown = ("summary", "status", "project", "issuetype", "created", "updated", "labels")
    return {"id": issue["id"], "key": issue["key"], "fields": {name: fields.get(name) for name in shown}}


def _user(account_id: str | None) -> dict[str, Any]:
    return {"accountId": account_id}


def _changelog(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """What changed, as Jira's changelog items; ``updated`` is no change of its own."""
    return [
        {
            "field": name,
            "fieldId": name,
            "fieldtype": "custom" if name.startswith("customfield_") else "jira",
            "fromString": None if before.get(name) is None else str(before.get(name)),
            "toString": None if after.get(name) is None else str(after.get(name)),
        }
        for name in sorted({*before, *after} - {"updated"})
        if before.get(name) != after.get(name)
    ]


def _matches(state: VendorState, hook: dict[str, Any], issue: dict[str, Any] | None) -> bool:
    """Whether the webhook's JQL filter takes the issue (events of no issue are not filtered)."""
    jql = hook["filters"].get(FILTER, "")
    if not jql or issue is None:
        return True
    try:
        matches = jql_language.matcher(jql_language.parse(jql), jql_resolver(state), dt.datetime.now(dt.UTC))
    except jql_language.JqlError:
        return False
    return matches(issue)


# --- delivery ----------------------------------------------------------------------------------


def _headers(body: bytes, secret: str | None) -> dict[str, str]:
    """Jira's headers; with a secret, the body's signature as Jira Cloud makes it."""
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Atlassian Webhook HTTP Client",
    }
    if secret:
        headers["X-Hub-Signature"] = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return headers
