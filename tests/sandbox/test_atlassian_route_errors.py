"""Jira, JSM and Assets answer a path they do not serve, a method a path does not take and a body
they cannot read in their own error bodies, never the web framework's ``{"detail": ...}``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from sandbox.testing import RunningSandbox

SPECS = Path("/work/shared/specs")
JIRA_HOST = "jirasync.atlassian.net"


def _schema(spec_file: str, name: str) -> dict[str, Any]:
    spec = json.loads((SPECS / spec_file).read_text())
    return {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}


def assert_error_collection(response: httpx.Response, status: int) -> None:
    """Jira's (and Assets') ``ErrorCollection``, with at least one message."""
    assert response.status_code == status, response.text
    body = response.json()
    jsonschema.Draft7Validator(_schema("jira-platform-v3.json", "ErrorCollection")).validate(body)
    assert body["errorMessages"] and body["errors"] == {}


def assert_jsm_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    jsonschema.Draft202012Validator(_schema("jira-service-management.json", "ErrorResponse")).validate(body)
    assert body["errorMessage"] and body["i18nErrorMessage"]["i18nKey"]


@pytest.fixture(scope="module")
def atlassian(sandbox: RunningSandbox) -> httpx.Client:
    """One client for the three: they share the Jira site's credentials."""
    sandbox.reset()
    credentials = sandbox.credentials["jira"]
    return httpx.Client(
        base_url=sandbox.base_url, auth=(credentials["email"], credentials["api_token"]), timeout=30
    )


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/jira/rest/api/3/no-such-resource", {}),
        ("/jira/rest/api/2/issue/SUP-1/no-such-part", {}),
        ("/rest/api/3/no-such-resource", {"Host": JIRA_HOST}),
    ],
)
def test_jira_unknown_path_is_an_error_collection(atlassian: httpx.Client, path: str, headers: dict) -> None:
    assert_error_collection(atlassian.get(path, headers=headers), 404)


@pytest.mark.parametrize("headers", [{}, {"Host": JIRA_HOST}])
def test_jira_wrong_method_is_an_error_collection(atlassian: httpx.Client, headers: dict) -> None:
    path = "/rest/api/3/myself" if headers else "/jira/rest/api/3/myself"
    assert_error_collection(atlassian.delete(path, headers=headers), 405)


def test_jira_malformed_json_is_an_error_collection(atlassian: httpx.Client) -> None:
    response = atlassian.post(
        "/jira/rest/api/3/issue", content=b'{"fields": {', headers={"Content-Type": "application/json"}
    )
    assert_error_collection(response, 400)


def test_jsm_unknown_path_and_wrong_method_are_jsm_error_responses(atlassian: httpx.Client) -> None:
    assert_jsm_error(atlassian.get("/jira/rest/servicedeskapi/no-such-resource"), 404)
    assert_jsm_error(atlassian.get("/rest/servicedeskapi/no-such-resource", headers={"Host": JIRA_HOST}), 404)
    assert_jsm_error(atlassian.delete("/jira/rest/servicedeskapi/servicedesk"), 405)


def test_jsm_malformed_json_is_a_jsm_error_response(atlassian: httpx.Client) -> None:
    response = atlassian.post(
        "/jira/rest/servicedeskapi/customer", content=b"{email", headers={"Content-Type": "application/json"}
    )
    assert_jsm_error(response, 400)


def test_assets_errors_are_error_collections(atlassian: httpx.Client, sandbox: RunningSandbox) -> None:
    workspace = sandbox.records("assets", "workspace")[0]["workspaceId"]
    base = f"/atlassian/jsm/assets/workspace/{workspace}/v1"
    assert_error_collection(atlassian.get(f"{base}/no-such-resource"), 404)
    assert_error_collection(atlassian.get("/atlassian/no-such-api"), 404)
    assert_error_collection(atlassian.delete(f"{base}/objectschema/list"), 405)
    malformed = atlassian.post(
        f"{base}/object/create", content=b"{objectTypeId", headers={"Content-Type": "application/json"}
    )
    assert_error_collection(malformed, 400)
