"""The status page: each sync's last run and its pending records, from the state store."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient

from jirasync.engine.store import StateStore
from jirasync.status_page import create_app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_SYNCS = Path(__file__).with_name("syncs")


def test_the_page_shows_each_syncs_last_run_and_its_pending_records(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db")
    store.start_run("entra_to_jira", "entra_to_jira:manual__1:1", dry_run=False)
    store.finish_run("entra_to_jira:manual__1:1", "partial", {"read_source": 40, "updated": 3, "failed": 1})
    store.save_links(
        "entra_to_jira",
        pd.DataFrame(
            {"source_id": ["u1"], "target_id": ["a1"], "key": ["x@example.com"], "origin": ["auto"]}
        ),
    )
    store.close()
    client = TestClient(create_app(lambda: EXAMPLE_SYNCS, lambda: str(tmp_path / "state.db")))

    rows = {row["sync"]: row for row in client.get("/syncs").json()}
    assert rows["entra_to_jira"]["last_status"] == "partial"
    assert rows["entra_to_jira"]["updated"] == 3 and rows["entra_to_jira"]["failed"] == 1
    assert rows["entra_to_jira"]["links"] == 1
    assert rows["jira_to_zoho_contacts"]["last_status"] == "never run"
    page = client.get("/").text
    assert "<td>entra_to_jira</td>" in page and "<td>partial</td>" in page


def test_a_broken_definition_leaves_the_page_to_the_other_syncs(tmp_path: Path) -> None:
    syncs = tmp_path / "syncs"
    shutil.copytree(EXAMPLE_SYNCS, syncs)
    (syncs / "broken.yaml").write_text("family: users_to_contacts\nkee: email\n")
    client = TestClient(create_app(lambda: syncs, lambda: str(tmp_path / "state.db")))
    response = client.get("/syncs")
    assert response.status_code == 200
    assert {row["sync"] for row in response.json()} == {"entra_to_jira", "jira_to_zoho_contacts"}


def test_airflow_loads_the_plugin(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
    }
    script = (
        "from airflow.plugins_manager import get_fastapi_plugins; "
        "print([app['url_prefix'] for app in get_fastapi_plugins()[0]])"
    )
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "/jirasync" in result.stdout
