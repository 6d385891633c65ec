"""Zoho CRM v8 at ``/zoho`` and ``www.zohoapis.<dc>``, with its accounts server at ``/zoho-accounts``.

Requests carry ``Authorization: Zoho-oauthtoken <token>`` from the accounts server's
``refresh_token`` grant. The routes live in ``routes`` (records, COQL, metadata),
``notes`` (notes, attachments), ``deal_lists`` (a deal's stage history and contact
roles), ``notifications`` (channels told of record changes) and ``users``; the token endpoint in ``accounts``.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers

from sandbox.changes import Change
from sandbox.vendor import Vendor, VendorState
from sandbox.vendors.zoho import accounts, deal_lists, notes, notifications, routes, users
from sandbox.vendors.zoho.api import (
    ACCOUNTS_NAME,
    CLIENT_ID,
    CLIENT_SECRET,
    DEFAULT_SETTINGS,
    NAME,
    REFRESH_TOKEN,
    route_error,
    too_many_requests,
    zoho_error,
)
from sandbox.vendors.zoho.seed import ACTIONS, seed_zoho

TOKEN_PREFIX = "zoho-oauthtoken "
CREDENTIALS = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN}


def authenticate(headers: Headers, state: VendorState) -> bool:
    header = headers.get("authorization", "")
    if not header.lower().startswith(TOKEN_PREFIX):
        return False
    return state.tokens.subject(NAME, header[len(TOKEN_PREFIX) :].strip()) is not None


def unauthorized() -> JSONResponse:
    return zoho_error(401, "INVALID_TOKEN", "invalid oauth token")


def rate_limited(retry_after: int) -> JSONResponse:
    """Zoho's 429 for a busy API; the limit named is the default concurrency limit."""
    return too_many_requests(DEFAULT_SETTINGS["concurrency_limit"], retry_after)


def server_error(status: int) -> JSONResponse:
    return zoho_error(
        status, "INTERNAL_ERROR", "Internal Server Error occurred while processing this request"
    )


def accounts_unauthorized() -> JSONResponse:
    return JSONResponse({"error": "invalid_client"}, status_code=401)


def accounts_rate_limited(retry_after: int) -> JSONResponse:
    """The accounts server's answer to too many token requests (Zoho allows a few per minute)."""
    return JSONResponse(
        {
            "error_description": "You have made too many requests continuously. Please try again after some time.",
            "error": "Access Denied",
            "status": "failure",
        },
        status_code=429,
        headers={"Retry-After": str(retry_after)},
    )


def accounts_server_error(status: int) -> JSONResponse:
    return JSONResponse({"error": "server_error"}, status_code=status)


def accounts_route_error(status: int, message: str) -> JSONResponse:
    """A path, method or request the accounts server does not take, in its OAuth error shape."""
    return JSONResponse({"error": "invalid_request", "error_description": message}, status_code=status)


def _no_seed(world: object, state: VendorState) -> None:
    """The accounts server has no records: it issues tokens for the CRM vendor."""


def on_change(state: VendorState, changes: list[Change]) -> None:
    """Every write, through the API or the admin API: deals' stage history, then the channels' notifications."""
    deal_lists.record_changes(state, changes)
    notifications.notify(state, changes)


api_router = APIRouter()
api_router.include_router(notifications.router)
api_router.include_router(users.router)
api_router.include_router(notes.router)
api_router.include_router(deal_lists.router)
api_router.include_router(routes.router)

ZOHO = Vendor(
    name=NAME,
    prefix="/zoho",
    hosts=(r"www\.zohoapis\.(com|eu|in|com\.au|jp|com\.cn|sa|ca|uk)",),
    router=api_router,
    seed=seed_zoho,
    authenticate=authenticate,
    unauthorized=unauthorized,
    rate_limited=rate_limited,
    server_error=server_error,
    credentials=CREDENTIALS,
    actions=ACTIONS,
    on_change=on_change,
    route_error=route_error,
)
ZOHO_ACCOUNTS = Vendor(
    name=ACCOUNTS_NAME,
    prefix="/zoho-accounts",
    hosts=(r"accounts\.zoho\.(com|eu|in|com\.au|jp|com\.cn|sa|uk)", r"accounts\.zohocloud\.ca"),
    router=accounts.router,
    seed=_no_seed,
    authenticate=lambda headers, state: False,
    unauthorized=accounts_unauthorized,
    rate_limited=accounts_rate_limited,
    server_error=accounts_server_error,
    credentials=CREDENTIALS,
    # Its clients prove who they are in the request body, never in a header: no path is closed, so
    # a wrong path answers as one (404), not as a bad client (401).
    public_paths=(r"/.*",),
    route_error=accounts_route_error,
)
VENDORS = (ZOHO, ZOHO_ACCOUNTS)
