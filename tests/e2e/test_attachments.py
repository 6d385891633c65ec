"""Files of Zoho deals and Salesforce cases ↔ attachments of the linked Jira issue, through real Airflow
DAG runs on the sandbox: both ways, each once, name, type and bytes kept, big files skipped (issue 15)."""

from __future__ import annotations

import base64
import hashlib
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from tests.e2e.harness import EndToEnd, end_to_end
from tests.e2e.test_records_to_issues import SALESFORCE, ZOHO, Crm, assert_ideal, synced_issues
from tests.faults.matrix import forked_run, settle, wait_for_a_struck_fault

PEOPLE = 200  # about ten deals and ten cases: a few linked pairs are all these tests need
DEFINITIONS = [f"{ZOHO.sync}.yaml", f"{SALESFORCE.sync}.yaml"]
SHIPPED = "attachments: {direction: both, max_bytes: 10485760, on_delete: keep}"

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Files:
    """Where a CRM keeps the files of a record."""

    crm: Crm
    system: str  # as a dry run's line names it
    upload: str  # the route prefix that uploads a file, for the lost-answer fault


ZOHO_FILES = Files(ZOHO, "Zoho CRM", "/crm/v8/Deals/")
SALESFORCE_FILES = Files(SALESFORCE, "Salesforce", "/services/data/v59.0/sobjects/ContentVersion")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EndToEnd]:
    with end_to_end(
        tmp_path_factory.mktemp("attachments"), users=PEOPLE, seed=7, definitions=DEFINITIONS
    ) as e2e:
        yield e2e


@pytest.fixture
def e2e(world: EndToEnd) -> Iterator[EndToEnd]:
    with world.fresh() as fresh:
        yield fresh


@pytest.fixture(params=[ZOHO_FILES, SALESFORCE_FILES], ids=["zoho", "salesforce"])
def files(request: pytest.FixtureRequest) -> Files:
    return request.param


def content(size: int, seed: str) -> bytes:
    """``size`` bytes that differ from one seed to another."""
    block = hashlib.sha256(seed.encode()).digest()
    return (block * (size // len(block) + 1))[:size]


def crm_files(e2e: EndToEnd, files: Files, record_id: str) -> list[dict[str, Any]]:
    """The record's files as ``{"name", "bytes", "type"}`` (Zoho and Salesforce Files keep no type: None)."""
    if files.crm.vendor == "zoho":
        return [
            {"name": a["File_Name"], "bytes": base64.b64decode(a["_content"]), "type": None}
            for a in e2e.sandbox.records("zoho", "Attachments")
            if a["Parent_Id"]["id"] == record_id
        ]
    return [
        {"name": a["Name"], "bytes": base64.b64decode(a["Body"]), "type": a["ContentType"]}
        for a in e2e.sandbox.records("salesforce", "Attachment")
        if a["ParentId"] == record_id and not a["IsDeleted"]
    ] + salesforce_files(e2e, record_id)


def salesforce_files(e2e: EndToEnd, case_id: str) -> list[dict[str, Any]]:
    """The Salesforce Files on a case (the latest version of each document linked to it), named as
    uploaded."""
    documents = {
        link["ContentDocumentId"]
        for link in e2e.sandbox.records("salesforce", "ContentDocumentLink")
        if link["LinkedEntityId"] == case_id and not link["IsDeleted"]
    }
    return [
        {"name": v["PathOnClient"], "bytes": base64.b64decode(v["VersionData"]), "type": None}
        for v in e2e.sandbox.records("salesforce", "ContentVersion")
        if v["ContentDocumentId"] in documents and v["IsLatest"] and not v["IsDeleted"]
    ]


def attach_in_crm(e2e: EndToEnd, files: Files, record_id: str, name: str, data: bytes, kind: str) -> str:
    """The new file's id."""
    encoded = base64.b64encode(data).decode()
    if files.crm.vendor == "zoho":
        return str(
            e2e.sandbox.mutate(
                "zoho", "add_attachment", module="Deals", record_id=record_id, file_name=name, content=encoded
            )["id"]
        )
    return str(
        e2e.sandbox.mutate(
            "salesforce", "add_attachment", parent=record_id, name=name, content=encoded, content_type=kind
        )["Id"]
    )


def delete_in_crm(e2e: EndToEnd, files: Files, file_id: str) -> None:
    if files.crm.vendor == "zoho":
        e2e.sandbox.delete("zoho", "Attachments", file_id)
    else:
        e2e.sandbox.mutate("salesforce", "delete_record", sobject="Attachment", id=file_id)


def jira_files(e2e: EndToEnd, issue: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"name": a["filename"], "bytes": base64.b64decode(a["content"]), "type": a["mimeType"]}
        for a in e2e.sandbox.records("jira", "attachments")
        if a["issueId"] == issue["id"]
    ]


def attach_in_jira(e2e: EndToEnd, issue: dict[str, Any], name: str, data: bytes, kind: str) -> str:
    """The new attachment's id."""
    encoded = base64.b64encode(data).decode()
    return str(
        e2e.sandbox.mutate(
            "jira", "attach", issue=issue["key"], filename=name, content=encoded, mimeType=kind
        )["id"]
    )


def deleting_copies(e2e: EndToEnd, crm: Crm) -> None:
    """The sync's definition with ``on_delete: delete`` for attachments."""
    definition = e2e.stack.syncs_dir / f"{crm.sync}.yaml"
    deleting = SHIPPED.replace("on_delete: keep", "on_delete: delete")
    definition.write_text(definition.read_text().replace(SHIPPED, deleting))


def linked_pair(e2e: EndToEnd, files: Files) -> tuple[str, dict[str, Any]]:
    record_id, issue = sorted(synced_issues(e2e, files.crm).items())[0]
    return record_id, issue


def named(found: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [f for f in found if f["name"] == name]


def test_files_go_both_ways_once_with_name_type_and_bytes_kept(e2e: EndToEnd, files: Files) -> None:
    assert_ideal(e2e.run(files.crm.sync))
    record_id, issue = linked_pair(e2e, files)
    report, log_lines = content(3000, "report"), b"ligne 1\nligne 2\n"
    attach_in_crm(e2e, files, record_id, "Rapport d'été ✓.pdf", report, "application/pdf")
    attach_in_jira(e2e, issue, "日志 (server).log", log_lines, "text/plain")

    dry = e2e.attempt(files.crm.sync, dry_run=True)
    assert dry.succeeded
    log = dry.log_path.read_text()
    pair = f"record {record_id} (issue {issue['key']})"
    assert f'{pair}: would upload "Rapport d\'été ✓.pdf" (3000 bytes) → Jira' in log
    assert f"{pair}: would upload '日志 (server).log' ({len(log_lines)} bytes) → {files.system}" in log
    assert not named(jira_files(e2e, issue), "Rapport d'été ✓.pdf")  # a dry run uploads nothing

    second = e2e.run(files.crm.sync)
    assert_ideal(second)
    assert second["attachments"]["uploaded"] == 2 and second["attachments"]["failed"] == 0
    [in_jira] = named(jira_files(e2e, issue), "Rapport d'été ✓.pdf")
    assert in_jira == {"name": "Rapport d'été ✓.pdf", "bytes": report, "type": "application/pdf"}
    [in_crm] = named(crm_files(e2e, files, record_id), "日志 (server).log")
    assert in_crm["bytes"] == log_lines and in_crm["type"] in (None, "text/plain")

    third = e2e.run(files.crm.sync)
    assert_ideal(third)
    assert third["attachments"] == {**third["attachments"], "uploaded": 0, "relinked": 0, "failed": 0}
    assert e2e.calls("jira", "/attachments") == 0 and e2e.calls(files.crm.vendor, f"POST {files.upload}") == 0

    # The same file attached twice to the record goes once.
    twice = content(500, "twice")
    attach_in_crm(e2e, files, record_id, "twice.txt", twice, "text/plain")
    attach_in_crm(e2e, files, record_id, "twice.txt", twice, "text/plain")
    fourth = e2e.run(files.crm.sync)
    assert_ideal(fourth)
    assert fourth["attachments"]["uploaded"] == 1 and fourth["attachments"]["deduplicated"] == 1
    assert [f["bytes"] for f in named(jira_files(e2e, issue), "twice.txt")] == [twice]
    assert len(named(crm_files(e2e, files, record_id), "twice.txt")) == 2  # nothing came back


def test_an_upload_whose_answer_was_lost_is_found_by_name_size_and_content(
    e2e: EndToEnd, files: Files
) -> None:
    e2e.run(files.crm.sync)
    record_id, issue = linked_pair(e2e, files)
    attach_in_crm(e2e, files, record_id, "lost-to-jira.bin", content(2048, "a"), "application/octet-stream")
    attach_in_jira(e2e, issue, "lost-to-crm.bin", content(2048, "b"), "application/octet-stream")
    # Each side stores the upload, then the connection drops: the run never learns the new ids.
    e2e.sandbox.add_fault(
        "jira",
        "drop_after_apply",
        route=f"/rest/api/3/issue/{issue['key']}/attachments",
        method="POST",
        count=1,
    )
    e2e.sandbox.add_fault(files.crm.vendor, "drop_after_apply", route=files.upload, method="POST", count=1)
    failed = e2e.attempt(files.crm.sync)
    assert not failed.succeeded
    e2e.sandbox.clear_faults()

    rerun = e2e.run(files.crm.sync)
    assert_ideal(rerun)
    assert rerun["attachments"]["relinked"] == 2 and rerun["attachments"]["uploaded"] == 0
    assert len(named(jira_files(e2e, issue), "lost-to-jira.bin")) == 1
    assert len(named(crm_files(e2e, files, record_id), "lost-to-crm.bin")) == 1
    again = e2e.run(files.crm.sync)
    assert again["attachments"]["uploaded"] == again["attachments"]["relinked"] == 0


def test_a_file_over_max_bytes_is_skipped_and_reported_by_name_and_size(e2e: EndToEnd) -> None:
    definition = e2e.stack.syncs_dir / f"{ZOHO.sync}.yaml"
    definition.write_text(
        definition.read_text().replace(SHIPPED, "attachments: {direction: both, max_bytes: 1000}")
    )
    e2e.run(ZOHO.sync)
    record_id, issue = linked_pair(e2e, ZOHO_FILES)
    attach_in_crm(e2e, ZOHO_FILES, record_id, "big.zip", content(1001, "big"), "application/zip")
    attach_in_jira(e2e, issue, "fits.txt", content(1000, "fits"), "text/plain")

    run = e2e.run(ZOHO.sync)
    assert_ideal(run)
    pair = f"record {record_id} (issue {issue['key']})"
    assert f"{pair}: big.zip (1001 bytes)" in run["attachments"]["too_large"]
    assert run["attachments"]["failed"] == 0 and run["attachments"]["uploaded"] == 1
    assert not named(jira_files(e2e, issue), "big.zip")
    again = e2e.run(ZOHO.sync)  # skipped again, listed again, never a failure
    assert again["attachments"]["failed"] == 0 and again["attachments"]["uploaded"] == 0


@pytest.mark.parametrize(
    ("files", "to_jira"),
    [(ZOHO_FILES, True), (SALESFORCE_FILES, False)],
    ids=["zoho-to-jira", "salesforce-to-crm"],
)
def test_a_process_killed_after_the_upload_reached_the_other_side_leaves_one_copy_after_the_rerun(
    e2e: EndToEnd, files: Files, to_jira: bool
) -> None:
    """SIGKILL a real process running the DAG while the other side holds its upload (1 s); the
    sandbox stores the file anyway, as the vendor would, and the store never hears of it."""
    e2e.run(files.crm.sync)
    record_id, issue = linked_pair(e2e, files)
    data = content(4096, "killed")
    if to_jira:
        attach_in_crm(e2e, files, record_id, "killed.bin", data, "application/octet-stream")
        vendor, route = "jira", f"/rest/api/3/issue/{issue['key']}/attachments"
    else:
        attach_in_jira(e2e, issue, "killed.bin", data, "application/octet-stream")
        vendor, route = files.crm.vendor, files.upload
    e2e.sandbox.add_fault(vendor, "latency", route=route, method="POST", latency_ms=1000, count=1)
    with forked_run(e2e, files.crm.sync) as child:
        wait_for_a_struck_fault(e2e, child)
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    settle(e2e)
    e2e.sandbox.clear_faults()

    def copies() -> list[bytes]:
        held = jira_files(e2e, issue) if to_jira else crm_files(e2e, files, record_id)
        return [f["bytes"] for f in named(held, "killed.bin")]

    assert copies() == [data]  # the upload reached the other side, its link was never saved
    rerun = e2e.run(files.crm.sync)
    assert rerun["attachments"]["relinked"] == 1 and rerun["attachments"]["uploaded"] == 0
    assert copies() == [data]
    assert_ideal(rerun)
    again = e2e.run(files.crm.sync)
    assert again["attachments"]["uploaded"] == again["attachments"]["relinked"] == 0


def test_a_deleted_file_keeps_its_copy_unless_on_delete_says_delete(e2e: EndToEnd, files: Files) -> None:
    e2e.run(files.crm.sync)
    record_id, issue = linked_pair(e2e, files)
    from_crm, from_jira = content(1500, "from crm"), content(700, "from jira")
    crm_origin = attach_in_crm(e2e, files, record_id, "from-crm.txt", from_crm, "text/plain")
    jira_origin = attach_in_jira(e2e, issue, "from-jira.txt", from_jira, "text/plain")
    twice = [attach_in_crm(e2e, files, record_id, "twice.txt", b"twice", "text/plain") for _ in range(2)]
    assert e2e.run(files.crm.sync)["attachments"]["uploaded"] == 3

    # on_delete: keep (the default): the copy stays, and does not come back as a new file.
    delete_in_crm(e2e, files, crm_origin)
    kept = e2e.run(files.crm.sync)
    assert_ideal(kept)
    assert kept["attachments"] == {**kept["attachments"], "deleted": 0, "uploaded": 0, "failed": 0}
    assert [f["bytes"] for f in named(jira_files(e2e, issue), "from-crm.txt")] == [from_crm]
    assert not named(crm_files(e2e, files, record_id), "from-crm.txt")

    deleting_copies(e2e, files.crm)
    delete_in_crm(e2e, files, twice[0])  # its copy is still the copy of the other one: it stays
    dry = e2e.attempt(files.crm.sync, dry_run=True)
    assert dry.succeeded
    pair = f"record {record_id} (issue {issue['key']})"
    line = (
        f"{pair}: would delete 'from-crm.txt' (1500 bytes) from Jira, its origin deleted from {files.system}"
    )
    assert line in dry.log_path.read_text()
    assert named(jira_files(e2e, issue), "from-crm.txt")  # a dry run deletes nothing

    deleted = e2e.run(files.crm.sync)
    assert_ideal(deleted)
    assert deleted["attachments"]["deleted"] == 1 and deleted["attachments"]["uploaded"] == 0
    assert not named(jira_files(e2e, issue), "from-crm.txt")
    assert e2e.calls("jira", "DELETE /rest/api/3/attachment/") == 1
    assert [f["bytes"] for f in named(jira_files(e2e, issue), "twice.txt")] == [b"twice"]

    # A file deleted in Jira takes its copy in the CRM with it.
    e2e.sandbox.mutate("jira", "detach", id=jira_origin)
    followed = e2e.run(files.crm.sync)
    assert_ideal(followed)
    assert followed["attachments"]["deleted"] == 1 and followed["attachments"]["uploaded"] == 0
    assert not named(crm_files(e2e, files, record_id), "from-jira.txt")
    last = e2e.run(files.crm.sync)
    assert last["attachments"] == {**last["attachments"], "deleted": 0, "uploaded": 0, "failed": 0}


def test_deleting_too_many_copies_waits_for_the_override(e2e: EndToEnd) -> None:
    deleting_copies(e2e, ZOHO)
    first = e2e.run(ZOHO.sync)
    record_id, issue = linked_pair(e2e, ZOHO_FILES)
    origins = [
        attach_in_crm(e2e, ZOHO_FILES, record_id, f"batch-{n}.txt", content(300, f"batch {n}"), "text/plain")
        for n in range(20)
    ]
    assert e2e.run(ZOHO.sync)["attachments"]["uploaded"] == 20
    copied = first["attachments"]["uploaded"] + first["attachments"]["deduplicated"] + 20
    gone = origins[:10]  # past the default max_delete_share of 10%, and min_target_size is 20
    assert len(gone) / copied > 0.1, copied
    for origin in gone:
        delete_in_crm(e2e, ZOHO_FILES, origin)

    held = e2e.attempt(ZOHO.sync)
    assert not held.succeeded
    assert any(
        f"sync '{ZOHO.sync}'" in line and "more than max_delete_share 10%" in line for line in held.failures()
    ), held.failures()
    assert len([f for f in jira_files(e2e, issue) if f["name"].startswith("batch-")]) == 20

    overridden = e2e.run(ZOHO.sync, override_circuit_breaker=True)
    assert overridden["attachments"]["deleted"] == 10
    assert sorted(f["name"] for f in jira_files(e2e, issue) if f["name"].startswith("batch-")) == sorted(
        f"batch-{n}.txt" for n in range(10, 20)
    )


def test_salesforce_files_go_both_ways_and_a_new_version_goes_as_one_more_attachment(e2e: EndToEnd) -> None:
    e2e.run(SALESFORCE.sync)
    case_id, issue = linked_pair(e2e, SALESFORCE_FILES)
    shot, trace = content(4000, "screenshot"), content(700, "trace")
    # A Lightning user uploads a File to the case; a Jira user attaches a file to the issue.
    added = e2e.sandbox.mutate(
        "salesforce", "add_file", parent=case_id, name="Écran ✓.png", content=base64.b64encode(shot).decode()
    )
    attach_in_jira(e2e, issue, "trace.log", trace, "text/plain")

    first = e2e.run(SALESFORCE.sync)
    assert_ideal(first)
    assert first["attachments"]["uploaded"] == 2 and first["attachments"]["failed"] == 0
    assert named(jira_files(e2e, issue), "Écran ✓.png") == [
        {"name": "Écran ✓.png", "bytes": shot, "type": "image/png"}
    ]
    [as_file] = named(salesforce_files(e2e, case_id), "trace.log")  # a File, which Lightning shows
    assert as_file["bytes"] == trace
    assert not [a for a in e2e.sandbox.records("salesforce", "Attachment") if a["Name"] == "trace.log"]

    again = e2e.run(SALESFORCE.sync)
    assert_ideal(again)
    assert again["attachments"] == {**again["attachments"], "uploaded": 0, "relinked": 0, "failed": 0}
    assert (
        e2e.calls("jira", "/attachments") == 0
        and e2e.calls("salesforce", f"POST {SALESFORCE_FILES.upload}") == 0
    )

    # A new version of the File is new content: Jira, which keeps no versions, gets it as one more
    # attachment; the first version, linked, is not copied again.
    newer = content(4100, "screenshot v2")
    e2e.sandbox.mutate(
        "salesforce", "add_file", document=added["ContentDocumentId"], name="Écran ✓.png",
        content=base64.b64encode(newer).decode(),
    )  # fmt: skip
    third = e2e.run(SALESFORCE.sync)
    assert_ideal(third)
    assert third["attachments"]["uploaded"] == 1
    assert [f["bytes"] for f in named(jira_files(e2e, issue), "Écran ✓.png")] == [shot, newer]
    assert len(named(salesforce_files(e2e, case_id), "Écran ✓.png")) == 1  # nothing came back
