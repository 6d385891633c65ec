"""One auth class per scheme, all ``requests`` auth objects that a connector's session uses.

``BasicAuth`` and ``BearerAuth`` hold static credentials. ``RefreshingTokenAuth`` is
the base for schemes whose access token expires: it caches the token, renews it
shortly before expiry, and renews it once more when the vendor answers 401 (the
HTTP layer calls ``refresh()``). ``ClientCredentialsAuth`` is the OAuth 2.0 client
credentials grant on top of it; a vendor with its own grant (Zoho's refresh_token
grant and ``Zoho-oauthtoken`` header) subclasses ``RefreshingTokenAuth`` and
implements ``fetch_token``. Every secret is registered for redaction.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass
from typing import Any

import requests

from jirasync.connectors.clock import Clock, SystemClock
from jirasync.connectors.errors import (
    ApiError,
    ConnectionFailedError,
    RateLimitedError,
    RetryableApiError,
    describe_error_body,
    error_class_for,
)
from jirasync.connectors.redaction import protect_logger, register_secret
from jirasync.connectors.retry import RetryPolicy, parse_retry_after

logger = protect_logger(__name__)

TOKEN_TIMEOUT = (10.0, 30.0)


class ConnectorAuth(requests.auth.AuthBase):
    def refresh(self) -> bool:
        """Renew the credentials after a 401; ``False`` when the scheme cannot (static secrets)."""
        return False


class BasicAuth(ConnectorAuth):
    """HTTP Basic with an account email and an API token (Jira Cloud, JSM, Assets)."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self._header = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        register_secret(password)
        register_secret(self._header.split(" ", 1)[1])

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._header
        return request


class BearerAuth(ConnectorAuth):
    """A static bearer token (SCIM servers, Jira OAuth 3LO tokens obtained elsewhere)."""

    def __init__(self, token: str) -> None:
        self._token = token
        register_secret(token)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: float  # on the auth's clock (``Clock.time()``)


class RefreshingTokenAuth(ConnectorAuth):
    """Base for expiring tokens: subclasses implement ``fetch_token``; this class caches and renews."""

    header_prefix = "Bearer"
    expiry_margin = 60.0  # renew this many seconds early, so a token never expires in flight

    def __init__(self, vendor: str, clock: Clock | None = None) -> None:
        self.vendor = vendor
        self.clock = clock or SystemClock()
        self.retry = RetryPolicy()
        self.token_requests = 0  # sent, retries included, as the HTTP layer counts its calls
        self.session = requests.Session()
        self._token: AccessToken | None = None
        self._lock = threading.Lock()

    def fetch_token(self) -> AccessToken:
        raise NotImplementedError(f"{type(self).__name__} must implement fetch_token()")

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"{self.header_prefix} {self.access_token()}"
        return request

    def access_token(self) -> str:
        with self._lock:
            if self._token is None or self.clock.time() >= self._token.expires_at - self.expiry_margin:
                self._renew()
            assert self._token is not None
            return self._token.value

    def refresh(self) -> bool:
        with self._lock:
            self._renew()
        return True

    def _renew(self) -> None:
        token = self.fetch_token()
        register_secret(token.value)
        self._token = token

    def post_token_request(self, url: str, form: dict[str, str]) -> dict[str, Any]:
        """POST a token request form and return the JSON answer, or raise a redacted ``ApiError``.

        A dropped connection, a 429 or a 5xx is retried here, as the HTTP layer retries any call:
        a token request may come before the connector's first call (Zoho's answer names the API
        host), outside that layer's loop. Asking for a token twice is harmless.
        """
        endpoint = f"POST {requests.utils.urlparse(url).path or '/'}"
        retries = 0
        waited = 0.0
        while True:
            try:
                return self._post_token_request_once(url, form, endpoint)
            except RetryableApiError as failure:
                retries += 1
                retry_after = failure.retry_after if isinstance(failure, RateLimitedError) else None
                wait = self.retry.delay(retries, retry_after)
                gave_up = self.retry.give_up_reason(retries, waited, wait)
                if gave_up:
                    raise failure.with_detail(gave_up) from None
                logger.warning("%s %s: %s; retry %d in %.1f s", self.vendor, endpoint, failure, retries, wait)
                self.clock.sleep(wait)
                waited += wait

    def _post_token_request_once(self, url: str, form: dict[str, str], endpoint: str) -> dict[str, Any]:
        self.token_requests += 1
        try:
            response = self.session.post(url, data=form, timeout=TOKEN_TIMEOUT)
        except requests.RequestException as exc:
            raise ConnectionFailedError(
                self.vendor, "POST", endpoint, None, f"token request: {exc}"
            ) from None
        if response.status_code >= 400:
            error_class = error_class_for(response.status_code)
            if response.status_code in (
                400,
                401,
            ):  # OAuth servers answer invalid_client/invalid_grant with 400
                error_class = error_class_for(401)
            detail = describe_error_body(response)
            if error_class is RateLimitedError:
                retry_after = parse_retry_after(response.headers.get("Retry-After"), self.clock.time())
                raise RateLimitedError(
                    self.vendor, "POST", endpoint, response.status_code, detail, retry_after=retry_after
                )
            raise error_class(self.vendor, "POST", endpoint, response.status_code, detail)
        try:
            return response.json()
        except ValueError:
            raise ApiError(
                self.vendor, "POST", endpoint, response.status_code, "token endpoint did not answer JSON"
            ) from None

    def token_from_answer(self, answer: dict[str, Any]) -> AccessToken:
        return AccessToken(
            value=str(answer["access_token"]),
            expires_at=self.clock.time() + float(answer.get("expires_in", 3600)),
        )


class ClientCredentialsAuth(RefreshingTokenAuth):
    """OAuth 2.0 client credentials grant (Microsoft Graph, Salesforce client credentials)."""

    def __init__(
        self,
        vendor: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(vendor, clock)
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.scope = scope
        register_secret(client_secret)

    def fetch_token(self) -> AccessToken:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
        }
        if self.scope:
            form["scope"] = self.scope
        return self.token_from_answer(self.post_token_request(self.token_url, form))
