"""Jira users and JSM customers → Zoho CRM and Salesforce Contacts, through real Airflow DAG runs on the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from tests.e2e.harness import EndToEnd, end_to_end

PEOPLE = 300
DEFINITIONS = ["jira_to_zoho_contacts.yaml", "jira_to_salesforce_contacts.yaml"]
RECREATED = "re-created: the linked contact was deleted in the CRM"
SET_BACK = "set back: the contact was edited in the CRM"
USER_DELETED = "unlinked: the Jira user was deleted; Synced Jira User cleared, the contact kept"
TURNED_OFF = "unlinked: the sync is turned off; Synced Jira User cleared, the contact kept"

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Crm:
    """Where one CRM keeps contacts, and what its fields are called."""

    sync: str
    vendor: str
    collection: str
    id: str
    last_name: str
    synced: str


ZOHO = Crm("jira_to_zoho_contacts", "zoho", "Contacts", "id", "Last_Name", "Synced_Jira_User")
SALESFORCE = Crm(
    "jira_to_salesforce_contacts", "salesforce", "Contact", "Id", "LastName", "Synced_Jira_User__c"
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EndToEnd]:
    with end_to_end(
        tmp_path_factory.mktemp("contacts"), users=PEOPLE, seed=5, definitions=DEFINITIONS
    ) as e2e:
        yield e2e


@pytest.fixture
def e2e(world: EndToEnd) -> Iterator[EndToEnd]:
    """The module's world as seeded, with no sync state and the shipped definitions."""
    with world.fresh() as fresh:
        yield fresh


@pytest.fixture(params=[ZOHO, SALESFORCE], ids=["zoho", "salesforce"])
def crm(request: pytest.FixtureRequest) -> Crm:
    return request.param


def contacts(e2e: EndToEnd, crm: Crm) -> dict[str, dict[str, Any]]:
    return {c[crm.id]: c for c in e2e.sandbox.records(crm.vendor, crm.collection)}


def synced(e2e: EndToEnd, crm: Crm) -> dict[str, dict[str, Any]]:
    """accountId → the contact whose "Synced Jira User" names it."""
    return {c[crm.synced]: c for c in contacts(e2e, crm).values() if c.get(crm.synced)}


def jira_users(e2e: EndToEnd) -> list[dict[str, Any]]:
    return [u for u in e2e.sandbox.records("jira", "users") if u["accountType"] in ("atlassian", "customer")]


def writes(e2e: EndToEnd, crm: Crm) -> int:
    """Write calls the CRM answered in the last run."""
    return sum(
        e2e.calls(crm.vendor, method) for method in ("POST /crm", "PUT /crm", "POST /services/data", "PATCH")
    )


def assert_ideal(summary: dict[str, Any], crm: Crm) -> None:
    """Calls made are the ideal: the reads the APIs require, a token or login where a step calls at
    all, and writes in full batches."""
    assert summary["api_calls"] == summary["ideal_api_calls"], summary["calls_by_endpoint"]


def test_first_run_links_or_creates_a_contact_per_user_and_a_second_run_writes_nothing(
    e2e: EndToEnd, crm: Crm
) -> None:
    before = contacts(e2e, crm)
    user_emails = {u["emailAddress"].casefold() for u in jira_users(e2e)}
    by_hand = {i: c for i, c in before.items() if (c.get("Email") or "").casefold() not in user_emails}
    first = e2e.run(crm.sync)
    after = synced(e2e, crm)
    visible = [u for u in jira_users(e2e) if u["emailVisible"]]
    customers = [u for u in visible if u["accountType"] == "customer"]
    assert customers and {u["accountId"] for u in visible} <= set(after)
    for user in visible:
        contact = after[user["accountId"]]
        assert contact["Email"].casefold() == user["emailAddress"].casefold()
        assert contact[crm.last_name] == user["displayName"].rsplit(" ", 1)[-1]
    # Existing contacts with a user's email were linked, not duplicated.
    emails = [(c.get("Email") or "").casefold() for c in contacts(e2e, crm).values() if c.get("Email")]
    assert len(emails) == len(set(emails))
    assert first["linked"] > 0 and first["created"] > 0
    # Hidden emails: found through a contact (by /user/search), or reported.
    hidden = [u for u in jira_users(e2e) if not u["emailVisible"]]
    found = [u for u in hidden if u["accountId"] in after]
    assert found and first["skipped"] == len(hidden) - len(found)
    skipped = [row for row in e2e.ledger(crm.sync) if row["outcome"] == "skipped"]
    assert all("hides its email" in row["reason"] for row in skipped)
    # Contacts made by hand are left as they were.
    now = contacts(e2e, crm)
    assert all(now[i] == contact for i, contact in by_hand.items())
    assert_ideal(first, crm)

    second = e2e.run(crm.sync)
    assert second["created"] == second["updated"] == second["linked"] == second["unlinked"] == 0
    assert writes(e2e, crm) == 0
    assert e2e.calls("jira", "/user/search") == 0  # misses are remembered
    assert_ideal(second, crm)


def test_a_new_user_and_a_new_customer_get_a_contact_on_the_next_run(e2e: EndToEnd, crm: Crm) -> None:
    e2e.run(crm.sync)
    user = e2e.sandbox.mutate("jira", "add_user", email="New.Person@Example.com", displayName="New Person")
    customer = e2e.sandbox.mutate(
        "jira", "add_user", email="buyer@customer.example", displayName="Bea Buyer", accountType="customer"
    )
    run = e2e.run(crm.sync)
    after = synced(e2e, crm)
    assert after[user["accountId"]]["Email"].casefold() == "new.person@example.com"
    assert after[customer["accountId"]][crm.last_name] == "Buyer"
    assert run["created"] == 2 and run["updated"] == run["linked"] == 0
    assert writes(e2e, crm) == 1  # both in one batch
    assert_ideal(run, crm)


def test_crm_edits_are_set_back_and_a_deleted_contact_is_recreated(e2e: EndToEnd, crm: Crm) -> None:
    e2e.run(crm.sync)
    linked = synced(e2e, crm)
    edited_user, deleted_user = sorted(linked)[:2]
    edited, deleted = linked[edited_user], linked[deleted_user]
    e2e.sandbox.edit(
        crm.vendor,
        crm.collection,
        edited[crm.id],
        **{crm.last_name: "Changed", "Email": "x@y.example", crm.synced: "someone"},
    )
    e2e.sandbox.delete(crm.vendor, crm.collection, deleted[crm.id])

    run = e2e.run(crm.sync)
    after = synced(e2e, crm)
    restored = contacts(e2e, crm)[edited[crm.id]]
    assert restored[crm.last_name] == edited[crm.last_name]
    assert restored["Email"].casefold() == edited["Email"].casefold()
    assert restored[crm.synced] == edited_user
    assert after[deleted_user][crm.id] != deleted[crm.id]
    assert after[deleted_user]["Email"].casefold() == deleted["Email"].casefold()
    assert run["updated"] == 1 and run["created"] == 1
    assert run["reasons"] == {SET_BACK: 1, RECREATED: 1}
    assert_ideal(run, crm)


def test_a_deleted_user_unlinks_its_contact_which_stays_and_a_deactivated_one_keeps_it(
    e2e: EndToEnd, crm: Crm
) -> None:
    e2e.run(crm.sync)
    linked = synced(e2e, crm)
    gone, deactivated = sorted(linked)[:2]
    e2e.sandbox.delete("jira", "users", gone)
    e2e.sandbox.mutate("jira", "deactivate_user", accountId=deactivated)

    run = e2e.run(crm.sync)
    kept = contacts(e2e, crm)[linked[gone][crm.id]]
    assert not kept.get(crm.synced) and kept["Email"] == linked[gone]["Email"]
    assert synced(e2e, crm)[deactivated][crm.id] == linked[deactivated][crm.id]
    assert run["unlinked"] == 1 and run["reasons"] == {USER_DELETED: 1}
    assert_ideal(run, crm)
    assert e2e.run(crm.sync)["unlinked"] == 0


def test_enabled_false_unlinks_every_contact_and_then_leaves_users_and_contacts_alone(
    e2e: EndToEnd, crm: Crm
) -> None:
    e2e.run(crm.sync)
    linked = synced(e2e, crm)
    definition = e2e.stack.syncs_dir / f"{crm.sync}.yaml"
    definition.write_text(definition.read_text().replace("enabled: true", "enabled: false"))

    off = e2e.run(crm.sync)
    assert off["unlinked"] == len(linked) and off["reasons"] == {TURNED_OFF: len(linked)}
    assert synced(e2e, crm) == {}
    assert e2e.calls("jira") == 0  # nothing is read while the sync is off
    assert_ideal(off, crm)

    user = sorted(linked)[0]
    e2e.sandbox.delete("jira", "users", user)
    e2e.sandbox.mutate("jira", "add_user", email="late@example.com", displayName="Late Comer")
    before = contacts(e2e, crm)
    again = e2e.run(crm.sync)
    assert contacts(e2e, crm) == before
    assert again["ideal_api_calls"] == 0
    assert_ideal(again, crm)


def test_the_disable_action_clears_synced_user_and_a_dry_run_predicts_the_real_run(
    e2e: EndToEnd, crm: Crm
) -> None:
    dry = e2e.run(crm.sync, dry_run=True)
    assert synced(e2e, crm) == {} and writes(e2e, crm) == 0
    real = e2e.run(crm.sync)
    assert {k: dry[k] for k in ("created", "updated", "linked", "skipped")} == {
        k: real[k] for k in ("created", "updated", "linked", "skipped")
    }
    linked = synced(e2e, crm)
    off = e2e.run(crm.sync, action="disable")
    assert off["unlinked"] == len(linked)
    assert synced(e2e, crm) == {}
    assert {c[crm.id] for c in contacts(e2e, crm).values()} >= {c[crm.id] for c in linked.values()}


def test_an_over_long_name_is_cut_to_fit_and_a_padded_email_is_written_trimmed_once(
    e2e: EndToEnd, crm: Crm
) -> None:
    user = next(u for u in jira_users(e2e) if u["accountType"] == "atlassian" and u.get("emailVisible", True))
    email = f"  Padded.{user['accountId'][-6:]}@Example.com "
    e2e.sandbox.edit(
        "jira", "users", user["accountId"], displayName="Ann " + "Long" * 2500, emailAddress=email
    )

    first = e2e.run(crm.sync)
    assert first["failed"] == 0
    contact = synced(e2e, crm)[user["accountId"]]
    assert len(contact[crm.last_name]) == 80 and contact[crm.last_name].endswith("…")
    assert contact["Email"] == email.strip()
    [note] = first["adjusted_values"]
    assert note == f"{user['accountId']}: {crm.last_name} cut from 10000 to 80 characters"

    second = e2e.run(crm.sync)  # the cut value is what the CRM holds: nothing to write again
    assert second["updated"] == second["created"] == second["failed"] == 0


def test_a_mapped_field_the_crm_lacks_fails_at_once_naming_the_nearest(e2e: EndToEnd, crm: Crm) -> None:
    first_name = "First_Name" if crm is ZOHO else "FirstName"
    typo = first_name.replace("Name", "Nmae")
    path = e2e.stack.syncs_dir / f"{crm.sync}.yaml"
    path.write_text(path.read_text().replace(f"target: {first_name}}}", f"target: {typo}}}"))
    failed = e2e.run_failing(crm.sync)
    [message] = failed.failures()
    assert "failed at step 'extract_target' (try 1," in message
    assert f"'{typo}' is not a field of the CRM's contacts (nearest: {first_name}" in message
    assert "correct the mapping in the definition" in message
