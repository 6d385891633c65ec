"""Salesforce's outbound messages in the sandbox: defined through the Tooling API, as
simple-salesforce's ``toolingexecute`` calls it, and sent as Salesforce sends them (SOAP, the org's
id, a Notification per record) when records of their object are created or edited, through the
REST API, a composite request or a person's edit; never on delete."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest
from tests.sandbox.pushes import Received, delivered, receiving
from tests.sandbox.test_salesforce_sandbox import login

from sandbox.testing import RunningSandbox

OUTBOUND = "{http://soap.sforce.com/2005/09/outbound}"
SF = "{urn:sobject.enterprise.soap.sforce.com}"


@pytest.fixture
def salesforce(fresh_sandbox: RunningSandbox) -> Salesforce:
    return login(fresh_sandbox)


@pytest.fixture
def received() -> Iterator[tuple[str, Received]]:
    with receiving() as server:
        yield server


def define(salesforce: Salesforce, url: str, fields: list[str] | None = None) -> str:
    metadata = {
        "endpointUrl": url,
        "fields": fields or ["Id", "Subject"],
        "name": "jirasync",
        "apiVersion": 62.0,
    }
    answer = salesforce.toolingexecute(
        "sobjects/WorkflowOutboundMessage",
        method="POST",
        data={"FullName": "Case.jirasync", "Metadata": metadata},
    )
    assert answer["success"] is True and answer["id"].startswith("04k"), answer
    return answer["id"]


def messages(got: Received) -> list[dict[str, Any]]:
    """Each message's org, action, object type and records (their fields)."""
    found = []
    for delivery in got.deliveries:
        assert delivery.headers["Content-Type"].startswith("text/xml")
        envelope = ElementTree.fromstring(delivery.body)
        objects = envelope.findall(f".//{OUTBOUND}Notification/{OUTBOUND}sObject")
        found.append(
            {
                "org": envelope.findtext(f".//{OUTBOUND}OrganizationId"),
                "action": envelope.findtext(f".//{OUTBOUND}ActionId"),
                "types": {o.get("{http://www.w3.org/2001/XMLSchema-instance}type") for o in objects},
                "records": [{child.tag.removeprefix(SF): child.text for child in o} for o in objects],
            }
        )
    return found


def test_an_outbound_message_is_defined_listed_changed_and_deleted_through_the_tooling_api(
    salesforce: Salesforce,
) -> None:
    message_id = define(salesforce, "https://airflow.example.com/jirasync-events/cases/salesforce")
    listed = salesforce.toolingexecute("query/?q=SELECT+Id,+Name,+EndpointUrl+FROM+WorkflowOutboundMessage")
    assert [(r["Id"], r["Name"]) for r in listed["records"]] == [(message_id, "jirasync")]
    changed = {"endpointUrl": "https://airflow.example.com/elsewhere", "fields": ["Id"]}
    salesforce.toolingexecute(
        f"sobjects/WorkflowOutboundMessage/{message_id}", method="PATCH", data={"Metadata": changed}
    )
    shown = salesforce.toolingexecute(f"sobjects/WorkflowOutboundMessage/{message_id}")
    assert shown["EndpointUrl"] == "https://airflow.example.com/elsewhere" and shown["Metadata"][
        "fields"
    ] == ["Id"]
    salesforce.toolingexecute(f"sobjects/WorkflowOutboundMessage/{message_id}", method="DELETE")
    assert salesforce.toolingexecute("query/?q=SELECT+Id+FROM+WorkflowOutboundMessage")["records"] == []


def test_a_definition_salesforce_would_refuse_is_refused(salesforce: Salesforce) -> None:
    for full_name, metadata in (
        ("Unicorn.jirasync", {"endpointUrl": "https://example.com"}),
        ("Case.jirasync", {"endpointUrl": "ftp://example.com"}),
        ("Case.jirasync", {"endpointUrl": "https://example.com", "fields": ["Colour"]}),
    ):
        with pytest.raises(SalesforceMalformedRequest):
            salesforce.toolingexecute(
                "sobjects/WorkflowOutboundMessage",
                method="POST",
                data={"FullName": full_name, "Metadata": metadata},
            )


def test_cases_created_or_edited_send_the_message_and_deletes_and_other_objects_do_not(
    fresh_sandbox: RunningSandbox, salesforce: Salesforce, received: tuple[str, Received]
) -> None:
    url, got = received
    action = define(salesforce, url)
    created = salesforce.Case.create({"Subject": "Printer & «scanner» jammed"})["id"]
    salesforce.Case.update(created, {"Subject": "Printer fixed"})
    salesforce.Contact.create({"LastName": "Okafor"})  # no message of its own
    salesforce.Case.delete(created)
    # Two cases in one composite request: one message naming both.
    two = [{"attributes": {"type": "Case"}, "Subject": f"Batch {n}"} for n in (1, 2)]
    batch = salesforce.restful("composite/sobjects", method="POST", json={"records": two})
    # A person's edit in Salesforce.
    seeded = fresh_sandbox.records("salesforce", "Case")[0]["Id"]
    fresh_sandbox.mutate(
        "salesforce", "edit_record", sobject="Case", id=seeded, fields={"Subject": "By hand"}
    )
    delivered()
    sent = messages(got)
    assert {m["org"] for m in sent} == {"00DRO0000000001AAA"} and {m["action"] for m in sent} == {action}
    assert all(m["types"] == {"sf:Case"} for m in sent)
    assert [[(r["Id"], r.get("Subject")) for r in m["records"]] for m in sent] == [
        [(created, "Printer & «scanner» jammed")],
        [(created, "Printer fixed")],
        [(batch[0]["id"], "Batch 1"), (batch[1]["id"], "Batch 2")],
        [(seeded, "By hand")],
    ]


def test_the_delivery_faults_apply_to_outbound_messages(
    fresh_sandbox: RunningSandbox, salesforce: Salesforce, received: tuple[str, Received]
) -> None:
    url, got = received
    define(salesforce, url)
    fresh_sandbox.mutate("salesforce", "webhook_deliveries", drop=1.0)
    salesforce.Case.create({"Subject": "Lost on the way"})
    delivered()
    assert got.deliveries == []
