"""What the Graph routes and the Entra token endpoint share: names, credentials, the error envelope, users.

Stored user records hold Graph's own property names plus ``manager`` (the manager's id, or
None); the manager is only ever rendered through ``$expand=manager``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from sandbox.store import Collection
from sandbox.vendor import VendorState, public_base_url, vendor_state

NAME = "graph"
TENANT_ID = "8f3a1c2e-5b7d-4e9f-a1c3-000000000001"
TENANT_DOMAIN = "northwind.example"
CLIENT_ID = "3c9e1f0a-7d2b-4c5e-9a8f-000000000002"
CLIENT_SECRET = "sandbox-entra-client-secret"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
TOKEN_LIFETIME_S = 3599

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 999
EXPAND_PAGE_CAP = 100  # $expand on directory objects returns at most 100 per page, whatever $top says

# What /users answers without $select (department, employeeId, accountEnabled must be selected).
DEFAULT_PROPERTIES = (
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
)
PROPERTIES = (
    *DEFAULT_PROPERTIES,
    "accountEnabled",
    "department",
    "employeeId",
    "companyName",
    "usageLocation",
)
MANAGER_PROPERTIES = ("id", "displayName", "userPrincipalName", "mail", "jobTitle")


def graph(request: Request) -> VendorState:
    return vendor_state(request, NAME)


def graph_url(request: Request, path: str) -> str:
    return f"{public_base_url(request)}{path}"


def error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    """Graph's envelope: ``{"error": {"code", "message", "innerError": {date, request-id, ...}}}``."""
    request_id = str(uuid.uuid4())
    inner = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": request_id,
        "client-request-id": request_id,
    }
    return JSONResponse(
        {"error": {"code": code, "message": message, "innerError": inner}},
        status_code=status,
        headers={"request-id": request_id, **headers},
    )


def query_option(request: Request, name: str) -> str | None:
    """An OData system query option; Graph v1.0 takes it with or without the ``$``."""
    params = request.query_params
    return params.get(f"${name}", params.get(name))


def parse_select(text: str | None) -> tuple[str, ...] | str:
    """The ``$select``ed properties, or an error message naming the unknown one."""
    if text is None:
        return DEFAULT_PROPERTIES
    chosen: list[str] = []
    for raw in text.split(","):
        name = raw.strip()
        match = next((p for p in PROPERTIES if p.lower() == name.lower()), None)
        if match is None:
            return f"Could not find a property named '{name}' on type 'microsoft.graph.user'."
        if match not in chosen:
            chosen.append(match)
    return tuple(chosen)


def parse_expand(text: str | None) -> bool | str:
    """Whether ``$expand=manager`` (optionally ``manager($select=...)``) was asked; else an error message."""
    if text is None:
        return False
    if text.strip().lower().startswith("manager"):
        return True
    return f"Parsing OData Select and Expand failed: Could not find a property named '{text}' on type 'microsoft.graph.user'."


def render_user(
    user: dict[str, Any], select: tuple[str, ...], users: Collection | None = None
) -> dict[str, Any]:
    """A user as Graph answers it: the selected properties (``id`` always) and the manager if expanded."""
    rendered = {"id": user["id"], **{name: user.get(name) for name in select}}
    if users is not None:
        manager = users.get(user.get("manager") or "")
        if manager is not None:
            rendered["manager"] = {
                "@odata.type": "#microsoft.graph.user",
                **{name: manager.get(name) for name in MANAGER_PROPERTIES},
            }
    return rendered


def context_url(request: Request, select: tuple[str, ...], suffix: str = "") -> str:
    return graph_url(request, f"/v1.0/$metadata#users({','.join(select)}){suffix}")
