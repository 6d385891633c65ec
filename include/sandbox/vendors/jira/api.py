"""What every Jira route shares: the vendor state, error bodies, user JSON and id sequences."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from sandbox.vendor import VendorError, VendorState, public_base_url, vendor_state

NAME = "jira"
ADMIN_EMAIL = "sandbox-admin@northwind.example"
API_TOKEN = "sandbox-jira-api-token"
ADMIN_ACCOUNT_ID = "712020:00000000-0000-4000-8000-000000000001"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


def jira(request: Request) -> VendorState:
    return vendor_state(request, NAME)


def api_url(request: Request, path: str) -> str:
    """An absolute URL on the site as the client sees it (``self`` links, ``nextPage``)."""
    return f"{public_base_url(request)}{path}"


def error(status: int, *messages: str, errors: dict[str, str] | None = None, **headers: str) -> JSONResponse:
    """Jira's ``ErrorCollection`` body."""
    return JSONResponse(
        {"errorMessages": list(messages), "errors": errors or {}},
        status_code=status,
        headers=headers or None,
    )


def query_int(value: str | None, default: int, name: str) -> int:
    """A numeric query parameter; Jira's 400 (not FastAPI's 422) when it is not a number."""
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise VendorError(error(400, f"The '{name}' parameter must be a number, got '{value}'.")) from None


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object; Jira's 400 (not the framework's) when it is not one."""
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise VendorError(error(400, "The request body is not valid JSON.")) from None
    if not isinstance(body, dict):
        raise VendorError(error(400, "The request body must be a JSON object."))
    return body


def not_found_issue() -> JSONResponse:
    return error(404, "Issue does not exist or you do not have permission to see it.")


def jira_time(moment: dt.datetime) -> str:
    """Jira's timestamp form: ``2025-01-31T09:15:00.000+0000``."""
    return moment.astimezone(dt.UTC).strftime(TIME_FORMAT)[:-3] + "+0000"


def now() -> str:
    return jira_time(dt.datetime.now(dt.UTC))


def parse_jira_time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def avatar_urls(account_id: str) -> dict[str, str]:
    digest = hashlib.md5(account_id.encode()).hexdigest()
    base = f"https://secure.gravatar.com/avatar/{digest}?d=identicon"
    return {size: f"{base}&s={size.split('x')[0]}" for size in ("48x48", "24x24", "16x16", "32x32")}


def user_json(request: Request, user: dict[str, Any]) -> dict[str, Any]:
    """A ``User`` as the caller may see it: the email only when the profile shows it."""
    body: dict[str, Any] = {
        "self": api_url(request, f"/rest/api/3/user?accountId={user['accountId']}"),
        "accountId": user["accountId"],
        "accountType": user["accountType"],
    }
    if user.get("emailAddress") and user.get("emailVisible", True):
        body["emailAddress"] = user["emailAddress"]
    body["avatarUrls"] = avatar_urls(user["accountId"])
    body["displayName"] = user["displayName"]
    body["active"] = user["active"]
    if user.get("emailVisible", True):
        body["timeZone"] = user["timeZone"]
        body["locale"] = user["locale"]
    return body


def user_details_json(request: Request, user: dict[str, Any]) -> dict[str, Any]:
    """The smaller ``UserDetails`` (no locale), used for comment and attachment authors and group members."""
    body = user_json(request, user)
    body.pop("locale", None)
    return body


def next_number(state: VendorState, sequence: str, first: int) -> int:
    """The next id of a sequence (issues, comments, attachments), kept with the data so restarts go on."""
    return state.reserve(sequence, 1, first)


def basic_credentials(authorization: str) -> tuple[str, str] | None:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        email, _, token = base64.b64decode(encoded).decode().partition(":")
    except ValueError:
        return None
    return email, token


def email_keys(user: dict[str, Any]) -> list[str]:
    """A user's email as a lookup matches it (case folded), shown or hidden."""
    email = (user.get("emailAddress") or "").casefold()
    return [email] if email else []
