"""Jira Service Management customers (``/rest/servicedeskapi``), on the shared HTTP layer.

The traps of this API (api-contracts §1.4), handled here: paging is
``start``/``limit``/``isLastPage`` (not the platform's ``startAt``/``maxResults``) and
the server may return fewer than ``limit``, so the next page starts after what came
back; the customer list is experimental and needs ``X-ExperimentalApi: opt-in``;
creating a customer that exists is 409 only with ``strictConflictStatusCode=true``
(400 otherwise, indistinguishable from a bad email), so the connector always asks for
409 and answers it by looking the customer up: creating is idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jirasync.connectors.errors import ApiError, ConflictError
from jirasync.connectors.jira import AtlassianSiteConnector
from jirasync.connectors.outcome import RecordOutcome
from jirasync.engine.keys import email_key

VENDOR = "Jira Service Management"
API = "/rest/servicedeskapi"
PAGE_LIMIT = 50  # JSM's documented default and the most it returns per page
USER_SEARCH_PAGE_SIZE = 100
EXPERIMENTAL = {"X-ExperimentalApi": "opt-in"}


@dataclass(frozen=True)
class JsmCustomer:
    account_id: str
    email: str | None  # None when the customer's profile hides it
    display_name: str
    active: bool

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> JsmCustomer:
        return cls(
            account_id=body["accountId"],
            email=body.get("emailAddress") or None,
            display_name=body.get("displayName") or "",
            active=bool(body.get("active", True)),
        )


@dataclass(frozen=True)
class ServiceDesk:
    id: str
    project_id: str
    project_key: str
    project_name: str

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> ServiceDesk:
        return cls(
            id=str(body["id"]),
            project_id=str(body.get("projectId", "")),
            project_key=body.get("projectKey", ""),
            project_name=body.get("projectName", ""),
        )


@dataclass(frozen=True)
class NewCustomer:
    email: str
    display_name: str


class JsmConnector(AtlassianSiteConnector):
    """JSM on the Jira site at ``site_url`` (``https://x.atlassian.net`` or a base path such as a sandbox's)."""

    vendor = VENDOR

    # --- customers ----------------------------------------------------------------------------

    def create_customer(self, email: str, display_name: str) -> JsmCustomer:
        """Create a portal customer, or return the one that already has this email.

        Sent as idempotent: if the connection drops after JSM created the customer, the
        retry gets 409 and the lookup returns that same customer, never a duplicate.
        """
        try:
            body = self.http.request_json(
                "POST",
                f"{API}/customer",
                params={"strictConflictStatusCode": "true"},
                json={"email": email, "displayName": display_name},
                idempotent=True,
            )
        except ConflictError:
            existing = self.find_customer(email)
            if existing is None:
                raise
            return existing
        return JsmCustomer.from_api(body)

    def create_customers(self, customers: Sequence[NewCustomer]) -> list[RecordOutcome]:
        """One outcome per customer, in input order; ``id`` is the accountId (new or existing)."""
        outcomes = []
        for customer in customers:
            try:
                created = self.create_customer(customer.email, customer.display_name)
            except ApiError as error:
                outcomes.append(RecordOutcome.failure(str(error), retryable=error.retryable))
            else:
                outcomes.append(RecordOutcome.success(created.account_id))
        return outcomes

    def find_customer(self, email: str) -> JsmCustomer | None:
        """The customer account with this email (case-insensitive), through the platform's user search.

        A customer need not be on any service desk, so the desk lists cannot find every one;
        ``/rest/api/3/user/search`` finds accounts by email, and only ``customer`` accounts count.
        """
        wanted = email_key(email)
        start = 0
        while True:
            users = self.http.request_json(
                "GET",
                "/rest/api/3/user/search",
                params={"query": email.strip(), "startAt": start, "maxResults": USER_SEARCH_PAGE_SIZE},
            )
            for user in users:
                if (
                    user.get("accountType") == "customer"
                    and email_key(user.get("emailAddress") or "") == wanted
                ):
                    return JsmCustomer.from_api(user)
            if not users:
                return None
            start += len(users)

    def customers(self, service_desk_id: str, query: str | None = None) -> Iterator[JsmCustomer]:
        """Every customer of a service desk (id, project key or project id), page after page."""
        params = {"query": query} if query else {}
        for body in self._pages(
            f"{API}/servicedesk/{{desk}}/customer", {"desk": service_desk_id}, params, EXPERIMENTAL
        ):
            yield JsmCustomer.from_api(body)

    def add_customers(self, service_desk_id: str, account_ids: Iterable[str]) -> None:
        """Put accounts on a desk's customer list; existing members are fine (204), unknown ones are 400."""
        account_ids = list(dict.fromkeys(account_ids))
        if not account_ids:
            return
        self.http.request(
            "POST",
            f"{API}/servicedesk/{{desk}}/customer",
            path_params={"desk": service_desk_id},
            json={"accountIds": account_ids},
            idempotent=True,  # adding a member twice is a no-op
        )

    # --- service desks and Assets -------------------------------------------------------------

    def service_desks(self) -> Iterator[ServiceDesk]:
        for body in self._pages(f"{API}/servicedesk", {}, {}, {}):
            yield ServiceDesk.from_api(body)

    def assets_workspace_id(self) -> str:
        """The site's Assets workspace id, for the Assets base URL ``…/jsm/assets/workspace/<id>/v1``."""
        for body in self._pages(f"{API}/assets/workspace", {}, {}, {}):
            return str(body["workspaceId"])
        raise ApiError(
            VENDOR,
            "GET",
            f"GET {API}/assets/workspace",
            200,
            "the site has no Assets workspace",
            hint="Enable Assets in Jira Service Management (Premium or Enterprise) on this site.",
        )

    def _pages(
        self,
        path: str,
        path_params: Mapping[str, str],
        params: Mapping[str, Any],
        headers: Mapping[str, str],
    ) -> Iterator[dict[str, Any]]:
        """``values`` of every page: the next one starts after what came back, until ``isLastPage``."""
        start = 0
        while True:
            page = self.http.request_json(
                "GET",
                path,
                path_params=path_params,
                params={**params, "start": start, "limit": PAGE_LIMIT},
                headers=headers,
            )
            yield from page["values"]
            if page["isLastPage"] or not page["values"]:
                return
            start += len(page["values"])
