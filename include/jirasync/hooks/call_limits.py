"""How long one call may take and wait, from two extras every jirasync connection may carry.

``timeout``: seconds to wait for an answer before the call counts as dropped (default 60). A
vendor that is slow for big batches needs more; a write that outlives it is not retried, as it
may have been applied, and the journal settles it.
``max_wait``: seconds one call may spend waiting between retries (default 300). A ``Retry-After``
longer than what is left of it fails the call at once with a clear error instead of holding a
worker slot; Airflow's task retry comes back later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jirasync.connectors.http import DEFAULT_TIMEOUT
from jirasync.connectors.retry import RetryPolicy


def call_limits(conn_id: str, extras: Mapping[str, Any]) -> dict[str, Any]:
    """Connector options (``timeout``, ``retry``) for the extras a connection sets; none if it sets neither."""
    options: dict[str, Any] = {}
    if extras.get("timeout") not in (None, ""):
        options["timeout"] = (DEFAULT_TIMEOUT[0], _seconds(conn_id, extras, "timeout"))
    if extras.get("max_wait") not in (None, ""):
        options["retry"] = RetryPolicy(max_total_wait=_seconds(conn_id, extras, "max_wait"))
    return options


def _seconds(conn_id: str, extras: Mapping[str, Any], name: str) -> float:
    try:
        seconds = float(extras[name])
    except (TypeError, ValueError):
        seconds = -1.0
    if seconds <= 0:
        raise ValueError(
            f"Airflow connection {conn_id!r}: extra {name}={extras[name]!r} is not a number of seconds "
            "above 0; correct it or remove it to use the default"
        )
    return seconds
