"""atlassian-python-api, unmodified, used as a user would: at the prefix over HTTP, and at the real host over TLS."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from atlassian import Jira

from sandbox.testing import RunningSandbox, running_sandbox

ADF = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Hi"}]}],
}


@pytest.fixture(scope="module")
def tls_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with running_sandbox(tmp_path_factory.mktemp("sandbox-tls"), seed=7, users=200, tls=True) as running:
        yield running


@pytest.fixture
def real_host_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolve ``*.atlassian.net`` to 127.0.0.1 at the socket level, as /etc/hosts would."""
    resolve = socket.getaddrinfo

    def to_loopback(host, *args, **kwargs):
        return resolve("127.0.0.1" if str(host).endswith(".atlassian.net") else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", to_loopback)


def _use_the_sdk(jira: Jira) -> None:
    """The calls a sync makes: find users, create, search, transition, comment, user properties."""
    creds_user = jira.myself()
    found = jira.user_find_by_user_string(query="sandbox-admin@northwind.example")
    assert [u["accountId"] for u in found] == [creds_user["accountId"]]

    created = jira.create_issue(
        fields={"project": {"key": "ENG"}, "issuetype": {"name": "Bug"}, "summary": "SDK made this"}
    )
    page = jira.enhanced_jql(f"key in ({created['key']})", fields=["summary", "status"])
    assert [i["fields"]["summary"] for i in page["issues"]] == ["SDK made this"]
    assert page["isLast"] is True

    assert {t["to"] for t in jira.get_issue_transitions(created["key"])} == {"In Progress", "Done"}
    jira.set_issue_status(created["key"], "In Progress")
    assert jira.get_issue(created["key"])["fields"]["status"]["name"] == "In Progress"

    jira.issue_add_comment(created["key"], ADF)
    assert jira.issue_get_comments(created["key"])["total"] == 1

    account_id = creds_user["accountId"]
    jira.user_set_property(account_id=account_id, key_property="jirasync.hr", value_property={"dept": "Ops"})
    assert jira.user_property(account_id=account_id, key_property="jirasync.hr")["value"] == {"dept": "Ops"}
    assert "jirasync.hr" in [k["key"] for k in jira.user_properties(account_id=account_id)["keys"]]


def test_the_sdk_works_at_the_prefix_over_http(fresh_sandbox: RunningSandbox) -> None:
    creds = fresh_sandbox.credentials["jira"]
    jira = Jira(
        url=fresh_sandbox.url("/jira"),
        username=creds["email"],
        password=creds["api_token"],
        cloud=True,
        api_version="3",
    )
    _use_the_sdk(jira)


@pytest.mark.usefixtures("real_host_names")
def test_the_sdk_works_at_the_real_host_over_tls(
    tls_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tls_sandbox.ca_path is not None and Path(tls_sandbox.ca_path).name == "ca.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_sandbox.ca_path))
    creds = tls_sandbox.credentials["jira"]
    url = tls_sandbox.host_url(tls_sandbox.config.jira_host)
    assert url.startswith("https://jirasync.atlassian.net:")
    jira = Jira(url=url, username=creds["email"], password=creds["api_token"], cloud=True, api_version="3")
    _use_the_sdk(jira)
    assert jira.myself()["self"].startswith(url + "/rest/api/3/user")
