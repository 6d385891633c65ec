"""State store fixtures shared by the store, apply, revert and crash tests.

Every store test runs on SQLite (a file in the test's temporary folder) and on the PostgreSQL
server at 127.0.0.1:5432, in a database created for this test session and dropped after it.
Test modules import these fixtures by name.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from jirasync.engine.store import StateStore, metadata

POSTGRES_SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, randomly named database on the local server, dropped at the end of the session."""
    name = f"jirasync_test_{uuid.uuid4().hex[:12]}"
    server = sa.create_engine(f"{POSTGRES_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{POSTGRES_SERVER}/{name}"
    finally:
        with server.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


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
