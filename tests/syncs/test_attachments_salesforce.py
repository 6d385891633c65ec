"""The Salesforce side of files ↔ attachments against the sandbox: a Case's legacy Attachments and its
Files listed together in two queries, each opened from where its content lives."""

from __future__ import annotations

import base64
import io

from tests.connectors.test_salesforce_connector import DATA, connector

from jirasync.syncs.attachments_crm import SalesforceFiles
from sandbox.testing import RunningSandbox


def test_a_case_lists_its_attachments_and_files_by_name_and_opens_each(fresh_sandbox: RunningSandbox) -> None:
    org = connector(fresh_sandbox)
    case_ids = [c["Id"] for c in org.query("SELECT Id FROM Case ORDER BY CaseNumber")]
    case_id = case_ids[0]
    encoded = base64.b64encode(b"legacy").decode()
    fresh_sandbox.mutate(
        "salesforce",
        "add_attachment",
        parent=case_id,
        name="old.log",
        content=encoded,
        content_type="text/plain",
    )
    # A Lightning user's upload: the title is the name without its extension, kept apart.
    fresh_sandbox.mutate(
        "salesforce", "add_file", parent=case_id, name="Écran.PNG", content=base64.b64encode(b"png").decode()
    )
    sent = org.upload_file(case_id, "Rapport.pdf", io.BytesIO(b"%PDF"), "application/pdf")
    side = SalesforceFiles(org)
    queries = org.calls.by_endpoint()[f"GET {DATA}/query"]

    files, ideal = side.files_of(case_ids)

    mine = {(f.name, f.size, f.content_type) for f in files if f.owner == case_id}
    assert {
        ("old.log", 6, "text/plain"),
        ("Écran.png", 3, "image/png"),
        ("Rapport.pdf", 4, "application/pdf"),
    } <= mine
    assert [f.id for f in files if f.name == "Rapport.pdf"] == [sent]  # a File is its latest version
    assert ideal == 2 == org.calls.by_endpoint()[f"GET {DATA}/query"] - queries
    for name, content in (("old.log", b"legacy"), ("Écran.png", b"png"), ("Rapport.pdf", b"%PDF")):
        [file] = [f for f in files if f.owner == case_id and f.name == name]
        with side.open(file) as answer:
            assert answer.content == content
