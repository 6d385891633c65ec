"""Bearer tokens the OAuth vendors (Entra, Zoho, Salesforce) issue, and the "expired tokens" fault."""

from __future__ import annotations

import secrets
import threading
import time


class TokenIssuer:
    """Issued tokens live in memory only: after a restart clients must fetch new ones, as after expiry."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float, str]] = {}

    def issue(self, vendor: str, subject: str, lifetime_s: int = 3600) -> str:
        token = f"sbx.{vendor}.{secrets.token_urlsafe(24)}"
        with self._lock:
            self._tokens[token] = (vendor, time.time() + lifetime_s, subject)
        return token

    def subject(self, vendor: str, token: str) -> str | None:
        """Whom a live token of ``vendor`` was issued to; None if unknown, expired or revoked."""
        entry = self._tokens.get(token)
        if entry is None or entry[0] != vendor or entry[1] < time.time():
            return None
        return entry[2]

    def revoke_all(self, vendor: str) -> None:
        with self._lock:
            self._tokens = {t: e for t, e in self._tokens.items() if e[0] != vendor}
