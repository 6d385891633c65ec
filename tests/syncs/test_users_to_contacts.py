"""The users → contacts family without Airflow: its reads, plan refinements and writers, against the sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jirasync.connectors import VirtualClock
from jirasync.connectors.jira import JiraConnector
from jirasync.connectors.salesforce import SalesforceConnector, password_login
from jirasync.connectors.zoho import ZohoAuth, ZohoCrmConnector
from jirasync.engine.apply import ApplySummary, WriteRecord, apply_changes, merge_pending
from jirasync.engine.definitions import DefinitionError, SyncDefinition, load_definition
from jirasync.engine.plan import plan_changes
from jirasync.engine.store import StateStore
from jirasync.syncs.contacts_definition import check_contacts_definition
from jirasync.syncs.family import RunOptions, SyncRun
from jirasync.syncs.users_to_contacts import HIDDEN_UNMATCHED, TURNED_OFF, UsersToContacts, hidden_key
from sandbox.testing import RunningSandbox

SYNCS = Path(__file__).resolve().parents[2] / "include" / "syncs"
SYNCED = {"zoho_crm": "Synced_Jira_User", "salesforce": "Synced_Jira_User__c"}


def jira(sandbox: RunningSandbox) -> JiraConnector:
    known = sandbox.credentials["jira"]
    return JiraConnector.with_api_token(sandbox.url("/jira"), known["email"], known["api_token"])


def crm(sandbox: RunningSandbox, system: str) -> Any:
    if system == "zoho_crm":
        known = sandbox.credentials["zoho"]
        clock = VirtualClock()
        auth = ZohoAuth(
            sandbox.url("/zoho-accounts"),
            known["client_id"],
            known["client_secret"],
            known["refresh_token"],
            clock,
        )
        return ZohoCrmConnector(auth, clock=clock)
    known = sandbox.credentials["salesforce"]
    login = password_login(known["username"], known["password"], known["security_token"])
    return SalesforceConnector(login, redirect_to=sandbox.base_url, clock=VirtualClock())


class Pipeline:
    """extract → plan → refine → apply, as the DAG's steps chain them, for one definition."""

    def __init__(self, sandbox: RunningSandbox, definition: SyncDefinition, store: StateStore) -> None:
        self.sandbox = sandbox
        self.definition = definition
        self.store = store
        self.family = UsersToContacts()
        self.sandbox_vendor = "zoho" if definition.target.system == "zoho_crm" else "salesforce"

    def run(self, **options: Any) -> tuple[Any, ApplySummary]:
        extra = {"action": options.pop("action")} if "action" in options else {}
        run = SyncRun(
            self.definition,
            RunOptions(**options, extra=extra),
            self.store,
            "run",
            None,
            connect=lambda _: jira(self.sandbox),
        )
        target_crm = crm(self.sandbox, self.definition.target.system)
        source = self.family.read_source(run, jira(self.sandbox))
        target = self.family.read_target(run, target_crm, source)
        links = self.store.links(self.definition.id)
        changes = plan_changes(
            self.definition, source.frame, target.frame, links, self.store.base(self.definition.id)
        )
        changes = merge_pending(changes, self.store.pending(self.definition.id), links)
        changes = self.family.refine(run, changes)
        writer = self.family.writer(run, target_crm, source.frame)
        summary = apply_changes(
            changes, store=self.store, sync_id=self.definition.id, writer=writer, dry_run=run.options.dry_run
        )
        if target.cursor is not None and not run.options.dry_run:
            self.store.save_cursor(self.definition.id, "target", target.cursor)
        return changes, summary


@pytest.fixture(params=["zoho", "salesforce"])
def pipeline(request: pytest.FixtureRequest, fresh_sandbox: RunningSandbox, tmp_path: Path) -> Pipeline:
    definition = load_definition(SYNCS / f"jira_to_{request.param}_contacts.yaml")
    return Pipeline(fresh_sandbox, definition, StateStore(tmp_path / "state.db"))


def contacts(pipeline: Pipeline) -> dict[str, dict[str, Any]]:
    if pipeline.definition.target.system == "zoho_crm":
        return {c["id"]: c for c in pipeline.sandbox.records("zoho", "Contacts")}
    return {c["Id"]: c for c in pipeline.sandbox.records("salesforce", "Contact")}


def users(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    return [u for u in sandbox.records("jira", "users") if u["accountType"] in ("atlassian", "customer")]


def test_the_shipped_definitions_pass_the_family_check() -> None:
    for name in ("jira_to_zoho_contacts.yaml", "jira_to_salesforce_contacts.yaml"):
        check_contacts_definition(load_definition(SYNCS / name), name)


def test_a_definition_without_the_synced_user_field_is_refused(tmp_path: Path) -> None:
    text = (SYNCS / "jira_to_zoho_contacts.yaml").read_text()
    path = tmp_path / "no_synced.yaml"
    path.write_text(text.replace("  - {source: accountId, target: Synced_Jira_User}\n", ""))
    with pytest.raises(DefinitionError, match="accountId"):
        check_contacts_definition(load_definition(path), str(path))


def test_every_user_with_an_email_gets_one_linked_contact_and_a_second_run_writes_nothing(
    pipeline: Pipeline,
) -> None:
    _, first = pipeline.run()
    synced = SYNCED[pipeline.definition.target.system]
    by_user = {c[synced]: c for c in contacts(pipeline).values() if c.get(synced)}
    visible = [u for u in users(pipeline.sandbox) if u["emailVisible"]]
    assert {u["accountId"] for u in visible} <= set(by_user)
    for user in visible:
        assert by_user[user["accountId"]]["Email"].casefold() == user["emailAddress"].casefold()
    assert first.failed == 0
    assert len(pipeline.store.links(pipeline.definition.id)) == len(by_user)

    changes, second = pipeline.run()
    assert second.created == second.updated == second.linked == 0
    assert set(changes["kind"]) <= {"skip"}


def test_a_hidden_email_is_found_through_a_contact_or_reported(pipeline: Pipeline) -> None:
    hidden = [u for u in users(pipeline.sandbox) if not u["emailVisible"] and u["active"]]
    emails = {c["Email"].casefold() for c in contacts(pipeline).values() if c.get("Email")}
    with_contact = [u for u in hidden if u["emailAddress"].casefold() in emails]
    without = [u for u in hidden if u["emailAddress"].casefold() not in emails]
    assert with_contact and without  # the seeded world has both
    changes, _ = pipeline.run()
    links = pipeline.store.links(pipeline.definition.id)
    assert {u["accountId"] for u in with_contact} <= set(links["source_id"])
    skipped = changes[(changes["kind"] == "skip") & (changes["reason"] == HIDDEN_UNMATCHED)]
    assert {hidden_key(u["accountId"]) for u in without} <= set(skipped["key"])
    # Each unmatched contact email is searched once; a second run remembers the misses.
    pipeline.sandbox.clear_counters()
    pipeline.run()
    assert not any("/user/search" in endpoint for endpoint in pipeline.sandbox.counters())
    # The email found is remembered: a deleted contact of a hidden user is re-created with it.
    user = with_contact[0]
    synced = SYNCED[pipeline.definition.target.system]
    contact = next(c for c in contacts(pipeline).values() if c.get(synced) == user["accountId"])
    collection = "Contacts" if pipeline.definition.target.system == "zoho_crm" else "Contact"
    pipeline.sandbox.delete(pipeline.sandbox_vendor, collection, contact.get("id") or contact["Id"])
    _, third = pipeline.run()
    again = next(c for c in contacts(pipeline).values() if c.get(synced) == user["accountId"])
    assert third.created == 1 and again["Email"].casefold() == user["emailAddress"].casefold()


def test_turning_off_clears_the_synced_user_and_drops_every_link(pipeline: Pipeline) -> None:
    pipeline.run()
    linked = set(pipeline.store.links(pipeline.definition.id)["target_id"])
    changes, summary = pipeline.run(action="disable")
    assert set(changes["reason"]) == {TURNED_OFF}
    assert summary.unlinked == len(linked)
    assert pipeline.store.links(pipeline.definition.id).empty
    synced = SYNCED[pipeline.definition.target.system]
    assert not any(contact.get(synced) for contact in contacts(pipeline).values())


def test_an_interrupted_create_is_found_by_its_email_not_made_twice(pipeline: Pipeline) -> None:
    run = SyncRun(pipeline.definition, RunOptions(), pipeline.store, "run", None)
    writer = pipeline.family.writer(run, crm(pipeline.sandbox, pipeline.definition.target.system), None)
    existing = next(c for c in contacts(pipeline).values() if c.get("Email"))
    made = WriteRecord("create", "k", "712020:x", None, {"Email": existing["Email"].upper()}, {})
    never = WriteRecord("create", "n", "712020:y", None, {"Email": "nobody@nowhere.example"}, {})
    writer.reconcile([made])  # the first call also asks for a token or logs in
    pipeline.sandbox.clear_counters()
    assert writer.reconcile([made, never]) == [existing.get("id") or existing["Id"], None]
    lookups = sum(pipeline.sandbox.counters().values())
    assert lookups == writer.lookup_calls(2) == 1  # the whole batch in one query
