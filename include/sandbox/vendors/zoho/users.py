"""Zoho CRM users: ``GET /crm/v8/users`` (filtered by ``type``) and ``GET /crm/v8/users/{user}``.

The CRM's users are the org's staff, not the world's people: the admin every token acts as
(``CurrentUser``, the owner of every record) and a few colleagues, one of each state a ``type``
filter tells apart (active, deactivated, invited but not confirmed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from sandbox.vendors.zoho.api import ADMIN_USER, ZohoRoute, invalid_param
from sandbox.vendors.zoho.records import page_of, per_page_of

router = APIRouter(route_class=ZohoRoute)
ADMINISTRATOR = {"name": "Administrator", "id": "4150868000000026011"}
STANDARD = {"name": "Standard", "id": "4150868000000026014"}
CEO = {"name": "CEO", "id": "4150868000000026005"}
MANAGER = {"name": "Manager", "id": "4150868000000231001"}
SINCE = "2024-03-04T09:00:00+00:00"
# ``Modified_By`` is users.json's ``owner``: the minified user with the names apart.
MODIFIER = {**ADMIN_USER, "first_name": "Patricia", "last_name": "Boyle"}


def _user(
    user_id: str,
    first: str,
    last: str,
    email: str,
    role: dict[str, str],
    profile: dict[str, str],
    **state: Any,
) -> dict[str, Any]:
    """A user as ``users.json`` describes one; ``state`` overrides the active, confirmed defaults."""
    user = {
        "id": user_id,
        "first_name": first,
        "last_name": last,
        "full_name": f"{first} {last}",
        "email": email,
        "role": role,
        "profile": profile,
        "status": "active",
        "confirm": True,
        "status_reason__s": None,
        "zuid": f"80{user_id[-7:]}",
        "category": "regular_user",
        "language": "en_US",
        "locale": "en_US",
        "country_locale": "en_US",
        "date_format": "MMM d, yyyy",
        "time_format": "hh:mm a",
        "decimal_separator": "Period",
        "Isonline": False,
        "personal_account": False,
        "microsoft": False,
        "sandboxDeveloper": False,
        "created_time": SINCE,
        "created_by": dict(ADMIN_USER),
        "Modified_Time": SINCE,
        "Modified_By": {k: MODIFIER[k] for k in ("name", "id", "first_name", "last_name")},
        **state,
    }
    if user_id != ADMIN_USER["id"]:  # the admin reports to no one: the key is not nullable
        user["Reporting_To"] = {"name": ADMIN_USER["name"], "id": ADMIN_USER["id"]}
    return user


USERS = (
    _user(ADMIN_USER["id"], "Patricia", "Boyle", ADMIN_USER["email"], CEO, ADMINISTRATOR),
    _user("4150868000000225031", "Anand", "Raman", "anand.raman@northwind.example", MANAGER, STANDARD),
    _user(
        "4150868000000225047",
        "Greta",
        "Lindqvist",
        "greta.lindqvist@northwind.example",
        MANAGER,
        STANDARD,
        status="disabled",
    ),
    _user(
        "4150868000000225059",
        "Tomasz",
        "Wojcik",
        "tomasz.wojcik@northwind.example",
        MANAGER,
        STANDARD,
        confirm=False,
    ),
)


def _active(user: dict[str, Any]) -> bool:
    return user["status"] == "active"


def _admin(user: dict[str, Any]) -> bool:
    return user["profile"]["id"] == ADMINISTRATOR["id"]


# Zoho's ``type`` values (users.json lists most; AllUsers, AdminUsers, ActiveConfirmedAdmins and
# DeletedUsers are in its Get Users guide). The sandbox deletes no user, so DeletedUsers is empty.
TYPES: dict[str, Callable[[dict[str, Any]], bool]] = {
    "AllUsers": lambda u: True,
    "ActiveUsers": _active,
    "DeactiveUsers": lambda u: u["status"] == "disabled",
    "ConfirmedUsers": lambda u: u["confirm"],
    "NotConfirmedUsers": lambda u: not u["confirm"],
    "ActiveConfirmedUsers": lambda u: _active(u) and u["confirm"],
    "AdminUsers": _admin,
    "ActiveConfirmedAdmins": lambda u: _admin(u) and _active(u) and u["confirm"],
    "DeletedUsers": lambda u: u["status"] == "deleted",
    "CurrentUser": lambda u: u["id"] == ADMIN_USER["id"],
}


@router.get("/crm/v8/users")
def list_users(
    type: str | None = None, ids: str | None = None, page: str | None = None, per_page: str | None = None
) -> Response:
    """Every user by default; 204 when the filter leaves none, as for records."""
    keep = TYPES.get(type or "AllUsers")
    if keep is None:
        raise invalid_param("type", "the given type is not supported", supported_values=sorted(TYPES))
    wanted = {i.strip() for i in ids.split(",")} if ids else None
    users = [u for u in USERS if keep(u) and (wanted is None or u["id"] in wanted)]
    size, number = per_page_of(per_page), page_of(page)
    chunk = users[(number - 1) * size : number * size]
    if not chunk:
        return Response(status_code=204)
    info = {"per_page": size, "count": len(chunk), "page": number, "more_records": number * size < len(users)}
    return JSONResponse({"users": chunk, "info": info})


@router.get("/crm/v8/users/{user_id}")
def get_user(user_id: str) -> Response:
    found = [u for u in USERS if u["id"] == user_id]
    if not found:
        return Response(status_code=204)
    return JSONResponse(
        {"users": found, "info": {"per_page": 200, "count": 1, "page": 1, "more_records": False}}
    )
