"""The production stack's shape, checked here because no Docker engine runs on this machine."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = [
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
    "airflow-init",
]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


def test_it_has_the_celery_executor_stack(compose: dict) -> None:
    assert set(compose["services"]) >= {"postgres", "redis", "sandbox", *AIRFLOW_SERVICES}
    for name in AIRFLOW_SERVICES:
        assert compose["services"][name]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    commands = {name: compose["services"][name].get("command") for name in AIRFLOW_SERVICES[:-1]}
    assert commands == {
        "airflow-apiserver": "api-server",
        "airflow-scheduler": "scheduler",
        "airflow-dag-processor": "dag-processor",
        "airflow-worker": "celery worker",
        "airflow-triggerer": "triggerer",
    }


def test_every_airflow_service_shares_one_jwt_secret(compose: dict) -> None:
    secrets = {
        compose["services"][name]["environment"]["AIRFLOW__API_AUTH__JWT_SECRET"] for name in AIRFLOW_SERVICES
    }
    assert len(secrets) == 1
    (secret,) = secrets
    assert re.fullmatch(r"\$\{AIRFLOW_JWT_SECRET:\?.+\}", secret), (
        "the secret must come from .env, never the file"
    )


def test_every_airflow_service_is_built_from_the_project_dockerfile(compose: dict) -> None:
    for name in [*AIRFLOW_SERVICES, "sandbox"]:
        assert compose["services"][name]["build"] == {"context": ".", "dockerfile": "Dockerfile"}
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM apache/airflow:\S*3\.3\.2", dockerfile, re.M)
    assert "-r /opt/jirasync/requirements.txt -c /opt/jirasync/constraints.txt" in dockerfile
    assert "pip install --no-cache-dir --no-deps -e /opt/jirasync" in dockerfile


def test_dags_plugins_and_include_are_mounted(compose: dict) -> None:
    for name in AIRFLOW_SERVICES:
        volumes = compose["services"][name]["volumes"]
        assert "./dags:/opt/airflow/dags" in volumes
        assert "./plugins:/opt/airflow/plugins" in volumes
        assert "./include:/opt/jirasync/include" in volumes
    for source in ["dags", "plugins", "include"]:
        assert (ROOT / source).is_dir()


def test_the_state_store_is_on_postgres(compose: dict) -> None:
    env = compose["services"]["airflow-worker"]["environment"]
    assert env["AIRFLOW_CONN_JIRASYNC_STATE"].startswith("postgresql://airflow:")
    assert env["AIRFLOW_CONN_JIRASYNC_STATE"].endswith("@postgres/jirasync")
    init_sql = compose["services"]["postgres"]["volumes"]
    assert any(v.startswith("./include/airflow/postgres-init.sql:") for v in init_sql)
    assert "CREATE DATABASE jirasync" in (ROOT / "include/airflow/postgres-init.sql").read_text()


def test_init_migrates_and_creates_admin_pools_and_connections(compose: dict) -> None:
    script = "\n".join(compose["services"]["airflow-init"]["command"])
    assert "airflow db migrate" in script
    assert "jirasync state migrate" in script
    assert "passwords.json" in script
    assert "airflow pools import /opt/jirasync/include/airflow/pools.json" in script
    assert "airflow connections import" in script


def test_init_hands_every_named_volume_and_the_password_file_to_the_services_uid(compose: dict) -> None:
    """Docker creates named volumes owned by root; the services run as AIRFLOW_UID and the
    api-server opens the password file for writing, so init (root) must hand them over."""
    init = compose["services"]["airflow-init"]
    assert init["user"] == "0:0"
    runs_as = compose["x-airflow-common"]["user"].rsplit(":", 1)[0]
    script = "\n".join(init["command"])
    [(owner, listed)] = re.findall(r'chown -R "([^"]+)" (.+)', script)
    paths = set(listed.split())
    assert owner == f"{runs_as}:0"
    assert script.index("passwords.json") < script.index("chown")  # the file exists when handed over
    named = set(compose["volumes"]) - {"postgres-db"}
    for name, service in compose["services"].items():
        for mount in service.get("volumes", []):
            volume, path = mount.split(":")[:2]
            if volume in named and name != "postgres":
                assert path in paths, f"{name} mounts {volume} at {path}, which init leaves to root"
    mounted_by_init = {m.split(":")[0] for m in init["volumes"]}
    assert named <= mounted_by_init


def test_the_sandbox_is_optional(compose: dict) -> None:
    assert compose["services"]["sandbox"]["profiles"] == ["sandbox"]
    for name, service in compose["services"].items():
        assert "sandbox" not in service.get("depends_on", {}), f"{name} must not need the sandbox"


def test_pools_file_names_one_pool_per_vendor_api() -> None:
    pools = json.loads((ROOT / "include/airflow/pools.json").read_text())
    assert set(pools) == {
        "jira_api",
        "assets_api",
        "msgraph_api",
        "scim_api",
        "zoho_crm_api",
        "salesforce_api",
    }
    assert all(p["slots"] >= 1 for p in pools.values())
