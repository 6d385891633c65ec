"""ScimConnector against the sandbox and against scim2-server, a SCIM server from PyPI."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jirasync.connectors import AuthenticationError, RetryPolicy, VirtualClock
from jirasync.connectors.scim import ScimConnector, scim_equals
from sandbox.testing import RunningSandbox

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SEED_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # every seeded user was modified before it


def connector(
    sandbox: RunningSandbox, token: str | None = None, clock: VirtualClock | None = None
) -> ScimConnector:
    return ScimConnector(
        f"{sandbox.url('/scim')}/v2",
        token or sandbox.credentials["scim"]["bearer_token"],
        clock=clock,
        retry=RetryPolicy(max_attempts=5),
    )


def test_a_full_read_pages_by_what_the_server_returns(fresh_sandbox: RunningSandbox) -> None:
    scim = connector(fresh_sandbox)
    result = scim.read_users(["userName", "emails", f"{ENTERPRISE}:department"])
    total = len(fresh_sandbox.records("scim", "users"))
    assert result.full
    assert len(result.users) == total
    assert scim.calls() == {"GET /ServiceProviderConfig": 1, "GET /Users": -(-total // 100)}
    assert set(result.users[0]) == {"id", "schemas", "userName", "emails", ENTERPRISE, "meta"}


def test_incremental_reads_filter_on_last_modified_on_the_server(fresh_sandbox: RunningSandbox) -> None:
    scim = connector(fresh_sandbox)
    everyone = scim.read_users().users
    for user in everyone[:3]:
        fresh_sandbox.edit("scim", "users", user["id"], title="Changed")
    changes = scim.read_users(modified_since=SEED_EPOCH)
    assert not changes.full
    assert sorted(u["id"] for u in changes.users) == sorted(u["id"] for u in everyone[:3])
    assert changes.latest_modified is not None and changes.latest_modified > SEED_EPOCH
    assert scim.read_users(modified_since=changes.latest_modified).users == []
    filters = [
        r["query"]
        for r in fresh_sandbox.request_log()
        if r["route"] == "/v2/Users" and "filter" in r["query"]
    ]
    assert filters and all("meta.lastModified+gt" in q for q in filters)


@pytest.mark.parametrize("server_filters", [True, False])
def test_a_window_reads_the_users_modified_in_it(fresh_sandbox: RunningSandbox, server_filters: bool) -> None:
    """A backfill's window [start, end): its first instant in, its end out, on the server or here."""
    scim = connector(fresh_sandbox)
    start = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    end = start + dt.timedelta(days=1)
    stamps = {"in-at-start": start, "in": start + dt.timedelta(hours=5), "at-end": end}
    users = scim.read_users().users[:3]
    for user, stamp in zip(users, stamps.values(), strict=True):
        modified = stamp.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        fresh_sandbox.edit("scim", "users", user["id"], meta={**user["meta"], "lastModified": modified})
    if not server_filters:
        scim.__dict__["service_provider_config"] = {"filter": {"supported": False}}

    found = scim.read_users_modified_between(start, end)

    assert sorted(u["id"] for u in found) == sorted(u["id"] for u in users[:2])
    filters = [r["query"] for r in fresh_sandbox.request_log() if "filter" in r["query"]]
    assert bool(filters) == server_filters


def test_without_filter_support_incremental_reads_read_everything(fresh_sandbox: RunningSandbox) -> None:
    scim = connector(fresh_sandbox)
    scim.service_provider_config  # noqa: B018 - read it, then make the server say it cannot filter
    scim.__dict__["service_provider_config"] = {"filter": {"supported": False}}
    result = scim.read_users(modified_since=SEED_EPOCH)
    assert result.full
    assert len(result.users) == len(fresh_sandbox.records("scim", "users"))


def test_throttling_and_server_errors_are_retried(fresh_sandbox: RunningSandbox) -> None:
    clock = VirtualClock()
    scim = connector(fresh_sandbox, clock=clock)
    fresh_sandbox.add_fault("scim", "rate_limit", route="/v2/Users", retry_after=9, count=1)
    fresh_sandbox.add_fault("scim", "error", route="/v2/Users", status=502, count=1)
    assert len(scim.read_users().users) == len(fresh_sandbox.records("scim", "users"))
    assert max(clock.sleeps) >= 9


def test_a_wrong_token_fails_clearly_without_showing_it(
    fresh_sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    token = "not-the-scim-token-0123456789"
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError) as caught:
        connector(fresh_sandbox, token=token).read_users()
    assert "bearer token is missing or invalid" in str(caught.value)
    assert token not in str(caught.value) and token not in caplog.text


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def scim2_server() -> Iterator[str]:
    """scim2-server (PyPI) on a free port with its own bearer token; yields its base URL."""
    port = free_port()
    command = Path(sys.executable).parent / "scim2-server"
    process = subprocess.Popen(
        [str(command), "--port", str(port), "--bearer-token", "scim2-server-token"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}/v2"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{base_url}/ServiceProviderConfig", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_reads_users_from_another_scim_server(scim2_server: str) -> None:
    headers = {"Authorization": "Bearer scim2-server-token", "Content-Type": "application/scim+json"}
    names = [f"person{n}@example.com" for n in range(5)]
    for name in names:
        created = httpx.post(
            f"{scim2_server}/Users",
            headers=headers,
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
                "userName": name,
                "emails": [{"value": name, "type": "work", "primary": True}],
                ENTERPRISE: {"department": "Tours"},
            },
        )
        assert created.status_code == 201, created.text
    scim = ScimConnector(scim2_server, "scim2-server-token")

    everyone = scim.read_users(["userName", "emails"])

    assert sorted(u["userName"] for u in everyone.users) == names
    assert everyone.full and everyone.latest_modified is not None
    assert scim.can_filter  # scim2-server announces filtering, so incremental reads filter on its side
    assert scim.read_users(modified_since=everyone.latest_modified).users == []
    time.sleep(0.01)  # let the clock move past the last stamp
    httpx.patch(
        f"{scim2_server}/Users/{everyone.users[0]['id']}",
        headers=headers,
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "displayName", "value": "Changed"}],
        },
    ).raise_for_status()
    changed = scim.read_users(modified_since=everyone.latest_modified)
    assert [u["id"] for u in changed.users] == [everyone.users[0]["id"]]


def test_one_user_is_found_by_a_filter_on_a_typed_email(fresh_sandbox: RunningSandbox) -> None:
    target = fresh_sandbox.records("scim", "users")[3]
    work = next(e["value"] for e in target["emails"] if e.get("type") == "work")
    scim = connector(fresh_sandbox)
    users = scim.find_users(
        scim_equals("emails.work", work.upper())
    )  # SCIM emails compare case-insensitively
    assert [u["id"] for u in users] == [target["id"]]


def test_scim_equals_writes_value_paths_and_escapes_quotes() -> None:
    assert scim_equals("emails.work", 'a"b@x.io') == 'emails[type eq "work"].value eq "a\\"b@x.io"'
    assert scim_equals("emails.primary", "a@x.io") == 'emails[primary eq true].value eq "a@x.io"'
    assert scim_equals("userName", "a@x.io") == 'userName eq "a@x.io"'
