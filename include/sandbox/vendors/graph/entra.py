"""The Microsoft identity platform at ``/entra`` and login.microsoftonline.com: the client-credentials
token endpoint and the discovery a credential library (MSAL, azure-identity) reads before it.

MSAL's sequence: instance discovery (``/common/discovery/instance``, skipped for hosts it knows)
names the tenant's OpenID configuration; that names the token endpoint; the client POSTs its
credentials there. Every URL in the answers is at the base the client came in on, prefix or
real host, so a client that follows them stays in the sandbox.

Tokens are issued under the Graph vendor's name, so Graph checks them and the sandbox's
``expire_tokens`` fault on Graph revokes them. They are opaque, not signed JWTs: the signing
key set answers, empty. Errors carry AAD's body: ``error``, ``error_description`` (with the
AADSTS code), ``error_codes``, ``timestamp``, ``trace_id``, ``correlation_id`` and ``error_uri``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import uuid
from typing import Any
from urllib.parse import unquote_plus, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import FormData, Headers

from sandbox.vendor import Vendor, VendorState, public_base_url, vendor_state
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
MULTI_TENANT = ("common", "organizations", "consumers")
# The public cloud's host names, as instance discovery lists them.
CLOUD_HOSTS = ("login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net")

router = APIRouter()


def aad_error(status: int, error: str, code: int | None, description: str) -> JSONResponse:
    """AAD's error body; ``code`` None for an answer that has no AADSTS code (a path not served)."""
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    timestamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    prefix = "" if code is None else f"AADSTS{code}: "
    return JSONResponse(
        {
            "error": error,
            "error_description": f"{prefix}{description} Trace ID: {trace_id} "
            f"Correlation ID: {correlation_id} Timestamp: {timestamp}",
            "error_codes": [] if code is None else [code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            **({} if code is None else {"error_uri": f"https://login.microsoftonline.com/error?code={code}"}),
        },
        status_code=status,
    )


def _is_our_tenant(tenant: str) -> bool:
    """The directory is named by its id or its verified domain."""
    return tenant.lower() in (TENANT_ID, TENANT_DOMAIN)


def _no_tenant(tenant: str, error: str) -> JSONResponse:
    return aad_error(
        400,
        error,
        90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing "
        "into the correct cloud.",
    )


def _missing(parameter: str) -> JSONResponse:
    return aad_error(
        400,
        "invalid_request",
        900144,
        f"The request body must contain the following parameter: '{parameter}'.",
    )


@router.get("/common/discovery/instance")
def instance_discovery(request: Request) -> JSONResponse:
    """Whether an authority is one of this cloud's, and where its tenant's OpenID configuration is.

    The authority is the ``authorization_endpoint`` query parameter: at one of the cloud's host
    names, or at the sandbox's own base (a client configured with the sandbox's prefix URL).
    """
    endpoint = request.query_params.get("authorization_endpoint")
    if endpoint is None:
        return aad_error(
            400, "invalid_request", 90014, "The required field 'authorization_endpoint' is missing."
        )
    asked, base = urlsplit(endpoint), urlsplit(public_base_url(request))
    ours = asked.netloc.lower() == base.netloc.lower() and asked.path.startswith(f"{base.path}/")
    path = asked.path[len(base.path) :] if ours else asked.path
    authority = re.fullmatch(r"/([^/]+)/oauth2/(?:v2\.0/)?authorize/?", path)
    if authority is None or not (ours or (asked.hostname or "") in CLOUD_HOSTS):
        return aad_error(400, "invalid_instance", 50049, "Unknown or invalid instance.")
    metadata = [
        {"preferred_network": CLOUD_HOSTS[0], "preferred_cache": CLOUD_HOSTS[1], "aliases": CLOUD_HOSTS}
    ]
    if (base.hostname or "") not in CLOUD_HOSTS:
        metadata.append(
            {"preferred_network": base.hostname, "preferred_cache": base.hostname, "aliases": [base.hostname]}
        )
    return JSONResponse(
        {
            "tenant_discovery_endpoint": f"{public_base_url(request)}/{authority[1]}/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": metadata,
        }
    )


@router.get("/{tenant}/v2.0/.well-known/openid-configuration")
def openid_configuration(request: Request, tenant: str) -> JSONResponse:
    """The tenant's OpenID provider metadata, tenant substituted as Microsoft does it.

    The directory's id or domain comes back as its id throughout; ``common``, ``organizations``
    and ``consumers`` keep their name in the endpoints, and the issuer is the ``{tenantid}``
    template. Endpoints the sandbox does not serve (device code, logout, userinfo, Kerberos)
    are left out, so no client is sent to Microsoft; the authorization endpoint stays, as
    MSAL requires it, though only client credentials are served.
    """
    if tenant.lower() in MULTI_TENANT:
        in_paths, in_issuer, region = tenant.lower(), "{tenantid}", None
    elif _is_our_tenant(tenant):
        in_paths, in_issuer, region = TENANT_ID, TENANT_ID, "EU"
    else:
        return _no_tenant(tenant, "invalid_tenant")
    base = public_base_url(request)
    return JSONResponse(
        {
            "token_endpoint": f"{base}/{in_paths}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "jwks_uri": f"{base}/{in_paths}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/{in_issuer}/v2.0",
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{base}/{in_paths}/oauth2/v2.0/authorize",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "name", "tid", "ver", "email"],
            "tenant_region_scope": region,
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }
    )


@router.get("/{tenant}/discovery/v2.0/keys")
def signing_keys(tenant: str) -> Any:
    """The tenant's token signing keys: none, as the sandbox's tokens are opaque, not signed JWTs."""
    if tenant.lower() not in MULTI_TENANT and not _is_our_tenant(tenant):
        return _no_tenant(tenant, "invalid_tenant")
    return {"keys": []}


@router.post("/{tenant}/oauth2/v2.0/token")
async def token(request: Request, tenant: str) -> JSONResponse:
    form = await request.form()
    if not _is_our_tenant(tenant):
        return _no_tenant(tenant, "invalid_request")
    client_id, client_secret = _client_credentials(request.headers, form)
    if not form.get("grant_type"):
        return _missing("grant_type")
    if form.get("grant_type") != "client_credentials":
        return aad_error(
            400,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type; this sandbox supports 'client_credentials'.",
        )
    if not client_id:
        return _missing("client_id")
    if client_id != CLIENT_ID:
        return aad_error(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory '{TENANT_DOMAIN}'.",
        )
    if client_secret is None:
        return aad_error(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )
    if client_secret != CLIENT_SECRET:
        return aad_error(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
            f"value, not the client secret ID, for a secret added to app '{CLIENT_ID}'.",
        )
    if not form.get("scope"):
        return _missing("scope")
    if str(form.get("scope")).lower() != GRAPH_SCOPE:
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


def _client_credentials(headers: Headers, form: FormData) -> tuple[str | None, str | None]:
    """The client id and secret, from the body (``client_secret_post``) or from HTTP Basic
    (``client_secret_basic``: each part form-encoded, RFC 6749 2.3.1)."""
    scheme, _, encoded = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(encoded.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        return unquote_plus(user), unquote_plus(password)
    client_id, secret = form.get("client_id"), form.get("client_secret")
    return None if client_id is None else str(client_id), None if secret is None else str(secret)


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


def route_error(status: int, message: str) -> JSONResponse:
    """A path not served, a wrong method or an unreadable request, in AAD's error body. (The real
    platform answers an unknown path with a web page; clients parse this body instead.)"""
    return aad_error(status, "invalid_request", None, message)


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
    # Clients come here for credentials: no path asks for a token (the token endpoint checks the secret).
    public_paths=(r"/.*",),
    route_error=route_error,
)
