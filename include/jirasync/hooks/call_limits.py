"""How long one call may take and wait, from two extras every jirasync connection may carry.

``timeout``: seconds to wait for an answer before the call counts as dropped (default 60). A
vendor that is slow for big batches needs more; a write that outlives it is not retried, as it
may have been applied, and the journal settles it.
``max_wait``: seconds one call may spend waiting between retries (default 300). A ``Retry-After``
longer than what is left of it fails the call at once with a clear error instead of holding a
worker slot; Airflow's task retry comes back later.
``rate_limit`` and ``concurrency`` (any jirasync connection): the vendor's budget, requests per
second and calls at once, shared by every task that uses the connection (in Redis when
``JIRASYNC_REDIS_URL`` or the ``jirasync_redis`` connection names one; see
``jirasync.connectors.budget``). Set them to the account's limit, so that syncs running at once on
several workers keep under it together. On a Jira, Zoho CRM or Salesforce connection,
``concurrency`` above 1 also makes the apply write that many user properties or contact batches at
once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redis import Redis

from jirasync.connectors.budget import VendorBudget, redis_url
from jirasync.connectors.http import DEFAULT_TIMEOUT
from jirasync.connectors.retry import RetryPolicy


def connector_limits(conn_id: str, extras: Mapping[str, Any]) -> dict[str, Any]:
    """Every connector option a connection's extras set: ``timeout``, ``retry`` and ``budget``."""
    options = call_limits(conn_id, extras)
    return {**options, **budget(conn_id, extras, options.get("timeout", DEFAULT_TIMEOUT))}


def call_limits(conn_id: str, extras: Mapping[str, Any]) -> dict[str, Any]:
    """Connector options (``timeout``, ``retry``) for the extras a connection sets; none if it sets neither."""
    options: dict[str, Any] = {}
    if extras.get("timeout") not in (None, ""):
        options["timeout"] = (DEFAULT_TIMEOUT[0], _seconds(conn_id, extras, "timeout"))
    if extras.get("max_wait") not in (None, ""):
        options["retry"] = RetryPolicy(max_total_wait=_seconds(conn_id, extras, "max_wait"))
    return options


def budget(conn_id: str, extras: Mapping[str, Any], timeout: tuple[float, float]) -> dict[str, Any]:
    """The ``budget`` option for a connection's ``rate_limit`` extra, its slots leased for the
    connection's ``timeout``; none if it sets no rate limit."""
    if extras.get("rate_limit") in (None, ""):
        return {}
    per_second = _positive(conn_id, extras, "rate_limit", "a number of requests per second")
    concurrency = (
        int(_positive(conn_id, extras, "concurrency", "a number of calls"))
        if extras.get("concurrency") not in (None, "")
        else 1
    )
    url = redis_url()
    shared = Redis.from_url(url) if url else None
    return {"budget": VendorBudget(conn_id, per_second, concurrency, redis=shared, timeout=timeout)}


def _seconds(conn_id: str, extras: Mapping[str, Any], name: str) -> float:
    return _positive(conn_id, extras, name, "a number of seconds")


def _positive(conn_id: str, extras: Mapping[str, Any], name: str, what: str) -> float:
    try:
        number = float(extras[name])
    except (TypeError, ValueError):
        number = -1.0
    if number <= 0:
        raise ValueError(
            f"Airflow connection {conn_id!r}: extra {name}={extras[name]!r} is not {what} "
            "above 0; correct it or remove it to use the default"
        )
    return number
