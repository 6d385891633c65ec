"""What every Assets route shares: the vendor state, the error form, timestamps and links.

The Assets REST reference documents no error bodies (api-contracts §2). The emulator
answers errors in the Jira ``ErrorCollection`` form, ``{"errorMessages": [...], "errors":
{...}}``, with per-attribute problems keyed ``rlabs-insight-attribute-<id>`` as Assets
(formerly Insight, by Riada Labs) reports them: plausible, not verified.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from sandbox.vendor import VendorState, public_base_url, vendor_state

NAME = "assets"
PREFIX = "/atlassian"


class AssetsError(Exception):
    """Raised by a route to answer an Assets error; the route class turns it into the response."""

    def __init__(
        self, status: int, *messages: str, errors: dict[str, str] | None = None, **headers: str
    ) -> None:
        super().__init__("; ".join(messages) or str(errors))
        self.status = status
        self.messages = list(messages)
        self.errors = errors or {}
        self.headers = headers

    def response(self) -> JSONResponse:
        return error(self.status, *self.messages, errors=self.errors, **self.headers)


def error(status: int, *messages: str, errors: dict[str, str] | None = None, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"errorMessages": list(messages), "errors": errors or {}},
        status_code=status,
        headers=headers or None,
    )


def attribute_error_key(attribute_id: str) -> str:
    return f"rlabs-insight-attribute-{attribute_id}"


def assets(request: Request) -> VendorState:
    return vendor_state(request, NAME)


def workspace_id(state: VendorState) -> str | None:
    record = state.collection("workspace").get("workspace")
    return record["workspaceId"] if record else None


def api_base(request: Request) -> str:
    """The versioned API base the client called (``…/workspace/<id>/v1``), for ``_links.self``."""
    real_path = request.url.path.removeprefix(PREFIX)
    return public_base_url(request) + real_path[: real_path.index("/v1/") + len("/v1")]


def assets_time(moment: dt.datetime) -> str:
    """Assets' timestamp form: ``2021-02-16T20:04:41.527Z``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def now() -> str:
    return assets_time(dt.datetime.now(dt.UTC))


def timestamp_ms(text: str) -> int:
    return int(dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000)


def next_number(state: VendorState, sequence: str, first: int) -> int:
    """The next id of a sequence, kept with the data so a restart goes on where it stopped."""
    return state.reserve(sequence, 1, first)


def page_numbers(start_at: Any, max_results: Any, default_max: int) -> tuple[int, int]:
    """``startAt`` and ``maxResults`` from the query string or the body, validated."""
    try:
        start = int(start_at) if start_at not in (None, "") else 0
        size = int(max_results) if max_results not in (None, "") else default_max
    except (TypeError, ValueError):
        raise AssetsError(
            400,
            f"startAt and maxResults must be integers, got startAt={start_at!r}, maxResults={max_results!r}",
        ) from None
    if start < 0 or size < 1:
        raise AssetsError(400, f"startAt must be >= 0 and maxResults >= 1, got {start} and {size}")
    return start, size
