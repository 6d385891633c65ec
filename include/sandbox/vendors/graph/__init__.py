"""Microsoft Graph v1.0 users at ``/graph`` and graph.microsoft.com, with bearer tokens from Entra (``/entra``).

One module serves both vendors: Graph's tokens come from the identity platform's endpoint
(``sandbox.vendors.graph.entra``), and a test reaches them as ``running.credentials["entra"]``.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers

from sandbox.vendor import Vendor, VendorState
from sandbox.vendors.graph import entra, users
from sandbox.vendors.graph.api import NAME, error
from sandbox.vendors.graph.changes import change_log, record_changes
from sandbox.vendors.graph.routing import route_error, unserved_router
from sandbox.vendors.graph.seed import seed_graph


def authenticate(headers: Headers, state: VendorState) -> bool:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and state.tokens.subject(NAME, token.strip()) is not None


def unauthorized() -> JSONResponse:
    response = error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
    response.headers["WWW-Authenticate"] = (
        'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"'
    )
    return response


def rate_limited(retry_after: int) -> JSONResponse:
    return error(
        429,
        "TooManyRequests",
        "Too many requests are being made to this application; retry after the Retry-After interval.",
        **{"Retry-After": str(retry_after)},
    )


def server_error(status: int) -> JSONResponse:
    codes = {502: "BadGateway", 503: "ServiceNotAvailable", 504: "GatewayTimeout"}
    return error(status, codes.get(status, "generalException"), "The service is temporarily unavailable.")


def _user(state: VendorState, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    user_id = str(payload["id"])
    user = state.collection("users").get(user_id)
    if user is None:
        raise KeyError(f"no Graph user {user_id!r}; list them with GET /_sandbox/data/graph/users")
    return user_id, user


def delete_user(state: VendorState, payload: dict[str, Any]) -> dict[str, str]:
    """Soft delete, as the Entra admin centre does: restorable for 30 days, delta says ``changed``."""
    user_id, user = _user(state, payload)
    state.collection("deleted_users").put(user_id, user)
    state.collection("users").delete(user_id)
    return {"id": user_id, "state": "soft-deleted"}


def restore_user(state: VendorState, payload: dict[str, Any]) -> dict[str, str]:
    user_id = str(payload["id"])
    user = state.collection("deleted_users").get(user_id)
    if user is None:
        raise KeyError(f"no soft-deleted Graph user {user_id!r}; see GET /_sandbox/data/graph/deleted_users")
    state.collection("users").put(user_id, dict(user))
    state.collection("deleted_users").delete(user_id)
    return {"id": user_id, "state": "restored"}


def purge_user(state: VendorState, payload: dict[str, Any]) -> dict[str, str]:
    """Delete for good (a soft-deleted or a live user): delta says ``deleted``."""
    user_id = str(payload["id"])
    removed = [state.collection(name).delete(user_id) for name in ("users", "deleted_users")]
    if not any(removed):
        raise KeyError(f"no Graph user {user_id!r}, live or soft-deleted")
    return {"id": user_id, "state": "deleted"}


def expire_delta_links(state: VendorState, payload: dict[str, Any]) -> dict[str, str]:
    """Every delta and skip link issued so far answers 410 ``SyncStateNotFound`` from now on."""
    change_log(state).expire_links()
    return {"state": "expired"}


GRAPH = Vendor(
    name=NAME,
    prefix="/graph",
    hosts=(r"graph\.microsoft\.com",),
    router=unserved_router(users.router),
    seed=seed_graph,
    authenticate=authenticate,
    unauthorized=unauthorized,
    rate_limited=rate_limited,
    server_error=server_error,
    credentials=entra.VENDOR.credentials,
    actions={
        "delete_user": delete_user,
        "restore_user": restore_user,
        "purge_user": purge_user,
        "expire_delta_links": expire_delta_links,
    },
    on_change=record_changes,
    route_error=route_error,
)

VENDORS = (GRAPH, entra.VENDOR)
