"""What every Zoho CRM route shares: error bodies, times, ids, the acting user and the concurrency limit.

Settings an admin can change (``configure`` action) live in the ``settings`` collection,
so a test can shorten token lifetimes or lower the concurrency limit without a restart.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import threading
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.convertors import Convertor, register_url_convertor

from sandbox.vendor import VendorState, telling_writes, vendor_state

NAME = "zoho"
ACCOUNTS_NAME = "zoho-accounts"
CLIENT_ID = "1000.SANDBOXZOHOCLIENT0000000000000"
CLIENT_SECRET = "sandbox-zoho-client-secret-0123456789abcdef"
REFRESH_TOKEN = "1000.sandbox-zoho-refresh-token.0123456789abcdef"
SCOPE = "ZohoCRM.modules.ALL ZohoCRM.settings.ALL ZohoCRM.coql.READ"
FIRST_ID = 4150868000000000000
ADMIN_USER = {
    "name": "Patricia Boyle",
    "id": "4150868000000225013",
    "email": "patricia.boyle@northwind.example",
}

# Zoho's defaults; the ``configure`` action overrides them per sandbox.
DEFAULT_SETTINGS: dict[str, Any] = {
    "token_lifetime_s": 3600,  # access tokens live an hour
    "concurrency_limit": 20,  # Enterprise edition
    "request_seconds": 0.0,  # time each API request takes inside its concurrency slot
    "page_token_epoch": 0,  # bumped by the expire_page_tokens action
}


def zoho(request: Request) -> VendorState:
    return vendor_state(request, NAME)


def zoho_error(status: int, code: str, message: str, **details: Any) -> JSONResponse:
    """Zoho's error body: ``{"code", "details", "message", "status": "error"}``."""
    return JSONResponse(
        {"code": code, "details": details, "message": message, "status": "error"}, status_code=status
    )


def record_error(code: str, message: str, **details: Any) -> dict[str, Any]:
    """One failed element of a batch answer (insert, update, upsert, delete)."""
    return {"code": code, "details": details, "message": message, "status": "error"}


def zoho_time(moment: dt.datetime) -> str:
    """Zoho's timestamp form, second precision with the offset: ``2025-01-05T10:00:00+00:00``."""
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat()


def now() -> str:
    return zoho_time(dt.datetime.now(dt.UTC))


def parse_time(text: str) -> dt.datetime:
    """An ISO 8601 time as Zoho accepts it (``If-Modified-Since``, criteria); naive means UTC."""
    parsed = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def settings(state: VendorState) -> dict[str, Any]:
    return {**DEFAULT_SETTINGS, **(state.collection("settings").get("sandbox") or {})}


def configure(state: VendorState, changes: dict[str, Any]) -> dict[str, Any]:
    unknown = set(changes) - set(DEFAULT_SETTINGS)
    if unknown:
        raise ValueError(f"unknown Zoho settings {sorted(unknown)}; known: {sorted(DEFAULT_SETTINGS)}")
    current = {**(state.collection("settings").get("sandbox") or {}), **changes}
    state.collection("settings").put("sandbox", current)
    return settings(state)


def new_ids(state: VendorState, count: int) -> list[str]:
    """Fresh 19-digit record ids, increasing, from a counter kept in the store (survives restarts)."""
    start = state.reserve("ids", count, FIRST_ID + 1000)
    return [str(start + i) for i in range(count)]


def owner() -> dict[str, str]:
    return dict(ADMIN_USER)


class ZohoError(Exception):
    """Raised anywhere in a route to answer with Zoho's error body (``ZohoRoute`` renders it)."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details

    def response(self) -> JSONResponse:
        return zoho_error(self.status, self.code, self.message, **self.details)


def invalid_param(name: str, message: str, **details: Any) -> ZohoError:
    return ZohoError(400, "INVALID_DATA", message, param_name=name, **details)


async def json_body(request: Request) -> Any:
    """The request body read as JSON whatever its ``Content-Type``, as Zoho reads it: clients send
    JSON with none (``requests`` given a string), ``text/plain`` or a form type (``curl -d``).
    No body is ``None``, for the route to answer as it does a body without the field it needs; one
    that is not JSON gets Zoho's terse ``INVALID_DATA`` with the message ``body``."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ZohoError(400, "INVALID_DATA", "body") from None


JsonBody = Annotated[Any, Depends(json_body)]

# Top-level paths that are not modules: ``/crm/v8/{module}`` must never take them, so a wrong
# method or sub-path on them answers as Zoho does (``INVALID_REQUEST_METHOD``,
# ``INVALID_URL_PATTERN``) rather than ``INVALID_MODULE``.
RESERVED_PATHS = ("settings", "users", "coql", "Notes", "actions")


class ModuleConvertor(Convertor[str]):
    """``{module:zoho_module}``: one path segment naming a module, never a reserved path."""

    regex = rf"(?!(?:{'|'.join(RESERVED_PATHS)})(?:/|$))[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("zoho_module", ModuleConvertor())


def route_error(status: int, message: str) -> JSONResponse:
    """``Vendor.route_error``: what Zoho answers for a path it does not serve, a method the path does
    not take (HTTP 400, as Zoho's error guide, Kaizen #25, lists it) and a request it cannot read."""
    if status == 404:
        return zoho_error(
            404, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one"
        )
    if status == 405:
        return zoho_error(400, "INVALID_REQUEST_METHOD", "The http request method type is not a valid one")
    return zoho_error(status, "INVALID_REQUEST", message)


class ConcurrencyLimit:
    """Counts API requests in flight per app; above the limit Zoho answers 429 ``TOO_MANY_REQUESTS``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: dict[int, int] = {}

    def enter(self, key: int, limit: int) -> bool:
        with self._lock:
            if self._in_flight.get(key, 0) >= limit:
                return False
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
            return True

    def leave(self, key: int) -> None:
        with self._lock:
            self._in_flight[key] -= 1


CONCURRENCY = ConcurrencyLimit()


def too_many_requests(limit: int, retry_after: int | None = None) -> JSONResponse:
    """Zoho documents no ``Retry-After``; the sandbox adds one only when a fault sets it."""
    response = zoho_error(
        429,
        "TOO_MANY_REQUESTS",
        "The concurrency limit of the API has been exceeded; retry later.",
        limit=limit,
    )
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


class ZohoRoute(APIRoute):
    """Every CRM route holds a concurrency slot while it runs and turns ``ZohoError`` into Zoho's body;
    its writes are told to Zoho's ``on_change`` (stage history, notifications) as admin writes are.

    It also answers its path with a trailing slash (clients that join URLs add one) in place,
    instead of the framework's redirect, whose location would carry the sandbox prefix to a
    client of ``www.zohoapis.com`` and which a client that follows no redirect takes for an answer.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.path_regex = re.compile(self.path_regex.pattern.removesuffix("$") + "/?$")

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = telling_writes(super().get_route_handler(), self.methods)

        async def handle_in_slot(request: Request) -> Response:
            options = settings(zoho(request))
            key = id(request.app)
            if not CONCURRENCY.enter(key, options["concurrency_limit"]):
                return too_many_requests(options["concurrency_limit"])
            try:
                if options["request_seconds"]:
                    await asyncio.sleep(options["request_seconds"])
                return await handle(request)
            except ZohoError as error:
                return error.response()
            finally:
                CONCURRENCY.leave(key)

        return handle_in_slot
