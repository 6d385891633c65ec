"""What every Salesforce route shares: error bodies, record ids and times, the daily API allowance.

Every REST route is a ``SalesforceRoute``: it matches paths as Salesforce does (``SalesforcePath``),
spends one request of the org's daily allowance (403 ``REQUEST_LIMIT_EXCEEDED`` once it is spent,
never 429), turns a raised ``SalesforceError`` into Salesforce's ``[{"message","errorCode","fields"}]``
body, and puts ``Sforce-Limit-Info`` on the response.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Callable, Coroutine, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from sandbox.vendor import VendorState, public_base_url, telling_writes, vendor_state
from sandbox.vendors.salesforce.schema import SObject

NAME = "salesforce"
ORG_ID = "00DRO0000000001AAA"
INTEGRATION_USER_ID = "005RO0000000001AAA"
LIMITS = "_limits"
DEFAULT_DAILY_REQUESTS = 15_000
MIN_API_VERSION = "20.0"
MAX_API_VERSION = "65.0"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"

_ID_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_allowance_lock = threading.Lock()


class SalesforceError(Exception):
    """A request Salesforce refuses; raise it in a route and the route class renders it."""

    def __init__(self, status: int, error_code: str, message: str, fields: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = list(fields)

    def entry(self) -> dict[str, Any]:
        """The top-level error entry (``errorCode``); collections use ``statusCode`` instead."""
        return {"message": self.message, "errorCode": self.error_code, "fields": self.fields}

    def record_error(self) -> dict[str, Any]:
        return {"statusCode": self.error_code, "message": self.message, "fields": self.fields}


def error_response(status: int, error_code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        [{"message": message, "errorCode": error_code, "fields": []}],
        status_code=status,
        headers=headers or None,
    )


def route_error(status: int, message: str) -> JSONResponse:
    """What no route answers, in Salesforce's body: an unknown resource is 404 ``NOT_FOUND``."""
    if status == 404:
        return error_response(404, "NOT_FOUND", "The requested resource does not exist")
    if status == 405:
        return error_response(405, "METHOD_NOT_ALLOWED", message)
    if status == 400:
        return error_response(400, "JSON_PARSER_ERROR", message)
    return error_response(status, "UNKNOWN_EXCEPTION", message)


async def json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError as error:
        raise SalesforceError(
            400, "JSON_PARSER_ERROR", f"Unexpected character in the body: {error}"
        ) from None
    if not isinstance(body, dict):
        raise SalesforceError(400, "JSON_PARSER_ERROR", "The body must be a JSON object")
    return body


def salesforce(request: Request) -> VendorState:
    return vendor_state(request, NAME)


def api_version(version: str) -> str:
    """``v59.0`` -> ``59.0``; an unknown version, or one written ``v59``, is Salesforce's 404 NOT_FOUND."""
    served = re.fullmatch(r"v(\d+)\.0", version)
    if served is None or not float(MIN_API_VERSION) <= float(served[1]) <= float(MAX_API_VERSION):
        raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
    return version[1:]


def instance_url(request: Request) -> str:
    """The org's instance URL as this client reaches the sandbox.

    At the login hosts the instance is the org's My Domain (same scheme and port); at a
    My Domain host or under the ``/salesforce`` prefix it is where the request arrived.
    """
    base = urlsplit(public_base_url(request))
    host, _, port = base.netloc.partition(":")
    if host.lower() in ("login.salesforce.com", "test.salesforce.com"):
        site = salesforce(request).config.site
        host = f"{site}.my.salesforce.com"
    return urlunsplit((base.scheme, host + (f":{port}" if port else ""), base.path, "", ""))


def salesforce_time(moment: dt.datetime) -> str:
    """Salesforce's date-time form: ``2025-01-02T03:04:05.000+0000``."""
    return moment.astimezone(dt.UTC).strftime(TIME_FORMAT)[:-3] + "+0000"


def now() -> str:
    return salesforce_time(dt.datetime.now(dt.UTC))


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def record_id(sobject: SObject, number: int) -> str:
    """An 18-character id: key prefix, pod, base-62 number, and Salesforce's case-safe suffix."""
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = _BASE62[rest] + digits
    return case_safe_id(f"{sobject.key_prefix}RO{digits.rjust(10, '0')}")


def case_safe_id(short: str) -> str:
    """The 18-character form of a 15-character id: a suffix encoding which letters are upper case."""
    suffix = ""
    for chunk in (short[0:5], short[5:10], short[10:15]):
        suffix += _ID_CHECKSUM[sum(1 << i for i, char in enumerate(chunk) if "A" <= char <= "Z")]
    return short + suffix


def id_number(record_id: str) -> int:
    """The sequence number inside an id this sandbox made (``record_id`` reversed)."""
    number = 0
    for char in record_id[5:15]:
        number = number * 62 + _BASE62.index(char)
    return number


def next_ids(state: VendorState, sobject: SObject, count: int) -> list[str]:
    """Reserve ``count`` new ids; the counter is stored, so a restart goes on where it stopped."""
    first = state.reserve(sobject.name, count, 1)
    return [record_id(sobject, n) for n in range(first, first + count)]


class DailyAllowance:
    """The org's daily API request allowance (``DailyApiRequests``): set it with the admin action
    ``set_daily_limit``; every REST call spends one request."""

    def __init__(self, state: VendorState) -> None:
        self.limits = state.collection(LIMITS)

    def get(self) -> tuple[int, int]:
        record = self.limits.get("DailyApiRequests") or {"Max": DEFAULT_DAILY_REQUESTS, "Used": 0}
        return record["Used"], record["Max"]

    def set(self, maximum: int, used: int = 0) -> None:
        if maximum < 0 or used < 0:
            raise ValueError(f"daily limit and used must not be negative, got max={maximum} used={used}")
        self.limits.put("DailyApiRequests", {"Max": maximum, "Used": used})

    def spend_one(self) -> bool:
        """Count a request; False (and nothing counted) when the allowance is spent."""
        with _allowance_lock:
            used, maximum = self.get()
            if used >= maximum:
                return False
            self.limits.put("DailyApiRequests", {"Max": maximum, "Used": used + 1})
            return True

    def header(self) -> str:
        used, maximum = self.get()
        return f"api-usage={used}/{maximum}"


class SalesforcePath(APIRoute):
    """A route that matches paths the way Salesforce does.

    A trailing slash names the same resource (simple-salesforce asks for ``query/`` and
    ``sobjects/Contact/``); a doubled slash anywhere names none, so it is 404 ``NOT_FOUND``
    (clients that join ``base_url + "/limits"`` get that from Salesforce too), even where the
    framework would redirect to the path with the slashes stripped. A method the path does not
    take is 405 ``METHOD_NOT_ALLOWED`` naming every method the path does take, in Salesforce's words.
    Whatever answers GET answers HEAD, as on Salesforce (the server leaves out the body).
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        super().__init__(path, endpoint, **options)
        if "GET" in self.methods:
            self.methods.add("HEAD")

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if b"//" in scope.get("raw_path", scope["path"].encode()):
            return Match.NONE, {}
        match, child = super().matches(scope)
        if match is Match.NONE and scope["path"].endswith("/"):
            match, child = super().matches({**scope, "path": scope["path"][:-1]})
        return match, child

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] in self.methods:
            await super().handle(scope, receive, send)
            return
        allowed = {
            method
            for route in scope["app"].router.routes
            if isinstance(route, SalesforcePath) and route.matches(scope)[0] is not Match.NONE
            for method in route.methods
        }
        message = f"HTTP Method '{scope['method']}' not allowed. Allowed are " + ",".join(
            m for m in _METHOD_ORDER if m in allowed
        )
        await error_response(405, "METHOD_NOT_ALLOWED", message)(scope, receive, send)


_METHOD_ORDER = ("HEAD", "GET", "POST", "PUT", "PATCH", "DELETE")
SUBREQUEST = "salesforce.subrequest"


class SalesforceRoute(SalesforcePath):
    """A REST route: spends the daily allowance, renders ``SalesforceError``, adds ``Sforce-Limit-Info``;
    its writes are told to Salesforce's ``on_change`` (outbound messages) as admin writes are.

    A composite subrequest (its scope marked ``SUBREQUEST``) spends nothing: Salesforce counts
    the composite request once (and its writes are told with the composite request's).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = telling_writes(super().get_route_handler(), self.methods)

        async def handle(request: Request) -> Response:
            allowance = DailyAllowance(salesforce(request))
            if not request.scope.get(SUBREQUEST) and not allowance.spend_one():
                response: Response = error_response(
                    403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."
                )
            else:
                try:
                    response = await handler(request)
                except SalesforceError as error:
                    response = JSONResponse([error.entry()], status_code=error.status)
            response.headers["Sforce-Limit-Info"] = allowance.header()
            return response

        return handle
