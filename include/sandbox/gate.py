"""The ASGI layer in front of every vendor route: real-host routing, limits, faults, authentication, counting.

It is plain ASGI (not a Starlette BaseHTTPMiddleware) because a dropped connection needs
control over what reaches the socket: the response is started and then abandoned, and
uvicorn closes the connection without a full response.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from sandbox.app import Sandbox
    from sandbox.vendor import Vendor

ADMIN_PREFIX = "/_sandbox"


class VendorGate:
    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox
        self._hosts = [
            (re.compile(pattern, re.IGNORECASE), vendor)
            for vendor in sandbox.vendors.values()
            for pattern in vendor.hosts
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        vendor, real_path = self._route_by_host(scope, headers)
        if vendor is None:
            vendor = self._vendor_by_prefix(scope["path"])
            if vendor is None:
                await self.app(scope, receive, send)
                return
            real_path = scope["path"][len(vendor.prefix) :] or "/"
            public_base = f"{scope['scheme']}://{headers.get('host', '')}{vendor.prefix}"
        else:
            public_base = f"{scope['scheme']}://{headers.get('host', '')}"
        scope["sandbox.public_base_url"] = public_base
        scope["sandbox.vendor"] = vendor.name
        self.sandbox.traffic.begin()
        try:
            status = await self._answer(vendor, real_path, headers, scope, receive, send)
        finally:
            self.sandbox.traffic.end()
        self.sandbox.traffic.record(
            vendor.name,
            scope["method"],
            self._route_template(scope, vendor),
            real_path,
            scope.get("query_string", b"").decode("latin-1"),
            status,
        )

    async def _answer(
        self, vendor: Vendor, real_path: str, headers: Headers, scope: Scope, receive: Receive, send: Send
    ) -> int:
        # A real server has the whole request before it answers, and applies a write whether or not
        # the client is still there: read the body now, and hand the app that body even if the
        # client gives up (a timeout) before the answer.
        receive = _replay(await _read_body(receive))
        with self.sandbox.limits.admit(vendor.name) as retry_after:
            if retry_after is not None:
                return await _respond(vendor.rate_limited(retry_after), scope, receive, send)
            return await self._handle(vendor, real_path, headers, scope, receive, send)

    async def _handle(
        self, vendor: Vendor, real_path: str, headers: Headers, scope: Scope, receive: Receive, send: Send
    ) -> int:
        """A request within the vendor's limits: faults, then authentication, then the route."""
        latency_ms, fault = self.sandbox.faults.strike(vendor.name, scope["method"], real_path)
        if latency_ms:
            await asyncio.sleep(latency_ms / 1000)
        if fault is not None and fault.kind == "drop":
            await _drop(send)
            return 0
        if fault is not None and fault.kind == "rate_limit":
            return await _respond(vendor.rate_limited(fault.retry_after), scope, receive, send)
        if fault is not None and fault.kind == "error":
            return await _respond(vendor.server_error(fault.status), scope, receive, send)
        is_public = any(re.fullmatch(p, real_path) for p in vendor.public_paths)
        if fault is not None and fault.kind == "expire_tokens" and not is_public:
            self.sandbox.tokens.revoke_all(vendor.name)
            return await _respond(vendor.unauthorized(), scope, receive, send)
        if not is_public and not vendor.authenticate(headers, self.sandbox.vendor_state(vendor.name)):
            return await _respond(vendor.unauthorized(), scope, receive, send)

        if fault is not None and fault.kind == "drop_after_apply":
            await self.app(scope, receive, _discard)
            await _drop(send)
            return 0

        status = 0

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, send_and_note_status)
        return status

    def _route_by_host(self, scope: Scope, headers: Headers) -> tuple[Vendor | None, str]:
        """For a request to a vendor's real host name, move it under the vendor's prefix."""
        host = headers.get("host", "").partition(":")[0]  # an IPv6 literal ("[::1]:80") matches no vendor
        real_path = scope["path"]
        candidates = [vendor for pattern, vendor in self._hosts if pattern.fullmatch(host)]
        vendor = _owner(candidates, real_path)
        if vendor is not None:
            scope["path"] = vendor.prefix + real_path
            scope["raw_path"] = scope["path"].encode()
        return vendor, real_path

    def _vendor_by_prefix(self, path: str) -> Vendor | None:
        # Longest prefix first: "/zoho-accounts" must not be taken for "/zoho".
        for prefix in sorted({v.prefix for v in self.sandbox.vendors.values()}, key=len, reverse=True):
            if path == prefix or path.startswith(prefix + "/"):
                sharing = [v for v in self.sandbox.vendors.values() if v.prefix == prefix]
                return _owner(sharing, path[len(prefix) :] or "/")
        return None

    def _route_template(self, scope: Scope, vendor: Vendor) -> str:
        """The route a request hit (``/rest/api/3/issue/{issueIdOrKey}``), found even if a fault answered it."""
        route = scope.get("route")
        if route is None:
            for candidate in self.sandbox.app.router.routes:
                if candidate.matches(scope)[0] == Match.FULL:
                    route = candidate
                    break
        template = getattr(route, "path_format", None) or scope["path"]
        return template[len(vendor.prefix) :] or "/"


def _owner(vendors: list[Vendor], real_path: str) -> Vendor | None:
    """Of vendors sharing a prefix or host, the one that claims the path, else the one claiming no paths."""
    for vendor in vendors:
        if any(re.match(p, real_path) for p in vendor.paths):
            return vendor
    return next((v for v in vendors if not v.paths), None)


async def _respond(response, scope: Scope, receive: Receive, send: Send) -> int:
    await response(scope, receive, send)
    return response.status_code


async def _read_body(receive: Receive) -> bytes:
    """The request's whole body; what arrived of it if the client went away first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    """A ``receive`` that gives the app ``body`` once, then tells it the client is gone."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _discard(message: Message) -> None:
    """Where the answer of a request whose connection is to drop goes."""


async def _drop(send: Send) -> None:
    """Promise a body and send half of it; uvicorn then closes the connection on the client."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1024")]})
    await send({"type": "http.response.body", "body": b"{", "more_body": True})
