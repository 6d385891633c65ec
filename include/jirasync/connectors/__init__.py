"""Vendor API connectors on one shared HTTP layer.

A connector knows one vendor's HTTP API and nothing of DataFrames or Airflow. It
builds an ``HttpClient`` with the vendor's auth and sends every call through it, so
retries, rate limiting, call counting, redaction and error texts are the same for
all vendors. A vendor connector looks like this::

    from jirasync.connectors import (
        AccessToken, Clock, HttpClient, RecordOutcome, RefreshingTokenAuth, TokenBucket, register_secret,
    )


    class ZohoAuth(RefreshingTokenAuth):
        header_prefix = "Zoho-oauthtoken"  # Authorization: Zoho-oauthtoken <token>

        def __init__(self, accounts_url: str, client_id: str, client_secret: str, refresh_token: str) -> None:
            super().__init__("Zoho CRM")
            self.accounts_url, self.client_id = accounts_url, client_id
            self._client_secret, self._refresh_token = client_secret, refresh_token
            register_secret(client_secret)  # masked in every log record and error text from now on
            register_secret(refresh_token)

        def fetch_token(self) -> AccessToken:
            answer = self.post_token_request(
                f"{self.accounts_url}/oauth/v2/token",
                {"grant_type": "refresh_token", "refresh_token": self._refresh_token,
                 "client_id": self.client_id, "client_secret": self._client_secret},
            )
            return self.token_from_answer(answer)  # reads access_token and expires_in


    class ZohoCrmConnector:
        def __init__(self, api_domain: str, auth: ZohoAuth, clock: Clock | None = None) -> None:
            self.http = HttpClient(
                "Zoho CRM", api_domain, auth,
                rate_limiter=TokenBucket(per_second=5, burst=10), clock=clock,
            )

        def record(self, module: str, record_id: str) -> dict:
            # counted as "GET /crm/v8/{module}/{record_id}"; raises NotFoundError, RateLimitedError, ...
            return self.http.request_json(
                "GET", "/crm/v8/{module}/{record_id}", path_params={"module": module, "record_id": record_id}
            )

        def upsert(self, module: str, records: list[dict]) -> list[RecordOutcome]:
            answer = self.http.request_json("POST", "/crm/v8/{module}/upsert", path_params={"module": module},
                                            json={"data": records})
            return [RecordOutcome.success(r["details"]["id"]) if r["status"] == "success"
                    else RecordOutcome.failure(r["message"], retryable=False) for r in answer["data"]]

What each piece gives you:

- ``HttpClient.request`` / ``request_json``: path templates with ``path_params`` (quoted), absolute
  next-page URLs (pass ``endpoint="GET /users"`` to name them), ``idempotent=True`` for POST searches,
  ``handled_statuses=(404,)`` to get an error response back instead of an exception (a 404 meaning
  "absent", a 400 listing per-record errors). ``HttpClient(..., verify=ca_path)`` for the TLS sandbox.
  ``client.calls.total`` and ``client.calls.by_endpoint()`` report the calls sent, retries included.
- Auth: ``BasicAuth(email, token)``, ``BearerAuth(token)``, ``ClientCredentialsAuth(vendor, token_url,
  client_id, client_secret, scope)``, or a ``RefreshingTokenAuth`` subclass. A 401 triggers one
  ``refresh()`` and one retry; static schemes raise ``AuthenticationError`` at once.
- ``RetryPolicy(max_attempts, base_delay, max_delay, max_total_wait)``: 429 and 502/503/504 are
  retried for every method, other 5xx and dropped connections only for idempotent requests.
  ``Retry-After`` (seconds or HTTP date) is a floor, 0 counts as 1 s.
- ``Clock``: pass ``VirtualClock()`` in tests to record waits instead of sleeping.
- Errors: ``ApiError`` with ``vendor``, ``method``, ``endpoint``, ``status``, ``detail`` and
  ``retryable``; subclasses ``RetryableApiError`` (``RateLimitedError``, ``ServerError``,
  ``ConnectionFailedError``) and ``FatalApiError`` (``AuthenticationError``, ``PermissionDeniedError``,
  ``NotFoundError``, ``ConflictError``, ``BadRequestError``). Pass ``describe_error=`` to the client if
  the vendor's error envelope is not one ``describe_error_body`` already reads.
- Redaction: messages of ``ApiError`` and records of this package's HTTP loggers are redacted; call
  ``register_secret(value)`` for any other secret you hold and ``protect_logger(__name__)`` for a logger
  that may see one.
- ``RecordOutcome(ok, id, error, retryable)``: one per input record of a batch write, in input order.
"""

from jirasync.connectors.auth import (
    AccessToken,
    BasicAuth,
    BearerAuth,
    ClientCredentialsAuth,
    ConnectorAuth,
    RefreshingTokenAuth,
)
from jirasync.connectors.clock import Clock, SystemClock, VirtualClock
from jirasync.connectors.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ConnectionFailedError,
    FatalApiError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RetryableApiError,
    ServerError,
)
from jirasync.connectors.http import CallCounter, HttpClient
from jirasync.connectors.outcome import RecordOutcome
from jirasync.connectors.rate_limit import TokenBucket
from jirasync.connectors.redaction import RedactingFilter, protect_logger, redact, register_secret
from jirasync.connectors.retry import RetryPolicy

__all__ = [
    "AccessToken",
    "ApiError",
    "AuthenticationError",
    "BadRequestError",
    "BasicAuth",
    "BearerAuth",
    "CallCounter",
    "ClientCredentialsAuth",
    "Clock",
    "ConflictError",
    "ConnectionFailedError",
    "ConnectorAuth",
    "FatalApiError",
    "HttpClient",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RecordOutcome",
    "RedactingFilter",
    "RefreshingTokenAuth",
    "RetryPolicy",
    "RetryableApiError",
    "ServerError",
    "SystemClock",
    "TokenBucket",
    "VirtualClock",
    "protect_logger",
    "redact",
    "register_secret",
]
