"""The Microsoft identity platform token endpoint (client credentials) at ``/entra`` and login.microsoftonline.com.

Tokens are issued under the Graph vendor's name, so Graph checks them and the sandbox's
``expire_tokens`` fault on Graph revokes them. Errors carry AAD's body: ``error``,
``error_description`` (with the AADSTS code), ``error_codes``, ``timestamp``, ``trace_id``
and ``correlation_id``.
"""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.vendor import Vendor, VendorState, vendor_state
from sandbox.vendors.graph import api
from sandbox.vendors.graph.api import (
    CLIENT_ID,
    CLIENT_SECRET,
    GRAPH_SCOPE,
    TENANT_DOMAIN,
    TENANT_ID,
    TOKEN_LIFETIME_S,
)

NAME = "entra"

router = APIRouter()


def aad_error(status: int, error: str, code: int, description: str) -> JSONResponse:
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    timestamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return JSONResponse(
        {
            "error": error,
            "error_description": f"AADSTS{code}: {description} Trace ID: {trace_id} "
            f"Correlation ID: {correlation_id} Timestamp: {timestamp}",
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
        },
        status_code=status,
    )


@router.post("/{tenant}/oauth2/v2.0/token")
async def token(request: Request, tenant: str) -> JSONResponse:
    form = await request.form()
    if tenant.lower() not in (TENANT_ID, TENANT_DOMAIN):
        return aad_error(
            400,
            "invalid_request",
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing "
            "into the correct cloud.",
        )
    if form.get("grant_type") != "client_credentials":
        return aad_error(
            400,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type; this sandbox supports 'client_credentials'.",
        )
    if form.get("client_id") != CLIENT_ID:
        return aad_error(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{form.get('client_id')}' was not found in the directory "
            f"'{TENANT_DOMAIN}'.",
        )
    if form.get("client_secret") != CLIENT_SECRET:
        return aad_error(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
            f"value, not the client secret ID, for a secret added to app '{CLIENT_ID}'.",
        )
    if str(form.get("scope", "")).lower() != GRAPH_SCOPE:
        return aad_error(
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {form.get('scope')} is not valid. Client credential flows must have "
            "a scope value with /.default suffixed to the resource identifier (application ID URI).",
        )
    access_token = vendor_state(request, NAME).tokens.issue(api.NAME, CLIENT_ID, TOKEN_LIFETIME_S)
    return JSONResponse(
        {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_S,
            "ext_expires_in": TOKEN_LIFETIME_S,
            "access_token": access_token,
        }
    )


def unauthorized() -> JSONResponse:
    return aad_error(401, "invalid_client", 7000215, "Invalid client secret provided.")


def rate_limited(retry_after: int) -> JSONResponse:
    response = aad_error(
        429,
        "temporarily_unavailable",
        50196,
        "The server terminated an operation because it encountered a client request loop.",
    )
    response.headers["Retry-After"] = str(retry_after)
    return response


def server_error(status: int) -> JSONResponse:
    return aad_error(status, "temporarily_unavailable", 50001, "The service is temporarily unavailable.")


def _no_seed(world: object, state: VendorState) -> None:
    """The identity platform has no records of its own: the app registration is fixed."""


VENDOR = Vendor(
    name=NAME,
    prefix="/entra",
    hosts=(r"login\.microsoftonline\.com",),
    router=router,
    seed=_no_seed,
    authenticate=lambda headers, state: False,
    unauthorized=unauthorized,
    rate_limited=rate_limited,
    server_error=server_error,
    credentials={"tenant_id": TENANT_ID, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    public_paths=(r"/[^/]+/oauth2/v2\.0/token",),
)
