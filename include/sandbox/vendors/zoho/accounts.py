"""Zoho's accounts server: the OAuth ``refresh_token`` grant that gives CRM access tokens.

Like Zoho it answers a bad client or refresh token with HTTP 200 and ``{"error": ...}``,
and returns the ``api_domain`` of the data centre the request reached: the sandbox's
``/zoho`` prefix for ``/zoho-accounts``, or ``www.zohoapis.<dc>`` for ``accounts.zoho.<dc>``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.vendor import public_base_url, vendor_state
from sandbox.vendors.zoho.api import (
    ACCOUNTS_NAME,
    CLIENT_ID,
    CLIENT_SECRET,
    NAME,
    REFRESH_TOKEN,
    SCOPE,
    settings,
)

router = APIRouter()
API_HOSTS = {
    "accounts.zoho.com": "www.zohoapis.com",
    "accounts.zoho.eu": "www.zohoapis.eu",
    "accounts.zoho.in": "www.zohoapis.in",
    "accounts.zoho.com.au": "www.zohoapis.com.au",
    "accounts.zoho.jp": "www.zohoapis.jp",
    "accounts.zoho.com.cn": "www.zohoapis.com.cn",
    "accounts.zoho.sa": "www.zohoapis.sa",
    "accounts.zoho.uk": "www.zohoapis.uk",
    "accounts.zohocloud.ca": "www.zohoapis.ca",
}
ACCOUNTS_PREFIX = "/zoho-accounts"
API_PREFIX = "/zoho"


def api_domain(request: Request) -> str:
    """Where the client must send CRM calls, on the sandbox as this request reached it."""
    base = public_base_url(request)
    if base.endswith(ACCOUNTS_PREFIX):
        return base[: -len(ACCOUNTS_PREFIX)] + API_PREFIX
    parts = urlsplit(base)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{API_HOSTS.get(host.lower(), host)}{port}"


@router.post("/oauth/v2/token")
async def token(request: Request) -> JSONResponse:
    """Parameters come as a form body or, as many Zoho clients send them, in the query string."""
    params = {**request.query_params, **(await request.form())}
    if params.get("grant_type") != "refresh_token":
        return JSONResponse({"error": "unsupported_grant_type"})
    if params.get("client_id") != CLIENT_ID or params.get("client_secret") != CLIENT_SECRET:
        return JSONResponse({"error": "invalid_client"})
    if params.get("refresh_token") != REFRESH_TOKEN:
        return JSONResponse({"error": "invalid_code"})
    state = vendor_state(request, ACCOUNTS_NAME)
    lifetime = int(settings(vendor_state(request, NAME))["token_lifetime_s"])
    access_token = state.tokens.issue(NAME, CLIENT_ID, lifetime)
    return JSONResponse(
        {
            "access_token": access_token,
            "scope": SCOPE,
            "api_domain": api_domain(request),
            "token_type": "Bearer",
            "expires_in": lifetime,
        }
    )
