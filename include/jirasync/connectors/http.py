"""The HTTP layer every vendor connector is built on: ``HttpClient``.

One ``HttpClient`` per connector wraps a ``requests.Session`` and adds what every
vendor needs: auth (``jirasync.connectors.auth``), timeouts, retries on 429/5xx and
on dropped connections for idempotent requests (``RetryPolicy``), one token
refresh on 401, a client-side rate limiter (``TokenBucket``), a count of calls per
endpoint, secret redaction in logs, and ``ApiError`` exceptions that say what
failed and whether a retry can help.

Endpoints are named by their path template: call ``client.request("GET",
"/rest/api/3/issue/{key}", path_params={"key": "SUP-1"})`` and the call is counted
under ``GET /rest/api/3/issue/{key}``, whatever the key.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import requests
from requests_toolbelt import MultipartEncoder

from jirasync.connectors.auth import ConnectorAuth
from jirasync.connectors.clock import Clock, SystemClock
from jirasync.connectors.errors import (
    ApiError,
    ConnectionFailedError,
    RateLimitedError,
    describe_error_body,
    error_class_for,
)
from jirasync.connectors.rate_limit import TokenBucket
from jirasync.connectors.redaction import protect_logger
from jirasync.connectors.retry import IDEMPOTENT_METHODS, RetryPolicy, parse_retry_after, should_retry_status

if TYPE_CHECKING:  # the budget's lease follows this module's timeouts: it imports them
    from jirasync.connectors.budget import VendorBudget

logger = protect_logger(__name__)
protect_logger("urllib3.connectionpool")  # it logs every request line, query-string tokens included

DEFAULT_TIMEOUT = (10.0, 60.0)  # (connect, read) seconds
_DROPPED = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class CallCounter:
    """Calls sent per endpoint (``"GET /rest/api/3/users/search"``), retries included."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, endpoint: str) -> None:
        with self._lock:
            self._counts[endpoint] += 1

    def __getitem__(self, endpoint: str) -> int:
        return self._counts[endpoint]

    @property
    def total(self) -> int:
        return sum(self._counts.values())

    def by_endpoint(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))


class HttpClient:
    def __init__(
        self,
        vendor: str,
        base_url: str,
        auth: ConnectorAuth | None = None,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        rate_limiter: TokenBucket | None = None,
        budget: VendorBudget | None = None,
        clock: Clock | None = None,
        headers: Mapping[str, str] | None = None,
        verify: bool | str = True,
        describe_error: Callable[[requests.Response], str] = describe_error_body,
        is_rate_limit: Callable[[requests.Response], bool] | None = None,
    ) -> None:
        """``is_rate_limit``: whether an answer that is not a 429 is the vendor's rate limit (Salesforce
        answers 403): it is then waited out and retried like a 429."""
        self.vendor = vendor
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.rate_limiter = rate_limiter
        self.budget = budget
        self.clock = clock or SystemClock()
        self.describe_error = describe_error
        self.is_rate_limit = is_rate_limit
        self.calls = CallCounter()
        self.session = requests.Session()
        self.session.verify = verify  # False, or the path of a CA bundle (the sandbox's with --tls)
        self.session.headers.update({"Accept": "application/json", **(headers or {})})
        if budget is not None:
            # One kept-alive connection per concurrent call, instead of the default pool of ten.
            adapter = requests.adapters.HTTPAdapter(pool_maxsize=budget.concurrency)
            self.session.mount("http://", adapter)
            self.session.mount("https://", adapter)

    def close(self) -> None:
        self.session.close()

    def url(self, path: str, path_params: Mapping[str, Any] | None = None) -> str:
        """``path`` is a template under the base URL, or an absolute next-page URL from the vendor."""
        if path_params:
            path = path.format(**{name: quote(str(value), safe="") for name, value in path_params.items()})
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    def request(
        self,
        method: str,
        path: str,
        *,
        path_params: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        endpoint: str | None = None,
        handled_statuses: Collection[int] = (),
        stream: bool = False,
        upload: Callable[[], MultipartEncoder] | None = None,
    ) -> requests.Response:
        """Send one logical request, retrying as the policy allows; raise ``ApiError`` on failure.

        ``idempotent`` defaults from the method; pass ``True`` for a POST that only reads
        (a search) so dropped connections and 500s are retried for it too. ``endpoint``
        names the call for counting when ``path`` is an absolute next-page URL.
        ``handled_statuses`` are error statuses returned to the caller instead of raised
        (a 404 that means "no such property", a 400 whose body lists per-record errors).
        ``stream`` leaves the body unread, for the caller to read in chunks and close (a file).
        ``upload`` makes a multipart body read from a file as it is sent, so a file's size never
        sits in memory; it is called again for each attempt, as a sent body cannot be sent twice.
        """
        method = method.upper()
        endpoint = endpoint or f"{method} {urlsplit(path).path}"
        url = self.url(path, path_params)
        idempotent = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        retries = 0
        waited = 0.0
        refreshed = False
        while True:
            retry_after: float | None = None
            try:
                response = self._send(
                    method, url, endpoint, params, json, data, files, headers, stream, upload
                )
            except _DROPPED as exc:
                failure = ConnectionFailedError(
                    self.vendor, method, endpoint, None, f"{type(exc).__name__}: {exc}"
                )
                if not idempotent:
                    raise failure.with_detail("not retried: the request may have been applied") from None
            else:
                if response.status_code < 400 or response.status_code in handled_statuses:
                    return response
                if response.status_code == 401 and not refreshed and self.auth and self.auth.refresh():
                    refreshed = True
                    logger.info(
                        "%s %s: 401, refreshed the access token, retrying once", self.vendor, endpoint
                    )
                    continue
                failure = self._error(method, endpoint, response)
                # A rate limit refuses the request unprocessed: even a write is safe to send again.
                if not (
                    isinstance(failure, RateLimitedError)
                    or should_retry_status(response.status_code, idempotent)
                ):
                    raise failure
                retry_after = parse_retry_after(response.headers.get("Retry-After"), self.clock.time())
            retries += 1
            wait = self.retry.delay(retries, retry_after)
            if self.budget is not None and isinstance(failure, RateLimitedError):
                # The vendor limits the account, not this call: every caller of the budget waits.
                self.budget.pause(wait)
            gave_up = self.retry.give_up_reason(retries, waited, wait)
            if gave_up:
                raise failure.with_detail(gave_up) from None
            logger.warning(
                "%s %s: %s; retry %d in %.1f s",
                self.vendor,
                endpoint,
                failure.detail or failure,
                retries,
                wait,
            )
            self.clock.sleep(wait)
            waited += wait

    def request_json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Like ``request``, returning the decoded JSON body (``None`` for an empty one)."""
        response = self.request(method, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            endpoint = kwargs.get("endpoint") or f"{method.upper()} {urlsplit(path).path}"
            raise ApiError(
                self.vendor,
                method.upper(),
                endpoint,
                response.status_code,
                f"expected JSON, got {response.headers.get('Content-Type', 'no content type')}",
                hint="Check that the connection's host points at the vendor's API.",
            ) from None

    def _send(
        self,
        method: str,
        url: str,
        endpoint: str,
        params: Mapping[str, Any] | None,
        json: Any,
        data: Any,
        files: Any,
        headers: Mapping[str, str] | None,
        stream: bool,
        upload: Callable[[], MultipartEncoder] | None,
    ) -> requests.Response:
        if self.rate_limiter is not None:
            self.rate_limiter.acquire()
        self.calls.add(endpoint)
        if upload is not None:
            data = upload()
            headers = {**(headers or {}), "Content-Type": data.content_type}
        with self.budget.call() if self.budget is not None else nullcontext():
            response = self.session.request(
                method,
                url,
                params=params,
                json=json,
                data=data,
                files=files,
                headers=headers,
                auth=self.auth,
                timeout=self.timeout,
                stream=stream,
            )
        logger.debug(
            "%s %s -> %s in %.2f s",
            method,
            response.url,
            response.status_code,
            response.elapsed.total_seconds(),
        )
        return response

    def _error(self, method: str, endpoint: str, response: requests.Response) -> ApiError:
        error_class = error_class_for(response.status_code)
        if self.is_rate_limit is not None and self.is_rate_limit(response):
            error_class = RateLimitedError
        detail = self.describe_error(response)
        if error_class is RateLimitedError:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self.clock.time())
            return RateLimitedError(
                self.vendor, method, endpoint, response.status_code, detail, retry_after=retry_after
            )
        return error_class(self.vendor, method, endpoint, response.status_code, detail)
