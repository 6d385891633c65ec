"""The Sync Center's app behind Airflow's own authentication: what each panel's API answers
from a seeded state store, decisions on held conflicts, and who is refused."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from tests.engine import state_fixtures
from tests.project import sync_center_world as world

from jirasync.engine.store import StateStore
from jirasync.hooks.ui_access import airflow_access
from jirasync.sync_center.app import create_app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_SYNCS = Path(__file__).with_name("syncs")
SYNC = "jira_to_zoho_contacts"
FAILING = "entra_to_jira"


@pytest.fixture(scope="module")
def tokens() -> dict[str, str]:
    """JWTs of an admin and a viewer, issued and checked by Airflow's (simple) auth manager."""
    from airflow.api_fastapi.app import create_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.utils.db import initdb

    initdb()  # the auth manager checks each token against Airflow's table of revoked tokens
    manager = create_auth_manager()
    manager.init()
    return {
        role: manager.generate_jwt(SimpleAuthManagerUser(username=f"{role.lower()}1", role=role))
        for role in ("ADMIN", "VIEWER")
    }


postgres_url = state_fixtures.postgres_url
store_location = state_fixtures.store_location


@pytest.fixture
def store_path(store_location: str) -> Iterator[str]:
    """A seeded store, on SQLite and on PostgreSQL (the queries must read both)."""
    store = StateStore(store_location)
    world.seed(store, SYNC, FAILING)
    store.close()
    yield store_location


def client_for(store_path: Path | str, token: str | None, syncs: Path = EXAMPLE_SYNCS) -> TestClient:
    client = TestClient(create_app(lambda: syncs, lambda: str(store_path), airflow_access()))
    if token:
        client.cookies.set("_token", token)  # the cookie Airflow's UI logs in with
    return client


def test_without_a_login_the_api_answers_401_and_the_page_sends_to_the_login(
    store_path: str, tokens: dict[str, str]
) -> None:
    client = client_for(store_path, None)
    for path in ("/api/syncs", f"/api/syncs/{SYNC}/runs", f"/api/syncs/{SYNC}/links"):
        assert client.get(path).status_code == 401, path
    assert client.post(f"/api/syncs/{SYNC}/decisions", json={}).status_code == 401
    page = client.get("/", follow_redirects=False)
    assert page.status_code == 303 and "/login" in page.headers["location"]
    forged = client_for(store_path, "not-a-jwt")
    assert forged.get("/api/syncs").status_code == 403


def test_a_bearer_token_is_accepted_as_by_airflows_api(store_path: str, tokens: dict[str, str]) -> None:
    client = client_for(store_path, None)
    response = client.get("/api/syncs", headers={"Authorization": f"Bearer {tokens['VIEWER']}"})
    assert response.status_code == 200 and response.json()["user"] == "viewer1"
    assert "Sync Center" in client.get("/", headers={"Authorization": f"Bearer {tokens['VIEWER']}"}).text


def test_health_shows_the_last_success_the_last_failure_and_a_failed_last_run_as_failing(
    store_path: str, tokens: dict[str, str]
) -> None:
    body = client_for(store_path, tokens["VIEWER"]).get("/api/syncs").json()
    syncs = {row["sync"]: row for row in body["syncs"]}
    contacts, identity = syncs[SYNC], syncs[FAILING]
    assert contacts["health"] == "partial"
    assert contacts["last_success"]["run_id"].endswith("scheduled__2026-11-28T08:00:00+00:00:1")
    assert contacts["last_failure"]["error"] == f"{world.FAILED_KEY}: Phone is not a valid phone number"
    assert (contacts["pending"], contacts["conflicts"], contacts["links"]) == (1, 1, 3)
    assert identity["health"] == "failing" and identity["last_run"]["status"] == "failed"
    assert identity["last_failure"]["error"] == f"extract_target: {world.AUTH_ERROR}"
    assert identity["last_success"] is None


def test_runs_changes_pending_and_links_answer_with_their_filters(
    store_path: str, tokens: dict[str, str]
) -> None:
    client = client_for(store_path, tokens["VIEWER"])
    runs = client.get(f"/api/syncs/{SYNC}/runs").json()
    assert [run["status"] for run in runs] == ["partial", "success"]  # newest first
    assert runs[0]["airflow_run_id"] == world.APPLIED_RUN
    changes = f"/api/syncs/{SYNC}/runs/{runs[0]['run_id']}/changes"
    assert client.get(changes).json()["total"] == 3
    failed = client.get(changes, params={"outcome": "failed"}).json()
    assert [(row["key"], row["before"], row["after"]) for row in failed["rows"]] == [
        (world.FAILED_KEY, '"333"', '"not a phone"')
    ]
    assert client.get(changes, params={"kind": "conflict"}).json()["rows"][0]["outcome"] == "held"
    assert client.get(changes, params={"key": "CY@"}).json()["total"] == 1
    assert client.get(changes, params={"key": "%"}).json()["total"] == 0  # a literal, not a wildcard
    [pending] = client.get(f"/api/syncs/{SYNC}/pending").json()
    assert pending["key"] == world.FAILED_KEY and pending["last_error"] == "Phone is not a valid phone number"
    assert pending["fields"] == ["Phone"] and pending["attempts"] == 1
    links = client.get(f"/api/syncs/{SYNC}/links", params={"search": "tgt-b"}).json()
    assert links["total"] == 1 and links["rows"][0]["key"] == world.FAILED_KEY
    assert client.get("/api/syncs/no_such_sync/runs").status_code == 404
    other_sync = f"/api/syncs/{FAILING}/runs/{runs[0]['run_id']}/changes"
    assert client.get(other_sync).status_code == 404  # a run is read through its own sync only


def test_a_decision_on_a_held_conflict_is_recorded_for_the_next_run(
    store_path: str, tokens: dict[str, str]
) -> None:
    client = client_for(store_path, tokens["ADMIN"])
    [held] = client.get(f"/api/syncs/{SYNC}/conflicts").json()
    assert (held["key"], held["field"], held["take"]) == (world.CONFLICT_KEY, "Phone", None)
    decision = {"source_id": held["source_id"], "field": "Phone", "take": "target"}
    assert client.post(f"/api/syncs/{SYNC}/decisions", json=decision).status_code == 200
    [decided] = client.get(f"/api/syncs/{SYNC}/conflicts").json()
    assert (decided["take"], decided["decided_by"]) == ("target", "admin1")
    store = StateStore(store_path)
    assert store.decisions(SYNC).to_dict("records") == [
        {
            "source_id": "src-ada",
            "field": "Phone",
            "take": "target",
            "before": '"555-0100"',
            "after": '"555-0199"',
        }
    ]
    store.close()
    unknown = client.post(f"/api/syncs/{SYNC}/decisions", json={**decision, "field": "Email"})
    assert unknown.status_code == 404 and "holds no conflict" in unknown.json()["detail"]


def test_a_viewer_may_read_but_not_decide(store_path: str, tokens: dict[str, str]) -> None:
    client = client_for(store_path, tokens["VIEWER"])
    [held] = client.get(f"/api/syncs/{SYNC}/conflicts").json()
    response = client.post(
        f"/api/syncs/{SYNC}/decisions",
        json={"source_id": held["source_id"], "field": "Phone", "take": "source"},
    )
    assert response.status_code == 403


def test_a_sync_shows_only_to_those_who_may_see_its_dag(store_path: str, tokens: dict[str, str]) -> None:
    """Airflow's simple auth manager lets every role read every DAG; a stricter one says who may."""
    strict = replace(airflow_access(), may_read=lambda _user, dag_id: dag_id == f"jirasync__{SYNC}")
    client = TestClient(create_app(lambda: EXAMPLE_SYNCS, lambda: store_path, strict))
    client.cookies.set("_token", tokens["ADMIN"])
    assert [row["sync"] for row in client.get("/api/syncs").json()["syncs"]] == [SYNC]
    assert client.get(f"/api/syncs/{FAILING}/runs").status_code == 403
    assert client.get(f"/api/syncs/{SYNC}/runs").status_code == 200


def test_the_store_is_opened_once_and_never_migrated_by_the_page(
    tmp_path: Path, tokens: dict[str, str]
) -> None:
    path = tmp_path / "state.db"
    client = client_for(path, tokens["VIEWER"])
    response = client.get("/api/syncs")
    assert response.status_code == 503 and "jirasync state migrate" in response.json()["detail"]
    assert sa.inspect(sa.create_engine(f"sqlite:///{path}")).get_table_names() == []
    StateStore(path).close()  # as a run or `jirasync state migrate` does
    assert client.get("/api/syncs").status_code == 200


def test_a_broken_definition_leaves_the_center_to_the_other_syncs(
    store_path: str, tmp_path: Path, tokens: dict[str, str]
) -> None:
    syncs = tmp_path / "syncs"
    shutil.copytree(EXAMPLE_SYNCS, syncs)
    (syncs / "broken.yaml").write_text("family: users_to_contacts\nkee: email\n")
    response = client_for(store_path, tokens["VIEWER"], syncs).get("/api/syncs")
    assert response.status_code == 200
    assert {row["sync"] for row in response.json()["syncs"]} == {FAILING, SYNC}
    assert "broken.yaml" in response.json()["definition_errors"][0]


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
