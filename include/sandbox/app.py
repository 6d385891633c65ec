"""The sandbox: one FastAPI application serving every registered vendor, its data, faults and counters."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cached_property
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from sandbox.admin import admin_router
from sandbox.changes import Change, recording
from sandbox.config import SandboxConfig
from sandbox.faults import FaultBoard
from sandbox.gate import VendorGate
from sandbox.limits import LimitBoard
from sandbox.registry import load_vendors
from sandbox.store import Store
from sandbox.tokens import TokenIssuer
from sandbox.traffic import Traffic
from sandbox.vendor import Vendor, VendorError, VendorState
from sandbox.world import World

DATABASE_NAME = "sandbox.sqlite3"


_telling: ContextVar[bool] = ContextVar("sandbox_telling_vendors", default=False)


class Sandbox:
    """Holds what outlives a request. Seeds the world on first start; later starts load it from disk."""

    def __init__(self, config: SandboxConfig, vendors: dict[str, Vendor] | None = None) -> None:
        self.config = config
        self.vendors = load_vendors() if vendors is None else vendors
        self.store = Store(config.data_dir / DATABASE_NAME)
        self.tokens = TokenIssuer()
        self.faults = FaultBoard()
        self.limits = LimitBoard()
        self.traffic = Traffic()
        self._states = {name: VendorState(name, self.store, config, self.tokens) for name in self.vendors}
        if self.store.get_meta("seed") is None:
            self.seed(config.seed, config.users)
        else:
            self._seed_new_vendors()
        self.app = self._build_app()

    @property
    def seed_value(self) -> int:
        return int(self.store.get_meta("seed") or self.config.seed)

    @property
    def users(self) -> int:
        return int(self.store.get_meta("users") or self.config.users)

    @cached_property
    def world(self) -> World:
        """Built lazily: a cold start from disk has no need of the people."""
        return World(self.seed_value, self.users)

    def vendor_state(self, name: str) -> VendorState:
        return self._states[name]

    def seed(self, seed: int, users: int) -> None:
        """Replace every vendor's data with the world of (seed, users)."""
        with self.store.transaction():
            self.store.clear()
            self.store.set_meta("seed", str(seed))
            self.store.set_meta("users", str(users))
            self.store.set_meta("seeded_vendors", "[]")
            self.__dict__.pop("world", None)
            self._seed_new_vendors()

    def reset(self) -> None:
        """Back to the freshly seeded world, with no faults, limits, counters or issued tokens."""
        self.faults.clear()
        self.limits.clear()
        self.traffic.clear()
        for name in self.vendors:
            self.tokens.revoke_all(name)
        self.seed(self.seed_value, self.users)

    @contextmanager
    def telling_vendors(self) -> Iterator[None]:
        """Record the writes made inside the block, then tell each vendor its own (``Vendor.on_change``).

        The vendors are told even if the block fails half way: what was written stays written. A block
        inside another (a composite request's subrequest) is told with the outer one, once.
        """
        if _telling.get():
            yield
            return
        changes: list[Change] = []
        token = _telling.set(True)
        try:
            with recording(changes):
                yield
        finally:
            _telling.reset(token)
            by_vendor: dict[str, list[Change]] = {}
            for change in changes:
                by_vendor.setdefault(change.vendor, []).append(change)
            for name, its_changes in by_vendor.items():
                hook = self.vendors[name].on_change if name in self.vendors else None
                if hook is not None:
                    hook(self._states[name], its_changes)

    def export(self, vendor: str | None = None) -> dict[str, Any]:
        names = [vendor] if vendor else list(self.vendors)
        return {
            "seed": self.seed_value,
            "users": self.users,
            "vendors": {
                name: {c.name: {i: c.get(i) for i in c.ids()} for c in self.store.collections(name)}
                for name in names
            },
        }

    def _seed_new_vendors(self) -> None:
        """Seed vendors added since the data dir was seeded, from the same world, so it stays coherent."""
        seeded = json.loads(self.store.get_meta("seeded_vendors") or "[]")
        with self.store.transaction(), _garbage_collector_paused():
            for name, vendor in self.vendors.items():
                if name not in seeded:
                    vendor.seed(self.world, self._states[name])
                    seeded.append(name)
            self.store.set_meta("seeded_vendors", json.dumps(seeded))

    def _build_app(self) -> FastAPI:
        app = FastAPI(
            title="jirasync sandbox",
            docs_url="/_sandbox/docs",
            openapi_url="/_sandbox/openapi.json",
            redoc_url=None,
        )
        app.state.sandbox = self
        app.add_exception_handler(VendorError, _vendor_error_response)
        app.add_exception_handler(HTTPException, self._route_error)
        app.add_exception_handler(RequestValidationError, self._route_error)
        app.include_router(admin_router)
        for vendor in self.vendors.values():
            app.include_router(vendor.router, prefix=vendor.prefix)
        app.add_middleware(VendorGate, sandbox=self)
        return app

    async def _route_error(self, request: Request, raised: Exception) -> Response:
        """The framework's own answer (no such route, method or readable request) in the body of
        the vendor the request was for, as that vendor's clients expect their errors."""
        vendor = self.vendors.get(request.scope.get("sandbox.vendor", ""))
        if isinstance(raised, RequestValidationError):
            if vendor is None:  # the admin API
                return await request_validation_exception_handler(request, raised)
            return vendor.route_error(400, _validation_message(raised))
        assert isinstance(raised, HTTPException)
        if vendor is None:
            return await http_exception_handler(request, raised)
        return vendor.route_error(raised.status_code, str(raised.detail))


@contextmanager
def _garbage_collector_paused() -> Iterator[None]:
    """Seeding makes millions of objects that live on and form no cycles; a collector left running
    walks them again and again (a third of a 100,000-people seed)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def _vendor_error_response(_request: Request, raised: Exception) -> Response:
    return raised.response  # type: ignore[attr-defined]


def _validation_message(raised: RequestValidationError) -> str:
    first = raised.errors()[0] if raised.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ())[1:])
    return (
        f"{where}: {first.get('msg', 'invalid request')}"
        if where
        else str(first.get("msg", "invalid request"))
    )


def create_app(config: SandboxConfig) -> FastAPI:
    return Sandbox(config).app
