"""CRM notes (Zoho deals) and case comments (Salesforce) ↔ comments on the linked Jira issue, through
real Airflow DAG runs on the sandbox: both ways, exactly once, without echo (issue 15)."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from tests.e2e.harness import EndToEnd, end_to_end
from tests.e2e.test_records_to_issues import SALESFORCE, ZOHO, Crm, assert_ideal, synced_issues, writes
from tests.faults.matrix import forked_run, settle, wait_for_a_struck_fault

from jirasync.syncs.comments_format import adf_to_text

PEOPLE = 200  # about ten deals and ten cases: a few linked pairs are all these tests need
DEFINITIONS = [f"{ZOHO.sync}.yaml", f"{SALESFORCE.sync}.yaml"]

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Notes:
    """Where a CRM keeps the notes of a record, and how its Jira comments are chosen to go out."""

    crm: Crm
    system: str  # as a Jira mirror names it
    marker: str  # what a Jira comment starts with to go to the CRM ("" when every comment goes)
    note_write: tuple[str, str]  # the route and method that create a note, for the lost-answer fault


ZOHO_NOTES = Notes(ZOHO, "Zoho CRM", "", ("/crm/v8/Notes", "POST"))
SALESFORCE_NOTES = Notes(SALESFORCE, "Salesforce", "#crm ", ("/services/data/", "POST"))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EndToEnd]:
    with end_to_end(
        tmp_path_factory.mktemp("comments"), users=PEOPLE, seed=5, definitions=DEFINITIONS
    ) as e2e:
        yield e2e


@pytest.fixture
def e2e(world: EndToEnd) -> Iterator[EndToEnd]:
    with world.fresh() as fresh:
        yield fresh


@pytest.fixture(params=[ZOHO_NOTES, SALESFORCE_NOTES], ids=["zoho", "salesforce"])
def notes(request: pytest.FixtureRequest) -> Notes:
    return request.param


def crm_notes(e2e: EndToEnd, notes: Notes, record_id: str) -> list[dict[str, Any]]:
    """The record's notes as ``{"id", "text"}``."""
    if notes.crm.vendor == "zoho":
        return [
            {"id": n["id"], "text": n["Note_Content"]}
            for n in e2e.sandbox.records("zoho", "Notes")
            if n["Parent_Id"]["id"] == record_id
        ]
    return [
        {"id": c["Id"], "text": c["CommentBody"]}
        for c in e2e.sandbox.records("salesforce", "CaseComment")
        if c["ParentId"] == record_id and not c["IsDeleted"]
    ]


def add_crm_note(e2e: EndToEnd, notes: Notes, record_id: str, text: str) -> str:
    if notes.crm.vendor == "zoho":
        note = e2e.sandbox.mutate("zoho", "add_note", module="Deals", record_id=record_id, content=text)
        return str(note["id"])
    return str(e2e.sandbox.mutate("salesforce", "add_case_comment", case=record_id, body=text)["Id"])


def edit_crm_note(e2e: EndToEnd, notes: Notes, note_id: str, text: str) -> None:
    if notes.crm.vendor == "zoho":
        e2e.sandbox.edit("zoho", "Notes", note_id, Note_Content=text, Modified_Time=_zoho_now())
    else:
        e2e.sandbox.mutate(
            "salesforce", "edit_record", sobject="CaseComment", id=note_id, fields={"CommentBody": text}
        )


def _zoho_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def jira_comments(e2e: EndToEnd, issue: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in e2e.sandbox.records("jira", "comments") if c["issueId"] == issue["id"]]


def comment(e2e: EndToEnd, issue: dict[str, Any], text: str, *, internal: bool = False) -> str:
    return str(e2e.sandbox.mutate("jira", "comment", issue=issue["key"], text=text, internal=internal)["id"])


def linked_pair(e2e: EndToEnd, notes: Notes) -> tuple[str, dict[str, Any]]:
    record_id, issue = sorted(synced_issues(e2e, notes.crm).items())[0]
    return record_id, issue


def test_notes_and_comments_mirror_both_ways_once_without_echo_and_follow_edits(
    e2e: EndToEnd, notes: Notes
) -> None:
    first = e2e.run(notes.crm.sync)
    assert_ideal(first)
    record_id, issue = linked_pair(e2e, notes)
    before_notes = len(crm_notes(e2e, notes, record_id))
    before_comments = len(jira_comments(e2e, issue))

    note_id = add_crm_note(
        e2e, notes, record_id, "Customer called:\n- printer down\n- see https://status.example.com"
    )
    public_id = comment(e2e, issue, f"{notes.marker}Please restart the `agent` service 🙏")
    comment(e2e, issue, f"{notes.marker}Internal: the customer is on the old plan", internal=True)
    if notes.marker:  # selective push: a comment nobody marked stays in Jira
        comment(e2e, issue, "Working on it, not for the customer yet")

    dry = e2e.attempt(notes.crm.sync, dry_run=True)
    assert dry.succeeded
    log = dry.log_path.read_text()
    pair = f"record {record_id} (issue {issue['key']})"
    assert f"{pair}: would post the mirror of note {note_id} → Jira: 'Customer called: - printer down" in log
    assert (
        f"{pair}: would post the mirror of Jira comment {public_id} → {notes.system}: 'Please restart" in log
    )
    assert len(jira_comments(e2e, issue)) == before_comments + 2 + bool(notes.marker)  # nothing written

    second = e2e.run(notes.crm.sync)
    assert_ideal(second)
    assert second["comments"]["posted"] == 2 and second["comments"]["failed"] == 0
    mirrors = [c for c in jira_comments(e2e, issue) if "jirasync.origin" in (c.get("properties") or {})]
    (mirror,) = [m for m in mirrors if m["properties"]["jirasync.origin"]["id"] == note_id]
    assert mirror["jsdPublic"] is False  # a CRM note never reaches a JSM customer
    text = adf_to_text(mirror["body"])
    assert re.fullmatch(rf".+ in {notes.system}, \d{{4}}-\d\d-\d\d \d\d:\d\d UTC", text.split("\n")[0])
    assert text.endswith("Customer called:\n\n- printer down\n- see https://status.example.com")
    assert [block["type"] for block in mirror["body"]["content"]] == ["paragraph", "paragraph", "bulletList"]
    crm_mirrors = [n for n in crm_notes(e2e, notes, record_id) if "[jirasync:jira:" in n["text"]]
    (crm_mirror,) = [n for n in crm_mirrors if n["text"].endswith(f"[jirasync:jira:{public_id}]")]
    assert re.fullmatch(r".+ in Jira, \d{4}-\d\d-\d\d \d\d:\d\d UTC", crm_mirror["text"].split("\n")[0])
    assert "Please restart the `agent` service 🙏" in crm_mirror["text"]
    assert "#crm" not in crm_mirror["text"] and "old plan" not in str(crm_notes(e2e, notes, record_id))
    assert len(crm_notes(e2e, notes, record_id)) == before_notes + 2  # the note and one mirror

    third = e2e.run(notes.crm.sync)
    assert_ideal(third)
    assert third["comments"] == {**third["comments"], "posted": 0, "updated": 0, "deleted": 0}
    route, method = notes.note_write
    assert writes(e2e) == 0 and e2e.calls(notes.crm.vendor, f"{method} {route}") == 0
    assert len(crm_notes(e2e, notes, record_id)) == before_notes + 2
    assert len(jira_comments(e2e, issue)) == before_comments + 3 + bool(notes.marker)

    edit_crm_note(e2e, notes, note_id, "Customer called back: fixed.")
    e2e.sandbox.mutate("jira", "change_comment", id=public_id, text=f"{notes.marker}Restart done.")
    fourth = e2e.run(notes.crm.sync)
    assert_ideal(fourth)
    assert fourth["comments"]["updated"] == 2 and fourth["comments"]["posted"] == 0
    edited = e2e.sandbox.record("jira", "comments", mirror["id"])
    assert adf_to_text(edited["body"]).endswith("Customer called back: fixed.")
    (crm_mirror,) = [n for n in crm_notes(e2e, notes, record_id) if n["id"] == crm_mirror["id"]]
    assert "Restart done." in crm_mirror["text"] and crm_mirror["text"].endswith(
        f"[jirasync:jira:{public_id}]"
    )


def test_a_write_whose_answer_was_lost_is_found_by_its_marker_not_posted_again(
    e2e: EndToEnd, notes: Notes
) -> None:
    e2e.run(notes.crm.sync)
    record_id, issue = linked_pair(e2e, notes)
    note_id = add_crm_note(e2e, notes, record_id, "Lost answer, kept note")
    public_id = comment(e2e, issue, f"{notes.marker}Lost answer, kept comment")
    # Each side applies the mirror's write, then the connection drops: the run never learns the ids.
    e2e.sandbox.add_fault(
        "jira", "drop_after_apply", route=f"/rest/api/3/issue/{issue['key']}/comment", method="POST", count=1
    )
    route, method = notes.note_write
    e2e.sandbox.add_fault(notes.crm.vendor, "drop_after_apply", route=route, method=method, count=1)
    failed = e2e.attempt(notes.crm.sync)
    assert not failed.succeeded
    e2e.sandbox.clear_faults()

    rerun = e2e.run(notes.crm.sync)
    assert rerun["comments"]["relinked"] == 2 and rerun["comments"]["posted"] == 0
    assert_ideal(rerun)
    origins = [
        c["properties"]["jirasync.origin"]["id"]
        for c in jira_comments(e2e, issue)
        if "jirasync.origin" in (c.get("properties") or {})
    ]
    assert origins.count(note_id) == 1
    marked = [
        n for n in crm_notes(e2e, notes, record_id) if n["text"].endswith(f"[jirasync:jira:{public_id}]")
    ]
    assert len(marked) == 1
    again = e2e.run(notes.crm.sync)
    assert again["comments"]["posted"] == again["comments"]["updated"] == 0


def test_a_process_killed_after_the_mirrors_write_leaves_one_mirror_after_the_rerun(e2e: EndToEnd) -> None:
    """SIGKILL a real process running the DAG while Jira holds its comment's write (1 s); the
    sandbox applies the write anyway, as Jira would, and the store never hears of it."""
    notes = ZOHO_NOTES
    e2e.run(notes.crm.sync)
    record_id, issue = linked_pair(e2e, notes)
    note_id = add_crm_note(e2e, notes, record_id, "Written while the run died")
    route = f"/rest/api/3/issue/{issue['key']}/comment"
    e2e.sandbox.add_fault("jira", "latency", route=route, method="POST", latency_ms=1000, count=1)
    with forked_run(e2e, notes.crm.sync) as child:
        wait_for_a_struck_fault(e2e, child)
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    settle(e2e)
    e2e.sandbox.clear_faults()

    rerun = e2e.run(notes.crm.sync)
    assert rerun["comments"]["relinked"] == 1 and rerun["comments"]["posted"] == 0
    origins = [
        c["properties"]["jirasync.origin"]["id"]
        for c in jira_comments(e2e, issue)
        if "jirasync.origin" in (c.get("properties") or {})
    ]
    assert origins.count(note_id) == 1
    assert_ideal(rerun)


def delete_crm_note(e2e: EndToEnd, notes: Notes, note_id: str) -> None:
    if notes.crm.vendor == "zoho":
        e2e.sandbox.delete("zoho", "Notes", note_id)
    else:
        e2e.sandbox.mutate("salesforce", "delete_record", sobject="CaseComment", id=note_id)


def test_with_on_delete_delete_a_deleted_origin_takes_its_mirror_with_it(e2e: EndToEnd, notes: Notes) -> None:
    definition = e2e.stack.syncs_dir / f"{notes.crm.sync}.yaml"
    definition.write_text(definition.read_text().replace("on_delete: keep", "on_delete: delete"))
    e2e.run(notes.crm.sync)
    record_id, issue = linked_pair(e2e, notes)
    note_id = add_crm_note(e2e, notes, record_id, "Will be deleted in the CRM")
    comment_id = comment(e2e, issue, f"{notes.marker}Will be deleted in Jira")
    e2e.run(notes.crm.sync)
    (jira_mirror,) = [
        c
        for c in jira_comments(e2e, issue)
        if (c.get("properties") or {}).get("jirasync.origin", {}).get("id") == note_id
    ]
    (crm_mirror,) = [
        n for n in crm_notes(e2e, notes, record_id) if n["text"].endswith(f"[jirasync:jira:{comment_id}]")
    ]

    delete_crm_note(e2e, notes, note_id)
    third = e2e.run(notes.crm.sync)
    # Salesforce tells of deleted comments (queryAll); Zoho keeps no deleted notes, so a Zoho note
    # deleted alone is followed when its issue or record is read again, or at a full sync.
    if notes.crm.vendor == "salesforce":
        assert third["comments"]["deleted"] == 1
        assert jira_mirror["id"] not in {c["id"] for c in jira_comments(e2e, issue)}
    e2e.sandbox.mutate("jira", "change_comment", id=comment_id, delete=True)
    fourth = e2e.run(notes.crm.sync)
    assert third["comments"]["deleted"] + fourth["comments"]["deleted"] == 2
    assert_ideal(fourth)
    assert jira_mirror["id"] not in {c["id"] for c in jira_comments(e2e, issue)}
    assert crm_mirror["id"] not in {n["id"] for n in crm_notes(e2e, notes, record_id)}


def test_deleting_too_many_mirrors_waits_for_the_override(e2e: EndToEnd) -> None:
    notes = SALESFORCE_NOTES  # Salesforce tells of deleted comments at once (queryAll)
    definition = e2e.stack.syncs_dir / f"{notes.crm.sync}.yaml"
    definition.write_text(definition.read_text().replace("on_delete: keep", "on_delete: delete"))
    first = e2e.run(notes.crm.sync)
    mirrored = {
        c["properties"]["jirasync.origin"]["id"]: c["id"]
        for c in e2e.sandbox.records("jira", "comments")
        if "jirasync.origin" in (c.get("properties") or {})
    }
    assert len(mirrored) == first["comments"]["posted"] >= 20  # the breaker's min_target_size
    gone = sorted(mirrored)[: len(mirrored) // 3]  # past the default max_delete_share of 10%
    for origin in gone:
        delete_crm_note(e2e, notes, origin)

    held = e2e.attempt(notes.crm.sync)
    assert not held.succeeded
    assert any("more than max_delete_share 10%" in line for line in held.failures()), held.failures()
    present = {c["id"] for c in e2e.sandbox.records("jira", "comments")}
    assert all(mirrored[origin] in present for origin in gone)

    overridden = e2e.run(notes.crm.sync, override_circuit_breaker=True)
    assert overridden["comments"]["deleted"] == len(gone)
    present = {c["id"] for c in e2e.sandbox.records("jira", "comments")}
    assert not any(mirrored[origin] in present for origin in gone)


def test_one_way_directions_mirror_only_their_side(e2e: EndToEnd) -> None:
    definition = e2e.stack.syncs_dir / f"{ZOHO.sync}.yaml"
    definition.write_text(definition.read_text().replace("direction: both", "direction: to_jira"))
    e2e.run(ZOHO.sync)
    record_id, issue = linked_pair(e2e, ZOHO_NOTES)
    note_id = add_crm_note(e2e, ZOHO_NOTES, record_id, "Goes to Jira")
    comment(e2e, issue, "Stays in Jira")
    to_jira = e2e.run(ZOHO.sync)
    assert to_jira["comments"]["posted"] == 1
    origins = [
        (c.get("properties") or {}).get("jirasync.origin", {}).get("id") for c in jira_comments(e2e, issue)
    ]
    assert note_id in origins
    assert not any("Stays in Jira" in n["text"] for n in crm_notes(e2e, ZOHO_NOTES, record_id))

    definition.write_text(definition.read_text().replace("direction: to_jira", "direction: to_crm"))
    add_crm_note(e2e, ZOHO_NOTES, record_id, "Stays in the CRM")
    to_crm = e2e.run(ZOHO.sync)
    assert to_crm["comments"]["posted"] == 1
    assert any("Stays in Jira" in n["text"] for n in crm_notes(e2e, ZOHO_NOTES, record_id))
    assert not any("Stays in the CRM" in adf_to_text(c["body"]) for c in jira_comments(e2e, issue))
    assert_ideal(to_crm)
