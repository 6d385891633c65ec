"""Zoho CRM Deals and Salesforce Cases ↔ Jira issues (connected items), through real Airflow DAG runs on the sandbox."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from tests.e2e.harness import EndToEnd, end_to_end
from tests.syncs.test_users_to_contacts import crm as crm_connector

from jirasync.local_stack import PROJECT_ROOT

PEOPLE = 700  # about 38 Zoho deals and 40 Salesforce cases
LINK_FIELD = "customfield_10103"
STATUSES = {"10000": "To Do", "10001": "In Progress", "10002": "Done"}

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Crm:
    """One connected item: where its records are, and the fields the tests edit."""

    sync: str
    vendor: str
    collection: str
    id: str
    name: str  # mapped to the summary, both ways
    key_field: str  # gets the issue key
    stage: str  # the conditional rule's field
    eligible: tuple[str, ...]  # its values that meet the rule
    closed: str  # a value that does not
    owned: str  # a field the CRM owns, and the Jira field it fills
    owned_target: str
    owned_values: tuple[Any, Any]  # a value is set that the record does not have yet
    url_part: str


ZOHO = Crm(
    "zoho_deals_to_jira", "zoho", "Deals", "id", "Deal_Name", "Jira_Issue_Key", "Stage",
    ("Proposal", "Negotiation"), "Closed Won", "Amount", "customfield_10101", (123456.0, 654321.0), "/Potentials/",
)  # fmt: skip
SALESFORCE = Crm(
    "salesforce_cases_to_jira", "salesforce", "Case", "Id", "Subject", "Jira_Issue_Key__c", "Status",
    ("New", "Working", "Escalated"), "Closed", "Priority", "customfield_10102", ("Low", "High"), "/Case/",
)  # fmt: skip
DEFINITIONS = [f"{ZOHO.sync}.yaml", f"{SALESFORCE.sync}.yaml"]
ZOHO_DEFINITION = (PROJECT_ROOT / "include" / "syncs" / DEFINITIONS[0]).read_text()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EndToEnd]:
    with end_to_end(
        tmp_path_factory.mktemp("records"), users=PEOPLE, seed=11, definitions=DEFINITIONS
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


def records(e2e: EndToEnd, crm: Crm) -> dict[str, dict[str, Any]]:
    return {r[crm.id]: r for r in e2e.sandbox.records(crm.vendor, crm.collection)}


def eligible(e2e: EndToEnd, crm: Crm) -> dict[str, dict[str, Any]]:
    return {i: r for i, r in records(e2e, crm).items() if r[crm.stage] in crm.eligible}


def synced_issues(e2e: EndToEnd, crm: Crm) -> dict[str, dict[str, Any]]:
    """Record id → the issue auto-create made for it."""
    found = {}
    for issue in e2e.sandbox.records("jira", "issues"):
        mark = (issue.get("properties") or {}).get("jirasync.record") or {}
        if mark.get("sync") == crm.sync:
            found[mark["record"]] = issue
    return found


def remote_links(e2e: EndToEnd, issue: dict[str, Any]) -> list[dict[str, Any]]:
    return [link for link in e2e.sandbox.records("jira", "remote_links") if link["issueId"] == issue["id"]]


def status_name(issue: dict[str, Any]) -> str:
    return STATUSES[issue["fields"]["status"]]


def writes(e2e: EndToEnd) -> int:
    """Write calls either side answered in the last run."""
    jira = sum(
        e2e.calls("jira", m)
        for m in ("POST /rest/api/3/issue", "PUT /rest/api/3/issue", "POST /rest/api/3/bulk", "DELETE")
    )
    return jira + e2e.calls("zoho", "PUT /crm") + e2e.calls("salesforce", "PATCH")


def edit_record(e2e: EndToEnd, crm: Crm, record_id: str, **changes: Any) -> None:
    """A CRM user edits a record; the CRM stamps its modification time."""
    if crm.vendor == "zoho":
        stamp = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        e2e.sandbox.edit("zoho", crm.collection, record_id, **changes, Modified_Time=stamp)
    else:
        e2e.sandbox.mutate("salesforce", "edit_record", sobject=crm.collection, id=record_id, fields=changes)


def associated(e2e: EndToEnd, crm: Crm, record: dict[str, Any]) -> dict[str, Any]:
    """What the issue of ``record`` shows of its related records and related lists."""
    if crm.vendor == "zoho":
        owner = record["Owner"]
        return {
            "Contact": {"name": record["Contact_Name"]["name"]},
            "Owner": {"name": owner["name"], "email": owner["email"]},
            "Stage_History": stage_history(e2e, record["id"]),
            "Contact_Roles": contact_roles(e2e, record["id"]),
        }
    contact = e2e.sandbox.record("salesforce", "Contact", record["ContactId"])
    account = e2e.sandbox.record("salesforce", "Account", record["AccountId"])
    return {
        "Account": {"name": account["Name"]},
        "Contact": {"name": contact["Name"], "phone": contact.get("Phone")},
    }


def stage_history(e2e: EndToEnd, deal_id: str) -> list[dict[str, Any]]:
    """The deal's five latest stage changes, newest first, with the fields the definition keeps."""
    entries = [e for e in e2e.sandbox.records("zoho", "Stage_History") if e["_deal_id"] == deal_id]
    entries.sort(key=lambda e: (e["Modified_Time"], int(e["id"])), reverse=True)
    return [{k: e[k] for k in ("Stage", "Amount", "Closing_Date", "Modified_Time")} for e in entries[:5]]


def contact_roles(e2e: EndToEnd, deal_id: str) -> list[dict[str, Any]]:
    """The deal's contacts (by id, as Zoho lists them) with their role."""
    contacts = {c["id"]: c for c in e2e.sandbox.records("zoho", "Contacts")}
    roles = [r for r in e2e.sandbox.records("zoho", "Contact_Roles") if r["_deal_id"] == deal_id]
    return [
        {
            "Full_Name": contacts[r["_contact_id"]]["Full_Name"],
            "Email": contacts[r["_contact_id"]]["Email"],
            "Contact_Role": r["Contact_Role"],
        }
        for r in sorted(roles, key=lambda r: int(r["_contact_id"]))
    ]


def new_value(e2e: EndToEnd, crm: Crm, record_id: str) -> Any:
    """A value of the CRM-owned field that the record does not have."""
    current = records(e2e, crm)[record_id][crm.owned]
    return next(value for value in crm.owned_values if value != current)


def assert_ideal(summary: dict[str, Any]) -> None:
    assert summary["api_calls"] == summary["ideal_api_calls"], summary["calls_by_endpoint"]


def test_eligible_records_get_an_issue_linked_with_a_remote_link_and_the_key_in_the_crm(
    e2e: EndToEnd, crm: Crm
) -> None:
    wanted = eligible(e2e, crm)
    assert 3 <= len(wanted) < len(records(e2e, crm))
    # A dry run lists every issue it would create, with its summary and the status it would get.
    dry = e2e.attempt(crm.sync, dry_run=True)
    assert dry.succeeded and not synced_issues(e2e, crm)
    log = dry.log_path.read_text()
    assert f"create ({len(wanted)}):" in log
    for record_id, record in wanted.items():
        assert f"  + {record_id} [source {record_id}]" in log
        assert f"      summary: {json.dumps(record[crm.name])[:57]}" in log
    assert log.count('      status: "In Progress" -> target') == len(wanted)
    first = e2e.run(crm.sync)
    issues = synced_issues(e2e, crm)
    assert set(issues) == set(wanted)
    assert first["created"] == len(wanted) and first["failed"] == 0
    assert e2e.calls("jira", "POST /rest/api/3/issue/bulk") == 1  # all in one bulk create
    assert e2e.calls("jira", "POST /rest/api/3/bulk/issues/transition") == 1  # all moved in one request
    now = records(e2e, crm)
    for record_id, issue in issues.items():
        assert issue["fields"]["summary"] == wanted[record_id][crm.name]
        assert issue["fields"][crm.owned_target] == wanted[record_id][crm.owned]
        assert status_name(issue) == "In Progress"
        (link,) = remote_links(e2e, issue)
        assert link["globalId"] == f"jirasync:{crm.sync}:{record_id}"
        assert crm.url_part + record_id in link["object"]["url"]
        assert now[record_id][crm.key_field] == issue["key"]
        assert issue["properties"]["jirasync.associated"] == associated(e2e, crm, wanted[record_id])
    assert_ideal(first)

    second = e2e.run(crm.sync)
    assert second["created"] == second["updated"] == second["linked"] == 0
    assert writes(e2e) == 0
    assert_ideal(second)
    assert all(len(remote_links(e2e, issue)) == 1 for issue in synced_issues(e2e, crm).values())


def test_fields_sync_both_ways_without_echo_over_three_runs(e2e: EndToEnd, crm: Crm) -> None:
    e2e.run(crm.sync)
    issues = synced_issues(e2e, crm)
    crm_side, jira_side = sorted(issues)[:2]
    value = new_value(e2e, crm, crm_side)
    edit_record(e2e, crm, crm_side, **{crm.owned: value})
    e2e.sandbox.mutate(
        "jira", "edit_issue", issue=issues[jira_side]["key"], fields={"summary": "Renamed in Jira"}
    )

    second = e2e.run(crm.sync)
    assert synced_issues(e2e, crm)[crm_side]["fields"][crm.owned_target] == value
    assert records(e2e, crm)[jira_side][crm.name] == "Renamed in Jira"
    assert second["updated"] == 2 and second["created"] == 0
    assert_ideal(second)

    third = e2e.run(crm.sync)
    assert third["updated"] == third["created"] == third["linked"] == 0
    assert writes(e2e) == 0
    assert_ideal(third)


def test_the_conditional_rule_moves_issues_together_and_reports_a_missing_transition(
    e2e: EndToEnd, crm: Crm
) -> None:
    e2e.run(crm.sync)
    issues = synced_issues(e2e, crm)
    leaving, stuck = sorted(issues)[:3], sorted(issues)[3:5]
    for record_id in leaving:
        edit_record(e2e, crm, record_id, **{crm.stage: crm.closed})
    for record_id in stuck:
        e2e.sandbox.mutate("jira", "transition", issue=issues[record_id]["key"], to="Done")

    run = e2e.run(crm.sync)
    now = synced_issues(e2e, crm)
    assert [status_name(now[record_id]) for record_id in leaving] == ["To Do"] * 3
    assert [status_name(now[record_id]) for record_id in stuck] == ["Done"] * 2
    assert run["updated"] == 3 and run["skipped"] == 2 and run["failed"] == 0
    assert e2e.calls("jira", "POST /rest/api/3/bulk/issues/transition") == 1  # the three, in one request
    assert e2e.calls("jira", "/rest/api/3/issue/{issueIdOrKey}/transitions") == 0
    for record_id in stuck:
        key = issues[record_id]["key"]
        assert any(
            f"no transition from Done to In Progress for issue {key}" in r for r in run["skipped_records"]
        )
    assert_ideal(run)

    # Tried again on the next run, and reported again.
    for record_id in stuck:
        e2e.sandbox.mutate(
            "jira", "edit_issue", issue=issues[record_id]["key"], fields={"labels": ["touched"]}
        )
    again = e2e.run(crm.sync)
    assert again["skipped"] == 2 and all("no transition from Done" in r for r in again["skipped_records"])
    assert_ideal(again)


def test_a_record_linked_by_hand_is_synced_and_unlinked_when_the_field_is_cleared(
    e2e: EndToEnd, crm: Crm
) -> None:
    e2e.run(crm.sync)
    record_id, record = next(
        (i, r) for i, r in sorted(records(e2e, crm).items()) if r[crm.stage] == crm.closed
    )
    issue = next(
        i
        for i in e2e.sandbox.records("jira", "issues")
        if i["key"].startswith("SUP-") and "properties" not in i
    )
    url = f"https://crm.example/records{crm.url_part}{record_id}/view"
    e2e.sandbox.mutate("jira", "edit_issue", issue=issue["key"], fields={LINK_FIELD: url})

    linked = e2e.run(crm.sync)
    now = e2e.sandbox.record("jira", "issues", issue["id"])
    assert linked["linked"] == 1 and linked["created"] == 0
    assert now["fields"]["summary"] == record[crm.name]  # the CRM wins the first comparison
    assert status_name(now) == "To Do"  # the rule: the record does not meet it
    (link,) = remote_links(e2e, now)
    assert link["globalId"] == f"jirasync:{crm.sync}:{record_id}"
    assert records(e2e, crm)[record_id][crm.key_field] == issue["key"]
    assert_ideal(linked)

    e2e.sandbox.mutate("jira", "edit_issue", issue=issue["key"], fields={LINK_FIELD: None})
    unlinked = e2e.run(crm.sync)
    assert unlinked["unlinked"] == 1
    assert remote_links(e2e, e2e.sandbox.record("jira", "issues", issue["id"])) == []
    assert not records(e2e, crm)[record_id][crm.key_field]
    assert_ideal(unlinked)
    assert e2e.run(crm.sync)["linked"] == 0


def test_a_long_deal_name_is_cut_to_jiras_summary_limit_and_reported(e2e: EndToEnd) -> None:
    deal_id = next(iter(sorted(eligible(e2e, ZOHO))))
    edit_record(e2e, ZOHO, deal_id, Deal_Name="Renewal " + "x" * 300)
    run = e2e.run(ZOHO.sync)
    summary = synced_issues(e2e, ZOHO)[deal_id]["fields"]["summary"]
    assert len(summary) == 255 and summary.endswith("…")
    assert any(deal_id in note and "summary" in note for note in run["adjusted_values"])
    assert e2e.run(ZOHO.sync)["updated"] == 0  # the cut value is what the plan compares


def test_a_required_jira_field_no_mapping_fills_stops_the_run_naming_it(e2e: EndToEnd, crm: Crm) -> None:
    e2e.sandbox.mutate("jira", "require_field", field="customfield_10103")
    failed = e2e.run_failing(crm.sync)
    assert "CRM record (customfield_10103)" in " ".join(failed.failures())
    assert synced_issues(e2e, crm) == {}


def delete_record(e2e: EndToEnd, crm: Crm, record_id: str) -> None:
    """A CRM user deletes a record through the CRM's API (it then shows among deleted records)."""
    if crm.vendor == "zoho":
        outcomes = crm_connector(e2e.sandbox, "zoho_crm").delete(crm.collection, [record_id])
    else:
        outcomes = crm_connector(e2e.sandbox, "salesforce").delete([record_id])
    assert all(outcome.ok for outcome in outcomes)


def test_a_deleted_record_or_issue_unlinks_and_the_other_side_stays(e2e: EndToEnd, crm: Crm) -> None:
    e2e.run(crm.sync)
    issues = synced_issues(e2e, crm)
    record_gone, issue_gone = sorted(issues)[:2]
    delete_record(e2e, crm, record_gone)
    e2e.sandbox.mutate("jira", "delete_issue", issue=issues[issue_gone]["key"])

    run = e2e.run(crm.sync)  # incremental: the CRM's deleted records are read, Jira has no such list
    assert run["reasons"]["unlinked: the CRM record is gone or the issue no longer names it"] == 1
    assert run["created"] == 0
    kept = e2e.sandbox.record("jira", "issues", issues[record_gone]["id"])
    assert kept["key"] == issues[record_gone]["key"] and remote_links(e2e, kept) == []
    assert_ideal(run)

    # A deleted issue is found when its record is read: here at once (its issue changed in the last
    # minutes), else by a full sync. Its record is unlinked, keeps the key, and never gets a second issue.
    full = e2e.run(crm.sync, full_sync=True)
    assert run["unlinked"] + full["unlinked"] == 2 and full["created"] == 0
    deleted = "unlinked: the linked Jira issue was deleted; the CRM record stays"
    assert run["reasons"].get(deleted, 0) + full["reasons"].get(deleted, 0) == 1
    assert records(e2e, crm)[issue_gone][crm.key_field] == issues[issue_gone]["key"]
    assert_ideal(full)
    assert e2e.run(crm.sync, full_sync=True)["created"] == 0
    assert issue_gone not in synced_issues(e2e, crm)


STAGE_MAP = (
    "  status_map:\n    field: Stage\n    values: {Qualification: To Do, Needs Analysis: To Do, Proposal: In Progress, "
    "Negotiation: In Progress, Closed Won: Done}\n"
)


def test_a_status_map_moves_issues_with_the_crm_and_the_crm_with_jira(e2e: EndToEnd) -> None:
    rule = (ZOHO_DEFINITION.split("  status_rule:\n")[1]).split("# Both sides")[0]
    e2e.add_variant(
        f"{ZOHO.sync}.yaml",
        "deals_status_map",
        {
            "  - {source: status_rule, target: status, owner: source}": "  - {source: status_map, target: status}",
            "  status_rule:\n" + rule: STAGE_MAP,
        },
    )
    first = e2e.run("deals_status_map")
    issues = {
        k: v for k, v in synced_issues(e2e, Crm(**{**ZOHO.__dict__, "sync": "deals_status_map"})).items()
    }
    lost = [i for i, d in records(e2e, ZOHO).items() if d["Stage"] == "Closed Lost"]
    assert set(issues) == set(records(e2e, ZOHO))  # no rule: every deal gets an issue
    assert lost and all(
        status_name(issues[i]) == "To Do" for i in lost
    )  # unmapped: the issue keeps its status
    assert sum("Stage 'Closed Lost' has no Jira status" in note for note in first["adjusted_values"]) == len(
        lost
    )
    moving_in_crm, moving_in_jira = (
        next(i for i, d in sorted(records(e2e, ZOHO).items()) if d["Stage"] == stage)
        for stage in ("Qualification", "Proposal")
    )
    edit_record(e2e, ZOHO, moving_in_crm, Stage="Negotiation")
    e2e.sandbox.mutate("jira", "transition", issue=issues[moving_in_jira]["key"], to="Done")

    second = e2e.run("deals_status_map")
    assert status_name(e2e.sandbox.record("jira", "issues", issues[moving_in_crm]["id"])) == "In Progress"
    assert records(e2e, ZOHO)[moving_in_jira]["Stage"] == "Closed Won"  # the first CRM value for Done
    assert second["updated"] == 2 and second["failed"] == 0
    assert_ideal(second)
    # The stage written to the CRM is also the CRM-owned "CRM stage" field of the issue, and a new
    # row of the deal's stage history: they follow once; the status itself never comes back.
    third = e2e.run("deals_status_map")
    changed = {
        (row["target_id"], row["field"]) for row in e2e.ledger("deals_status_map") if row["outcome"] == "ok"
    }
    key = issues[moving_in_jira]["key"]
    assert changed == {(key, "customfield_10102"), (key, "associated.Stage_History")}
    assert e2e.run("deals_status_map")["updated"] == 0 and writes(e2e) == 0
    assert third["updated"] == 1


def test_display_mode_shows_the_crm_fields_on_the_issue_and_writes_no_field(e2e: EndToEnd) -> None:
    rule = "  status_rule:\n" + (ZOHO_DEFINITION.split("  status_rule:\n")[1]).split("# Both sides")[0]
    e2e.add_variant(
        f"{ZOHO.sync}.yaml",
        "deals_display",
        {
            "mode: two_way": "mode: display",
            "  - {source: status_rule, target: status, owner: source}\n": "",
            rule: "",
            "auto_create: true": "auto_create: false",
        },
    )
    deal_id, deal = next(iter(sorted(records(e2e, ZOHO).items())))
    issue = next(i for i in e2e.sandbox.records("jira", "issues") if i["key"].startswith("SUP-"))
    e2e.sandbox.mutate("jira", "edit_issue", issue=issue["key"], fields={LINK_FIELD: deal_id})

    linked = e2e.run("deals_display")
    now = e2e.sandbox.record("jira", "issues", issue["id"])
    snapshot = now["properties"]["jirasync.snapshot"]
    assert linked["linked"] == 1 and linked["created"] == 0
    assert snapshot["record"] == deal_id and snapshot["url"].endswith(deal_id)
    assert snapshot["fields"]["summary"] == deal["Deal_Name"]
    assert snapshot["fields"]["customfield_10105"] == deal["Account_Name"]["name"]
    assert snapshot["fields"]["associated.Stage_History"] == stage_history(e2e, deal_id)  # rows, not text
    assert now["fields"]["summary"] == issue["fields"]["summary"]  # the issue's own fields stay
    assert now["fields"]["status"] == issue["fields"]["status"]
    assert_ideal(linked)

    edit_record(e2e, ZOHO, deal_id, Amount=4242.0)
    refreshed = e2e.run("deals_display")
    snapshot = e2e.sandbox.record("jira", "issues", issue["id"])["properties"]["jirasync.snapshot"]
    assert snapshot["fields"]["customfield_10101"] == 4242.0
    assert snapshot["fields"]["summary"] == deal["Deal_Name"]  # the whole snapshot, not only the change
    assert refreshed["updated"] == 1 and e2e.calls("jira", "/properties/") == 1
    assert_ideal(refreshed)
    assert e2e.run("deals_display")["updated"] == 0 and writes(e2e) == 0


def test_the_trigger_form_links_an_issue_to_a_record_and_refreshes_one_pair(e2e: EndToEnd, crm: Crm) -> None:
    record_id, record = next(
        (i, r) for i, r in sorted(records(e2e, crm).items()) if r[crm.stage] == crm.closed
    )
    issue = next(
        i
        for i in e2e.sandbox.records("jira", "issues")
        if i["key"].startswith("SUP-") and "properties" not in i
    )
    linked = e2e.run(crm.sync, only=f"{issue['key']}:{record_id}")
    now = e2e.sandbox.record("jira", "issues", issue["id"])
    assert (linked["linked"], linked["created"], linked["read_source"]) == (1, 0, 1)
    assert now["fields"][LINK_FIELD] == record_id  # the link shows on the issue, and can be cleared there
    assert now["fields"]["summary"] == record[crm.name]
    assert len(remote_links(e2e, now)) == 1 and records(e2e, crm)[record_id][crm.key_field] == issue["key"]
    assert_ideal(linked)

    everything = e2e.run(crm.sync)  # the first full run keeps the link and creates the others' issues
    assert everything["unlinked"] == 0 and everything["created"] == len(eligible(e2e, crm))

    value = new_value(e2e, crm, record_id)
    edit_record(e2e, crm, record_id, **{crm.owned: value})
    refreshed = e2e.run(crm.sync, only=issue["key"])
    assert (refreshed["read_source"], refreshed["updated"]) == (1, 1)
    assert e2e.sandbox.record("jira", "issues", issue["id"])["fields"][crm.owned_target] == value
    assert_ideal(refreshed)


def test_a_new_contact_on_the_record_refreshes_the_associated_records_on_its_issue(
    e2e: EndToEnd, crm: Crm
) -> None:
    e2e.run(crm.sync)
    record_id = sorted(synced_issues(e2e, crm))[0]
    record = records(e2e, crm)[record_id]
    if crm.vendor == "zoho":
        other = next(
            c for c in e2e.sandbox.records("zoho", "Contacts") if c["id"] != record["Contact_Name"]["id"]
        )
        edit_record(e2e, crm, record_id, Contact_Name={"name": other["Full_Name"], "id": other["id"]})
    else:
        other = next(
            c for c in e2e.sandbox.records("salesforce", "Contact") if c["Id"] != record["ContactId"]
        )
        edit_record(e2e, crm, record_id, ContactId=other["Id"])
    run = e2e.run(crm.sync)
    issue = synced_issues(e2e, crm)[record_id]
    assert issue["properties"]["jirasync.associated"] == associated(e2e, crm, records(e2e, crm)[record_id])
    assert run["updated"] == 1 and e2e.calls("jira", "PUT /rest/api/3/issue/{issueIdOrKey}/properties") == 1
    changed = {row["field"] for row in e2e.ledger(crm.sync) if row["outcome"] == "ok"}
    # Salesforce also maps the contact's email to an issue field, which follows as any CRM-owned field.
    assert {f for f in changed if not f.startswith("associated.")} <= {"customfield_10106"}
    assert_ideal(run)


def test_a_stage_change_adds_a_row_to_the_stage_history_on_the_deals_issue(e2e: EndToEnd) -> None:
    e2e.run(ZOHO.sync)
    deal_id = next(i for i, d in sorted(eligible(e2e, ZOHO).items()) if d["Stage"] == "Proposal")
    before = synced_issues(e2e, ZOHO)[deal_id]["properties"]["jirasync.associated"]
    edit_record(e2e, ZOHO, deal_id, Stage="Negotiation")  # still in the rule: the status stays
    no_issue = next(i for i, d in sorted(records(e2e, ZOHO).items()) if d["Stage"] == ZOHO.closed)
    edit_record(e2e, ZOHO, no_issue, Stage="Closed Lost")  # read, but it has no issue to show it on

    run = e2e.run(ZOHO.sync)
    shown = synced_issues(e2e, ZOHO)[deal_id]["properties"]["jirasync.associated"]
    assert [row["Stage"] for row in shown["Stage_History"]] == ["Negotiation", "Proposal"]
    assert shown["Stage_History"][1:] == before["Stage_History"]
    assert shown == {**before, "Stage_History": stage_history(e2e, deal_id)}
    assert run["updated"] == 1
    # The run reads the deals changed since the last one, here also those whose new issue's key it
    # wrote; only the deal whose fields moved (and that has an issue) has its two lists read again,
    # one call a list: the others' fields are as the last run synced them.
    listed = [
        r["path"].split("/")[-2] for r in e2e.sandbox.request_log() if "/Deals/{deal_id}/" in r["route"]
    ]
    assert sorted(listed) == [deal_id, deal_id]
    changed = {row["field"] for row in e2e.ledger(ZOHO.sync) if row["outcome"] == "ok"}
    assert changed == {"customfield_10102", "associated.Stage_History"}  # the link and the rest stay
    assert e2e.calls("jira", "PUT /rest/api/3/issue/{issueIdOrKey}/properties") == 1
    assert_ideal(run)


def changed_on(e2e: EndToEnd, crm: Crm, record_id: str, day: dt.datetime, **changes: Any) -> None:
    """A CRM user edits a record on ``day``, at noon (during an outage of the syncs, say)."""
    noon = day + dt.timedelta(hours=12)
    if crm.vendor == "zoho":
        e2e.sandbox.edit("zoho", crm.collection, record_id, **changes, Modified_Time=noon.isoformat())
    else:
        stamp = noon.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        e2e.sandbox.edit(crm.vendor, crm.collection, record_id, **changes, SystemModstamp=stamp)


def test_a_backfill_over_three_days_resyncs_each_days_changes_in_its_own_run(e2e: EndToEnd, crm: Crm) -> None:
    daily = replace(crm, sync=f"{crm.sync}_daily")  # one run a day: a backfill over days makes few runs
    e2e.add_variant(f"{crm.sync}.yaml", daily.sync, {'schedule: "*/5 * * * *"': 'schedule: "@daily"'})
    try:
        e2e.run(daily.sync)
        today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        days = [today - dt.timedelta(days=n) for n in (5, 4, 3)]
        chosen = sorted(synced_issues(e2e, daily))[:6]
        by_day = {day: set(chosen[2 * n : 2 * n + 2]) for n, day in enumerate(days)}
        for day, record_ids in by_day.items():
            for record_id in record_ids:
                changed_on(e2e, crm, record_id, day, **{crm.name: f"Changed on {day:%d %b}"})

        runs = e2e.backfill(daily.sync, days[0], days[-1])

        assert [(run.interval_start, run.interval_end) for run in runs] == [
            (day, day + dt.timedelta(days=1)) for day in days
        ]
        for run, day in zip(runs, days, strict=True):
            # Each run reads the records modified in its window, and writes their issues only.
            assert run.summary["read_source"] == 2
            assert {row["source_id"] for row in run.ledger if row["kind"] == "update"} == by_day[day]
            assert run.summary["created"] == run.summary["unlinked"] == 0
        issues = synced_issues(e2e, daily)
        for day, record_ids in by_day.items():
            assert {issues[r]["fields"]["summary"] for r in record_ids} == {f"Changed on {day:%d %b}"}
        again = e2e.backfill(daily.sync, days[0], days[-1], reprocess="completed")
        assert [run.summary["updated"] + run.summary["created"] for run in again] == [0, 0, 0]
    finally:
        (e2e.stack.syncs_dir / f"{daily.sync}.yaml").unlink()
