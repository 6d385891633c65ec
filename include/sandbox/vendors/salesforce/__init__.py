"""Salesforce REST at ``/salesforce`` and at login.salesforce.com, test.salesforce.com and ``*.my.salesforce.com``.

Clients log in (``login``), then send ``Authorization: Bearer <session id>`` to the
REST routes (``query``, ``rest``, ``composite``) and the Tooling API's outbound messages
(``outbound``), which are sent when records change. An unknown or expired session is 401
``INVALID_SESSION_ID``; the version list (``GET /services/data``) needs none. Salesforce has no
429: a spent allowance is 403 ``REQUEST_LIMIT_EXCEEDED``, so the ``rate_limit`` fault answers that
too. Every error, a path or method no route serves included, is Salesforce's
``[{"message","errorCode","fields"}]`` list, except at login, whose OAuth and SOAP errors have
their own shapes.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers

from sandbox.vendor import Vendor, VendorState
from sandbox.vendors.salesforce import composite, login, outbound, query, rest
from sandbox.vendors.salesforce.api import NAME, error_response, route_error
from sandbox.vendors.salesforce.seed import ACTIONS, seed_salesforce


def authenticate(headers: Headers, state: VendorState) -> bool:
    scheme, _, session = headers.get("authorization", "").partition(" ")
    return scheme.lower() in ("bearer", "oauth") and state.tokens.subject(NAME, session.strip()) is not None


def unauthorized() -> JSONResponse:
    return error_response(401, "INVALID_SESSION_ID", "Session expired or invalid")


def rate_limited(retry_after: int) -> JSONResponse:
    """Salesforce answers too many requests with 403 REQUEST_LIMIT_EXCEEDED, with no Retry-After."""
    return error_response(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")


def server_error(status: int) -> JSONResponse:
    if status == 503:
        return error_response(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable.")
    return error_response(
        status, "UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId."
    )


router = APIRouter()
router.include_router(login.router)
router.include_router(outbound.router)
router.include_router(query.router)
router.include_router(rest.router)
router.include_router(rest.public)
router.include_router(composite.router)

VENDOR = Vendor(
    name=NAME,
    prefix="/salesforce",
    hosts=(r"login\.salesforce\.com", r"test\.salesforce\.com", r"[a-z0-9][a-z0-9-]*\.my\.salesforce\.com"),
    router=router,
    seed=seed_salesforce,
    authenticate=authenticate,
    unauthorized=unauthorized,
    rate_limited=rate_limited,
    server_error=server_error,
    credentials={
        "username": login.USERNAME,
        "password": login.PASSWORD,
        "security_token": login.SECURITY_TOKEN,
        "consumer_key": login.CONSUMER_KEY,
        "consumer_secret": login.CONSUMER_SECRET,
    },
    public_paths=(r"/services/oauth2/token", r"/services/Soap/u/[^/]+", r"/services/data/?"),
    actions=ACTIONS,
    on_change=outbound.notify,
    route_error=route_error,
)
