"""What the CLI tests share: the real ``jirasync`` command in a fresh process, and a real sync
applied in this process, as a DAG run's steps would, to give the state store links and a ledger."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from jirasync.engine.apply import apply_changes
from jirasync.engine.definitions import read_definitions
from jirasync.engine.store import StateStore
from jirasync.local_stack import sandbox_connections
from jirasync.operators.connectors import connector_for
from jirasync.preview import preview_plan
from jirasync.syncs.family import RunOptions, SyncRun, family_for
from sandbox.testing import RunningSandbox

ROOT = Path(__file__).resolve().parents[2]
SYNCS = ROOT / "include" / "syncs"


def connections_of(sandbox: RunningSandbox) -> dict[str, dict[str, Any]]:
    workspace = sandbox.record("assets", "workspace", "workspace")["workspaceId"]
    return sandbox_connections(sandbox.base_url, workspace)


def jirasync(*args: str, home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``jirasync ARGS`` with no Airflow connection variable and an Airflow database it cannot reach."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW_CONN_")}
    clean.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql://nobody@unreachable.invalid/none",
        **(env or {}),
    )
    return subprocess.run(
        [sys.executable, "-m", "jirasync.cli", *args], env=clean, capture_output=True, text=True, cwd=ROOT
    )


def sync_once(sync_id: str, state: Path, sandbox: RunningSandbox, run_id: str) -> None:
    """Read, plan and apply ``sync_id`` against the sandbox, with its state in ``state``."""
    saved = dict(os.environ)
    os.environ.update(
        {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(c) for conn_id, c in connections_of(sandbox).items()}
    )
    store = StateStore(state)
    try:
        definition = read_definitions(SYNCS).find(sync_id)
        preview = preview_plan(definition, store, full_sync=False, only="")
        run = SyncRun(definition, RunOptions(), store, run_id, None, connector_for)
        writer = family_for(definition).writer(run, connector_for(definition.target), preview.source.frame)
        apply_changes(preview.changes, store=store, sync_id=sync_id, writer=writer, run_id=run_id)
        for side, extract in (("source", preview.source), ("target", preview.target)):
            if extract.cursor is not None:
                store.save_cursor(sync_id, side, extract.cursor)
    finally:
        store.close()
        os.environ.clear()
        os.environ.update(saved)
