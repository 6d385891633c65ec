"""What ``make airflow`` (``jirasync airflow``) prints before the UI starts: the URL and the login."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from jirasync.cli import welcome
from jirasync.local_stack import LocalStack


def stack(home: Path, port: int) -> LocalStack:
    return LocalStack(airflow_home=home, sandbox_port=8900, users=10, seed=1, api_port=port)


def test_the_welcome_names_the_chosen_port_and_the_login_airflow_will_accept(tmp_path: Path) -> None:
    local = stack(tmp_path / "airflow", 8131)

    text = welcome(local, "http://127.0.0.1:8900")

    passwords = json.loads(local.password_file.read_text())
    assert "http://localhost:8131" in text and "8080" not in text
    assert f"log in as 'admin' with password {passwords['admin']!r}" in text
    assert str(local.password_file) in text
    assert stat.S_IMODE(local.password_file.stat().st_mode) == 0o600
    # Airflow's simple auth manager reads its user and that file from the stack's environment.
    env = local.airflow_env()
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin"
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] == str(local.password_file)


def test_the_password_airflow_generated_earlier_is_the_one_printed(tmp_path: Path) -> None:
    local = stack(tmp_path, 8080)
    local.password_file.write_text(json.dumps({"admin": "kept-from-last-time"}) + "\n")

    assert "password 'kept-from-last-time'" in welcome(local, "http://127.0.0.1:8900")
    assert json.loads(local.password_file.read_text()) == {"admin": "kept-from-last-time"}


def test_airflow_accepts_the_printed_login_and_refuses_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the api-server's login does, with the stack's settings (not the tests' all-admins mode)."""
    from airflow.api_fastapi.app import init_auth_manager
    from airflow.api_fastapi.auth.managers.simple.datamodels.login import LoginBody
    from airflow.api_fastapi.auth.managers.simple.services.login import SimpleAuthManagerLogin
    from fastapi import HTTPException

    local = stack(tmp_path, 8080)
    user, password = local.login()
    env = local.airflow_env()
    for name in (
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE",
    ):
        monkeypatch.setenv(name, env[name])
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False")
    init_auth_manager()  # keeps the password it finds in the file

    assert SimpleAuthManagerLogin.create_token(LoginBody(username=user, password=password))
    with pytest.raises(HTTPException) as refused:
        SimpleAuthManagerLogin.create_token(LoginBody(username=user, password=password + "x"))
    assert refused.value.status_code == 401
    assert json.loads(local.password_file.read_text()) == {user: password}
