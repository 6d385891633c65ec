"""State store fixtures shared by the store, apply, revert and crash tests.

Every store test runs on SQLite (a file in the test's temporary folder) and on the PostgreSQL
server at 127.0.0.1:5432, in a database created for this test session and dropped after it.
It also holds the in-memory remote the apply and revert tests write to.
Test modules import these fixtures by name.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from jirasync.engine.apply import WriteOutcome, WriteRecord
from jirasync.engine.store import CHANGE_COLUMNS, StateStore, metadata
from jirasync.live_airflow import fresh_database


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database on the local server, dropped at the end of the session."""
    with fresh_database("jirasync_test") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's state store lives; the PostgreSQL one starts with empty tables."""
    if request.param == "sqlite":
        return str(tmp_path / "state.db")
    url = request.getfixturevalue("postgres_url")
    store = StateStore(url)
    with store.engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {', '.join(table.name for table in metadata.sorted_tables)}"))
    store.close()
    return url


@pytest.fixture
def state_store(store_location: str) -> Iterator[StateStore]:
    store = StateStore(store_location)
    yield store
    store.close()


class InMemoryRemote:
    """The remote side of a writer: records by id in a dict, as a vendor API would keep them.

    `rejecting` maps a key to the error the remote answers for it until the test clears it.
    """

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.rejecting: dict[str, str] = {}
        self.batches: list[tuple[str, str, int]] = []
        self._next_id = 1

    def find(self, key: str) -> str | None:
        return next((record_id for record_id, record in self.records.items() if record["_key"] == key), None)

    def values(self) -> dict[str, dict[str, Any]]:
        """Records by key, without the bookkeeping: what a person would see in the target."""
        return {
            record["_key"]: {name: value for name, value in record.items() if name != "_key"}
            for record in self.records.values()
        }


class InMemoryWriter:
    """A writer over an InMemoryRemote, following the Writer protocol of jirasync.engine.apply."""

    def __init__(self, remote: InMemoryRemote, batch_size: int) -> None:
        self.remote = remote
        self.batch_size = batch_size

    def write(self, kind: str, direction: str, records: Sequence[WriteRecord]) -> list[WriteOutcome]:
        self.remote.batches.append((kind, direction, len(records)))
        return [self._write_one(kind, record) for record in records]

    def reconcile(self, records: Sequence[WriteRecord]) -> list[str | None]:
        return [self.remote.find(record.key) for record in records]

    def _write_one(self, kind: str, record: WriteRecord) -> WriteOutcome:
        if record.key in self.remote.rejecting:
            return WriteOutcome(error=self.remote.rejecting[record.key], retryable=True)
        records = self.remote.records
        if kind == "create":
            record_id = f"NEW-{self.remote._next_id}"
            self.remote._next_id += 1
            records[record_id] = {"_key": record.key, **record.values}
            return WriteOutcome(record_id=record_id)
        if kind == "delete":
            records.pop(record.target_id, None)
        elif kind in ("update", "clear"):
            if record.target_id not in records:
                return WriteOutcome(error=f"record {record.target_id} does not exist")
            records[record.target_id].update(record.values)
        return WriteOutcome(record_id=record.target_id)


def change_set(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A change set in the contract's shape; columns a row leaves out are missing values."""
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS).astype("string")
