"""The registry loads every vendor module, refuses to run without one of them, and lists what each serves."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi import APIRouter

from sandbox import registry


def test_every_vendor_is_loaded() -> None:
    assert sorted(registry.load_vendors()) == [
        "assets",
        "entra",
        "graph",
        "jira",
        "jsm",
        "salesforce",
        "scim",
        "zoho",
        "zoho-accounts",
    ]


def test_a_missing_vendor_module_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "VENDOR_MODULES", (*registry.VENDOR_MODULES, "sandbox.vendors.nowhere"))
    with pytest.raises(ModuleNotFoundError, match=r"sandbox\.vendors\.nowhere"):
        registry.load_vendors()


def test_routes_lists_each_vendor_where_it_answers_and_every_route_then_exits(tmp_path: Path) -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "sandbox", "--routes", "--data-dir", str(tmp_path / "data")],
        capture_output=True,
        text=True,
    )

    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    jira_header = r"jira: prefix /jira, real hosts [a-z0-9][a-z0-9-]*\.atlassian\.net"
    assert "scim: prefix /scim, real hosts none (prefix only)" in lines
    assert "  owns the paths /rest/servicedeskapi/ there" in lines
    jira = lines[lines.index(jira_header) + 1 :]
    jira = jira[: jira.index("")]
    assert "  GET    /rest/api/3/issue/{issueIdOrKey}" in jira
    assert "  DELETE /rest/api/3/issue/{issueIdOrKey}" in jira
    assert jira == sorted(jira, key=lambda line: (line.split()[1], line.split()[0]))
    assert "  POST   /crm/v8/{module}/upsert" in lines
    assert not (tmp_path / "data").exists()  # no world was seeded, no server started


def test_served_routes_are_the_templates_clients_see_without_path_convertors() -> None:
    router = APIRouter()
    router.add_api_route("/v2/Users/{user_id:int}", lambda user_id: {}, methods=["GET", "DELETE"])
    vendor = dataclasses.replace(registry.load_vendors()["scim"], router=router)

    assert registry.served_routes(vendor) == [
        ("DELETE", "/v2/Users/{user_id}"),
        ("GET", "/v2/Users/{user_id}"),
    ]
