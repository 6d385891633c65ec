"""``composite``: up to 25 subrequests in one call, later ones using earlier results by reference.

Each subrequest runs through the sandbox's own Salesforce routes, so it answers exactly as it
would alone, but spends nothing of the daily allowance: the composite request counts once. A
subrequest's url and body may name an earlier result as ``@{referenceId.path}``
(``@{newAccount.id}``, ``@{contacts.records[0].Id}``); a reference to a result that failed or
has no such value fails that subrequest with ``PROCESSING_HALTED``. With ``allOrNone`` the first
failure undoes every write made so far and runs nothing more: every other subrequest reports 400
``PROCESSING_HALTED``. The answer is always 200 ``{"compositeResponse": [...]}``, one result per
subrequest in order.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.exceptions import HTTPException
from starlette.types import Message

from sandbox.changes import Change, recording
from sandbox.vendors.salesforce.api import (
    SUBREQUEST,
    SalesforceError,
    SalesforceRoute,
    api_version,
    json_object,
    route_error,
    salesforce,
)

MAX_SUBREQUESTS = 25
ROLLED_BACK = SalesforceError(
    400,
    "PROCESSING_HALTED",
    "The transaction was rolled back since another operation in the same transaction failed.",
)
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_STEP = re.compile(r"\.([A-Za-z0-9_]+)|\[(\d+)\]")
_REFERENCE_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

router = APIRouter(route_class=SalesforceRoute)


@dataclass
class Result:
    reference_id: str
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def failed(self) -> bool:
        return self.status >= 400

    def rendered(self) -> dict[str, Any]:
        return {
            "body": self.body,
            "httpHeaders": self.headers,
            "httpStatusCode": self.status,
            "referenceId": self.reference_id,
        }


@router.post("/services/data/{version}/composite")
async def composite(request: Request, version: str) -> dict[str, Any]:
    api_version(version)
    body = await json_object(request)
    subrequests = _subrequests(body)
    results: list[Result] = []
    changes: list[Change] = []
    with recording(changes):
        for subrequest in subrequests:
            result = await _run(request, subrequest, {r.reference_id: r for r in results})
            results.append(result)
            if result.failed and body.get("allOrNone"):
                break
    if body.get("allOrNone") and any(r.failed for r in results):
        _undo(request, changes)
        failed = results[-1]
        results = [
            failed if s["referenceId"] == failed.reference_id else _error(s["referenceId"], ROLLED_BACK)
            for s in subrequests
        ]
    return {"compositeResponse": [r.rendered() for r in results]}


def _subrequests(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The subrequests, checked before any runs: a malformed one refuses the whole request."""
    subrequests = body.get("compositeRequest")
    if not isinstance(subrequests, list) or not subrequests:
        raise SalesforceError(400, "JSON_PARSER_ERROR", "Required field 'compositeRequest' is missing")
    if len(subrequests) > MAX_SUBREQUESTS:
        raise SalesforceError(
            400, "LIMIT_EXCEEDED", f"Composite requests cannot have more than {MAX_SUBREQUESTS} subrequests"
        )
    seen: set[str] = set()
    for subrequest in subrequests:
        if not isinstance(subrequest, dict):
            raise SalesforceError(400, "JSON_PARSER_ERROR", "Each subrequest must be a JSON object")
        for name in ("method", "url", "referenceId"):
            if not isinstance(subrequest.get(name), str) or not subrequest[name]:
                raise SalesforceError(400, "JSON_PARSER_ERROR", f"Required field '{name}' is missing")
        reference_id = subrequest["referenceId"]
        if not _REFERENCE_ID.fullmatch(reference_id):
            raise SalesforceError(
                400,
                "INVALID_INPUT",
                f"Invalid referenceId: {reference_id}. Use letters, numbers and underscores.",
            )
        if reference_id in seen:
            raise SalesforceError(
                400, "INVALID_INPUT", f"Duplicate referenceId provided in the request: {reference_id}"
            )
        seen.add(reference_id)
    return subrequests


async def _run(request: Request, subrequest: dict[str, Any], done: dict[str, Result]) -> Result:
    reference_id = subrequest["referenceId"]
    try:
        url = _resolve(subrequest["url"], done)
        body = _resolve(subrequest.get("body"), done)
    except SalesforceError as error:
        return _error(reference_id, error)
    if not url.startswith("/services/data/v") or url.partition("?")[0].rstrip("/").endswith("/composite"):
        return _error(
            reference_id, SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
        )
    headers = {str(k).lower(): str(v) for k, v in (subrequest.get("httpHeaders") or {}).items()}
    status, location, answer = await _dispatch(request, subrequest["method"].upper(), url, body, headers)
    return Result(reference_id, status, {"Location": location} if location else {}, answer)


async def _dispatch(
    request: Request, method: str, url: str, body: Any, headers: dict[str, str]
) -> tuple[int, str | None, Any]:
    """Serve one subrequest through the Salesforce routes, as the client's own request would be."""
    path, _, query = url.partition("?")
    prefix = request.scope["path"][: request.scope["path"].index("/services/data/")]
    headers = {
        **headers,
        "authorization": request.headers.get("authorization", ""),
        "content-type": "application/json",
    }
    scope = {k: v for k, v in request.scope.items() if k not in ("route", "endpoint", "path_params")}
    scope.update(
        method=method,
        path=prefix + path,
        raw_path=(prefix + path).encode(),
        query_string=query.encode(),
        headers=[(k.encode(), v.encode()) for k, v in headers.items()],
    )
    scope[SUBREQUEST] = True
    payload = b"" if body is None else json.dumps(body).encode()
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": payload, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    try:
        await request.app.router(scope, receive, send)
    except HTTPException as error:  # no route: the framework's 404, in Salesforce's body
        refused = route_error(error.status_code, str(error.detail))
        return refused.status_code, None, json.loads(refused.body)
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    location = next((v.decode() for k, v in start["headers"] if k.lower() == b"location"), None)
    return start["status"], location, json.loads(content) if content else None


def _resolve(value: Any, done: dict[str, Result]) -> Any:
    """``value`` with every ``@{reference}`` replaced by what it names; a whole-string one keeps its type."""
    if isinstance(value, dict):
        return {k: _resolve(v, done) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, done) for v in value]
    if not isinstance(value, str):
        return value
    whole = _REFERENCE.fullmatch(value)
    if whole:
        return _lookup(whole, done)
    return _REFERENCE.sub(lambda m: str(_lookup(m, done)), value)


def _lookup(reference: re.Match[str], done: dict[str, Result]) -> Any:
    name, path = reference[1], reference[2]
    result = done.get(name)
    value: Any = None if result is None or result.failed else result.body
    for key, index in _STEP.findall(path):
        if key and isinstance(value, dict):
            value = value.get(key)
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            value = None
    if value is None:
        raise SalesforceError(
            400,
            "PROCESSING_HALTED",
            f"Invalid reference specified. No value for {name}{path} found in {name}. "
            f"Provided referenceId ('{name}') is invalid.",
        )
    return value


def _error(reference_id: str, error: SalesforceError) -> Result:
    return Result(reference_id, error.status, {}, [error.entry()])


def _undo(request: Request, changes: list[Change]) -> None:
    """Put back every record the subrequests wrote, newest write first."""
    state = salesforce(request)
    for change in reversed(changes):
        collection = state.collection(change.collection, change.vendor)
        if change.before is None:
            collection.delete(change.record_id)
        else:
            collection.put(change.record_id, change.before)
