"""Zoho CRM's Notifications API (``/crm/v8/actions/watch``): channels that watch a module's records
and are told, at their ``notify_url``, when those records are created, edited or deleted.

A channel (``channel_id``, a number the client picks) subscribes to events such as ``Deals.all``
or ``Deals.edit``, until its ``channel_expiry``: at most a week ahead, an hour when not given or
set further; the client enables it again before then to keep it. Each record write, through the
API or the admin API, notifies every live channel watching it: one POST per channel and write,
``{"server_time", "query_params", "module", "resource_uri", "ids", "affected_fields",
"operation", "channel_id", "token"}``, where ``token`` is what the channel was enabled with (the
receiver checks it: Zoho signs nothing). Notes and attachments raise none (Zoho's Notifications
API has no Notes module). Deliveries leave through ``sandbox.deliveries``; the admin action
``webhook_deliveries`` sets their faults.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from sandbox.changes import Change
from sandbox.deliveries import DELIVERIES, faults_of
from sandbox.vendor import VendorState
from sandbox.vendors.zoho.api import JsonBody, ZohoError, ZohoRoute, parse_time, zoho, zoho_time
from sandbox.vendors.zoho.metadata import MODULES

PATH = "/crm/v8/actions/watch"
CHANNELS = "notification_channels"  # one record per channel and module, as Zoho lists them
OPERATIONS = {"create": "insert", "edit": "update", "delete": "delete"}  # event → payload operation
DEFAULT_LIFETIME = dt.timedelta(hours=1)
LONGEST_LIFETIME = dt.timedelta(weeks=1)
MAX_TOKEN = 50
RESOURCE_URI = "https://www.zohoapis.com/crm/v8/"

router = APIRouter(route_class=ZohoRoute)


# --- the channels ------------------------------------------------------------------------------


@router.post(PATH)
def enable(request: Request, body: JsonBody) -> JSONResponse:
    """Subscribe (or subscribe again: same channel and module) to the events given."""
    return _answer([_subscribe(zoho(request), entry, None) for entry in _entries(body)])


@router.put(PATH)
def replace(request: Request, body: JsonBody) -> JSONResponse:
    """Replace the details of existing channels: what is not given is gone."""
    state = zoho(request)
    answers = []
    for entry in _entries(body):
        for record in _existing(state, entry):
            state.collection(CHANNELS).delete(_key(record["channel_id"], record["resource_name"]))
        answers.append(_subscribe(state, entry, None))
    return _answer(answers)


@router.patch(PATH)
def update(request: Request, body: JsonBody) -> JSONResponse:
    """Change some details of existing channels; with ``_delete_events``, stop those events."""
    state = zoho(request)
    answers = []
    for entry in _entries(body):
        current = _existing(state, entry)
        if entry.get("_delete_events"):
            answers.append(_unsubscribe_events(state, current, _events(entry)))
        elif "events" in entry:
            answers.append(_subscribe(state, entry, current[0]))
        else:  # each module's subscription keeps its events, with the details changed
            answers += [
                _subscribe(state, {**entry, "events": record["events"]}, record) for record in current
            ]
    return _answer(answers)


@router.get(PATH)
def details(
    request: Request,
    channel_id: str | None = None,
    module: str | None = None,
    page: int = 1,
    per_page: int = 200,
) -> Response:
    """The live channels, one entry per channel and module; 204 when there is none."""
    state = zoho(request)
    found = [
        _shown(record)
        for record in sorted(_all_live(state), key=lambda r: (r["channel_id"], r["resource_name"]))
        if (channel_id is None or str(record["channel_id"]) == channel_id)
        and (module is None or record["resource_name"] == module)
    ]
    chunk = found[(page - 1) * per_page : page * per_page]
    if not chunk:
        return Response(status_code=204)
    info = {
        "per_page": per_page,
        "count": len(chunk),
        "page": page,
        "more_records": page * per_page < len(found),
    }
    return JSONResponse({"watch": chunk, "info": info})


@router.delete(PATH)
def disable(request: Request, channel_ids: str | None = None) -> JSONResponse:
    """Unsubscribe channels (``channel_ids``, comma-separated) from everything."""
    if not channel_ids:
        raise ZohoError(
            400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", param="channel_ids"
        )
    state = zoho(request)
    answers = []
    for text in channel_ids.split(","):
        try:
            channel_id = int(text.strip())
        except ValueError:
            raise _unknown_channel("channel_ids") from None
        for record in _live(state, channel_id):
            state.collection(CHANNELS).delete(_key(channel_id, record["resource_name"]))
            answers.append(
                _success(
                    "Successfully unsubscribed from actions-watch of the given module",
                    {"resource_name": record["resource_name"], "channel_id": str(channel_id)},
                )
            )
    if not answers:
        raise _unknown_channel("channel_ids")
    return _answer(answers)


def _entries(body: Any) -> list[dict[str, Any]]:
    entries = body.get("watch") if isinstance(body, dict) else None
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise ZohoError(400, "MANDATORY_NOT_FOUND", "required field not found", api_name="watch")
    return entries


def _existing(state: VendorState, entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The live subscriptions of the entry's channel, which must have some."""
    found = _live(state, _channel_id(entry))
    if not found:
        raise _unknown_channel("channel_id")
    return found


def _unknown_channel(api_name: str) -> ZohoError:
    return ZohoError(400, "INVALID_DATA", "the channel_id given seems to be invalid", api_name=api_name)


def _channel_id(entry: dict[str, Any]) -> int:
    value = entry.get("channel_id")
    if value is None:
        raise ZohoError(400, "MANDATORY_NOT_FOUND", "required field not found", api_name="channel_id")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ZohoError(
            400, "INVALID_DATA", "invalid data", api_name="channel_id", expected_data_type="long"
        ) from None


def _events(entry: dict[str, Any]) -> dict[str, list[str]]:
    """The events given, by module: ``{"Deals": ["all"]}``."""
    events = entry.get("events")
    if not isinstance(events, list) or not events:
        raise ZohoError(400, "MANDATORY_NOT_FOUND", "required field not found", api_name="events")
    by_module: dict[str, list[str]] = {}
    for event in events:
        module, _, operation = str(event).partition(".")
        if module not in MODULES or operation not in (*OPERATIONS, "all"):
            raise ZohoError(400, "INVALID_DATA", "invalid data", api_name="events", value=str(event))
        by_module.setdefault(module, []).append(operation)
    return by_module


def _expiry(entry: dict[str, Any]) -> dt.datetime:
    """When the channel ends: as asked, or in an hour when not asked or asked beyond a week."""
    now = dt.datetime.now(dt.UTC)
    given = entry.get("channel_expiry")
    if given is None:
        return now + DEFAULT_LIFETIME
    try:
        asked = parse_time(str(given))
    except ValueError:
        raise ZohoError(
            400, "INVALID_DATA", "invalid data", api_name="channel_expiry", expected_data_type="datetime"
        ) from None
    if asked <= now:
        raise ZohoError(
            400, "INVALID_DATA", "the channel expiry time should be in the future", api_name="channel_expiry"
        )
    return asked if asked - now <= LONGEST_LIFETIME else now + DEFAULT_LIFETIME


def _subscribe(state: VendorState, entry: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
    """Store the channel's subscription to each module it names; ``current`` (a PATCH) fills in
    what the entry leaves out."""
    channel_id = _channel_id(entry)
    given = {**(current or {}), **{k: v for k, v in entry.items() if v is not None}}
    if not str(given.get("notify_url", "")).startswith(("http://", "https://")):
        raise ZohoError(400, "MANDATORY_NOT_FOUND", "required field not found", api_name="notify_url")
    token = given.get("token")
    if token is not None and (not isinstance(token, str) or len(token) > MAX_TOKEN):
        raise ZohoError(400, "INVALID_DATA", "token can be at most 50 characters", api_name="token")
    by_module = _events(entry)
    expiry = (
        _expiry(entry)
        if "channel_expiry" in entry or current is None
        else parse_time(current["channel_expiry"])
    )
    shown_events = []
    for module, operations in by_module.items():
        record = {
            "channel_id": channel_id,
            "resource_name": module,
            "resource_id": MODULES[module].id,
            "resource_uri": RESOURCE_URI + module,
            "events": [f"{module}.{operation}" for operation in operations],
            "channel_expiry": zoho_time(expiry),
            "notify_url": given["notify_url"],
            "token": token,
            "notify_on_related_action": bool(given.get("notify_on_related_action", True)),
            "return_affected_field_values": bool(given.get("return_affected_field_values", False)),
        }
        state.collection(CHANNELS).put(_key(channel_id, module), record)
        shown_events.append(
            {key: record[key] for key in ("channel_expiry", "resource_uri", "resource_id", "resource_name")}
            | {"channel_id": str(channel_id)}
        )
    return _success("Successfully subscribed for actions-watch of the given module", {"events": shown_events})


def _unsubscribe_events(
    state: VendorState, current: list[dict[str, Any]], stopped: dict[str, list[str]]
) -> dict[str, Any]:
    for record in current:
        module = record["resource_name"]
        if module not in stopped:
            continue
        left = [e for e in record["events"] if e.partition(".")[2] not in stopped[module]]
        key = _key(record["channel_id"], module)
        if left:
            state.collection(CHANNELS).put(key, {**record, "events": left})
        else:
            state.collection(CHANNELS).delete(key)
    return _success("Successfully unsubscribed from actions-watch of the given events", {})


def _key(channel_id: int, module: str) -> str:
    return f"{channel_id}:{module}"


def _all_live(state: VendorState) -> Iterator[dict[str, Any]]:
    """The channels not expired (an expired one is gone, as on Zoho)."""
    registered = next((c for c in state.collections() if c.name == CHANNELS), None)
    now = dt.datetime.now(dt.UTC)
    return (record for record in registered or () if parse_time(record["channel_expiry"]) > now)


def _live(state: VendorState, channel_id: int) -> list[dict[str, Any]]:
    return [record for record in _all_live(state) if record["channel_id"] == channel_id]


def _shown(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "channel_id": str(record["channel_id"])}


def _success(message: str, details: dict[str, Any]) -> dict[str, Any]:
    return {"code": "SUCCESS", "details": details, "message": message, "status": "success"}


def _answer(answers: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse({"watch": answers})


# --- notifications -----------------------------------------------------------------------------


def notify(state: VendorState, changes: list[Change]) -> None:
    """Tell the channels watching the records these writes changed: one notification per channel,
    module and operation, naming every record of the write."""
    channels = list(_all_live(state))
    if not channels:
        return
    written: dict[tuple[str, str], list[Change]] = {}
    for change in changes:
        if change.collection in MODULES:
            operation = "create" if change.before is None else "delete" if change.after is None else "edit"
            written.setdefault((change.collection, operation), []).append(change)
    faults = faults_of(state)
    for (module, operation), its_changes in written.items():
        for channel in channels:
            if channel["resource_name"] != module or not {f"{module}.all", f"{module}.{operation}"} & set(
                channel["events"]
            ):
                continue
            body = json.dumps(_notification(channel, module, operation, its_changes)).encode()
            DELIVERIES.send(channel["notify_url"], body, {"Content-Type": "application/json"}, faults)


def _notification(
    channel: dict[str, Any], module: str, operation: str, changes: list[Change]
) -> dict[str, Any]:
    ids = [change.record_id for change in changes]
    affected = (
        [
            {change.record_id: sorted(_changed_fields(change.before or {}, change.after or {}))}
            for change in changes
        ]
        if operation == "edit"
        else []
    )
    return {
        "server_time": int(time.time() * 1000),
        "query_params": {},
        "module": module,
        "resource_uri": RESOURCE_URI + module,
        "ids": ids,
        "affected_fields": affected,
        "operation": OPERATIONS[operation],
        "channel_id": str(channel["channel_id"]),
        "token": channel["token"],
    }


def _changed_fields(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {
        name
        for name in {*before, *after} - {"Modified_Time", "Modified_By"}
        if before.get(name) != after.get(name) and not name.startswith("_")
    }
