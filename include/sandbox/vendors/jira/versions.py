"""REST v2 beside v3: one implementation, two renderings.

Jira Cloud serves the same resources at ``/rest/api/2`` and ``/rest/api/3``; they differ in
rich text: v3 reads and writes Atlassian Document Format, v2 plain text and wiki markup.
Every Jira route is written once, for v3, with ``RestRoute`` as its route class, and mounted
under both versions. A route mounted under v2 turns the rich text of the request into ADF
before the handler sees it, and the ADF of the answer into wiki markup (and its v3 links into
v2 links) after: the store holds one document, each version shows it its own way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.types import Message

from sandbox.vendor import VendorError, public_base_url, telling_writes
from sandbox.vendors.jira.api import error
from sandbox.vendors.jira.records import RICH_TEXT_FIELDS
from sandbox.vendors.jira.wiki import adf_to_wiki, is_adf, text_to_adf

V3 = "/rest/api/3"
V2 = "/rest/api/2"
# The routes whose request bodies carry rich text: issue writes and comments. Others (entity
# properties above all) take the client's own JSON, which no version rewrites.
RICH_TEXT_WRITES = (
    "/issue",
    "/issue/bulk",
    "/issue/{issueIdOrKey}",
    "/issue/{issueIdOrKey}/transitions",
    "/issue/{issueIdOrKey}/comment",
    "/issue/{issueIdOrKey}/comment/{commentId}",
)
# Keys whose values are the client's own JSON (entity properties) in any answer.
_CLIENT_JSON = {"properties", "value"}


class RestRoute(APIRoute):
    """A Jira REST route; mounted under ``/rest/api/2`` it speaks v2 around the v3 handler."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = telling_writes(super().get_route_handler(), self.methods)
        if f"{V2}/" not in self.path_format:
            return handle
        rich_text = self.path_format.endswith(tuple(V2 + path for path in RICH_TEXT_WRITES))

        async def handle_v2(request: Request) -> Response:
            if rich_text:
                request = Request(request.scope, _receiving(_v3_request_body(await request.body())))
            response = await handle(request)
            if response.media_type == "application/json" and response.body:
                base = public_base_url(request)
                response.body = json.dumps(_v2(json.loads(response.body), base), ensure_ascii=False).encode()
                response.headers["content-length"] = str(len(response.body))
            return response

        return handle_v2


def _receiving(body: bytes) -> Callable[[], Coroutine[Any, Any, Message]]:
    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


# --- requests: v2 text in, v3 ADF for the handler ----------------------------------------------


def _v3_request_body(raw: bytes) -> bytes:
    """The body with its rich text as ADF; a body that is not a JSON object is left for the handler."""
    try:
        body = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(body, dict):
        return raw
    return json.dumps(_v3_update(body)).encode()


def _v3_update(body: dict[str, Any]) -> dict[str, Any]:
    """An issue write (``fields``, ``update``, ``issueUpdates``) or a comment (``body``) in ADF."""
    converted = dict(body)
    if isinstance(body.get("fields"), dict):
        converted["fields"] = {
            name: _adf(value, name) if name in RICH_TEXT_FIELDS else value
            for name, value in body["fields"].items()
        }
    if isinstance(body.get("update"), dict):
        converted["update"] = {name: _v3_operations(name, ops) for name, ops in body["update"].items()}
    if isinstance(body.get("issueUpdates"), list):
        converted["issueUpdates"] = [
            _v3_update(u) if isinstance(u, dict) else u for u in body["issueUpdates"]
        ]
    if "body" in body:
        converted["body"] = _adf(body["body"], "comment")
    return converted


def _v3_operations(name: str, operations: Any) -> Any:
    """``update`` operations on a rich-text field, or ``comment: [{"add": {"body": ...}}]``."""
    if not isinstance(operations, list):
        return operations
    if name == "comment":
        return [{**op, "add": _v3_update(op["add"])} if _adds(op) else op for op in operations]
    if name not in RICH_TEXT_FIELDS:
        return operations
    return [
        {verb: _adf(value, name) for verb, value in op.items()} if isinstance(op, dict) else op
        for op in operations
    ]


def _adds(operation: Any) -> bool:
    return isinstance(operation, dict) and isinstance(operation.get("add"), dict)


def _adf(value: Any, name: str) -> Any:
    """A v2 string as an ADF document; v2 refuses a document, as Jira's v2 does."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise VendorError(error(400, errors={name: "Operation value must be a string"}))
    return text_to_adf(value)


# --- answers: v3 ADF from the handler, v2 wiki markup out --------------------------------------


def _v2(value: Any, base: str) -> Any:
    """The answer with its documents as wiki markup and its v3 links as v2 links. Entity
    properties are the client's own JSON and are answered as stored."""
    if is_adf(value):
        return adf_to_wiki(value)
    if isinstance(value, dict):
        return {k: v if k in _CLIENT_JSON else _v2(v, base) for k, v in value.items()}
    if isinstance(value, list):
        return [_v2(item, base) for item in value]
    if isinstance(value, str) and value.startswith(f"{base}{V3}/"):
        return f"{base}{V2}/{value.removeprefix(f'{base}{V3}/')}"
    return value
