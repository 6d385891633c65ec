"""jirasync's operators in DAGs of a user's own (tests/e2e/own_dags), through real DAG runs on the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.harness import EndToEnd, end_to_end

OWN_DAGS = Path(__file__).with_name("own_dags")
ZOHO, SALESFORCE = "jira_to_zoho_contacts", "jira_to_salesforce_contacts"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EndToEnd]:
    with end_to_end(
        tmp_path_factory.mktemp("own-dags"),
        users=60,
        seed=5,
        definitions=[f"{ZOHO}.yaml", f"{SALESFORCE}.yaml"],
    ) as e2e:
        yield e2e


@pytest.fixture
def e2e(world: EndToEnd) -> EndToEnd:
    world.reset()
    return world


def synced_contacts(e2e: EndToEnd, vendor: str, collection: str, field: str) -> set[str]:
    """The Jira accountIds that contacts of the CRM name in "Synced Jira User"."""
    return {c[field] for c in e2e.sandbox.records(vendor, collection) if c.get(field)}


def test_a_sync_composed_step_by_step_with_an_approval_between_gate_and_write_syncs_contacts(
    e2e: EndToEnd,
) -> None:
    result = e2e.run_own_dag(OWN_DAGS, "contacts_with_approval")
    assert result.succeeded, result.log_path
    summary = e2e.stack.latest_summary(ZOHO)
    assert summary is not None and summary["created"] > 0 and summary["linked"] > 0
    assert summary["api_calls"] == summary["ideal_api_calls"], summary["calls_by_endpoint"]
    synced = synced_contacts(e2e, "zoho", "Contacts", "Synced_Jira_User")
    assert len(synced) == summary["created"] + summary["linked"]

    again = e2e.run_own_dag(OWN_DAGS, "contacts_with_approval")
    assert again.succeeded, again.log_path
    second = e2e.stack.latest_summary(ZOHO)
    assert second["created"] == second["updated"] == second["linked"] == 0


def test_the_approval_between_gate_and_write_stops_the_write(e2e: EndToEnd) -> None:
    result = e2e.run_own_dag(OWN_DAGS, "contacts_with_approval", max_creates=0)
    assert not result.succeeded
    [message] = result.failures()
    assert "failed at step 'approve'" in message and "this run allows 0" in message
    assert synced_contacts(e2e, "zoho", "Contacts", "Synced_Jira_User") == set()
    assert e2e.calls("zoho", "POST /crm") == e2e.calls("zoho", "PUT /crm") == 0


def test_two_syncs_in_task_groups_of_one_dag_each_sync_their_crm(e2e: EndToEnd) -> None:
    result = e2e.run_own_dag(OWN_DAGS, "both_crms")
    assert result.succeeded, result.log_path
    for sync_id, crm, collection, field in (
        (ZOHO, "zoho", "Contacts", "Synced_Jira_User"),
        (SALESFORCE, "salesforce", "Contact", "Synced_Jira_User__c"),
    ):
        summary = e2e.stack.latest_summary(sync_id)
        assert summary is not None and summary["created"] > 0, sync_id
        assert len(synced_contacts(e2e, crm, collection, field)) == summary["created"] + summary["linked"]


def test_a_failed_step_of_ones_own_dag_is_reported_for_its_sync_and_task(e2e: EndToEnd) -> None:
    path = e2e.stack.syncs_dir / f"{ZOHO}.yaml"
    shipped = path.read_text()
    path.write_text(shipped.replace("target: First_Name}", "target: First_Nmae}"))
    try:
        result = e2e.run_own_dag(OWN_DAGS, "contacts_with_approval")
    finally:
        path.write_text(shipped)
    assert not result.succeeded
    [message] = result.failures()
    assert f"jirasync sync '{ZOHO}' failed at step 'read_zoho_contacts' (try 1," in message
    assert "'First_Nmae' is not a field of the CRM's contacts (nearest: First_Name" in message
