"""Salesforce REST: SOQL reads with ``nextRecordsUrl``, sObject Collections writes of 200, change windows.

Logging in is simple-salesforce's job (every flow it knows: SOAP username + password +
security token, OAuth password and client credentials, JWT): the connector takes a
``SalesforceLogin``, a function that builds a logged-in ``simple_salesforce.Salesforce`` on
the session it is given, and calls it again whenever Salesforce answers 401
``INVALID_SESSION_ID``. The REST calls themselves go through the shared ``HttpClient`` rather
than simple-salesforce's, because that is where retries on 5xx and dropped connections, call
counts per endpoint and redaction live; simple-salesforce has none of them.

The instance URL is known only after login, so requests are built against a placeholder
base and ``SalesforceSessionAuth`` points each one at the instance as it signs it.

A spent daily allowance (403 ``REQUEST_LIMIT_EXCEEDED``, "TotalRequests") is never retried: it
raises ``DailyLimitExceededError`` saying when calls work again. The same 403 for too many long
requests at once ("ConcurrentPerOrgLongTxn") passes as others finish: it is backed off and retried.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from requests_toolbelt import MultipartEncoder
from simple_salesforce import Salesforce
from simple_salesforce.api import DEFAULT_API_VERSION
from simple_salesforce.exceptions import SalesforceAuthenticationFailed

from jirasync.connectors.auth import AccessToken, RefreshingTokenAuth
from jirasync.connectors.clock import Clock
from jirasync.connectors.errors import (
    AuthenticationError,
    ConnectionFailedError,
    FatalApiError,
    PermissionDeniedError,
    ServerError,
)
from jirasync.connectors.http import DEFAULT_TIMEOUT, CallCounter, HttpClient
from jirasync.connectors.outcome import RecordOutcome
from jirasync.connectors.redaction import protect_logger, register_secret
from jirasync.connectors.retry import RetryPolicy

if TYPE_CHECKING:  # the budget imports the timeouts of jirasync.connectors.http
    from jirasync.connectors.budget import VendorBudget

VENDOR = "Salesforce"
COLLECTION_LIMIT = 200
SESSION_SECONDS = 2 * 3600  # Salesforce's default session timeout; a 401 renews earlier if need be
INSTANCE_PLACEHOLDER = "https://salesforce-instance.invalid"
# Per-record failures that a later attempt can get past: the record itself was fine.
RETRYABLE_RECORD_ERRORS = frozenset(
    {"ALL_OR_NONE_OPERATION_ROLLED_BACK", "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"}
)
_LOGIN_PATH = re.compile(r"/services/(?:oauth2/token|Soap/u/[^/]+)$")
_ID = re.compile(r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?")

protect_logger("simple_salesforce")
protect_logger("simple_salesforce.api")

SalesforceLogin = Callable[[requests.Session], Salesforce]
"""Builds a logged-in ``simple_salesforce.Salesforce`` that sends its requests through the given session."""


def password_login(
    username: str, password: str, security_token: str, domain: str = "login"
) -> SalesforceLogin:
    """The SOAP username + password + security token login, for use outside Airflow (tests, scripts)."""
    register_secret(password)
    register_secret(security_token)
    return lambda session: Salesforce(
        username=username, password=password, security_token=security_token, domain=domain, session=session
    )


class SalesforceHostRedirect(HTTPAdapter):
    """Sends requests for ``*.salesforce.com`` to another server, keeping the ``Host`` header.

    simple-salesforce always calls ``https://<domain>.salesforce.com``; mounted on a session,
    this adapter makes it (and the connector) reach the sandbox, which answers by ``Host``.
    ``ca_bundle`` is the certificate authority to trust there (the sandbox's ``ca.pem``).
    """

    def __init__(self, target_url: str, ca_bundle: str | None = None) -> None:
        super().__init__()
        self.target = urlsplit(target_url)
        self.ca_bundle = ca_bundle

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url or "")
        if (parts.hostname or "").endswith(".salesforce.com"):
            request.headers["Host"] = parts.netloc
            request.url = urlunsplit((self.target.scheme, self.target.netloc, parts.path, parts.query, ""))
            if self.ca_bundle:
                kwargs["verify"] = self.ca_bundle
        return super().send(request, **kwargs)


class SalesforceSessionAuth(RefreshingTokenAuth):
    """A Salesforce session from simple-salesforce's login, renewed by logging in again."""

    def __init__(self, login: SalesforceLogin, session: requests.Session, clock: Clock | None = None) -> None:
        super().__init__(VENDOR, clock)
        self.session = session  # the connector's: same redirect and counting as the REST calls
        self._login = login
        self.instance_url = ""

    def fetch_token(self) -> AccessToken:
        try:
            salesforce = self._login(self.session)
        except SalesforceAuthenticationFailed as error:
            code = error.code
            error_class = ServerError if isinstance(code, int) and code >= 500 else AuthenticationError
            raise error_class(
                VENDOR, "POST", "login", code if isinstance(code, int) else None, str(error)
            ) from None
        except requests.RequestException as error:
            raise ConnectionFailedError(VENDOR, "POST", "login", None, f"login: {error}") from None
        register_secret(salesforce.session_id)
        self.instance_url = f"https://{salesforce.sf_instance}".rstrip("/")
        return AccessToken(salesforce.session_id, self.clock.time() + SESSION_SECONDS)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.access_token()}"
        if request.url and request.url.startswith(INSTANCE_PLACEHOLDER):
            request.url = self.instance_url + request.url[len(INSTANCE_PLACEHOLDER) :]
        return request


def over_concurrent_limit(response: requests.Response) -> bool:
    """Salesforce's 403 ``REQUEST_LIMIT_EXCEEDED`` for requests over the org's concurrent limit, not
    for its spent daily allowance."""
    return (
        response.status_code == 403
        and "REQUEST_LIMIT_EXCEEDED" in response.text
        and "TotalRequests" not in response.text
    )


class DailyLimitExceededError(FatalApiError):
    """403 ``REQUEST_LIMIT_EXCEEDED``: the org's daily API allowance is spent. Retrying only spends more."""


@dataclass(frozen=True)
class UpdatedWindow:
    ids: list[str]
    latest_date_covered: str  # start the next window here


@dataclass(frozen=True)
class DeletedRecord:
    id: str
    deleted_date: str


@dataclass(frozen=True)
class DeletedWindow:
    records: list[DeletedRecord]
    earliest_date_available: str
    latest_date_covered: str


class SalesforceConnector:
    """Reads and writes one Salesforce org. ``calls`` counts every request, the logins included."""

    def __init__(
        self,
        login: SalesforceLogin,
        *,
        api_version: str = DEFAULT_API_VERSION,
        redirect_to: str | None = None,
        ca_bundle: str | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        budget: VendorBudget | None = None,
    ) -> None:
        """``redirect_to`` (with ``ca_bundle``) sends every ``*.salesforce.com`` request to a test server."""
        self.budget = budget
        self.http = HttpClient(
            VENDOR,
            INSTANCE_PLACEHOLDER,
            retry=retry,
            clock=clock,
            timeout=timeout,
            budget=budget,
            is_rate_limit=over_concurrent_limit,
        )
        if redirect_to:
            self.http.session.mount("https://", SalesforceHostRedirect(redirect_to, ca_bundle))
        self.http.session.hooks["response"].append(self._note_response)
        self.http.auth = SalesforceSessionAuth(login, self.http.session, clock)
        self.data = f"/services/data/v{api_version}"
        self.api_usage: str | None = None  # the last Sforce-Limit-Info, e.g. "api-usage=18/15000"

    @property
    def calls(self) -> CallCounter:
        return self.http.calls

    def close(self) -> None:
        self.http.close()

    def query(
        self, soql: str, *, include_deleted: bool = False, batch_size: int | None = None
    ) -> Iterator[dict]:
        """Every record of a SOQL query (``queryAll`` with ``include_deleted``), batch after batch.

        ``batch_size`` (200 to 2,000) asks Salesforce for smaller batches; by default each call
        brings up to 2,000 records. Records come without their ``attributes``.
        """
        resource = "queryAll" if include_deleted else "query"
        headers = {"Sforce-Query-Options": f"batchSize={batch_size}"} if batch_size else None
        answer = self._json("GET", f"{self.data}/{resource}", params={"q": soql}, headers=headers)
        while True:
            yield from (_without_attributes(record) for record in answer["records"])
            if answer["done"] or not answer.get("nextRecordsUrl"):
                return
            answer = self._json(
                "GET",
                answer["nextRecordsUrl"],
                headers=headers,
                endpoint=f"GET {self.data}/{resource}/{{locator}}",
            )

    def get(self, sobject: str, record_id: str, fields: list[str] | None = None) -> dict[str, Any]:
        params = {"fields": ",".join(fields)} if fields else None
        record = self._json(
            "GET",
            f"{self.data}/sobjects/{{sobject}}/{{record_id}}",
            path_params={"sobject": sobject, "record_id": _checked_id(record_id, sobject)},
            params=params,
        )
        return _without_attributes(record)

    def describe(self, sobject: str) -> dict[str, Any]:
        return self._json(
            "GET", f"{self.data}/sobjects/{{sobject}}/describe", path_params={"sobject": sobject}
        )

    def limits(self) -> dict[str, Any]:
        return self._json("GET", f"{self.data}/limits")

    def create(
        self, sobject: str, records: list[dict[str, Any]], *, all_or_none: bool = False
    ) -> list[RecordOutcome]:
        """Create records through sObject Collections, 200 per call; one outcome per record, in order."""
        outcomes: list[RecordOutcome] = []
        for chunk in _chunks(records):
            body = {
                "allOrNone": all_or_none,
                "records": [{"attributes": {"type": sobject}, **r} for r in chunk],
            }
            answer = self._json("POST", f"{self.data}/composite/sobjects", json=body)
            outcomes += [_outcome(result, None) for result in answer]
        return outcomes

    def update(
        self, sobject: str, records: list[dict[str, Any]], *, all_or_none: bool = False
    ) -> list[RecordOutcome]:
        """Update records (each with its ``Id``), 200 per call. Safe to resend, so it is retried like a GET."""
        for index, record in enumerate(records):
            if not record.get("Id"):
                raise ValueError(
                    f"Salesforce {sobject} update: record {index} has no Id; add the record's Id field"
                )
        outcomes: list[RecordOutcome] = []
        for chunk in _chunks(records):
            body = {
                "allOrNone": all_or_none,
                "records": [{"attributes": {"type": sobject}, **r} for r in chunk],
            }
            answer = self._json("PATCH", f"{self.data}/composite/sobjects", json=body, idempotent=True)
            outcomes += [_outcome(result, record["Id"]) for result, record in zip(answer, chunk, strict=True)]
        return outcomes

    def delete(self, record_ids: list[str], *, all_or_none: bool = False) -> list[RecordOutcome]:
        """Delete records (to the recycle bin), 200 per call."""
        outcomes: list[RecordOutcome] = []
        for chunk in _chunks(record_ids):
            params = {"ids": ",".join(chunk), "allOrNone": str(all_or_none).lower()}
            answer = self._json("DELETE", f"{self.data}/composite/sobjects", params=params)
            outcomes += [_outcome(result, record_id) for result, record_id in zip(answer, chunk, strict=True)]
        return outcomes

    def updated(self, sobject: str, start: dt.datetime, end: dt.datetime) -> UpdatedWindow:
        """Ids of records changed in [start, end): the last 30 days only, to the minute."""
        answer = self._json(
            "GET",
            f"{self.data}/sobjects/{{sobject}}/updated/",
            path_params={"sobject": sobject},
            params=_window(sobject, start, end),
        )
        return UpdatedWindow(list(answer["ids"]), answer["latestDateCovered"])

    def deleted(self, sobject: str, start: dt.datetime, end: dt.datetime) -> DeletedWindow:
        """Records deleted in [start, end): the last 30 days only."""
        answer = self._json(
            "GET",
            f"{self.data}/sobjects/{{sobject}}/deleted/",
            path_params={"sobject": sobject},
            params=_window(sobject, start, end),
        )
        return DeletedWindow(
            [DeletedRecord(r["id"], r["deletedDate"]) for r in answer["deletedRecords"]],
            answer["earliestDateAvailable"],
            answer["latestDateCovered"],
        )

    def case_comments(self, case_id: str) -> list[dict[str, Any]]:
        case_id = _checked_id(case_id, "Case")
        return list(
            self.query(
                "SELECT Id, ParentId, CommentBody, IsPublished, CreatedDate, CreatedById, SystemModstamp "
                f"FROM CaseComment WHERE ParentId = '{case_id}' ORDER BY CreatedDate"
            )
        )

    def case_comments_of(self, case_ids: list[str]) -> list[dict[str, Any]]:
        """The comments of these cases, with their author's name, 200 cases a query."""
        found: list[dict[str, Any]] = []
        for chunk in _chunks([_checked_id(case_id, "Case") for case_id in case_ids]):
            listed = ", ".join(f"'{case_id}'" for case_id in chunk)
            found += self.query(f"{CASE_COMMENT_SELECT} WHERE ParentId IN ({listed}) ORDER BY CreatedDate")
        return found

    def case_comments_modified_since(self, since: dt.datetime) -> list[dict[str, Any]]:
        """Every case comment changed at or after ``since``, of every case, in one query; deleted ones
        too (``queryAll``), so a deletion is seen."""
        stamp = since.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        query = f"{CASE_COMMENT_SELECT} WHERE SystemModstamp >= {stamp} ORDER BY SystemModstamp"
        return list(self.query(query, include_deleted=True))

    def add_case_comments(self, comments: list[dict[str, Any]]) -> list[RecordOutcome]:
        """``[{"ParentId": case id, "CommentBody": text, "IsPublished": bool}]``, 200 per call."""
        return self.create("CaseComment", comments)

    def attachments(self, parent_ids: list[str]) -> list[dict[str, Any]]:
        """The legacy Attachments on these records (without their content: see ``open_attachment``),
        200 records a query."""
        return self._of_records(
            "SELECT Id, ParentId, Name, ContentType, BodyLength, CreatedDate FROM Attachment "
            "WHERE ParentId IN ({ids}) ORDER BY CreatedDate",
            parent_ids,
        )

    def files(self, record_ids: list[str]) -> list[dict[str, Any]]:
        """The Salesforce Files shared with these records: one ContentDocumentLink each, with its
        document's latest version, title, extension and size (no content: see ``open_file``), 200
        records a query."""
        return self._of_records(
            "SELECT ContentDocumentId, LinkedEntityId, ContentDocument.LatestPublishedVersionId, "
            "ContentDocument.Title, ContentDocument.FileExtension, ContentDocument.ContentSize "
            "FROM ContentDocumentLink WHERE LinkedEntityId IN ({ids}) ORDER BY ContentDocument.CreatedDate",
            record_ids,
        )

    def open_attachment(self, attachment_id: str) -> requests.Response:
        """A legacy Attachment's content, unread: read it in chunks, then close the answer."""
        return self._open_blob("Attachment", attachment_id, "Body")

    def open_file(self, version_id: str) -> requests.Response:
        """A File's content (of this ContentVersion), unread: read it in chunks, then close the answer."""
        return self._open_blob("ContentVersion", version_id, "VersionData")

    def upload_file(self, record_id: str, name: str, content: BinaryIO, content_type: str) -> str:
        """Publish a File on a record, read from ``content`` as it is sent (Salesforce's multipart
        insert of blob data: the ContentVersion's fields as JSON in ``entity_content``, then the
        binary ``VersionData``, unencoded); Salesforce makes its ContentDocument and links it to the
        record. Returns the new ContentVersion id. The title is the whole name: Salesforce keeps the
        extension apart in lower case, so only the title keeps the name as it was."""
        fields = {
            "Title": name,
            "PathOnClient": name,
            "FirstPublishLocationId": _checked_id(record_id, "record"),
        }

        def body() -> MultipartEncoder:
            content.seek(0)
            return MultipartEncoder(
                {
                    "entity_content": (None, json.dumps(fields), "application/json"),
                    "VersionData": (name, content, content_type),
                }
            )

        return self._json("POST", f"{self.data}/sobjects/ContentVersion", upload=body)["id"]

    # Outbound messages (the events receiver's), through the Tooling API

    def outbound_messages(self) -> list[dict[str, Any]]:
        """Every outbound message of the org: ``Id``, ``Name``, ``EndpointUrl``, ``EntityDefinitionId``."""
        soql = "SELECT Id, Name, EndpointUrl, EntityDefinitionId FROM WorkflowOutboundMessage"
        return self._json("GET", f"{self.data}/tooling/query", params={"q": soql})["records"]

    def create_outbound_message(self, full_name: str, metadata: dict[str, Any]) -> str:
        body = {"FullName": full_name, "Metadata": metadata}
        return self._json("POST", f"{self.data}/tooling/sobjects/WorkflowOutboundMessage", json=body)["id"]

    def update_outbound_message(self, message_id: str, metadata: dict[str, Any]) -> None:
        self._request(
            "PATCH",
            f"{self.data}/tooling/sobjects/WorkflowOutboundMessage/{{id}}",
            path_params={"id": message_id},
            json={"Metadata": metadata},
        )

    def delete_outbound_message(self, message_id: str) -> None:
        self._request(
            "DELETE",
            f"{self.data}/tooling/sobjects/WorkflowOutboundMessage/{{id}}",
            path_params={"id": message_id},
            handled_statuses=(404,),
        )

    def _of_records(self, soql: str, record_ids: list[str]) -> list[dict[str, Any]]:
        """A query with ``{ids}`` filled with each 200 of the records' ids in turn."""
        found: list[dict[str, Any]] = []
        for chunk in _chunks([_checked_id(record_id, "record") for record_id in record_ids]):
            found += self.query(soql.format(ids=", ".join(f"'{record_id}'" for record_id in chunk)))
        return found

    def _open_blob(self, sobject: str, record_id: str, field: str) -> requests.Response:
        return self._request(
            "GET",
            f"{self.data}/sobjects/{sobject}/{{record_id}}/{field}",
            path_params={"record_id": _checked_id(record_id, sobject)},
            stream=True,
        )

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        return response.json() if response.content else None

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except PermissionDeniedError as error:
            if "TotalRequests Limit exceeded" not in error.detail:
                raise
            resets_by = dt.datetime.now(dt.UTC) + dt.timedelta(hours=24)
            raise DailyLimitExceededError(
                VENDOR,
                error.method,
                error.endpoint,
                error.status,
                f"{error.detail} ({self.api_usage or 'api-usage unknown'})",
                hint=(
                    "The org's daily API request allowance is spent. Salesforce counts requests over a rolling "
                    "24 hours, so calls work again as earlier ones age out, at the latest by "
                    f"{resets_by:%Y-%m-%d %H:%M} UTC. Not retried: retrying only spends more. Run the sync "
                    "later, or ask a Salesforce admin to raise the allowance."
                ),
            ) from None

    def _note_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Counts the logins simple-salesforce sends, and keeps the org's API usage from every answer."""
        path = urlsplit(response.request.url or "").path
        if _LOGIN_PATH.search(path):
            self.http.calls.add(f"POST {_LOGIN_PATH.search(path).group(0)}")  # type: ignore[union-attr]
        usage = response.headers.get("Sforce-Limit-Info")
        if usage:
            self.api_usage = usage


CASE_COMMENT_SELECT = "SELECT Id, ParentId, CommentBody, IsPublished, CreatedDate, CreatedBy.Name, SystemModstamp FROM CaseComment"


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), COLLECTION_LIMIT):
        yield items[start : start + COLLECTION_LIMIT]


def _outcome(result: dict[str, Any], record_id: str | None) -> RecordOutcome:
    if result.get("success"):
        return RecordOutcome.success(result.get("id") or record_id)
    errors = result.get("errors") or []
    text = "; ".join(
        f"{e.get('statusCode')}: {e.get('message')}"
        + (f" (fields: {', '.join(e['fields'])})" if e.get("fields") else "")
        for e in errors
    )
    retryable = bool(errors) and all(e.get("statusCode") in RETRYABLE_RECORD_ERRORS for e in errors)
    return RecordOutcome.failure(text or "failed without an error", retryable=retryable, record_id=record_id)


def _without_attributes(record: dict[str, Any]) -> dict[str, Any]:
    """A record without Salesforce's ``attributes``, parent records (``Account``) included."""
    return {
        k: _without_attributes(v) if isinstance(v, dict) else v
        for k, v in record.items()
        if k != "attributes"
    }


def _checked_id(record_id: str, what: str) -> str:
    """Ids go into URLs and SOQL; refuse anything that is not one rather than quote it."""
    if not isinstance(record_id, str) or not _ID.fullmatch(record_id):
        raise ValueError(f"Salesforce {what} id {record_id!r} is not a 15- or 18-character Salesforce id")
    return record_id


def _window(sobject: str, start: dt.datetime, end: dt.datetime) -> dict[str, str]:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError(
            f"Salesforce {sobject} change window {start}..{end}: give time-zone aware datetimes (e.g. UTC)"
        )
    return {
        name: moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        for name, moment in (("start", start), ("end", end))
    }
