"""Guards on the DAG folder: it parses offline, and every DAG is safe to schedule."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_SYNCS = Path(__file__).with_name("syncs")


def parse_dag_folder(syncs_dir: Path, tmp_path: Path, dags_dir: Path = ROOT / "dags") -> dict[str, Any]:
    """DagBag over dags/ in a fresh interpreter with no network, no connection, no metadata DB."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW_CONN_", "AIRFLOW__DATABASE"))
    }
    env.update(
        AIRFLOW_HOME=str(tmp_path / "airflow-home"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql://nobody@unreachable.invalid/none",
        JIRASYNC_SYNCS_DIR=str(syncs_dir),
    )
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("parse_dags_offline.py")), str(dags_dir)],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module", params=["shipped", "examples"])
def parsed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The DAG folder parsed over the shipped definitions and over this folder's examples."""
    syncs = ROOT / "include/syncs" if request.param == "shipped" else EXAMPLE_SYNCS
    return parse_dag_folder(syncs, tmp_path_factory.mktemp(request.param))


def test_every_dag_file_imports_without_network_or_connections(parsed: dict[str, Any]) -> None:
    assert parsed["import_errors"] == {}


def test_the_example_definitions_become_dags(tmp_path: Path) -> None:
    parsed = parse_dag_folder(EXAMPLE_SYNCS, tmp_path)
    assert set(parsed["dags"]) == {"jirasync__entra_to_jira", "jirasync__jira_to_zoho_contacts"}


def test_every_dag_is_safe_to_schedule(parsed: dict[str, Any]) -> None:
    for dag_id, dag in parsed["dags"].items():
        assert "jirasync" in dag["tags"] and len(dag["tags"]) >= 3, dag_id
        assert dag["max_active_runs"] == 1, dag_id
        assert dag["doc_md"], dag_id
        for task_id, task in dag["tasks"].items():
            assert task["owner"] == "jirasync", (dag_id, task_id)
            assert task["retries"] >= 2 or task_id == "check", (dag_id, task_id)
            assert not task["logs_return_value"], (dag_id, task_id)  # kilobytes on one log line


def test_vendor_calls_run_in_the_vendor_pool(tmp_path: Path) -> None:
    tasks = parse_dag_folder(EXAMPLE_SYNCS, tmp_path)["dags"]["jirasync__jira_to_zoho_contacts"]["tasks"]
    assert tasks["extract_source"]["pool"] == "jira_api"
    assert tasks["extract_target"]["pool"] == "zoho_crm_api"
    assert tasks["apply"]["pool"] == "zoho_crm_api"


def test_a_malformed_definition_is_an_import_error_of_its_own_listing_every_problem(tmp_path: Path) -> None:
    syncs = tmp_path / "syncs"
    shutil.copytree(EXAMPLE_SYNCS, syncs)
    broken = (EXAMPLE_SYNCS / "entra_to_jira.yaml").read_text().replace("key:", "kee:")  # so no key
    (syncs / "broken.yaml").write_text(broken + "delete_policy: wipe_everything\n")
    parsed = parse_dag_folder(syncs, tmp_path)
    # The other syncs are still DAGs: one broken file hides nothing but itself.
    assert set(parsed["dags"]) == {"jirasync__entra_to_jira", "jirasync__jira_to_zoho_contacts"}
    assert list(parsed["import_errors"]) == [str(ROOT / "dags" / "definition_errors.py")]
    message = parsed["import_errors"][str(ROOT / "dags" / "definition_errors.py")]
    assert "1 sync definition(s) cannot be used" in message and "broken.yaml" in message
    assert "field 'delete_policy'" in message and "use one of" in message
    assert "field 'kee'" in message and "did you mean 'key'?" in message
    assert "field 'key'" in message and "is required" in message


def test_the_offline_parse_catches_a_dag_file_that_calls_out(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "calls_out.py").write_text(
        "import socket\nfrom airflow.sdk import DAG\nsocket.create_connection(('127.0.0.1', 9))\n"
    )
    (dags / "reads_connection.py").write_text(
        "from airflow.sdk import DAG, BaseHook\nBaseHook.get_connection('jira_default')\n"
    )
    errors = parse_dag_folder(EXAMPLE_SYNCS, tmp_path, dags)["import_errors"]
    assert "must not use the network" in errors[str(dags / "calls_out.py")]
    assert "must not use an Airflow connection" in errors[str(dags / "reads_connection.py")]


def test_mapping_an_attribute_the_identity_provider_lacks_fails_at_parse_time(tmp_path: Path) -> None:
    syncs = tmp_path / "syncs"
    syncs.mkdir()
    definition = (EXAMPLE_SYNCS / "entra_to_jira.yaml").read_text()
    (syncs / "typo.yaml").write_text(definition.replace("source: jobTitle", "source: jobTitel"))
    message = next(iter(parse_dag_folder(syncs, tmp_path)["import_errors"].values()))
    assert "typo.yaml" in message
    assert "fields[1].source" in message
    assert "'jobTitel' is not an attribute of the entra_id identity provider (nearest: jobTitle" in message
