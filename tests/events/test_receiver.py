"""The events receiver over HTTP, as Jira calls it: signed events recorded, anything else refused
before it is read, and a refusal logged without its payload."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jirasync.events.receiver import MAX_BODY, EventSink, create_receiver

SHIPPED = Path(__file__).parents[2] / "include" / "syncs"
SECRET = "a-webhook-secret"
LISTENING = "zoho_deals_to_jira"  # its definition sets events: true here
EVENT = {
    "timestamp": 1767225600000,
    "webhookEvent": "jira:issue_updated",
    "issue_event_type_name": "issue_generic",
    "user": {"accountId": "557058:aaaa", "displayName": "Ann Lee"},
    "issue": {"id": "10002", "key": "SUP-7", "fields": {"summary": "A private summary"}},
    "changelog": {"items": [{"field": "status", "fromString": "Open", "toString": "Done"}]},
}


class Recorded:
    """The sink: secrets by connection, and the events recorded, in order."""

    def __init__(self) -> None:
        self.secrets = {"jira_default": SECRET}
        self.events: list[tuple[str, dict[str, Any]]] = []

    def sink(self) -> EventSink:
        return EventSink(
            secret=self.secrets.get, record=lambda sync, event: self.events.append((sync, event))
        )


@pytest.fixture
def recorded() -> Recorded:
    return Recorded()


def definitions(folder: Path) -> Path:
    """Two shipped definitions in ``folder``, LISTENING with events on."""
    for name in ("zoho_deals_to_jira.yaml", "entra_to_jira.yaml"):
        shutil.copy(SHIPPED / name, folder / name)
    with (folder / f"{LISTENING}.yaml").open("a") as definition:
        definition.write("\nevents: true\n")
    return folder


@pytest.fixture
def client(tmp_path: Path, recorded: Recorded) -> TestClient:
    folder = definitions(tmp_path)
    return TestClient(create_receiver(lambda: folder, recorded.sink()))


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"X-Hub-Signature": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def test_a_signed_webhook_is_recorded_as_an_event_of_its_sync(client: TestClient, recorded: Recorded) -> None:
    body = json.dumps(EVENT).encode()
    answer = client.post(f"/{LISTENING}/jira", content=body, headers=signed(body))
    assert answer.status_code == 202
    event = {"vendor": "jira", "event": "jira:issue_updated", "record": "SUP-7", "at": 1767225600000}
    assert answer.json() == event
    assert recorded.events == [(LISTENING, event)]


@pytest.mark.parametrize(
    "sign",
    [
        lambda body: {},
        lambda body: {"X-Hub-Signature": "sha256=00"},
        lambda body: signed(b"another body"),
        lambda body: signed(body, "another-secret"),
    ],
    ids=["unsigned", "garbage", "other-body", "other-secret"],
)
def test_an_unsigned_or_wrongly_signed_webhook_is_refused_and_logged_without_its_payload(
    client: TestClient,
    recorded: Recorded,
    caplog: pytest.LogCaptureFixture,
    sign: Callable[[bytes], dict[str, str]],
) -> None:
    body = json.dumps(EVENT).encode()
    headers = sign(body)
    with caplog.at_level(logging.WARNING, logger="jirasync.events.receiver"):
        answer = client.post(f"/{LISTENING}/jira", content=body, headers=headers)
    assert answer.status_code == 401 and "X-Hub-Signature" in answer.json()["detail"]
    assert recorded.events == []
    assert "refused a Jira webhook" in caplog.text
    assert "A private summary" not in caplog.text and "SUP-7" not in caplog.text


def test_a_body_over_the_limit_is_refused_before_it_is_checked(
    client: TestClient, recorded: Recorded
) -> None:
    body = b"x" * (MAX_BODY + 1)
    answer = client.post(f"/{LISTENING}/jira", content=body, headers=signed(body))
    assert answer.status_code == 413 and recorded.events == []


@pytest.mark.parametrize(
    ("sync", "status", "said"),
    [
        ("entra_to_jira", 404, "listens to events"),  # its definition does not set events: true
        ("no_such_sync", 404, "listens to events"),
    ],
)
def test_events_for_a_sync_that_does_not_listen_are_refused(
    client: TestClient, recorded: Recorded, sync: str, status: int, said: str
) -> None:
    body = json.dumps(EVENT).encode()
    answer = client.post(f"/{sync}/jira", content=body, headers=signed(body))
    assert answer.status_code == status and said in answer.json()["detail"]
    assert recorded.events == []


def test_a_connection_without_a_webhook_secret_trusts_nothing(client: TestClient, recorded: Recorded) -> None:
    recorded.secrets.clear()
    body = json.dumps(EVENT).encode()
    answer = client.post(f"/{LISTENING}/jira", content=body, headers=signed(body))
    assert answer.status_code == 503 and recorded.events == []


def test_a_signed_body_that_is_no_jira_event_is_refused(client: TestClient, recorded: Recorded) -> None:
    for body in (b"not json", json.dumps({"issue": {"key": "SUP-7"}}).encode()):
        answer = client.post(f"/{LISTENING}/jira", content=body, headers=signed(body))
        assert answer.status_code == 400
    assert recorded.events == []


def test_an_issue_of_another_project_is_answered_but_starts_nothing(
    client: TestClient, recorded: Recorded
) -> None:
    """A webhook whose filter is wider than the sync: the event is acknowledged, not recorded."""
    body = json.dumps({**EVENT, "issue": {"id": "20001", "key": "ENG-4"}}).encode()
    answer = client.post(f"/{LISTENING}/jira", content=body, headers=signed(body))
    assert (
        answer.status_code == 202 and answer.json()["ignored"] == "the issue is not in the sync's project SUP"
    )
    assert recorded.events == []


def test_an_event_airflow_cannot_record_yet_is_refused_with_the_reason(
    tmp_path: Path, recorded: Recorded
) -> None:
    """Before the DAG processor has parsed the sync with events on, its Asset does not exist."""

    def not_parsed(sync: str, event: dict[str, Any]) -> None:
        raise LookupError(f"sync {sync!r}: Airflow has no Asset 'jirasync.events.{sync}' yet")

    folder = definitions(tmp_path)
    client = TestClient(
        create_receiver(lambda: folder, EventSink(secret=recorded.secrets.get, record=not_parsed))
    )
    body = json.dumps(EVENT).encode()
    answer = client.post(f"/{LISTENING}/jira", content=body, headers=signed(body))
    assert answer.status_code == 503 and "has no Asset" in answer.json()["detail"]
