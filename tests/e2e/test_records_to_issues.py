"""Zoho CRM Deals ↔ Jira issues (a connected item), through real Airflow DAG runs on the sandbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from tests.e2e.harness import EndToEnd, end_to_end

PEOPLE = 700  # about 38 deals
SYNC = "zoho_deals_to_jira"
DEFINITIONS = [f"{SYNC}.yaml"]
ELIGIBLE = ("Proposal", "Negotiation")
LINK_FIELD = "customfield_10103"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EndToEnd]:
    with end_to_end(
        tmp_path_factory.mktemp("records"), users=PEOPLE, seed=11, definitions=DEFINITIONS
    ) as e2e:
        yield e2e


@pytest.fixture
def e2e(world: EndToEnd) -> Iterator[EndToEnd]:
    """The module's world as seeded, with no sync state and the shipped definition."""
    world.reset()
    text = (world.stack.syncs_dir / DEFINITIONS[0]).read_text()
    yield world
    (world.stack.syncs_dir / DEFINITIONS[0]).write_text(text)


def deals(e2e: EndToEnd) -> dict[str, dict[str, Any]]:
    return {d["id"]: d for d in e2e.sandbox.records("zoho", "Deals")}


def synced_issues(e2e: EndToEnd) -> dict[str, dict[str, Any]]:
    """Deal id → the issue auto-create made for it."""
    found = {}
    for issue in e2e.sandbox.records("jira", "issues"):
        mark = (issue.get("properties") or {}).get("jirasync.record") or {}
        if mark.get("sync") == SYNC:
            found[mark["record"]] = issue
    return found


def remote_links(e2e: EndToEnd, issue: dict[str, Any]) -> list[dict[str, Any]]:
    return [link for link in e2e.sandbox.records("jira", "remote_links") if link["issueId"] == issue["id"]]


def status_name(issue: dict[str, Any]) -> str:
    return {"10000": "To Do", "10001": "In Progress", "10002": "Done"}[issue["fields"]["status"]]


def writes(e2e: EndToEnd) -> int:
    """Write calls either side answered in the last run."""
    jira = sum(e2e.calls("jira", m) for m in ("POST /rest/api/3/issue", "PUT /rest/api/3/issue", "DELETE"))
    return jira + e2e.calls("zoho", "PUT /crm")


def zoho_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def edit_deal(e2e: EndToEnd, deal_id: str, **changes: Any) -> None:
    """A CRM user edits a deal: Zoho stamps Modified_Time."""
    e2e.sandbox.edit("zoho", "Deals", deal_id, **changes, Modified_Time=zoho_now())


def assert_ideal(summary: dict[str, Any]) -> None:
    assert summary["api_calls"] == summary["ideal_api_calls"], summary["calls_by_endpoint"]


def test_eligible_deals_get_an_issue_linked_with_a_remote_link_and_the_key_in_the_crm(e2e: EndToEnd) -> None:
    eligible = {i: d for i, d in deals(e2e).items() if d["Stage"] in ELIGIBLE}
    assert 3 <= len(eligible) < len(deals(e2e))
    first = e2e.run(SYNC)
    issues = synced_issues(e2e)
    assert set(issues) == set(eligible)
    assert first["created"] == len(eligible) and first["failed"] == 0
    assert e2e.calls("jira", "POST /rest/api/3/issue/bulk") == 1  # all in one bulk create
    now = deals(e2e)
    for deal_id, issue in issues.items():
        assert issue["fields"]["summary"] == eligible[deal_id]["Deal_Name"]
        assert issue["fields"]["customfield_10101"] == eligible[deal_id]["Amount"]
        assert status_name(issue) == "In Progress"
        (link,) = remote_links(e2e, issue)
        assert link["globalId"] == f"jirasync:{SYNC}:{deal_id}"
        assert link["object"]["url"].endswith(f"/Potentials/{deal_id}")
        assert now[deal_id]["Jira_Issue_Key"] == issue["key"]
    assert_ideal(first)

    second = e2e.run(SYNC)
    assert second["created"] == second["updated"] == second["linked"] == 0
    assert writes(e2e) == 0
    assert_ideal(second)
    assert all(len(remote_links(e2e, issue)) == 1 for issue in synced_issues(e2e).values())


def test_fields_sync_both_ways_without_echo_over_three_runs(e2e: EndToEnd) -> None:
    e2e.run(SYNC)
    issues = synced_issues(e2e)
    crm_side, jira_side = sorted(issues)[:2]
    edit_deal(e2e, crm_side, Amount=123456.0)
    e2e.sandbox.mutate(
        "jira", "edit_issue", issue=issues[jira_side]["key"], fields={"summary": "Renamed in Jira"}
    )

    second = e2e.run(SYNC)
    assert synced_issues(e2e)[crm_side]["fields"]["customfield_10101"] == 123456.0
    assert deals(e2e)[jira_side]["Deal_Name"] == "Renamed in Jira"
    assert second["updated"] == 2 and second["created"] == 0
    assert_ideal(second)

    third = e2e.run(SYNC)
    assert third["updated"] == third["created"] == third["linked"] == 0
    assert writes(e2e) == 0
    assert_ideal(third)


def test_the_conditional_rule_moves_issues_and_reports_a_missing_transition(e2e: EndToEnd) -> None:
    e2e.run(SYNC)
    issues = synced_issues(e2e)
    leaving, stuck = sorted(issues)[:2]
    edit_deal(e2e, leaving, Stage="Closed Won")
    e2e.sandbox.mutate("jira", "transition", issue=issues[stuck]["key"], to="Done")

    run = e2e.run(SYNC)
    assert status_name(synced_issues(e2e)[leaving]) == "To Do"
    assert status_name(synced_issues(e2e)[stuck]) == "Done"
    assert run["updated"] == 1 and run["skipped"] == 1 and run["failed"] == 0
    (reported,) = run["skipped_records"]
    assert f"no transition from Done to In Progress for issue {issues[stuck]['key']}" in reported
    assert_ideal(run)

    # Tried again on the next run, reported again; once Jira can move it, it moves.
    e2e.sandbox.mutate("jira", "edit_issue", issue=issues[stuck]["key"], fields={"labels": ["touched"]})
    again = e2e.run(SYNC)
    assert again["skipped"] == 1 and "no transition from Done" in again["skipped_records"][0]


def test_a_deal_linked_by_hand_is_synced_and_unlinked_when_the_field_is_cleared(e2e: EndToEnd) -> None:
    e2e.run(SYNC)
    deal_id, deal = next((i, d) for i, d in sorted(deals(e2e).items()) if d["Stage"] not in ELIGIBLE)
    issue = next(
        i
        for i in e2e.sandbox.records("jira", "issues")
        if i["key"].startswith("SUP-") and "properties" not in i
    )
    url = f"https://crm.zoho.com/crm/tab/Potentials/{deal_id}"
    e2e.sandbox.mutate("jira", "edit_issue", issue=issue["key"], fields={LINK_FIELD: url})

    linked = e2e.run(SYNC)
    now = e2e.sandbox.record("jira", "issues", issue["id"])
    assert linked["linked"] == 1 and linked["created"] == 0
    assert now["fields"]["summary"] == deal["Deal_Name"]  # the CRM wins the first comparison
    assert status_name(now) == "To Do"  # the rule: the deal is not in an eligible stage
    (link,) = remote_links(e2e, now)
    assert link["globalId"] == f"jirasync:{SYNC}:{deal_id}"
    assert deals(e2e)[deal_id]["Jira_Issue_Key"] == issue["key"]
    assert_ideal(linked)

    e2e.sandbox.mutate("jira", "edit_issue", issue=issue["key"], fields={LINK_FIELD: None})
    unlinked = e2e.run(SYNC)
    assert unlinked["unlinked"] == 1
    assert remote_links(e2e, e2e.sandbox.record("jira", "issues", issue["id"])) == []
    assert not deals(e2e)[deal_id]["Jira_Issue_Key"]
    assert_ideal(unlinked)
    assert e2e.run(SYNC)["linked"] == 0


def test_a_long_deal_name_is_cut_to_jiras_summary_limit_and_reported(e2e: EndToEnd) -> None:
    deal_id = next(i for i, d in sorted(deals(e2e).items()) if d["Stage"] in ELIGIBLE)
    edit_deal(e2e, deal_id, Deal_Name="Renewal " + "x" * 300)
    run = e2e.run(SYNC)
    summary = synced_issues(e2e)[deal_id]["fields"]["summary"]
    assert len(summary) == 255 and summary.endswith("…")
    assert any(deal_id in note and "summary" in note for note in run["adjusted_values"])
    assert e2e.run(SYNC)["updated"] == 0  # the cut value is what the plan compares


def test_a_required_jira_field_no_mapping_fills_stops_the_run_naming_it(e2e: EndToEnd) -> None:
    e2e.sandbox.mutate("jira", "require_field", field="customfield_10106")
    failed = e2e.run_failing(SYNC)
    assert "CRM contact (customfield_10106)" in " ".join(failed.failures())
    assert synced_issues(e2e) == {}
