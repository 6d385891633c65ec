"""A SCIM 2.0 server (RFC 7643/7644) at ``/scim/v2``: an identity provider's users and groups, which
a provisioning client also writes, with a static bearer token."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers

from sandbox.vendor import Vendor, VendorState
from sandbox.vendors.scim import discovery, resources
from sandbox.vendors.scim.api import BEARER_TOKEN, NAME, error, route_error
from sandbox.vendors.scim.changes import stamp_changes
from sandbox.vendors.scim.seed import seed_scim


def authenticate(headers: Headers, state: VendorState) -> bool:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and token.strip() == BEARER_TOKEN


def unauthorized() -> JSONResponse:
    return error(
        401,
        "Authorization failure: the bearer token is missing or invalid.",
        **{"WWW-Authenticate": 'Bearer realm="SCIM"'},
    )


def rate_limited(retry_after: int) -> JSONResponse:
    """RFC 7644 has no 429; providers that throttle answer it with ``Retry-After`` and a SCIM Error body."""
    return error(429, "Too many requests; retry later.", **{"Retry-After": str(retry_after)})


def server_error(status: int) -> JSONResponse:
    return error(status, "The service is temporarily unavailable.")


router = APIRouter()
router.include_router(discovery.router)
router.include_router(resources.router)

VENDOR = Vendor(
    name=NAME,
    prefix="/scim",
    hosts=(),
    router=router,
    seed=seed_scim,
    authenticate=authenticate,
    unauthorized=unauthorized,
    rate_limited=rate_limited,
    server_error=server_error,
    credentials={"bearer_token": BEARER_TOKEN},
    on_change=stamp_changes,
    route_error=route_error,
)
