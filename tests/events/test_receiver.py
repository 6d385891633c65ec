"""The events receiver over HTTP, as the vendors call it: Jira's signed webhooks, Zoho CRM's
notifications with their channel's token and Salesforce's outbound messages of the org, with the
shared secret, recorded; anything else refused before it is used, and a refusal logged without its
payload; events about records the sync does not keep answered, counted and not recorded."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jirasync.events.receiver import MAX_BODY, EventSink, create_receiver

SHIPPED = Path(__file__).parents[2] / "include" / "syncs"
SECRET = "a-webhook-secret"
LISTENING = "zoho_deals_to_jira"  # its definition sets events: true here
SALESFORCE_LISTENING = "salesforce_cases_to_jira"  # and so does this one's
ORGANIZATION = "00DRO0000000001AAA"
EVENT = {
    "timestamp": 1767225600000,
    "webhookEvent": "jira:issue_updated",
    "issue_event_type_name": "issue_generic",
    "user": {"accountId": "557058:aaaa", "displayName": "Ann Lee"},
    "issue": {"id": "10002", "key": "SUP-7", "fields": {"summary": "A private summary"}},
    "changelog": {"items": [{"field": "status", "fromString": "Open", "toString": "Done"}]},
}


class Recorded:
    """The sink: extras by connection, the events recorded, in order, and the counts."""

    def __init__(self) -> None:
        self.extras: dict[str, dict[str, str]] = {
            "jira_default": {"webhook_secret": SECRET},
            "zoho_crm": {"webhook_secret": SECRET},
            "salesforce_default": {"webhook_secret": SECRET, "organization_id": ORGANIZATION},
        }
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.counts: Counter[tuple[str, str, str]] = Counter()

    def sink(self, record: Callable[[str, dict[str, Any]], None] | None = None) -> EventSink:
        return EventSink(
            extras=lambda conn_id: self.extras.get(conn_id, {}),
            record=record or (lambda sync, event: self.events.append((sync, event))),
            count=lambda sync, vendor, outcome: self.counts.update([(sync, vendor, outcome)]),
        )


@pytest.fixture
def recorded() -> Recorded:
    return Recorded()


def definitions(folder: Path) -> Path:
    """Two shipped definitions in ``folder``, LISTENING with events on."""
    for name in ("zoho_deals_to_jira.yaml", "salesforce_cases_to_jira.yaml", "entra_to_jira.yaml"):
        shutil.copy(SHIPPED / name, folder / name)
    for sync in (LISTENING, SALESFORCE_LISTENING):
        with (folder / f"{sync}.yaml").open("a") as definition:
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
    event = {
        "vendor": "jira",
        "event": "jira:issue_updated",
        "object": "issue",
        "records": ["SUP-7"],
        "at": 1767225600000,
    }
    assert answer.json() == event
    assert recorded.events == [(LISTENING, event)]
    assert recorded.counts == {(LISTENING, "jira", "recorded"): 1}


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
    assert answer.status_code == 401 and "proof does not match" in answer.json()["detail"]
    assert recorded.events == [] and recorded.counts == {(LISTENING, "jira", "refused"): 1}
    assert "refused an event from jira" in caplog.text
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
    recorded.extras.clear()
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
    assert recorded.events == [] and recorded.counts == {(LISTENING, "jira", "ignored"): 1}


def test_an_event_airflow_cannot_record_yet_is_refused_with_the_reason(
    tmp_path: Path, recorded: Recorded
) -> None:
    """Before the DAG processor has parsed the sync with events on, its Asset does not exist."""

    def not_parsed(sync: str, event: dict[str, Any]) -> None:
        raise LookupError(f"sync {sync!r}: Airflow has no Asset 'jirasync.events.{sync}' yet")

    folder = definitions(tmp_path)
    client = TestClient(create_receiver(lambda: folder, recorded.sink(not_parsed)))
    body = json.dumps(EVENT).encode()
    answer = client.post(f"/{LISTENING}/jira", content=body, headers=signed(body))
    assert answer.status_code == 503 and "has no Asset" in answer.json()["detail"]


def zoho_notification(token: str = SECRET, module: str = "Deals") -> bytes:
    """A notification as Zoho CRM sends it to a channel enabled with ``token``."""
    return json.dumps(
        {
            "server_time": 1767225600000,
            "query_params": {},
            "module": module,
            "resource_uri": f"https://www.zohoapis.com/crm/v8/{module}",
            "ids": ["4150868000001", "4150868000002"],
            "affected_fields": [{"4150868000001": ["Stage"]}, {"4150868000002": ["Amount"]}],
            "operation": "update",
            "channel_id": "1000000068001",
            "token": token,
        }
    ).encode()


def test_a_zoho_notification_with_its_channel_s_token_is_recorded(
    client: TestClient, recorded: Recorded
) -> None:
    answer = client.post(f"/{LISTENING}/zoho", content=zoho_notification())
    assert answer.status_code == 202, answer.text
    assert recorded.events == [
        (
            LISTENING,
            {
                "vendor": "zoho",
                "event": "Deals.update",
                "object": "Deals",
                "records": ["4150868000001", "4150868000002"],
                "at": 1767225600000,
            },
        )
    ]


@pytest.mark.parametrize("body", [zoho_notification("a-guess"), b'{"module": "Deals"}', b"[]", b"\xff"])
def test_a_zoho_notification_without_the_token_is_refused(
    client: TestClient, recorded: Recorded, body: bytes
) -> None:
    answer = client.post(f"/{LISTENING}/zoho", content=body)
    assert answer.status_code == 401 and recorded.events == []


def test_a_notification_of_another_module_is_answered_counted_and_not_recorded(
    client: TestClient, recorded: Recorded
) -> None:
    answer = client.post(f"/{LISTENING}/zoho", content=zoho_notification(module="Leads"))
    assert answer.status_code == 202 and answer.json()["ignored"] == "the sync reads Deals, not Leads"
    assert recorded.events == [] and recorded.counts == {(LISTENING, "zoho", "ignored"): 1}


def outbound_message(organization: str = ORGANIZATION, sobject: str = "Case") -> bytes:
    """An outbound message as Salesforce sends it: SOAP, the org's id, one Notification per record."""
    notifications = "".join(
        f"""<Notification><Id>04l5g000000{n}AAA</Id>
        <sObject xsi:type="sf:{sobject}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
        <sf:Id>5005g00000{n}XyzAAA</sf:Id><sf:Subject>Printer &amp; «scanner»</sf:Subject></sObject>
        </Notification>"""
        for n in (1, 2)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">
<OrganizationId>{organization}</OrganizationId><ActionId>04k5g0000000001AAA</ActionId>
<SessionId xsi:nil="true"/>
<EnterpriseUrl>https://example.my.salesforce.com/services/Soap/c/62.0/00DRO0000000001</EnterpriseUrl>
<PartnerUrl>https://example.my.salesforce.com/services/Soap/u/62.0/00DRO0000000001</PartnerUrl>
{notifications}</notifications></soapenv:Body></soapenv:Envelope>""".encode()


def test_a_salesforce_outbound_message_of_the_org_with_the_secret_is_recorded_and_acknowledged(
    client: TestClient, recorded: Recorded
) -> None:
    answer = client.post(
        f"/{SALESFORCE_LISTENING}/salesforce", params={"token": SECRET}, content=outbound_message()
    )
    assert answer.status_code == 200 and "<Ack>true</Ack>" in answer.text
    [(sync, event)] = recorded.events
    assert sync == SALESFORCE_LISTENING and event["object"] == "Case"
    assert event["records"] == ["5005g000001XyzAAA", "5005g000002XyzAAA"]


@pytest.mark.parametrize(
    ("token", "body"),
    [
        (SECRET, outbound_message("00DXX0000000002AAA")),  # another org
        ("a-guess", outbound_message()),
        (None, outbound_message()),
        (SECRET, b"<not-xml"),
    ],
    ids=["other-org", "wrong-secret", "no-secret", "not-xml"],
)
def test_a_salesforce_message_of_another_org_or_without_the_secret_is_refused(
    client: TestClient, recorded: Recorded, caplog: pytest.LogCaptureFixture, token: str | None, body: bytes
) -> None:
    params = {"token": token} if token else {}
    with caplog.at_level(logging.WARNING, logger="jirasync.events.receiver"):
        answer = client.post(f"/{SALESFORCE_LISTENING}/salesforce", params=params, content=body)
    assert answer.status_code == 401 and recorded.events == []
    assert "scanner" not in caplog.text and SECRET not in caplog.text


def test_a_salesforce_connection_without_the_org_id_trusts_nothing(
    client: TestClient, recorded: Recorded
) -> None:
    del recorded.extras["salesforce_default"]["organization_id"]
    answer = client.post(
        f"/{SALESFORCE_LISTENING}/salesforce", params={"token": SECRET}, content=outbound_message()
    )
    assert answer.status_code == 503 and "organization_id" in answer.json()["detail"]


def test_a_vendor_the_sync_has_no_side_on_is_refused(client: TestClient, recorded: Recorded) -> None:
    assert client.post(f"/{LISTENING}/salesforce", content=outbound_message()).status_code == 404
    assert client.post(f"/{LISTENING}/hubspot", content=b"{}").status_code == 404
    assert recorded.events == []


def test_an_attachment_event_names_the_attachment_and_is_recorded(
    client: TestClient, recorded: Recorded
) -> None:
    """Jira sends an attachment's event with the attachment alone (and the user who acted)."""
    body = json.dumps(
        {
            "timestamp": 1767225600000,
            "webhookEvent": "attachment_created",
            "attachment": {"id": "10040", "filename": "réclamation.pdf"},
            "user": {"accountId": "557058:aaaa"},
        }
    ).encode()
    answer = client.post(f"/{LISTENING}/jira", content=body, headers=signed(body))
    assert answer.status_code == 202
    [(_, event)] = recorded.events
    assert (event["event"], event["object"], event["records"]) == (
        "attachment_created",
        "attachment",
        ["10040"],
    )
