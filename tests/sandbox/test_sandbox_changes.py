"""Admin writes tell the vendor which of its records changed, once the write is done."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from sandbox.app import Sandbox
from sandbox.changes import Change
from sandbox.config import SandboxConfig
from sandbox.vendor import Vendor, VendorState
from sandbox.world import World


def _seed(world: World, state: VendorState) -> None:
    state.collection("items").put_many([("1", {"name": "one"}), ("2", {"name": "two"})])


def _rename(state: VendorState, payload: dict[str, Any]) -> dict[str, Any]:
    item = {**state.collection("items").get(payload["id"]), "name": payload["name"]}
    return state.collection("items").put(payload["id"], item)


def _vendor(name: str, told: list[list[Change]]) -> Vendor:
    def on_change(state: VendorState, changes: list[Change]) -> None:
        told.append(changes)
        state.collection("stamps").put("last", {"ids": [c.record_id for c in changes]})

    return Vendor(
        name=name,
        prefix=f"/{name}",
        hosts=(),
        router=APIRouter(),
        seed=_seed,
        authenticate=lambda headers, state: True,
        unauthorized=lambda: JSONResponse({}, 401),
        rate_limited=lambda retry_after: JSONResponse({}, 429),
        server_error=lambda status: JSONResponse({}, status),
        credentials={},
        route_error=lambda status, message: JSONResponse({"message": message}, status),
        actions={"rename": _rename},
        on_change=on_change,
    )


@pytest.fixture
def told() -> list[list[Change]]:
    return []


@pytest.fixture
def admin(tmp_path: Path, told: list[list[Change]]) -> Iterator[TestClient]:
    other: list[list[Change]] = []
    sandbox = Sandbox(
        SandboxConfig(data_dir=tmp_path, users=10),
        vendors={"shop": _vendor("shop", told), "other": _vendor("other", other)},
    )
    with TestClient(sandbox.app, base_url="http://sandbox") as client:
        yield client
    assert other == [], "a vendor is told only of its own records"
    sandbox.store.close()


def test_seeding_and_reads_tell_nothing(admin: TestClient, told: list[list[Change]]) -> None:
    assert admin.get("/_sandbox/data/shop/items/1").json() == {"name": "one"}
    assert told == []


def test_an_edit_tells_the_record_before_and_after(admin: TestClient, told: list[list[Change]]) -> None:
    admin.patch("/_sandbox/data/shop/items/1", json={"name": "uno"}).raise_for_status()
    assert told == [[Change("shop", "items", "1", {"name": "one"}, {"name": "uno"})]]


def test_a_new_record_and_a_deletion_are_told(admin: TestClient, told: list[list[Change]]) -> None:
    admin.put("/_sandbox/data/shop/items/3", json={"name": "three"}).raise_for_status()
    admin.delete("/_sandbox/data/shop/items/2").raise_for_status()
    assert told == [
        [Change("shop", "items", "3", None, {"name": "three"})],
        [Change("shop", "items", "2", {"name": "two"}, None)],
    ]


def test_an_action_tells_what_it_wrote(admin: TestClient, told: list[list[Change]]) -> None:
    admin.post("/_sandbox/actions/shop/rename", json={"id": "2", "name": "dos"}).raise_for_status()
    assert told == [[Change("shop", "items", "2", {"name": "two"}, {"name": "dos"})]]


def test_what_the_hook_writes_is_not_told_again(admin: TestClient, told: list[list[Change]]) -> None:
    admin.patch("/_sandbox/data/shop/items/1", json={"name": "uno"}).raise_for_status()
    assert admin.get("/_sandbox/data/shop/stamps/last").json() == {"ids": ["1"]}
    assert len(told) == 1
