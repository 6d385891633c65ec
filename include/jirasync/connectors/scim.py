"""A SCIM 2.0 server's users (RFC 7644), read as a generic directory: Okta, OneLogin, Entra or any other.

Reads page with the 1-based ``startIndex`` and ``totalResults``, advancing by the number of
resources actually returned, because servers cap ``count`` and return fewer than asked.
Incremental reads filter on ``meta.lastModified`` on the server, but only when its
``/ServiceProviderConfig`` says filtering is supported; otherwise they read everything and
say so (``full=True``), so the caller can detect deletions too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from jirasync.connectors.auth import BearerAuth
from jirasync.connectors.clock import Clock
from jirasync.connectors.http import DEFAULT_TIMEOUT, HttpClient
from jirasync.connectors.query_literals import scim_string
from jirasync.connectors.redaction import protect_logger
from jirasync.connectors.retry import RetryPolicy

if TYPE_CHECKING:  # the budget imports the timeouts of jirasync.connectors.http
    from jirasync.connectors.budget import VendorBudget

logger = protect_logger(__name__)

DEFAULT_PAGE_SIZE = 100
USERS = "GET /Users"
SCIM_HEADERS = {"Accept": "application/scim+json, application/json"}


@dataclass(frozen=True)
class ScimUsers:
    users: list[dict[str, Any]]
    full: bool  # every user is there: a full read, or the server cannot filter on meta.lastModified
    latest_modified: (
        dt.datetime | None
    )  # the newest meta.lastModified seen: the next read's ``modified_since``


class ScimConnector:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        budget: VendorBudget | None = None,
    ) -> None:
        self.http = HttpClient(
            "SCIM server",
            base_url,
            BearerAuth(token),
            clock=clock,
            retry=retry,
            budget=budget,
            headers=SCIM_HEADERS,
            timeout=timeout,
        )

    def calls(self) -> dict[str, int]:
        return self.http.calls.by_endpoint()

    def check_connection(self) -> None:
        """Read the service provider configuration and one user: proves the URL and the token."""
        self.http.request_json("GET", "/Users", params={"startIndex": "1", "count": "1"})

    @cached_property
    def service_provider_config(self) -> dict[str, Any]:
        return self.http.request_json("GET", "/ServiceProviderConfig") or {}

    @property
    def can_filter(self) -> bool:
        return bool((self.service_provider_config.get("filter") or {}).get("supported"))

    def read_users(
        self, attributes: Sequence[str] | None = None, *, modified_since: dt.datetime | None = None
    ) -> ScimUsers:
        """Every user, or those modified after ``modified_since`` when the server can filter on it.

        ``attributes`` narrows what the server sends (``id`` and ``meta.lastModified`` are always asked).
        """
        params: dict[str, str] = {"count": str(self._page_size())}
        if attributes:
            params["attributes"] = ",".join(dict.fromkeys(["id", "meta.lastModified", *attributes]))
        full = modified_since is None or not self.can_filter
        if modified_since is not None and full:
            logger.info("the SCIM server does not support filtering; reading every user")
        if not full:
            assert modified_since is not None
            params["filter"] = f'meta.lastModified gt "{_scim_time(modified_since)}"'
        users = self._pages(params)
        return ScimUsers(users, full, _latest_modified(users))

    def read_users_modified_between(self, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
        """The users whose ``meta.lastModified`` is in [start, end): a backfill's window.

        Filtered by the server when it can; else every user is read and the window applied here.
        """
        if not self.can_filter:
            logger.info("the SCIM server does not support filtering; reading every user to keep the window's")
            return [u for u in self.read_users().users if start <= _modified(u) < end]
        where = f'meta.lastModified ge "{_scim_time(start)}" and meta.lastModified lt "{_scim_time(end)}"'
        return self._pages({"count": str(self._page_size()), "filter": where})

    def find_users(self, where: str) -> list[dict[str, Any]]:
        """The users matching the SCIM filter ``where``, e.g. ``userName eq "x@example.com"``."""
        page = self.http.request_json(
            "GET", "/Users", params={"filter": where, "count": str(self._page_size())}
        )
        return list(page.get("Resources") or [])

    def _pages(self, params: dict[str, str]) -> list[dict[str, Any]]:
        """Every user of every page of the list asked by ``params``, each once."""
        users: dict[str, dict[str, Any]] = {}
        start_index = 1
        while True:
            page = self.http.request_json("GET", "/Users", params={**params, "startIndex": str(start_index)})
            resources = page.get("Resources") or []
            for user in resources:
                users[user["id"]] = user
            start_index += len(resources)
            if not resources or start_index > int(page.get("totalResults", 0)):
                return list(users.values())

    def _page_size(self) -> int:
        """As many as the server says it returns at most (``filter.maxResults``); it may cap it further."""
        max_results = (self.service_provider_config.get("filter") or {}).get("maxResults")
        return int(max_results) if max_results else DEFAULT_PAGE_SIZE


def scim_equals(attribute_path: str, value: str) -> str:
    """A SCIM filter matching one value; ``emails.work`` becomes ``emails[type eq "work"].value``."""
    head, _, kind = attribute_path.partition(".")
    if head in ("emails", "phoneNumbers") and kind:
        condition = "primary eq true" if kind == "primary" else f"type eq {scim_string(kind)}"
        attribute_path = f"{head}[{condition}].value"
    return f"{attribute_path} eq {scim_string(value)}"


def _scim_time(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"a modified time must carry a time zone, got {moment!r}; use datetime.now(UTC)")
    # Full precision: servers stamp microseconds, and a rounded instant would match the last user again.
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _modified(user: dict[str, Any]) -> dt.datetime:
    """When the user last changed; the earliest instant for a user whose server gave no stamp."""
    stamp = (user.get("meta") or {}).get("lastModified")
    return (
        dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        if stamp
        else dt.datetime.min.replace(tzinfo=dt.UTC)
    )


def _latest_modified(users: list[dict[str, Any]]) -> dt.datetime | None:
    stamps = [_modified(u) for u in users if (u.get("meta") or {}).get("lastModified")]
    return max(stamps, default=None)
