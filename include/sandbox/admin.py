"""The admin API under /_sandbox/: reset, seed, export, mutate data, counters, request log, faults, limits.

It needs no credentials: the sandbox is a local test peer, and these routes never reach a vendor.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request, Response
from pydantic import BaseModel, Field

from sandbox.faults import Fault
from sandbox.limits import Limit
from sandbox.store import Collection

if TYPE_CHECKING:
    from sandbox.app import Sandbox

JsonObject = Annotated[dict[str, Any], Body()]

admin_router = APIRouter(prefix="/_sandbox", tags=["sandbox admin"])


class SeedRequest(BaseModel):
    seed: int
    users: int = Field(ge=1)


def _sandbox(request: Request) -> Sandbox:
    return request.app.state.sandbox


def _collection(request: Request, vendor: str, collection: str) -> Collection:
    sandbox = _sandbox(request)
    if vendor not in sandbox.vendors:
        raise HTTPException(404, f"no vendor {vendor!r}; the sandbox serves {sorted(sandbox.vendors)}")
    return sandbox.vendor_state(vendor).collection(collection)


def _record(collection: Collection, record_id: str) -> dict[str, Any]:
    record = collection.get(record_id)
    if record is None:
        raise HTTPException(404, f"no record {record_id!r} in {collection.vendor}/{collection.name}")
    return record


@admin_router.get("/health")
def health(request: Request) -> dict[str, Any]:
    sandbox = _sandbox(request)
    return {"vendors": {name: v.prefix for name, v in sandbox.vendors.items()}, "seed": sandbox.seed_value}


@admin_router.post("/reset", status_code=204)
def reset(request: Request) -> Response:
    _sandbox(request).reset()
    return Response(status_code=204)


@admin_router.post("/seed", status_code=204)
def seed(request: Request, body: SeedRequest) -> Response:
    _sandbox(request).seed(body.seed, body.users)
    return Response(status_code=204)


@admin_router.get("/export")
def export(request: Request, vendor: str | None = None) -> dict[str, Any]:
    return _sandbox(request).export(vendor)


@admin_router.get("/people")
def people(request: Request, offset: int = 0, limit: int = 100) -> list[dict[str, Any]]:
    return [asdict(p) for p in _sandbox(request).world.people[offset : offset + limit]]


@admin_router.get("/counters")
def counters(request: Request) -> dict[str, int]:
    return _sandbox(request).traffic.counters()


@admin_router.get("/log")
def request_log(request: Request, limit: int = 1000) -> list[dict[str, Any]]:
    return _sandbox(request).traffic.log(limit)


@admin_router.delete("/counters", status_code=204)
def clear_counters(request: Request) -> Response:
    """Clears the counters and the request log together."""
    _sandbox(request).traffic.clear()
    return Response(status_code=204)


@admin_router.get("/faults")
def list_faults(request: Request) -> list[Fault]:
    return _sandbox(request).faults.list()


@admin_router.post("/faults", status_code=201)
def add_fault(request: Request, fault: Fault) -> Fault:
    if fault.vendor not in _sandbox(request).vendors:
        raise HTTPException(404, f"no vendor {fault.vendor!r} to inject a {fault.kind} fault into")
    return _sandbox(request).faults.add(fault)


@admin_router.delete("/faults", status_code=204)
def clear_faults(request: Request) -> Response:
    _sandbox(request).faults.clear()
    return Response(status_code=204)


@admin_router.get("/limits")
def list_limits(request: Request) -> dict[str, Limit]:
    return _sandbox(request).limits.list()


@admin_router.put("/limits/{vendor}")
def set_limit(request: Request, vendor: str, limit: Limit) -> Limit:
    """Replace the vendor's limits (a field left out or null turns that limit off)."""
    if vendor not in _sandbox(request).vendors:
        raise HTTPException(404, f"no vendor {vendor!r} to limit")
    return _sandbox(request).limits.set(vendor, limit)


@admin_router.delete("/limits", status_code=204)
def clear_limits(request: Request) -> Response:
    _sandbox(request).limits.clear()
    return Response(status_code=204)


@admin_router.get("/data/{vendor}/{collection}")
def list_records(
    request: Request, vendor: str, collection: str, offset: int = 0, limit: int = 100
) -> list[dict[str, Any]]:
    records = _collection(request, vendor, collection)
    return [records.get(i) for i in records.ids()[offset : offset + limit]]


@admin_router.get("/data/{vendor}/{collection}/{record_id}")
def get_record(request: Request, vendor: str, collection: str, record_id: str) -> dict[str, Any]:
    return _record(_collection(request, vendor, collection), record_id)


@admin_router.put("/data/{vendor}/{collection}/{record_id}")
def put_record(
    request: Request, vendor: str, collection: str, record_id: str, record: JsonObject
) -> dict[str, Any]:
    """Add a record, or replace it whole."""
    records = _collection(request, vendor, collection)
    with _sandbox(request).telling_vendors():
        return records.put(record_id, record)


@admin_router.patch("/data/{vendor}/{collection}/{record_id}")
def edit_record(
    request: Request, vendor: str, collection: str, record_id: str, changes: JsonObject
) -> dict[str, Any]:
    """Change the given top-level fields of a record, as an admin editing it in the vendor's UI."""
    records = _collection(request, vendor, collection)
    with _sandbox(request).telling_vendors():
        return records.put(record_id, {**_record(records, record_id), **changes})


@admin_router.delete("/data/{vendor}/{collection}/{record_id}", status_code=204)
def delete_record(request: Request, vendor: str, collection: str, record_id: str) -> Response:
    records = _collection(request, vendor, collection)
    _record(records, record_id)
    with _sandbox(request).telling_vendors():
        records.delete(record_id)
    return Response(status_code=204)


@admin_router.post("/actions/{vendor}/{action}")
def run_action(request: Request, vendor: str, action: str, payload: dict[str, Any]) -> Any:
    """A vendor's own change, e.g. a Jira transition through its workflow or a comment by a user."""
    sandbox = _sandbox(request)
    if vendor not in sandbox.vendors:
        raise HTTPException(404, f"no vendor {vendor!r}; the sandbox serves {sorted(sandbox.vendors)}")
    actions = sandbox.vendors[vendor].actions
    if action not in actions:
        raise HTTPException(404, f"vendor {vendor!r} has no action {action!r}; it has {sorted(actions)}")
    try:
        with sandbox.telling_vendors():
            return actions[action](sandbox.vendor_state(vendor), payload)
    except (KeyError, ValueError) as error:
        raise HTTPException(400, f"{vendor} action {action!r} failed: {error}") from error
