"""Jira Service Management REST (``/rest/servicedeskapi``) on the Jira site: ``/jira`` and ``<site>.atlassian.net``.

Customers are Jira users with ``accountType: "customer"`` in the Jira vendor's ``users``
collection: a customer created here is at once a user of the platform API. Service
desks and their customer lists are this module's own. Errors use the JSM body
``{"errorMessage", "i18nErrorMessage"}``; paging is ``start``/``limit``/``isLastPage``.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers

from sandbox.store import Collection
from sandbox.vendor import TellingRoute, Vendor, VendorState, public_base_url, vendor_state
from sandbox.vendors.jira.api import ADMIN_EMAIL, API_TOKEN, avatar_urls, basic_credentials, email_keys
from sandbox.world import World

NAME = "jsm"
PAGE_LIMIT = 50  # JSM caps ``limit`` at this many items per page
RATE_LIMIT = 100
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Of the seeded customers, this share is on the service desk's customer list; the others exist
# as accounts only (created by another desk or the portal), as happens on real sites.
DESK_CUSTOMER_SHARE = 0.8


def jsm_error(status: int, message: str, i18n_key: str, *parameters: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"errorMessage": message, "i18nErrorMessage": {"i18nKey": i18n_key, "parameters": list(parameters)}},
        status_code=status,
        headers=headers or None,
    )


def authenticate(headers: Headers, state: VendorState) -> bool:
    """The Jira site's own credentials: JSM is a part of it."""
    return basic_credentials(headers.get("authorization", "")) == (ADMIN_EMAIL, API_TOKEN)


def unauthorized() -> JSONResponse:
    return jsm_error(401, "Client must be authenticated to access this resource.", "sd.error.unauthenticated")


def rate_limited(retry_after: int) -> JSONResponse:
    """The Jira site's 429 headers (api-contracts §1.6) with the JSM error body."""
    reset = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=retry_after)
    return jsm_error(
        429,
        "Rate limit exceeded.",
        "sd.error.rate.limit",
        **{
            "Retry-After": str(retry_after),
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ"),
            "RateLimit-Reason": "jira-burst-based",
        },
    )


def server_error(status: int) -> JSONResponse:
    return jsm_error(status, "Internal server error", "sd.error.internal")


# The i18n keys JSM gives the framework's own refusals; JSM documents no list of them.
_ROUTE_ERROR_KEYS = {404: "sd.error.not.found", 405: "sd.error.method.not.allowed"}


def route_error(status: int, message: str) -> JSONResponse:
    """Unknown paths, wrong methods and unreadable requests in JSM's ``ErrorResponse``, not the
    platform's ``ErrorCollection``: a JSM client reads ``errorMessage``."""
    return jsm_error(status, message, _ROUTE_ERROR_KEYS.get(status, "sd.error.request.invalid"))


def seed_jsm(world: World, state: VendorState) -> None:
    """One service desk per Jira service-management project, with most seeded customers on it."""
    projects = [
        p for p in state.collection("projects", vendor="jira") if p["projectTypeKey"] == "service_desk"
    ]
    desks = [
        {"id": str(number), "projectId": p["id"], "projectKey": p["key"], "projectName": p["name"]}
        for number, p in enumerate(projects, start=1)
    ]
    state.collection("servicedesks").put_many((d["id"], d) for d in desks)
    draws = world.draws("jsm-desk-customers")
    customers = [
        user["accountId"]
        for user in state.collection("users", vendor="jira")
        if user["accountType"] == "customer" and draws[user.get("personIndex", 0)] < DESK_CUSTOMER_SHARE
    ]
    state.collection("desk_customers").put_many((d["id"], {"accountIds": customers}) for d in desks)


# Its customers are Jira users: creating one is told to Jira (its user_created webhooks).
router = APIRouter(prefix="/rest/servicedeskapi", route_class=TellingRoute)


def _state(request: Request) -> VendorState:
    return vendor_state(request, NAME)


def _users(request: Request) -> Collection:
    """The Jira vendor's users: customers live there."""
    return _state(request).collection("users", vendor="jira")


def _api_base(request: Request) -> str:
    return f"{public_base_url(request)}/rest/servicedeskapi"


def _user_dto(request: Request, user: dict[str, Any]) -> dict[str, Any]:
    site = public_base_url(request)
    body: dict[str, Any] = {"accountId": user["accountId"]}
    if user.get("emailAddress") and user.get("emailVisible", True):
        body["emailAddress"] = user["emailAddress"]
    body |= {"displayName": user["displayName"], "active": user["active"], "timeZone": user["timeZone"]}
    body["_links"] = {
        "jiraRest": f"{site}/rest/api/2/user?accountId={user['accountId']}",
        "avatarUrls": avatar_urls(user["accountId"]),
        "self": f"{site}/rest/api/2/user?accountId={user['accountId']}",
    }
    return body


def _page_numbers(start: str | None, limit: str | None) -> tuple[int, int] | JSONResponse:
    try:
        first = int(start) if start else 0
        size = min(int(limit), PAGE_LIMIT) if limit else PAGE_LIMIT
    except ValueError:
        return jsm_error(
            400, f"start and limit must be integers, got {start!r} and {limit!r}", "sd.error.paging"
        )
    if first < 0 or size < 1:
        return jsm_error(400, f"start must be >= 0 and limit >= 1, got {first} and {size}", "sd.error.paging")
    return first, size


def _paged(request: Request, items: list[Any], start: int, limit: int, path: str) -> dict[str, Any]:
    """A ``PagedDTO``: ``next``/``prev`` links only where there is such a page."""
    page = items[start : start + limit]
    is_last = start + len(page) >= len(items)
    links: dict[str, str] = {"base": _api_base(request), "context": ""}
    if not is_last:
        links["next"] = f"{_api_base(request)}{path}?start={start + len(page)}&limit={limit}"
    if start > 0:
        links["prev"] = f"{_api_base(request)}{path}?start={max(0, start - limit)}&limit={limit}"
    return {
        "_expands": [],
        "size": len(page),
        "start": start,
        "limit": limit,
        "isLastPage": is_last,
        "_links": links,
        "values": page,
    }


def _desk(request: Request, service_desk_id: str) -> dict[str, Any] | None:
    """A service desk by its id, or by its project's key or id (a "project identifier")."""
    for desk in _state(request).collection("servicedesks"):
        if service_desk_id in (desk["id"], desk["projectId"], desk["projectKey"]):
            return desk
    return None


def _no_desk(service_desk_id: str) -> JSONResponse:
    return jsm_error(
        404,
        f"Service Desk with id {service_desk_id} does not exist",
        "sd.admin.servicedesk.error.not.found",
        service_desk_id,
    )


@router.post("/customer", status_code=201)
async def create_customer(request: Request, strictConflictStatusCode: str | None = None) -> Response:
    try:
        body = await request.json()
    except ValueError:
        return jsm_error(400, "The request body is not valid JSON.", "sd.error.body.invalid")
    email = str(body.get("email") or "").strip() if isinstance(body, dict) else ""
    display_name = str(body.get("displayName") or body.get("fullName") or "").strip() if email else ""
    if not _EMAIL.fullmatch(email):
        return jsm_error(
            400, f"The email address '{email}' is invalid.", "sd.customer.create.email.invalid", email
        )
    users = _users(request)
    if users.index("email", email_keys).exact(email.casefold()):
        strict = (strictConflictStatusCode or "").lower() == "true"
        return jsm_error(
            409 if strict else 400,
            f"An account already exists for this email: {email}",
            "sd.customer.create.email.exists",
            email,
        )
    user = {
        "accountId": f"qm:{uuid.uuid4()}:{uuid.uuid4().hex[:24]}",
        "accountType": "customer",
        "emailAddress": email,
        "emailVisible": True,
        "displayName": display_name or email,
        "active": True,
        "timeZone": "UTC",
        "locale": "en_US",
    }
    users.put(user["accountId"], user)
    return JSONResponse(_user_dto(request, user), status_code=201)


@router.get("/servicedesk")
def service_desks(request: Request, start: str | None = None, limit: str | None = None) -> Any:
    numbers = _page_numbers(start, limit)
    if isinstance(numbers, JSONResponse):
        return numbers
    desks = [
        {**desk, "_links": {"self": f"{_api_base(request)}/servicedesk/{desk['id']}"}}
        for desk in _state(request).collection("servicedesks")
    ]
    return _paged(request, desks, *numbers, "/servicedesk")


@router.get("/servicedesk/{serviceDeskId}/customer")
def desk_customers(
    request: Request,
    serviceDeskId: str,
    query: str | None = None,
    start: str | None = None,
    limit: str | None = None,
) -> Any:
    """Experimental: without ``X-ExperimentalApi: opt-in`` JSM answers 412 and a message saying so."""
    if request.headers.get("X-ExperimentalApi", "").lower() != "opt-in":
        return jsm_error(
            412,
            "This API is experimental. Experimental APIs are not guaranteed to be stable within the next "
            "release, and are likely to change or be removed in the future. To use this API, please set "
            "the header 'X-ExperimentalApi' to the value 'opt-in'.",
            "sd.api.experimental.optin.required",
        )
    desk = _desk(request, serviceDeskId)
    if desk is None:
        return _no_desk(serviceDeskId)
    numbers = _page_numbers(start, limit)
    if isinstance(numbers, JSONResponse):
        return numbers
    users = _users(request)
    members = [
        users.get(i) for i in _state(request).collection("desk_customers").get(desk["id"])["accountIds"]
    ]
    wanted = (query or "").casefold()
    found = [
        _user_dto(request, u)
        for u in members
        if u is not None
        and (wanted in u["displayName"].casefold() or wanted in (u.get("emailAddress") or "").casefold())
    ]
    return _paged(request, found, *numbers, f"/servicedesk/{serviceDeskId}/customer")


async def _account_ids(request: Request) -> list[str] | JSONResponse:
    try:
        body = await request.json()
    except ValueError:
        return jsm_error(400, "The request body is not valid JSON.", "sd.error.body.invalid")
    account_ids = body.get("accountIds") if isinstance(body, dict) else None
    if not isinstance(account_ids, list) or not all(isinstance(i, str) for i in account_ids):
        return jsm_error(400, "accountIds must be a list of account ids.", "sd.customer.accountids.invalid")
    return account_ids


@router.post("/servicedesk/{serviceDeskId}/customer", status_code=204)
async def add_desk_customers(request: Request, serviceDeskId: str) -> Response:
    """Adds the existing accounts even when some do not exist (then 400), as JSM documents."""
    desk = _desk(request, serviceDeskId)
    if desk is None:
        return _no_desk(serviceDeskId)
    account_ids = await _account_ids(request)
    if isinstance(account_ids, JSONResponse):
        return account_ids
    users = _users(request)
    lists = _state(request).collection("desk_customers")
    members = lists.get(desk["id"])["accountIds"]
    members += [i for i in dict.fromkeys(account_ids) if i in users and i not in members]
    lists.put(desk["id"], {"accountIds": members})
    missing = [i for i in account_ids if i not in users]
    if missing:
        return jsm_error(
            400,
            f"The following users do not exist: {', '.join(missing)}",
            "sd.customer.add.missing",
            *missing,
        )
    return Response(status_code=204)


@router.delete("/servicedesk/{serviceDeskId}/customer", status_code=204)
async def remove_desk_customers(request: Request, serviceDeskId: str) -> Response:
    desk = _desk(request, serviceDeskId)
    if desk is None:
        return _no_desk(serviceDeskId)
    account_ids = await _account_ids(request)
    if isinstance(account_ids, JSONResponse):
        return account_ids
    lists = _state(request).collection("desk_customers")
    removed = set(account_ids)
    lists.put(
        desk["id"], {"accountIds": [i for i in lists.get(desk["id"])["accountIds"] if i not in removed]}
    )
    return Response(status_code=204)


@router.get("/assets/workspace")
def assets_workspaces(request: Request, start: str | None = None, limit: str | None = None) -> Any:
    """The Assets workspace of the site, read from the Assets vendor's records (none without Assets)."""
    numbers = _page_numbers(start, limit)
    if isinstance(numbers, JSONResponse):
        return numbers
    workspace = _state(request).collection("workspace", vendor="assets").get("workspace")
    values = [{"workspaceId": workspace["workspaceId"]}] if workspace else []
    return _paged(request, values, *numbers, "/assets/workspace")


VENDOR = Vendor(
    name=NAME,
    prefix="/jira",
    hosts=(r"[a-z0-9][a-z0-9-]*\.atlassian\.net",),
    router=router,
    seed=seed_jsm,
    authenticate=authenticate,
    unauthorized=unauthorized,
    rate_limited=rate_limited,
    server_error=server_error,
    credentials={"email": ADMIN_EMAIL, "api_token": API_TOKEN},
    paths=(r"/rest/servicedeskapi/",),
    route_error=route_error,
)
