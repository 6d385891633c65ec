"""What went wrong in a vendor call, and whether trying again can help.

Every failed call becomes an ``ApiError`` naming the vendor, method, endpoint,
status and the vendor's own error message, with secrets redacted. The class says
whether a retry can help: ``RetryableApiError`` (rate limits, server errors,
dropped connections) or ``FatalApiError`` (bad credentials, missing permission,
not found, bad request), so callers decide on ``error.retryable`` alone.
"""

from __future__ import annotations

import requests

from jirasync.connectors.redaction import redact


class ApiError(Exception):
    retryable: bool = False
    hint: str = "Retrying will not help until the request or the data is fixed."

    def __init__(
        self,
        vendor: str,
        method: str,
        endpoint: str,
        status: int | None,
        detail: str,
        *,
        hint: str | None = None,
    ) -> None:
        self.vendor = vendor
        self.method = method
        self.endpoint = endpoint
        self.status = status
        self.detail = redact(detail)
        if hint is not None:
            self.hint = hint
        super().__init__(self._describe())

    def _describe(self) -> str:
        outcome = f"HTTP {self.status}" if self.status is not None else "no HTTP response"
        return redact(f"{self.vendor} {self.endpoint} failed with {outcome}: {self.detail} {self.hint}")

    def with_detail(self, extra: str) -> ApiError:
        """The same error with more context appended (e.g. how long retries went on)."""
        self.detail = redact(f"{self.detail} ({extra})")
        self.args = (self._describe(),)
        return self


class RetryableApiError(ApiError):
    retryable = True
    hint = "A later retry can succeed."


class FatalApiError(ApiError):
    retryable = False


class RateLimitedError(RetryableApiError):
    hint = "The vendor's rate limit was hit; a later retry can succeed."

    def __init__(
        self,
        vendor: str,
        method: str,
        endpoint: str,
        status: int | None,
        detail: str,
        *,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after  # seconds the vendor asked for, None when it did not say
        super().__init__(vendor, method, endpoint, status, detail)


class ServerError(RetryableApiError):
    hint = "The vendor had a server-side problem; a later retry can succeed."


class ConnectionFailedError(RetryableApiError):
    hint = "The connection failed or timed out; a later retry can succeed."


class AuthenticationError(FatalApiError):
    hint = "Check the credentials (email, token, client secret) of the Airflow connection."


class PermissionDeniedError(FatalApiError):
    hint = "Grant the account the permission this endpoint needs."


class NotFoundError(FatalApiError):
    hint = "Check that the id or key exists and that the account can see it."


class ConflictError(FatalApiError):
    hint = "The record conflicts with its current state on the vendor side; re-read it before writing."


class BadRequestError(FatalApiError):
    hint = "Fix the request data named in the message; retrying as is will not help."


def error_class_for(status: int) -> type[ApiError]:
    if status == 429:
        return RateLimitedError
    if status >= 500:
        return ServerError
    return {
        401: AuthenticationError,
        403: PermissionDeniedError,
        404: NotFoundError,
        409: ConflictError,
    }.get(status, BadRequestError)


def describe_error_body(response: requests.Response) -> str:
    """The vendor's own error message, from whichever error envelope the vendor uses."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:500] if text else (response.reason or "no error message")
    messages = _messages_from(body)
    return "; ".join(messages)[:1000] if messages else str(body)[:500]


def _messages_from(body: object) -> list[str]:
    if isinstance(body, list):  # Salesforce: [{"message", "errorCode", "fields"}]
        return [m for item in body for m in _messages_from(item)]
    if not isinstance(body, dict):
        return [str(body)]
    messages: list[str] = []
    # Jira platform: {"errorMessages": [...], "errors": {"field": "message"}}
    messages += [str(m) for m in body.get("errorMessages") or []]
    if isinstance(body.get("errors"), dict):
        messages += [f"{field}: {message}" for field, message in body["errors"].items()]
    error = body.get("error")
    if isinstance(error, dict):  # Microsoft Graph: {"error": {"code", "message"}}
        messages.append(f"{error.get('code', '')}: {error.get('message', '')}".strip(": "))
    elif isinstance(error, str):  # OAuth: {"error", "error_description"}
        messages.append(f"{error}: {body.get('error_description', '')}".strip(": "))
    for key in ("errorMessage", "detail"):  # JSM, SCIM
        if body.get(key):
            messages.append(str(body[key]))
    if body.get("message") and not error:  # Zoho {"code", "message"}, Salesforce {"errorCode", "message"}
        code = body.get("code") or body.get("errorCode")
        messages.append(f"{code}: {body['message']}" if code else str(body["message"]))
    return messages
