"""Microsoft Graph users: full reads with ``$select`` and incremental reads from a stored delta link.

A full read asks ``/v1.0/users`` for exactly the mapped properties, 999 to a page (the most
Graph allows); asking for the manager adds ``$expand=manager``, which Graph caps at 100 to
a page, so it is only asked when mapped. An incremental read follows the delta link that
the last read returned and gets only the users changed since, plus the removed ones
(``@removed`` reason ``changed``: soft-deleted and restorable for 30 days; ``deleted``: gone).
When Graph no longer knows a delta link (410 ``SyncStateNotFound``, after about 7 days or a
directory reset), the read starts a new delta round, which returns every user: the result
says ``full=True`` so the caller can treat absent users as removed.

Users come back as Graph sends them, except that an expanded manager is always
``"manager": {"id": ..., ...}`` (Graph's delta sends ``manager@delta`` with the id only) or
``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jirasync.connectors.auth import ClientCredentialsAuth
from jirasync.connectors.clock import Clock
from jirasync.connectors.errors import ApiError
from jirasync.connectors.http import DEFAULT_TIMEOUT, HttpClient
from jirasync.connectors.query_literals import odata_string
from jirasync.connectors.redaction import protect_logger
from jirasync.connectors.retry import RetryPolicy

if TYPE_CHECKING:  # the budget imports the timeouts of jirasync.connectors.http
    from jirasync.connectors.budget import VendorBudget

logger = protect_logger(__name__)

DEFAULT_LOGIN_URL = "https://login.microsoftonline.com"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
MAX_PAGE_SIZE = 999
MANAGER_EXPAND = "manager($select=id,displayName,userPrincipalName,mail)"
USERS = "GET /v1.0/users"
DELTA = "GET /v1.0/users/delta"
TOKEN = "POST /{tenant}/oauth2/v2.0/token"
# Error codes meaning "this delta or skip link is no longer valid: start a new round".
RESYNC_CODES = ("SyncStateNotFound", "resyncRequired", "Directory_ExpiredPageToken")


@dataclass(frozen=True)
class RemovedUser:
    id: str
    reason: str  # "changed" (soft-deleted, restorable) or "deleted" (gone for good)


@dataclass(frozen=True)
class UserChanges:
    """One incremental read: changed or new users, removed users, and the link to store for the next."""

    users: list[dict[str, Any]]
    removed: list[RemovedUser]
    delta_link: str
    full: bool  # every current user is in ``users``: a first round or a resync after an expired link


class EntraClientCredentials(ClientCredentialsAuth):
    """Client credentials against the Microsoft identity platform."""

    def __init__(
        self, login_url: str, tenant_id: str, client_id: str, client_secret: str, clock: Clock | None
    ) -> None:
        token_url = f"{login_url.rstrip('/')}/{tenant_id}/oauth2/v2.0/token"
        super().__init__("Microsoft Entra ID", token_url, client_id, client_secret, GRAPH_SCOPE, clock)


class GraphConnector:
    def __init__(
        self,
        base_url: str,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        *,
        login_url: str = DEFAULT_LOGIN_URL,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        budget: VendorBudget | None = None,
    ) -> None:
        self.auth = EntraClientCredentials(login_url, tenant_id, client_id, client_secret, clock)
        self.http = HttpClient(
            "Microsoft Graph", base_url, self.auth, clock=clock, retry=retry, timeout=timeout, budget=budget
        )

    def calls(self) -> dict[str, int]:
        """Calls sent per endpoint, token requests included, for "N calls, ideal M"."""
        return {**self.http.calls.by_endpoint(), TOKEN: self.auth.token_requests}

    def check_connection(self) -> None:
        """Get a token and read one user id: proves the tenant, the secret and ``User.Read.All``."""
        self.http.request_json("GET", "/v1.0/users", params={"$select": "id", "$top": "1"})

    def read_users(
        self, attributes: Sequence[str], *, manager: bool = False, where: str | None = None
    ) -> list[dict[str, Any]]:
        """Every user (or those matching the OData filter ``where``), with exactly ``attributes``
        (``id`` always comes) and the manager if asked."""
        params = {"$select": _select(attributes), "$top": str(MAX_PAGE_SIZE)}
        if where:
            params["$filter"] = where
        if manager:
            params["$expand"] = MANAGER_EXPAND
        users: list[dict[str, Any]] = []
        page = self.http.request_json("GET", "/v1.0/users", params=params)
        while True:
            users.extend(_with_manager(u, manager, complete=True) for u in page.get("value", []))
            next_link = page.get("@odata.nextLink")
            if not next_link:
                return users
            page = self.http.request_json("GET", next_link, endpoint=USERS)

    def read_user(self, user_id: str, attributes: Sequence[str]) -> dict[str, Any]:
        """One user by id, with exactly ``attributes``: for a manager that a delta names by id only."""
        return self.http.request_json(
            "GET", "/v1.0/users/{id}", path_params={"id": user_id}, params={"$select": _select(attributes)}
        )

    def read_changes(
        self, attributes: Sequence[str], *, manager: bool = False, delta_link: str | None = None
    ) -> UserChanges:
        """The users changed since ``delta_link`` (all of them when None or no longer valid)."""
        if delta_link is not None:
            try:
                return self._delta_round(delta_link, None, manager, full=False)
            except ApiError as error:
                if not _needs_resync(error):
                    raise
                logger.warning(
                    "Microsoft Graph no longer knows the stored delta link (%s); reading every user again",
                    error.detail,
                )
        params = {"$select": _select(attributes)}
        if manager:
            params["$expand"] = MANAGER_EXPAND
        return self._delta_round("/v1.0/users/delta", params, manager, full=True)

    def _delta_round(self, url: str, params: dict[str, str] | None, manager: bool, full: bool) -> UserChanges:
        users: dict[str, dict[str, Any]] = {}
        removed: dict[str, RemovedUser] = {}
        headers = {"Prefer": f"odata.maxpagesize={MAX_PAGE_SIZE}"}
        page = self.http.request_json("GET", url, params=params, headers=headers, endpoint=DELTA)
        while True:
            for entry in page.get("value", []):
                if "@removed" in entry:
                    users.pop(entry["id"], None)
                    removed[entry["id"]] = RemovedUser(
                        entry["id"], entry["@removed"].get("reason", "deleted")
                    )
                else:
                    removed.pop(entry["id"], None)
                    users[entry["id"]] = _with_manager(entry, manager, complete=full)
            if page.get("@odata.deltaLink"):
                return UserChanges(
                    list(users.values()), list(removed.values()), page["@odata.deltaLink"], full
                )
            next_link = page.get("@odata.nextLink")
            if not next_link:
                raise ApiError(
                    "Microsoft Graph",
                    "GET",
                    DELTA,
                    200,
                    "a delta page carried neither @odata.nextLink nor @odata.deltaLink",
                    hint="Start a new delta round: clear the stored delta link of this sync.",
                )
            page = self.http.request_json("GET", next_link, headers=headers, endpoint=DELTA)


def odata_equals(attribute: str, value: str) -> str:
    """An OData ``$filter`` clause matching one value."""
    return f"{attribute} eq {odata_string(value)}"


def _select(attributes: Sequence[str]) -> str:
    if not attributes:
        raise ValueError(
            "GraphConnector needs at least one attribute to $select, e.g. ['mail', 'department']"
        )
    return ",".join(dict.fromkeys(attributes))


def _with_manager(user: dict[str, Any], manager: bool, complete: bool) -> dict[str, Any]:
    """``manager`` as ``{"id", ...}`` or None. In a delta of changes, a user without ``manager@delta``
    kept their manager, so the key stays absent (``complete=False``) rather than saying "no manager"."""
    if not manager:
        return user
    user = dict(user)
    delta_manager = user.pop("manager@delta", None)
    if delta_manager is not None:
        live = [m for m in delta_manager if "@removed" not in m]
        user["manager"] = {"id": live[0]["id"]} if live else None
    elif complete:
        user.setdefault("manager", None)
    return user


def _needs_resync(error: ApiError) -> bool:
    return error.status == 410 or any(code.lower() in error.detail.lower() for code in RESYNC_CODES)
