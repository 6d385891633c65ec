"""Jira Cloud platform REST v3 and v2 at ``/jira`` and ``<site>.atlassian.net``, with Basic email:API-token auth."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers

from sandbox.vendor import Vendor, VendorState
from sandbox.vendors.jira import (
    actions,
    bulk,
    comments,
    fields,
    issues,
    projects,
    remote_links,
    users,
    webhooks,
)
from sandbox.vendors.jira.api import ADMIN_EMAIL, API_TOKEN, NAME, basic_credentials, error
from sandbox.vendors.jira.seed import seed_jira
from sandbox.vendors.jira.versions import V2, V3

RATE_LIMIT = 100


def authenticate(headers: Headers, state: VendorState) -> bool:
    credentials = basic_credentials(headers.get("authorization", ""))
    return credentials == (ADMIN_EMAIL, API_TOKEN)


def unauthorized() -> JSONResponse:
    return error(401, "Client must be authenticated to access this resource.")


def rate_limited(retry_after: int) -> JSONResponse:
    """Jira's 429: the body is undocumented, the headers carry the contract (api-contracts §1.6)."""
    reset = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=retry_after)
    return JSONResponse(
        {"errorMessages": ["Rate limit exceeded."], "errors": {}},
        status_code=429,
        headers={
            "Retry-After": str(retry_after),
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ"),
            "X-RateLimit-NearLimit": "true",
            "RateLimit-Reason": "jira-burst-based",
        },
    )


def server_error(status: int) -> JSONResponse:
    message: dict[int, str] = {503: "Service Unavailable", 502: "Bad Gateway", 504: "Gateway Timeout"}
    return error(status, message.get(status, "Internal server error"))


def route_error(status: int, message: str) -> JSONResponse:
    """Unknown paths, wrong methods and unreadable requests in Jira's ``ErrorCollection``, as Jira
    answers every error of its REST API."""
    return error(status, message)


router = APIRouter()
for version in (V3, V2):  # one implementation, two renderings (versions.py)
    for part in (users, issues, comments, projects, fields, remote_links, bulk):
        router.include_router(part.router, prefix=version)
router.include_router(issues.removed_router)
router.include_router(webhooks.router)

VENDOR = Vendor(
    name=NAME,
    prefix="/jira",
    hosts=(r"[a-z0-9][a-z0-9-]*\.atlassian\.net",),
    router=router,
    seed=seed_jira,
    authenticate=authenticate,
    unauthorized=unauthorized,
    rate_limited=rate_limited,
    server_error=server_error,
    credentials={"email": ADMIN_EMAIL, "api_token": API_TOKEN},
    actions=actions.ACTIONS,
    route_error=route_error,
    on_change=webhooks.on_change,
)
