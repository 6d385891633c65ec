"""Keeps secrets out of logs and exception texts.

Two layers, because either alone leaks: patterns catch secrets by shape
(``Authorization`` headers, ``access_token``/``client_secret``/``password`` fields,
tokens in query strings) wherever they come from, and auth classes register the
exact secret values they hold so that a vendor echoing a token in an odd place is
caught too. ``RedactingFilter`` applies both to log records; ``ApiError`` applies
them to its message.
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "***"

_SECRET_NAMES = (
    r"access_token|refresh_token|id_token|client_secret|password|passwd|api_token|apikey|api_key"
    r"|secret|token|session_id|sessionid|signature|assertion"
)

_UNAMBIGUOUS_NAMES = (
    r"access_token|refresh_token|id_token|client_secret|password|passwd|api_token|apikey|api_key"
)

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Authorization: Basic abc / Bearer abc / Zoho-oauthtoken abc (headers, reprs of header dicts)
    (
        re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)([A-Za-z-]+\s+)?[^\s'\",}]+"),
        r"\1\2" + MASK,
    ),
    # A scheme followed by a token-looking word; 16+ characters so "Basic authentication" survives.
    (re.compile(r"(?i)\b(Bearer|Basic|Zoho-oauthtoken|OAuth)\s+[A-Za-z0-9._~+/=-]{16,}"), r"\1 " + MASK),
    # JSON Web Tokens (Graph and Salesforce access tokens) wherever they appear
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), MASK),
    # JSON or dict reprs: "access_token": "abc"  /  'password': 'abc'
    (
        re.compile(rf"(?i)(['\"](?:{_SECRET_NAMES})['\"]\s*:\s*)(['\"])(?:\\.|(?!\2).)*\2"),
        r"\1\2" + MASK + r"\2",
    ),
    # Plain "name: value" text, as in error messages ("password: hunter2"); only unambiguous names
    (re.compile(rf"(?i)\b((?:{_UNAMBIGUOUS_NAMES})\s*:\s*)[^\s'\",;]+"), r"\1" + MASK),
    # Query strings and form bodies: ?access_token=abc&...  client_secret=abc
    (re.compile(rf"(?i)\b((?:{_SECRET_NAMES})=)[^&\s'\"]+"), r"\1" + MASK),
]

_known_secrets: set[str] = set()
_known_lock = threading.Lock()


MINIMUM_SECRET_LENGTH = 8


def register_secret(value: str | None) -> None:
    """Redact this exact value from now on (auth classes call it for what they hold).

    Values shorter than ``MINIMUM_SECRET_LENGTH`` are ignored: they are words ("token",
    "test") whose masking would garble every message, and no real credential is that short.
    """
    if value and len(value) >= MINIMUM_SECRET_LENGTH:
        with _known_lock:
            _known_secrets.add(value)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    with _known_lock:
        secrets = sorted(_known_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's final message with secrets masked.

    Logger filters only see records logged on that very logger, so it is added to
    each logger that may carry secrets (see ``protect_logger``) and can be added to
    handlers as well.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message or record.args:
            record.msg = redacted
            record.args = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FILTER = RedactingFilter()


def protect_logger(name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger
