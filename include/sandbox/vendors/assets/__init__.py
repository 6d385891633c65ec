"""Jira Service Management Assets REST v1 at ``/atlassian`` and ``api.atlassian.com``.

Basic auth with the Jira site's email and API token, as Atlassian documents for
api.atlassian.com. The 429 carries **no** ``Retry-After``: the contract (§2) says Assets
429s may lack it, so clients must back off on their own. Error bodies are undocumented;
see ``sandbox.vendors.assets.api`` for the form used.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers

from sandbox.vendor import Vendor, VendorState
from sandbox.vendors.assets.api import NAME, PREFIX, error
from sandbox.vendors.assets.routes import router
from sandbox.vendors.assets.seed import seed_assets
from sandbox.vendors.jira.api import ADMIN_EMAIL, API_TOKEN, basic_credentials


def authenticate(headers: Headers, state: VendorState) -> bool:
    return basic_credentials(headers.get("authorization", "")) == (ADMIN_EMAIL, API_TOKEN)


def unauthorized() -> JSONResponse:
    return error(401, "Client must be authenticated to access this resource.")


def rate_limited(retry_after: int) -> JSONResponse:
    """Assets' 429 without ``Retry-After`` whatever the fault asks (api-contracts §2, JSDCLOUD-11605)."""
    return error(
        429, "Rate limit exceeded: every API key may perform a limited number of requests per minute"
    )


def server_error(status: int) -> JSONResponse:
    return error(
        status, {502: "Bad Gateway", 503: "Service Unavailable"}.get(status, "Internal server error")
    )


def route_error(status: int, message: str) -> JSONResponse:
    """Unknown paths and wrong methods in the form of every other Assets error."""
    return error(status, message)


VENDOR = Vendor(
    name=NAME,
    prefix=PREFIX,
    hosts=(r"api\.atlassian\.com",),
    router=router,
    seed=seed_assets,
    authenticate=authenticate,
    unauthorized=unauthorized,
    rate_limited=rate_limited,
    server_error=server_error,
    credentials={"email": ADMIN_EMAIL, "api_token": API_TOKEN},
    route_error=route_error,
)
