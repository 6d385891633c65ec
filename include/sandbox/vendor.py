"""What a vendor module declares so the sandbox can serve, guard, seed and fault it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.responses import Response

from sandbox.changes import Change
from sandbox.config import SandboxConfig
from sandbox.store import Collection, Store
from sandbox.tokens import TokenIssuer

if TYPE_CHECKING:
    from sandbox.world import World


class VendorError(Exception):
    """Raised anywhere in a vendor route to answer with the vendor's own error response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


_SEQUENCE_LOCK = threading.Lock()


class VendorState:
    """A vendor's handle on the sandbox: its own collections, the options and the token issuer."""

    def __init__(self, name: str, store: Store, config: SandboxConfig, tokens: TokenIssuer) -> None:
        self.name = name
        self.config = config
        self.tokens = tokens
        self._store = store

    def collection(self, name: str, vendor: str | None = None) -> Collection:
        """One of this vendor's collections, or another vendor's (JSM customers live among Jira users)."""
        return self._store.collection(vendor or self.name, name)

    def collections(self) -> list[Collection]:
        return self._store.collections(self.name)

    def reserve(self, sequence: str, count: int, first: int) -> int:
        """The first of ``count`` new numbers of a sequence (record ids), kept with the data so a
        restart goes on where it stopped. One at a time: a vendor never hands out an id twice, however
        many requests create records at once."""
        with _SEQUENCE_LOCK:
            sequences = self.collection("sequences")
            start = (sequences.get(sequence) or {"next": first})["next"]
            sequences.put(sequence, {"next": start + count})
        return start


@dataclass(frozen=True)
class Vendor:
    """One emulated API. A vendor module exposes one of these as ``VENDOR``.

    ``router`` holds the routes at their real paths (``/rest/api/3/myself``); the sandbox
    serves it under ``prefix`` and, for requests whose Host matches one of ``hosts``
    (regular expressions, matched in full, case-insensitive, port ignored), at the real paths.
    ``public_paths`` (regular expressions on the real path) need no credentials: token endpoints.
    ``paths`` is for a vendor that shares its prefix and host with another (JSM with Jira):
    the real paths it owns; a vendor with no ``paths`` owns the rest of its prefix.
    ``route_error`` renders what the framework would otherwise answer itself, in the vendor's own
    error body: a path no route serves (404), a method the path does not take (405), a request the
    route cannot read (400); it gets the status and a message.
    ``on_change`` is told, after each admin API write (data routes and actions), which of the
    vendor's records it changed: a vendor that tracks changes (Graph delta, SCIM ``meta``)
    records them then, instead of looking for them on every request.
    """

    name: str
    prefix: str
    hosts: tuple[str, ...]
    router: APIRouter
    seed: Callable[[World, VendorState], None]
    authenticate: Callable[[Headers, VendorState], bool]
    unauthorized: Callable[[], Response]
    rate_limited: Callable[[int], Response]
    server_error: Callable[[int], Response]
    credentials: Mapping[str, str]
    route_error: Callable[[int, str], Response]
    public_paths: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    actions: Mapping[str, Callable[[VendorState, dict[str, Any]], Any]] = field(default_factory=dict)
    on_change: Callable[[VendorState, list[Change]], None] | None = None


def vendor_state(request: Request, name: str) -> VendorState:
    """The state of vendor ``name`` for a route handler."""
    return request.app.state.sandbox.vendor_state(name)


def public_base_url(request: Request) -> str:
    """The base URL the client used for this vendor, for ``self`` links: prefix or real host."""
    return request.scope["sandbox.public_base_url"]


def telling_writes(
    handle: Callable[[Request], Coroutine[Any, Any, Response]], methods: set[str]
) -> Callable[[Request], Coroutine[Any, Any, Response]]:
    """A route handler whose writes (any method but GET and HEAD) are told to the vendors'
    ``on_change`` hooks, as admin API writes are: for the vendors that push (webhooks) or track
    changes. Use it in a route class's ``get_route_handler``."""
    if not methods - {"GET", "HEAD"}:
        return handle

    async def handle_write(request: Request) -> Response:
        with request.app.state.sandbox.telling_vendors():
            return await handle(request)

    return handle_write


class TellingRoute(APIRoute):
    """A route whose writes are told to the vendors' ``on_change`` hooks (``telling_writes``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return telling_writes(super().get_route_handler(), self.methods)
