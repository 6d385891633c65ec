"""The connections the docker-compose stack loads to try jirasync against its sandbox service."""

from __future__ import annotations

import json
from pathlib import Path

from jirasync.local_stack import sandbox_connections
from sandbox.testing import running_sandbox

ROOT = Path(__file__).resolve().parents[2]
CONNECTIONS_FILE = ROOT / "include/airflow/connections.sandbox.json"


def test_the_sandbox_connections_file_matches_what_the_sandbox_service_accepts(tmp_path: Path) -> None:
    # The compose service runs `python -m sandbox` on its defaults: seed 1, 1,000 people.
    with running_sandbox(tmp_path, seed=1, users=1000) as sandbox:
        workspace = sandbox.record("assets", "workspace", "workspace")["workspaceId"]
    expected = sandbox_connections("http://sandbox:8900", workspace)
    assert json.loads(CONNECTIONS_FILE.read_text()) == expected, (
        f"regenerate {CONNECTIONS_FILE.name} from jirasync.local_stack.sandbox_connections"
    )


def test_every_shipped_definition_names_a_connection_the_sandbox_provides() -> None:
    from jirasync.engine.definitions import read_definitions

    connections = json.loads(CONNECTIONS_FILE.read_text())
    found = read_definitions(ROOT / "include/syncs")
    assert found.errors == []
    for definition in found.definitions:
        for endpoint in (definition.source, definition.target):
            assert endpoint.conn_id in connections, (definition.id, endpoint.conn_id)
