"""Fixtures shared by the connector tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.connectors.scripted_server import ScriptedServer


@pytest.fixture
def scripted_server() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.close()
