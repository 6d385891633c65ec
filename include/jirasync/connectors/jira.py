"""Jira Cloud platform REST API v3: typed reads and batch writes, on the shared HTTP layer.

Every method is one endpoint contract from ``notes/api-contracts.md`` §1, with the
vendor's traps handled here so callers need not know them: ``/users/search`` is a
bare array that can come back short before the end, ``/search/jql`` pages by token
and may repeat issues, bulk create reports failures by element number, a bulk
transition offers only the transitions its issues share, takes one input per workflow
and answers with a task to poll, attachments need ``X-Atlassian-Token: no-check``,
properties have size limits.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, ClassVar, Literal, Self

import requests
from requests_toolbelt import MultipartEncoder

from jirasync.connectors.adf import text_to_adf
from jirasync.connectors.auth import BasicAuth, ConnectorAuth
from jirasync.connectors.budget import VendorBudget
from jirasync.connectors.clock import Clock
from jirasync.connectors.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    PermissionDeniedError,
)
from jirasync.connectors.http import DEFAULT_TIMEOUT, HttpClient
from jirasync.connectors.outcome import RecordOutcome
from jirasync.connectors.query_literals import jql_string
from jirasync.connectors.rate_limit import TokenBucket
from jirasync.connectors.retry import RetryPolicy

VENDOR = "Jira"
API = "/rest/api/3"
WEBHOOKS = "/rest/webhooks/1.0/webhook"  # Jira's admin webhooks, with a secret
USERS_PAGE_SIZE = 1000  # the most /users/search returns per call
GROUP_MEMBERS_PAGE_SIZE = 50  # /group/member accepts 1-50
GROUPS_PAGE_SIZE = 50  # /group/bulk returns at most 50
USER_SEARCH_PAGE_SIZE = 1000
ISSUE_SEARCH_PAGE_SIZE = 100
BULK_CREATE_LIMIT = 50
BULK_TRANSITION_LIMIT = 1000  # issues per bulk transition, and per read of the transitions they share
BULK_TASK_ENDED = frozenset({"COMPLETE", "FAILED", "CANCELLED", "DEAD"})
BULK_TASK_FIRST_WAIT = 0.5  # seconds before the first look at a bulk task; each next wait doubles
BULK_TASK_LONGEST_WAIT = 8.0
BULK_TASK_PATIENCE = 300.0  # seconds of waiting for a task before its moves are reported unconfirmed
BULK_PERMISSION = (
    "bulk transitions need the global permission 'Make bulk changes' and 'Transition issues' in the project"
)
PROPERTY_KEY_LIMIT = 255
PROPERTY_VALUE_LIMIT = 32_768  # characters of the JSON value, for issue and user properties

PropertyWrite = Literal["created", "updated"]


class JiraRequestError(ValueError):
    """A request the connector refuses to send because Jira would reject it."""


@dataclass(frozen=True)
class JiraUser:
    account_id: str
    account_type: str  # atlassian | app | customer | unknown
    display_name: str
    active: bool
    email: str | None  # None when the user's profile hides it
    time_zone: str | None = None
    locale: str | None = None

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> JiraUser:
        return cls(
            account_id=body["accountId"],
            account_type=body.get("accountType", "unknown"),
            display_name=body.get("displayName") or "",
            active=bool(body.get("active", False)),
            email=body.get("emailAddress") or None,
            time_zone=body.get("timeZone"),
            locale=body.get("locale"),
        )


@dataclass(frozen=True)
class JiraGroup:
    id: str
    name: str


@dataclass(frozen=True)
class JiraIssue:
    id: str
    key: str
    fields: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> JiraIssue:
        return cls(
            id=str(body["id"]),
            key=body.get("key", ""),
            fields=body.get("fields") or {},
            properties=body.get("properties") or {},
        )


@dataclass(frozen=True)
class Transition:
    id: str
    name: str
    to_status: str


@dataclass(frozen=True)
class StatusMove:
    """An issue to move to the status ``target``, from the status ``current`` it was last read in."""

    issue: str
    current: str
    target: str


@dataclass
class StatusMoves:
    """What ``move_issues`` did, by issue key, and the calls it made for it (retries not counted)."""

    moved: set[str] = field(default_factory=set)
    no_transition: set[str] = field(default_factory=set)  # no transition leads to the target from there
    failed: dict[str, RecordOutcome] = field(default_factory=dict)
    calls: int = 0


class AtlassianSiteConnector:
    """An API on a Jira site at ``site_url`` (``https://x.atlassian.net``, or a base path such as a
    sandbox's), reached with the site's credentials: the platform API and JSM share this."""

    vendor: ClassVar[str]

    def __init__(
        self,
        site_url: str,
        auth: ConnectorAuth,
        *,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        rate_limiter: TokenBucket | None = None,
        budget: VendorBudget | None = None,
        verify: bool | str = True,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.http = HttpClient(
            self.vendor,
            site_url,
            auth,
            clock=clock,
            retry=retry,
            rate_limiter=rate_limiter,
            budget=budget,
            verify=verify,
            timeout=timeout,
        )

    @classmethod
    def with_api_token(cls, site_url: str, email: str, api_token: str, **options: Any) -> Self:
        return cls(site_url, BasicAuth(email, api_token), **options)

    def close(self) -> None:
        self.http.close()


class JiraConnector(AtlassianSiteConnector):
    """The Jira Cloud platform REST API v3."""

    vendor = VENDOR

    def myself(self) -> dict[str, Any]:
        return self.http.request_json("GET", f"{API}/myself")

    # Users

    def users(self) -> Iterator[JiraUser]:
        """Every user of every account type, active or not, one ``/users/search`` page of 1,000 at a time.

        The array has no total and may come back short while more users follow (Jira
        drops users it does not show after paging), so ``startAt`` advances by the page
        size asked for and only an empty page ends the walk.
        """
        seen: set[str] = set()
        start = 0
        while True:
            page = self.http.request_json(
                "GET", f"{API}/users/search", params={"startAt": start, "maxResults": USERS_PAGE_SIZE}
            )
            if not page:
                return
            for body in page:
                if body["accountId"] not in seen:
                    seen.add(body["accountId"])
                    yield JiraUser.from_api(body)
            start += USERS_PAGE_SIZE

    def search_users(self, *, query: str | None = None, account_id: str | None = None) -> list[JiraUser]:
        """Active users matching ``query`` (name or email prefix) or with ``account_id``."""
        if (query is None) == (account_id is None):
            raise JiraRequestError("search_users needs exactly one of query= or account_id=")
        criteria = {"query": query} if query is not None else {"accountId": account_id}
        users: list[JiraUser] = []
        start = 0
        while True:
            page = self.http.request_json(
                "GET",
                f"{API}/user/search",
                params={**criteria, "startAt": start, "maxResults": USER_SEARCH_PAGE_SIZE},
            )
            users += [JiraUser.from_api(body) for body in page or []]
            if len(page or []) < USER_SEARCH_PAGE_SIZE:
                return users
            start += USER_SEARCH_PAGE_SIZE

    def groups(self) -> Iterator[JiraGroup]:
        """Every group of the site, so that groups named by people can be turned into the ids Jira wants."""
        start = 0
        while True:
            page = self.http.request_json(
                "GET", f"{API}/group/bulk", params={"startAt": start, "maxResults": GROUPS_PAGE_SIZE}
            )
            values = page.get("values") or []
            yield from (JiraGroup(id=g["groupId"], name=g["name"]) for g in values)
            if page.get("isLast", True) or not values:
                return
            start += len(values)

    def group_members(self, group_id: str, *, include_inactive: bool = False) -> Iterator[JiraUser]:
        start = 0
        while True:
            page = self.http.request_json(
                "GET",
                f"{API}/group/member",
                params={
                    "groupId": group_id,
                    "includeInactiveUsers": str(include_inactive).lower(),
                    "startAt": start,
                    "maxResults": GROUP_MEMBERS_PAGE_SIZE,
                },
            )
            values = page.get("values") or []
            yield from (JiraUser.from_api(body) for body in values)
            if page.get("isLast", True) or not values:
                return
            start += len(values)

    # User properties

    def user_property(self, account_id: str, key: str) -> Any | None:
        """The property's value, or None when the user has no such property."""
        response = self.http.request(
            "GET",
            f"{API}/user/properties/{{propertyKey}}",
            path_params={"propertyKey": key},
            params={"accountId": account_id},
            handled_statuses=(404,),
        )
        return None if response.status_code == 404 else response.json().get("value")

    def put_user_property(self, account_id: str, key: str, value: Any) -> PropertyWrite:
        body = _checked_property(f"user property {key!r} of user {account_id}", key, value)
        response = self.http.request(
            "PUT",
            f"{API}/user/properties/{{propertyKey}}",
            path_params={"propertyKey": key},
            params={"accountId": account_id},
            data=body,
            headers={"Content-Type": "application/json"},
        )
        return "created" if response.status_code == 201 else "updated"

    def delete_user_property(self, account_id: str, key: str) -> None:
        self.http.request(
            "DELETE",
            f"{API}/user/properties/{{propertyKey}}",
            path_params={"propertyKey": key},
            params={"accountId": account_id},
        )

    def user_property_keys(self, account_id: str) -> list[str]:
        body = self.http.request_json("GET", f"{API}/user/properties", params={"accountId": account_id})
        return [entry["key"] for entry in body.get("keys", [])]

    # Issues

    def search_issues(
        self,
        jql: str,
        fields: Sequence[str],
        *,
        properties: Sequence[str] = (),
        reconcile_issues: Sequence[int] = (),
        page_size: int = ISSUE_SEARCH_PAGE_SIZE,
    ) -> Iterator[JiraIssue]:
        """Issues matching a bounded ``jql`` with the ``fields`` named (Jira returns only ``id`` otherwise).

        Pages follow ``nextPageToken`` until it is absent or ``isLast``; an issue seen on
        an earlier page is not yielded again.
        """
        if not fields:
            raise JiraRequestError(
                f"search_issues({jql!r}) needs the fields to return, e.g. ['summary', 'status']"
            )
        body: dict[str, Any] = {"jql": jql, "fields": list(fields), "maxResults": page_size}
        if properties:
            body["properties"] = list(properties)
        if reconcile_issues:
            body["reconcileIssues"] = list(reconcile_issues)
        seen: set[str] = set()
        while True:
            page = self.http.request_json("POST", f"{API}/search/jql", json=body, idempotent=True)
            for issue in page.get("issues", []):
                if str(issue["id"]) not in seen:
                    seen.add(str(issue["id"]))
                    yield JiraIssue.from_api(issue)
            token = page.get("nextPageToken")
            if not token or page.get("isLast") or token == body.get("nextPageToken"):
                return
            body["nextPageToken"] = token

    def approximate_count(self, jql: str) -> int:
        body = self.http.request_json(
            "POST", f"{API}/search/approximate-count", json={"jql": jql}, idempotent=True
        )
        return int(body["count"])

    def create_issue(
        self, fields: Mapping[str, Any], *, properties: Mapping[str, Any] | None = None
    ) -> JiraIssue:
        body = self.http.request_json("POST", f"{API}/issue", json=issue_update(fields, properties))
        return JiraIssue(id=str(body["id"]), key=body["key"])

    def create_issues(self, issues: Sequence[Mapping[str, Any]]) -> list[RecordOutcome]:
        """Create issues in bulk calls of 50; one outcome per input issue, in input order, ``id`` = issue key.

        Each item is ``{"fields": {...}}`` with optional ``"properties"``/``"update"``, as Jira
        takes it. A batch that fails as a whole (after retries) fails each of its issues
        with the batch's error; bad credentials or permissions stop the run.
        """
        outcomes: list[RecordOutcome] = []
        for start in range(0, len(issues), BULK_CREATE_LIMIT):
            outcomes += self._create_batch(list(issues[start : start + BULK_CREATE_LIMIT]))
        return outcomes

    def _create_batch(self, batch: list[Mapping[str, Any]]) -> list[RecordOutcome]:
        try:
            response = self.http.request(
                "POST", f"{API}/issue/bulk", json={"issueUpdates": batch}, handled_statuses=(400,)
            )
        except (AuthenticationError, PermissionDeniedError):
            raise
        except ApiError as error:
            return [RecordOutcome.failure(str(error), retryable=error.retryable)] * len(batch)
        body = response.json()
        failures = {
            int(entry["failedElementNumber"]): entry
            for entry in body.get("errors", [])
            if entry.get("failedElementNumber") is not None
        }
        if response.status_code == 400 and not failures:  # the request itself was refused
            message = "; ".join(body.get("errorMessages") or []) or json.dumps(body)[:500]
            return [RecordOutcome.failure(f"Jira POST {API}/issue/bulk: {message}", retryable=False)] * len(
                batch
            )
        created = iter(body.get("issues", []))
        outcomes = []
        for number in range(len(batch)):
            if number in failures:
                outcomes.append(_bulk_failure(failures[number]))
            else:
                issue = next(created)
                outcomes.append(RecordOutcome.success(issue["key"]))
        return outcomes

    def edit_issue(
        self,
        issue: str,
        *,
        fields: Mapping[str, Any] | None = None,
        update: Mapping[str, Any] | None = None,
        notify_users: bool = False,
    ) -> None:
        """Set ``fields`` and apply ``update`` operations; watchers are not notified of a sync's edits."""
        body: dict[str, Any] = {}
        if fields:
            body["fields"] = dict(fields)
        if update:
            body["update"] = dict(update)
        self.http.request(
            "PUT",
            f"{API}/issue/{{issueIdOrKey}}",
            path_params={"issueIdOrKey": issue},
            params={"notifyUsers": str(notify_users).lower()},
            json=body,
        )

    def transitions(self, issue: str) -> list[Transition]:
        body = self.http.request_json(
            "GET", f"{API}/issue/{{issueIdOrKey}}/transitions", path_params={"issueIdOrKey": issue}
        )
        return [
            Transition(id=str(t["id"]), name=t.get("name", ""), to_status=t.get("to", {}).get("name", ""))
            for t in body.get("transitions", [])
        ]

    def move_issues(self, moves: Sequence[StatusMove]) -> StatusMoves:
        """Move each issue to its target status (by name, case-insensitive) in the fewest calls.

        Issues that share their status and target move together, up to 1,000 a time: one read of
        the transitions they have in common (the only ones Jira's bulk transition offers, so issues
        in other statuses go in other groups), one bulk transition, and the polls of its task until
        it ends. An issue that moves alone takes its own transitions: two calls and no task to wait
        for. Bad credentials or a missing permission stop the run; any other error fails the issues
        it concerns, each reported in the result.
        """
        result = StatusMoves()
        groups: dict[tuple[str, str], list[StatusMove]] = {}
        for move in moves:
            groups.setdefault((move.current.casefold(), move.target.casefold()), []).append(move)
        for group in groups.values():
            keys = [move.issue for move in group]
            for start in range(0, len(keys), BULK_TRANSITION_LIMIT):
                chunk = keys[start : start + BULK_TRANSITION_LIMIT]
                if len(chunk) == 1:
                    self._move_alone(chunk[0], group[0].target, result)
                else:
                    self._move_together(chunk, group[0].target, result)
        return result

    def _move_alone(self, key: str, target: str, result: StatusMoves) -> None:
        """The issue's own transitions, then the one leading to ``target``."""
        try:
            result.calls += 1
            available = self.transitions(key)
            match = next((t for t in available if t.to_status.casefold() == target.casefold()), None)
            if match is None:
                result.no_transition.add(key)
                return
            result.calls += 1
            self.http.request(
                "POST",
                f"{API}/issue/{{issueIdOrKey}}/transitions",
                path_params={"issueIdOrKey": key},
                json={"transition": {"id": match.id}},
            )
            result.moved.add(key)
        except (AuthenticationError, PermissionDeniedError):
            raise
        except ApiError as error:
            result.failed[key] = RecordOutcome.failure(str(error), retryable=error.retryable)

    def _move_together(self, keys: list[str], target: str, result: StatusMoves) -> None:
        try:
            self._bulk_move(keys, target, result)
        except AuthenticationError:
            raise
        except PermissionDeniedError as error:
            raise error.with_detail(BULK_PERMISSION) from None
        except ApiError as error:
            for key in keys:
                if key not in result.moved and key not in result.no_transition:
                    result.failed[key] = RecordOutcome.failure(str(error), retryable=error.retryable)

    def _bulk_move(self, keys: list[str], target: str, result: StatusMoves) -> None:
        """One bulk transition for ``keys``: one transition input per workflow, as Jira requires."""
        try:
            offered = self._shared_transitions(keys, result)
        except BadRequestError:  # an issue is gone or hidden and Jira refuses the lot: each moves alone
            for key in keys:
                self._move_alone(key, target, result)
            return
        inputs = []
        unlisted = set(keys)
        for workflow in offered:
            issues = [key for key in workflow.get("issues") or [] if key in unlisted]
            unlisted -= set(issues)
            transition_id = _bulk_transition_to(workflow, target)
            if transition_id is None:
                result.no_transition.update(issues)
            elif issues:
                inputs.append({"selectedIssueIdsOrKeys": issues, "transitionId": transition_id})
        result.no_transition.update(unlisted)  # Jira offers them no transition at all
        if not inputs:
            return
        result.calls += 1
        task = self.http.request_json(
            "POST",
            f"{API}/bulk/issues/transition",
            json={"bulkTransitionInputs": inputs, "sendBulkNotification": False},
        )
        sent = [key for entry in inputs for key in entry["selectedIssueIdsOrKeys"]]
        self._settle(str(task["taskId"]), sent, target, result)

    def _shared_transitions(self, keys: list[str], result: StatusMoves) -> list[dict[str, Any]]:
        """The transitions the issues have in common, one entry per workflow, page after page."""
        params = {"issueIdsOrKeys": ",".join(keys)}
        workflows: list[dict[str, Any]] = []
        while True:
            result.calls += 1
            page = self.http.request_json("GET", f"{API}/bulk/issues/transition", params=params)
            workflows += page.get("availableTransitions") or []
            cursor = page.get("startingAfter")
            if not cursor or cursor == params.get("startingAfter"):
                return workflows
            params["startingAfter"] = cursor

    def _settle(self, task_id: str, sent: list[str], target: str, result: StatusMoves) -> None:
        """Wait for the task; when it moved fewer issues than sent, their statuses say which moved."""
        progress, waited = self._bulk_task_end(task_id, result)
        processed = progress.get("processedAccessibleIssues") or []
        if progress.get("status") == "COMPLETE" and len(processed) == len(sent):
            result.moved.update(sent)
            return
        # Jira names the issues it failed by id: read the issues, by key, to know each one's fate.
        reasons = progress.get("failedAccessibleIssues") or {}
        listed = ", ".join(jql_string(key) for key in sent)
        found = {issue.key: issue for issue in self.search_issues(f"key in ({listed})", ["status"])}
        result.calls += max(1, math.ceil(len(found) / ISSUE_SEARCH_PAGE_SIZE))
        state = (
            progress.get("status")
            if progress.get("status") in BULK_TASK_ENDED
            else f"still {progress.get('status')} after {waited:.0f} s"
        )
        for key in sent:
            issue = found.get(key)
            status = (issue.fields.get("status") or {}).get("name") if issue else None
            if str(status).casefold() == target.casefold():
                result.moved.add(key)
                continue
            why = "; ".join(reasons.get(issue.id, [])) if issue else "the issue is gone"
            result.failed[key] = RecordOutcome.failure(
                f"Jira's bulk transition task {task_id} ({state}) did not move issue {key} to {target}: "
                f"{why or 'no reason given'}",
                retryable=True,
            )

    def _bulk_task_end(self, task_id: str, result: StatusMoves) -> tuple[dict[str, Any], float]:
        """The task's last progress and the seconds waited: polled after 0.5 s, then after waits
        that double up to 8 s, until it ends or 5 minutes of waiting have passed."""
        wait, waited = BULK_TASK_FIRST_WAIT, 0.0
        while True:
            self.http.clock.sleep(wait)
            waited += wait
            result.calls += 1
            progress = self.http.request_json(
                "GET", f"{API}/bulk/queue/{{taskId}}", path_params={"taskId": task_id}
            )
            if progress.get("status") in BULK_TASK_ENDED or waited >= BULK_TASK_PATIENCE:
                return progress, waited
            wait = min(wait * 2, BULK_TASK_LONGEST_WAIT)

    def add_comment(
        self,
        issue: str,
        body: str | Mapping[str, Any],
        *,
        visibility: Mapping[str, str] | None = None,
        properties: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Add a comment; plain text is turned into ADF. ``properties`` are set in the same call, so the
        comment never exists without them. Returns Jira's comment (``id``, ``body``, ...)."""
        payload: dict[str, Any] = {"body": text_to_adf(body) if isinstance(body, str) else dict(body)}
        if visibility:
            payload["visibility"] = dict(visibility)
        if properties:
            payload["properties"] = [{"key": key, "value": value} for key, value in properties.items()]
        return self.http.request_json(
            "POST", f"{API}/issue/{{issueIdOrKey}}/comment", path_params={"issueIdOrKey": issue}, json=payload
        )

    def update_comment(self, issue: str, comment_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.http.request_json(
            "PUT",
            f"{API}/issue/{{issueIdOrKey}}/comment/{{id}}",
            path_params={"issueIdOrKey": issue, "id": comment_id},
            json={"body": dict(body)},
        )

    def delete_comment(self, issue: str, comment_id: str) -> None:
        self.http.request(
            "DELETE",
            f"{API}/issue/{{issueIdOrKey}}/comment/{{id}}",
            path_params={"issueIdOrKey": issue, "id": comment_id},
        )

    def comments(self, issue: str, *, with_properties: bool = False) -> Iterator[dict[str, Any]]:
        """The issue's comments, oldest first; ``with_properties`` adds each one's entity properties."""
        start = 0
        expand = {"expand": "properties"} if with_properties else {}
        while True:
            page = self.http.request_json(
                "GET",
                f"{API}/issue/{{issueIdOrKey}}/comment",
                path_params={"issueIdOrKey": issue},
                params={"startAt": start, "maxResults": 100, "orderBy": "created", **expand},
            )
            values = page.get("comments", [])
            yield from values
            start += len(values)
            if not values or start >= page.get("total", start):
                return

    def attachments(self, issue: str) -> list[dict[str, Any]]:
        """The issue's files (its ``attachment`` field): ``id``, ``filename``, ``size``, ``mimeType``."""
        found = self.http.request_json(
            "GET",
            f"{API}/issue/{{issueIdOrKey}}",
            path_params={"issueIdOrKey": issue},
            params={"fields": "attachment"},
        )
        return list((found.get("fields") or {}).get("attachment") or [])

    def open_attachment(self, attachment_id: str) -> requests.Response:
        """A file's content, unread: read it in chunks, then close the answer."""
        return self.http.request(
            "GET",
            f"{API}/attachment/content/{{id}}",
            path_params={"id": attachment_id},
            stream=True,
        )

    def add_attachment(
        self, issue: str, filename: str, content: BinaryIO, mime_type: str = "application/octet-stream"
    ) -> list[dict[str, Any]]:
        """Attach a file, read from ``content`` as it is sent (Jira wants the part named ``file``)."""

        def body() -> MultipartEncoder:
            content.seek(0)
            return MultipartEncoder({"file": (filename, content, mime_type)})

        return self.http.request_json(
            "POST",
            f"{API}/issue/{{issueIdOrKey}}/attachments",
            path_params={"issueIdOrKey": issue},
            upload=body,
            headers={"X-Atlassian-Token": "no-check"},
        )

    def delete_attachment(self, attachment_id: str) -> None:
        self.http.request("DELETE", f"{API}/attachment/{{id}}", path_params={"id": attachment_id})

    def issue_property(self, issue: str, key: str) -> Any | None:
        response = self.http.request(
            "GET",
            f"{API}/issue/{{issueIdOrKey}}/properties/{{propertyKey}}",
            path_params={"issueIdOrKey": issue, "propertyKey": key},
            handled_statuses=(404,),
        )
        return None if response.status_code == 404 else response.json().get("value")

    def put_issue_property(self, issue: str, key: str, value: Any) -> PropertyWrite:
        body = _checked_property(f"issue property {key!r} of issue {issue}", key, value)
        response = self.http.request(
            "PUT",
            f"{API}/issue/{{issueIdOrKey}}/properties/{{propertyKey}}",
            path_params={"issueIdOrKey": issue, "propertyKey": key},
            data=body,
            headers={"Content-Type": "application/json"},
        )
        return "created" if response.status_code == 201 else "updated"

    def delete_issue_property(self, issue: str, key: str) -> None:
        self.http.request(
            "DELETE",
            f"{API}/issue/{{issueIdOrKey}}/properties/{{propertyKey}}",
            path_params={"issueIdOrKey": issue, "propertyKey": key},
        )

    def issue_property_keys(self, issue: str) -> list[str]:
        body = self.http.request_json(
            "GET", f"{API}/issue/{{issueIdOrKey}}/properties", path_params={"issueIdOrKey": issue}
        )
        return [entry["key"] for entry in body.get("keys", [])]

    # Remote links: a link to a record elsewhere, found and updated by its ``globalId``

    def remote_links(self, issue: str) -> list[dict[str, Any]]:
        return self.http.request_json(
            "GET", f"{API}/issue/{{issueIdOrKey}}/remotelink", path_params={"issueIdOrKey": issue}
        )

    def put_remote_link(
        self,
        issue: str,
        global_id: str,
        url: str,
        title: str,
        *,
        application: Mapping[str, str] | None = None,
    ) -> PropertyWrite:
        """Create the issue's link with ``global_id``, or update it: Jira keeps one link per globalId."""
        body: dict[str, Any] = {"globalId": global_id, "object": {"url": url, "title": title}}
        if application:
            body["application"] = dict(application)
        response = self.http.request(
            "POST",
            f"{API}/issue/{{issueIdOrKey}}/remotelink",
            path_params={"issueIdOrKey": issue},
            json=body,
            idempotent=True,  # an upsert by globalId: sending it twice leaves one link
        )
        return "created" if response.status_code == 201 else "updated"

    def delete_remote_link(self, issue: str, global_id: str) -> None:
        self.http.request(
            "DELETE",
            f"{API}/issue/{{issueIdOrKey}}/remotelink",
            path_params={"issueIdOrKey": issue},
            params={"globalId": global_id},
            handled_statuses=(404,),
        )

    # Admin webhooks (jirasync.events registers the syncs' own)

    def webhooks(self) -> list[dict[str, Any]]:
        return self.http.request_json("GET", WEBHOOKS)

    def create_webhook(self, webhook: Mapping[str, Any]) -> dict[str, Any]:
        return self.http.request_json("POST", WEBHOOKS, json=dict(webhook))

    def update_webhook(self, webhook_id: str, webhook: Mapping[str, Any]) -> dict[str, Any]:
        return self.http.request_json(
            "PUT", f"{WEBHOOKS}/{{webhookId}}", path_params={"webhookId": webhook_id}, json=dict(webhook)
        )

    def delete_webhook(self, webhook_id: str) -> None:
        self.http.request(
            "DELETE",
            f"{WEBHOOKS}/{{webhookId}}",
            path_params={"webhookId": webhook_id},
            handled_statuses=(404,),
        )

    # Create metadata

    def create_fields(self, project: str, issue_type: str) -> list[dict[str, Any]]:
        """The fields of the create screen of ``issue_type`` (a name) in ``project``, each with
        ``fieldId``, ``name``, ``required`` and ``hasDefaultValue``."""
        types = self._create_meta_pages(
            f"{API}/issue/createmeta/{{project}}/issuetypes", {"project": project}, "issueTypes"
        )
        found = next((t for t in types if str(t.get("name", "")).casefold() == issue_type.casefold()), None)
        if found is None:
            names = ", ".join(sorted(str(t.get("name")) for t in types)) or "none"
            raise JiraRequestError(
                f"project {project} has no issue type {issue_type!r} to create issues of; it has: {names}"
            )
        return self._create_meta_pages(
            f"{API}/issue/createmeta/{{project}}/issuetypes/{{issueTypeId}}",
            {"project": project, "issueTypeId": str(found["id"])},
            "fields",
        )

    def _create_meta_pages(self, path: str, path_params: dict[str, str], name: str) -> list[dict[str, Any]]:
        values: list[dict[str, Any]] = []
        while True:
            page = self.http.request_json(
                "GET", path, path_params=path_params, params={"startAt": len(values), "maxResults": 200}
            )
            found = page.get(name) or page.get("results") or []
            values += found
            if not found or len(values) >= int(page.get("total", len(values))):
                return values


def issue_update(fields: Mapping[str, Any], properties: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The body of a new issue (one item of ``create_issues``): its fields and entity properties."""
    body: dict[str, Any] = {"fields": dict(fields)}
    if properties:
        body["properties"] = [{"key": key, "value": value} for key, value in properties.items()]
    return body


def _bulk_failure(entry: Mapping[str, Any]) -> RecordOutcome:
    details = entry.get("elementErrors") or {}
    messages = list(details.get("errorMessages") or [])
    messages += [f"{name}: {message}" for name, message in (details.get("errors") or {}).items()]
    status = int(entry.get("status") or 400)
    return RecordOutcome.failure(
        f"Jira bulk create refused the issue (HTTP {status}): {'; '.join(messages) or 'no reason given'}",
        retryable=status == 429 or status >= 500,
    )


def _bulk_transition_to(workflow: Mapping[str, Any], status: str) -> str | None:
    """The id of the transition a workflow's issues share that leads to ``status``, if any."""
    for transition in workflow.get("transitions") or []:
        if str((transition.get("to") or {}).get("statusName", "")).casefold() == status.casefold():
            return str(transition["transitionId"])
    return None


def property_text(value: Any) -> str:
    """A property value as the JSON text Jira stores and measures against PROPERTY_VALUE_LIMIT."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _checked_property(what: str, key: str, value: Any) -> str:
    """The JSON text of a property value, refused before sending if Jira would reject it."""
    if not key or len(key) > PROPERTY_KEY_LIMIT:
        raise JiraRequestError(
            f"{what}: the key must be 1 to {PROPERTY_KEY_LIMIT} characters, got {len(key)}"
        )
    text = property_text(value)
    if len(text) > PROPERTY_VALUE_LIMIT:
        raise JiraRequestError(
            f"{what}: the value is {len(text):,} characters of JSON, more than Jira's {PROPERTY_VALUE_LIMIT:,}. "
            "Store less in it (fewer fields, shorter texts) or split it over several keys."
        )
    return text
