"""Zoho CRM v8: OAuth refresh per data centre, record reads past the 2,000 wall, batched writes,
related lists, notes, attachments.

Reads page with ``page`` while ``page * per_page`` stays within 2,000 records and then
follow ``info.next_page_token``: Zoho refuses ``page`` beyond that
(``DISCRETE_PAGINATION_LIMIT_EXCEEDED``), and page tokens expire and belong to one user,
so the simple form is kept as long as it works. Either way a page holds 200 records, so
a read of N records costs ``ceil(N / 200)`` calls. Incremental reads send
``If-Modified-Since`` and sort by ``Modified_Time``. Writes go 100 records a call and
return one ``RecordOutcome`` per record in input order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, BinaryIO

import requests
from requests_toolbelt import MultipartEncoder

from jirasync.connectors import (
    AuthenticationError,
    Clock,
    HttpClient,
    RecordOutcome,
    RefreshingTokenAuth,
    RetryPolicy,
    TokenBucket,
)
from jirasync.connectors.auth import AccessToken
from jirasync.connectors.http import DEFAULT_TIMEOUT
from jirasync.connectors.redaction import register_secret

if TYPE_CHECKING:  # the budget imports the timeouts of jirasync.connectors.http
    from jirasync.connectors.budget import VendorBudget

VENDOR = "Zoho CRM"
API = "/crm/v8"
PER_PAGE = 200
DISCRETE_PAGE_LIMIT = 2000
WRITE_BATCH = 100
ACCOUNTS_SERVERS = {
    "US": "https://accounts.zoho.com",
    "EU": "https://accounts.zoho.eu",
    "IN": "https://accounts.zoho.in",
    "AU": "https://accounts.zoho.com.au",
    "JP": "https://accounts.zoho.jp",
    "CN": "https://accounts.zoho.com.cn",
    "UK": "https://accounts.zoho.uk",
    "CA": "https://accounts.zohocloud.ca",
    "SA": "https://accounts.zoho.sa",
}
# Errors on one record that a later run can fix by itself (the record was busy, the CRM hiccuped).
RETRYABLE_RECORD_CODES = frozenset({"RECORD_LOCKED", "INTERNAL_ERROR", "TOO_MANY_REQUESTS"})


def accounts_url_for(data_centre: str) -> str:
    try:
        return ACCOUNTS_SERVERS[data_centre.upper()]
    except KeyError:
        raise ValueError(
            f"Zoho data centre {data_centre!r} is unknown: use one of {', '.join(ACCOUNTS_SERVERS)}"
        ) from None


class ZohoAuth(RefreshingTokenAuth):
    """Zoho's refresh_token grant; remembers the ``api_domain`` the accounts server names."""

    header_prefix = "Zoho-oauthtoken"

    def __init__(
        self,
        accounts_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(VENDOR, clock)
        self.accounts_url = accounts_url.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self.api_domain: str | None = None
        register_secret(client_secret)
        register_secret(refresh_token)

    def fetch_token(self) -> AccessToken:
        answer = self.post_token_request(
            f"{self.accounts_url}/oauth/v2/token",
            {
                "grant_type": "refresh_token",
                "refresh_token": self._refresh_token,
                "client_id": self.client_id,
                "client_secret": self._client_secret,
            },
        )
        if "error" in answer or "access_token" not in answer:
            # Zoho answers a bad client or refresh token with HTTP 200 and {"error": "invalid_code"}.
            raise AuthenticationError(
                VENDOR,
                "POST",
                "POST /oauth/v2/token",
                200,
                f"token refused: {answer.get('error', 'no access_token in the answer')}",
                hint="Check the client id, client secret, refresh token and data centre of the Airflow connection.",
            )
        self.api_domain = str(answer.get("api_domain") or self.api_domain or "")
        return self.token_from_answer(answer)


@dataclass(frozen=True)
class Attachment:
    id: str
    file_name: str
    size: int


class ZohoCrmConnector:
    """One Zoho CRM organisation. Calls go to the ``api_domain`` the accounts server returned.

    Zoho limits concurrent calls and daily credits, not calls per second, so there is no
    rate limiter by default; pass one shared by the tasks of a pool if needed.
    """

    def __init__(
        self,
        auth: ZohoAuth,
        *,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        rate_limiter: TokenBucket | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        budget: VendorBudget | None = None,
    ) -> None:
        self.auth = auth
        self.budget = budget
        self._client_options: dict[str, Any] = {
            "clock": clock,
            "retry": retry,
            "rate_limiter": rate_limiter,
            "timeout": timeout,
            "budget": budget,
        }

    @cached_property
    def http(self) -> HttpClient:
        """Built at the first call, not before: the API's domain comes with the first token, and a
        run with nothing to read or write should not spend a token request."""
        self.auth.access_token()
        if not self.auth.api_domain:
            raise AuthenticationError(
                VENDOR, "POST", "POST /oauth/v2/token", 200, "the token answer named no api_domain"
            )
        return HttpClient(VENDOR, self.auth.api_domain, self.auth, **self._client_options)

    @property
    def calls(self) -> int:
        """Calls sent so far, token requests and retries included."""
        return sum(self.calls_by_endpoint().values())

    def calls_by_endpoint(self) -> dict[str, int]:
        http = self.__dict__.get("http")  # not built yet: no call made
        return {
            "POST /oauth/v2/token": self.auth.token_requests,
            **(http.calls.by_endpoint() if http else {}),
        }

    def close(self) -> None:
        if "http" in self.__dict__:
            self.http.close()

    # ---- reads ---------------------------------------------------------------------------

    def records(
        self, module: str, fields: Sequence[str], modified_since: datetime | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every record of ``module`` (or those modified since a time), ``fields`` plus ``id``.

        Sorted by ``Modified_Time`` ascending when incremental, so the caller's watermark is
        the last record's ``Modified_Time``; by ``id`` otherwise.
        """
        if not fields:
            raise ValueError(f"Zoho CRM needs the fields to read from {module}: pass at least one field name")
        params: dict[str, Any] = {
            "fields": ",".join(fields),
            "per_page": PER_PAGE,
            "sort_by": "Modified_Time" if modified_since else "id",
            "sort_order": "asc",
        }
        headers = (
            {"If-Modified-Since": modified_since.isoformat(timespec="seconds")} if modified_since else None
        )
        page, token = 1, None
        while True:
            paging = {"page_token": token} if token else {"page": page}
            answer = self.http.request_json(
                "GET",
                f"{API}/{{module}}",
                path_params={"module": module},
                params={**params, **paging},
                headers=headers,
            )
            if not answer:  # 204 (nothing matches) or 304 (nothing modified)
                return
            yield from answer["data"]
            info = answer.get("info") or {}
            if not info.get("more_records"):
                return
            page += 1
            if page * PER_PAGE > DISCRETE_PAGE_LIMIT:
                token = info.get("next_page_token")
                if not token:
                    raise ValueError(
                        f"Zoho CRM {module}: more than {DISCRETE_PAGE_LIMIT} records but no next_page_token in the answer"
                    )

    def records_with_ids(
        self, module: str, ids: Sequence[str], fields: Sequence[str]
    ) -> list[dict[str, Any]]:
        """The records of ``module`` with these ids (those that exist), 100 ids a call as Zoho allows."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), WRITE_BATCH):
            answer = self.http.request_json(
                "GET",
                f"{API}/{{module}}",
                path_params={"module": module},
                params={"fields": ",".join(fields), "ids": ",".join(ids[start : start + WRITE_BATCH])},
            )
            found += answer["data"] if answer else []
        return found

    def record(self, module: str, record_id: str) -> dict[str, Any] | None:
        answer = self.http.request_json(
            "GET", f"{API}/{{module}}/{{record_id}}", path_params={"module": module, "record_id": record_id}
        )
        return answer["data"][0] if answer else None

    def search(self, module: str, criteria: str, fields: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Records matching ``criteria`` (``(Email:equals:a@b.com)``); Zoho stops search at 2,000 records."""
        found: list[dict[str, Any]] = []
        for page in range(1, DISCRETE_PAGE_LIMIT // PER_PAGE + 1):
            params: dict[str, Any] = {"criteria": criteria, "page": page, "per_page": PER_PAGE}
            if fields:
                params["fields"] = ",".join(fields)
            answer = self.http.request_json(
                "GET", f"{API}/{{module}}/search", path_params={"module": module}, params=params
            )
            if not answer:
                break
            found += answer["data"]
            if not answer["info"].get("more_records"):
                break
        return found

    def coql(self, query: str) -> list[dict[str, Any]]:
        """One COQL call (at most 2,000 rows); COQL is a read, so it is retried like one."""
        answer = self.http.request_json("POST", f"{API}/coql", json={"select_query": query}, idempotent=True)
        return answer["data"] if answer else []

    def deleted(
        self, module: str, since: datetime | None = None, kind: str = "all"
    ) -> Iterator[dict[str, Any]]:
        """Deleted records (``id``, ``deleted_time``, ``type``), newest first."""
        headers = {"If-Modified-Since": since.isoformat(timespec="seconds")} if since else None
        page = 1
        while True:
            answer = self.http.request_json(
                "GET",
                f"{API}/{{module}}/deleted",
                path_params={"module": module},
                params={"type": kind, "page": page, "per_page": PER_PAGE},
                headers=headers,
            )
            if not answer:
                return
            yield from answer["data"]
            if not answer["info"].get("more_records"):
                return
            page += 1

    def related_records(
        self, module: str, record_id: str, related_list: str, fields: Sequence[str], limit: int | None = None
    ) -> list[dict[str, Any]]:
        """A record's rows of one related list (a deal's ``Stage_History`` or ``Contact_Roles``),
        ``fields`` plus ``id``: the first ``limit`` rows in the CRM's order, all of them without one."""
        return self._pages(
            f"{API}/{{module}}/{{record_id}}/{{related_list}}",
            {"module": module, "record_id": record_id, "related_list": related_list},
            {"fields": ",".join(fields)},
            limit,
        )

    def notes(self, module: str, record_id: str) -> list[dict[str, Any]]:
        return self._pages(
            f"{API}/{{module}}/{{record_id}}/Notes", {"module": module, "record_id": record_id}
        )

    def notes_modified_since(self, since: datetime | None) -> Iterator[dict[str, Any]]:
        """Every note of every module (or those modified since ``since``), 200 a page."""
        headers = {"If-Modified-Since": since.isoformat(timespec="seconds")} if since else None
        page = 1
        while True:
            answer = self.http.request_json(
                "GET", f"{API}/Notes", params={"page": page, "per_page": PER_PAGE}, headers=headers
            )
            if not answer:  # 204 (no notes) or 304 (none modified)
                return
            yield from answer["data"]
            if not (answer.get("info") or {}).get("more_records"):
                return
            page += 1

    def update_note(self, note_id: str, content: str) -> RecordOutcome:
        answer = self.http.request_json(
            "PUT",
            f"{API}/Notes/{{id}}",
            path_params={"id": note_id},
            json={"data": [{"Note_Content": content}]},
        )
        return _outcome(answer["data"][0])

    def delete_note(self, note_id: str) -> RecordOutcome:
        answer = self.http.request_json("DELETE", f"{API}/Notes/{{id}}", path_params={"id": note_id})
        return _outcome(answer["data"][0])

    def attachments(self, module: str, record_id: str) -> list[Attachment]:
        rows = self._pages(
            f"{API}/{{module}}/{{record_id}}/Attachments", {"module": module, "record_id": record_id}
        )
        return [Attachment(r["id"], r["File_Name"], int(r["Size"])) for r in rows]

    def open_attachment(self, module: str, record_id: str, attachment_id: str) -> requests.Response:
        """A file's content, unread: read it in chunks, then close the answer."""
        return self.http.request(
            "GET",
            f"{API}/{{module}}/{{record_id}}/Attachments/{{attachment_id}}",
            path_params={"module": module, "record_id": record_id, "attachment_id": attachment_id},
            stream=True,
        )

    def modules(self) -> list[dict[str, Any]]:
        return self.http.request_json("GET", f"{API}/settings/modules")["modules"]

    def fields(self, module: str) -> list[dict[str, Any]]:
        return self.http.request_json("GET", f"{API}/settings/fields", params={"module": module})["fields"]

    def _pages(
        self,
        path: str,
        path_params: dict[str, str],
        params: dict[str, Any] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Every row of a related list, or its first ``limit``: pages no larger than that, so a
        limit up to a page costs one call."""
        rows: list[dict[str, Any]] = []
        per_page = min(limit or PER_PAGE, PER_PAGE)
        page = 1
        while True:
            answer = self.http.request_json(
                "GET",
                path,
                path_params=path_params,
                params={**(params or {}), "page": page, "per_page": per_page},
            )
            if not answer:
                return rows
            rows += answer["data"]
            if limit is not None and len(rows) >= limit:
                return rows[:limit]
            if not answer["info"].get("more_records"):
                return rows
            page += 1

    # ---- writes --------------------------------------------------------------------------

    def upsert(
        self, module: str, records: Sequence[dict[str, Any]], duplicate_check_fields: Sequence[str] = ()
    ) -> list[RecordOutcome]:
        """Insert or update by ``duplicate_check_fields``; workflows are not triggered (``trigger: []``)."""
        extra: dict[str, Any] = {"trigger": []}
        if duplicate_check_fields:
            extra["duplicate_check_fields"] = list(duplicate_check_fields)
        return self._write("POST", f"{API}/{{module}}/upsert", module, records, extra)

    def insert(self, module: str, records: Sequence[dict[str, Any]]) -> list[RecordOutcome]:
        return self._write("POST", f"{API}/{{module}}", module, records, {"trigger": []})

    def update(self, module: str, records: Sequence[dict[str, Any]]) -> list[RecordOutcome]:
        """Each record carries its ``id``."""
        for position, record in enumerate(records):
            if not record.get("id"):
                raise ValueError(
                    f"Zoho CRM {module} update: record {position} has no id; updates need the record id"
                )
        return self._write("PUT", f"{API}/{{module}}", module, records, {"trigger": []})

    def delete(self, module: str, record_ids: Sequence[str]) -> list[RecordOutcome]:
        """Move records to the recycle bin (they then show in ``deleted``), 100 a call."""
        outcomes: list[RecordOutcome] = []
        for start in range(0, len(record_ids), WRITE_BATCH):
            answer = self.http.request_json(
                "DELETE",
                f"{API}/{{module}}",
                path_params={"module": module},
                params={"ids": ",".join(record_ids[start : start + WRITE_BATCH])},
            )
            outcomes += [_outcome(element) for element in answer["data"]]
        return outcomes

    def add_note(self, module: str, record_id: str, title: str, content: str) -> RecordOutcome:
        note = {
            "Note_Title": title,
            "Note_Content": content,
            "Parent_Id": {"module": {"api_name": module}, "id": record_id},
        }
        return self._write("POST", f"{API}/Notes", "Notes", [note], {})[0]

    def upload_attachment(
        self, module: str, record_id: str, file_name: str, content: BinaryIO, content_type: str
    ) -> RecordOutcome:
        """Attach a file to a record, read from ``content`` as it is sent."""

        def body() -> MultipartEncoder:
            content.seek(0)
            return MultipartEncoder({"file": (file_name, content, content_type)})

        answer = self.http.request_json(
            "POST",
            f"{API}/{{module}}/{{record_id}}/Attachments",
            path_params={"module": module, "record_id": record_id},
            upload=body,
        )
        return _outcome(answer["data"][0])

    def delete_attachment(self, module: str, record_id: str, attachment_id: str) -> RecordOutcome:
        answer = self.http.request_json(
            "DELETE",
            f"{API}/{{module}}/{{record_id}}/Attachments/{{attachment_id}}",
            path_params={"module": module, "record_id": record_id, "attachment_id": attachment_id},
        )
        return _outcome(answer["data"][0])

    # Notification channels (the events receiver's)

    def notification_channels(self) -> list[dict[str, Any]]:
        """Every live channel, one entry per channel and module (Zoho answers 204 when none)."""
        channels: list[dict[str, Any]] = []
        page = 1
        while True:
            answer = self.http.request_json("GET", f"{API}/actions/watch", params={"page": page})
            if not answer:
                return channels
            channels += answer["watch"]
            if not (answer.get("info") or {}).get("more_records"):
                return channels
            page += 1

    def enable_notifications(self, channel: dict[str, Any]) -> None:
        """Subscribe a channel, or subscribe it again (a new ``channel_expiry``, token or URL)."""
        self.http.request_json("POST", f"{API}/actions/watch", json={"watch": [channel]})

    def disable_notifications(self, channel_ids: Sequence[int | str]) -> None:
        self.http.request_json(
            "DELETE", f"{API}/actions/watch", params={"channel_ids": ",".join(str(i) for i in channel_ids)}
        )

    def _write(
        self, method: str, path: str, module: str, records: Sequence[dict[str, Any]], extra: dict[str, Any]
    ) -> list[RecordOutcome]:
        outcomes: list[RecordOutcome] = []
        for start in range(0, len(records), WRITE_BATCH):
            batch = list(records[start : start + WRITE_BATCH])
            answer = self.http.request_json(
                method, path, path_params={"module": module}, json={"data": batch, **extra}
            )
            outcomes += [_outcome(element) for element in answer["data"]]
        return outcomes


def _outcome(element: dict[str, Any]) -> RecordOutcome:
    details = element.get("details") or {}
    if element.get("status") == "success":
        return RecordOutcome.success(str(details.get("id")))
    where = ", ".join(
        f"{k}={v}" for k, v in details.items() if k in ("api_name", "json_path", "expected_data_type")
    )
    error = f"{element.get('code')}: {element.get('message')}" + (f" ({where})" if where else "")
    return RecordOutcome.failure(error, retryable=element.get("code") in RETRYABLE_RECORD_CODES)
