"""Salesforce Files in the emulator (ContentVersion, ContentDocument, ContentDocumentLink), used as a
client would: simple-salesforce for JSON inserts and SOQL, raw multipart for the blob insert."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest
from tests.sandbox.test_salesforce_sandbox import DATA, login, oauth_token, rest

from sandbox.testing import RunningSandbox

LINKED_FILES = (
    "SELECT ContentDocumentId, LinkedEntityId, ShareType, ContentDocument.LatestPublishedVersionId, "
    "ContentDocument.Title, ContentDocument.ContentSize, ContentDocument.FileType FROM ContentDocumentLink "
    "WHERE LinkedEntityId IN ({ids})"
)


def a_case(sf: Salesforce) -> str:
    return str(sf.query("SELECT Id FROM Case ORDER BY CaseNumber LIMIT 1")["records"][0]["Id"])


def linked_files(sf: Salesforce, *case_ids: str) -> list[dict[str, Any]]:
    listed = ", ".join(f"'{case_id}'" for case_id in case_ids)
    return sf.query_all(LINKED_FILES.format(ids=listed))["records"]


def version_data(sf: Salesforce, version_id: str) -> requests.Response:
    return sf.session.get(
        f"{sf.base_url}sobjects/ContentVersion/{version_id}/VersionData", headers=sf.headers, timeout=30
    )


def test_a_json_insert_creates_the_document_and_links_it_to_the_case(fresh_sandbox: RunningSandbox) -> None:
    sf = login(fresh_sandbox)
    case_id = a_case(sf)
    data = "Rapport d'été ✓\n".encode()

    created = sf.restful(
        "sobjects/ContentVersion",
        method="POST",
        data=json.dumps(
            {
                "PathOnClient": "Rapport d'été.pdf",
                "VersionData": base64.b64encode(data).decode(),
                "FirstPublishLocationId": case_id,
            }
        ),
    )
    version = sf.ContentVersion.get(created["id"])

    assert version["Title"] == "Rapport d'été" and version["FileExtension"] == "pdf"
    assert version["FileType"] == "PDF" and version["ContentSize"] == len(data) and version["IsLatest"]
    [link] = [
        row for row in linked_files(sf, case_id) if row["ContentDocumentId"] == version["ContentDocumentId"]
    ]
    assert link["LinkedEntityId"] == case_id and link["ShareType"] == "V"
    assert {
        k: link["ContentDocument"][k]
        for k in ("LatestPublishedVersionId", "Title", "ContentSize", "FileType")
    } == {
        "LatestPublishedVersionId": created["id"],
        "Title": "Rapport d'été",
        "ContentSize": len(data),
        "FileType": "PDF",
    }
    assert version_data(sf, created["id"]).content == data


def test_a_multipart_insert_takes_entity_content_and_the_version_data_part(
    fresh_sandbox: RunningSandbox,
) -> None:
    token = oauth_token(fresh_sandbox).json()["access_token"]
    sf = login(fresh_sandbox)
    case_id = a_case(sf)
    data = bytes(range(256)) * 40
    entity = json.dumps({"Title": "Trace", "PathOnClient": "trace.bin", "FirstPublishLocationId": case_id})

    created = rest(
        fresh_sandbox,
        "POST",
        f"{DATA}/sobjects/ContentVersion",
        token,
        files={
            "entity_content": (None, entity, "application/json"),
            "VersionData": ("trace.bin", data, "application/octet-stream"),
        },
    )
    wrong_part = rest(
        fresh_sandbox,
        "POST",
        f"{DATA}/sobjects/ContentVersion",
        token,
        files={"entity_contentversion": (None, entity, "application/json"), "VersionData": ("x", b"x")},
    )

    assert created.status_code == 201, created.text
    version = sf.ContentVersion.get(created.json()["id"])
    assert (version["Title"], version["ContentSize"], version["FileType"]) == ("Trace", len(data), "UNKNOWN")
    assert version_data(sf, version["Id"]).content == data
    assert wrong_part.status_code == 400
    assert wrong_part.json()[0]["message"] == "The first part must be named entity_content"


def test_a_new_version_becomes_the_latest_of_the_same_document(fresh_sandbox: RunningSandbox) -> None:
    sf = login(fresh_sandbox)
    case_id = a_case(sf)
    first = fresh_sandbox.mutate(
        "salesforce", "add_file", parent=case_id, name="notes.txt", content=base64.b64encode(b"v1").decode()
    )

    second = sf.ContentVersion.create(
        {
            "ContentDocumentId": first["ContentDocumentId"],
            "PathOnClient": "notes.txt",
            "VersionData": base64.b64encode(b"version 2").decode(),
        }
    )

    [link] = [r for r in linked_files(sf, case_id) if r["ContentDocumentId"] == first["ContentDocumentId"]]
    assert link["ContentDocument"]["LatestPublishedVersionId"] == second["id"]
    assert link["ContentDocument"]["ContentSize"] == len(b"version 2")
    assert not sf.ContentVersion.get(first["Id"])["IsLatest"]
    assert sf.ContentVersion.get(second["id"])["VersionNumber"] == "2"


def test_deleting_the_document_removes_its_versions_and_links(fresh_sandbox: RunningSandbox) -> None:
    sf = login(fresh_sandbox)
    case_id = a_case(sf)
    added = fresh_sandbox.mutate(
        "salesforce", "add_file", parent=case_id, name="gone.txt", content=base64.b64encode(b"x").decode()
    )

    with pytest.raises(SalesforceMalformedRequest, match="INVALID_TYPE_FOR_OPERATION"):
        sf.ContentVersion.delete(added["Id"])
    sf.ContentDocument.delete(added["ContentDocumentId"])

    assert added["ContentDocumentId"] not in {r["ContentDocumentId"] for r in linked_files(sf, case_id)}
    versions = sf.query(
        f"SELECT Id FROM ContentVersion WHERE ContentDocumentId = '{added['ContentDocumentId']}'"
    )
    assert versions["totalSize"] == 0
    assert version_data(sf, added["Id"]).status_code == 404


def test_a_link_query_without_a_record_or_file_filter_is_refused(fresh_sandbox: RunningSandbox) -> None:
    sf = login(fresh_sandbox)
    case_id = a_case(sf)

    for where in ("", " WHERE ShareType = 'V'", f" WHERE LinkedEntityId != '{case_id}'"):
        with pytest.raises(
            SalesforceMalformedRequest, match="Implementation restriction: ContentDocumentLink"
        ):
            sf.query(f"SELECT Id FROM ContentDocumentLink{where}")
    narrowed = sf.query(
        f"SELECT Id FROM ContentDocumentLink WHERE ShareType = 'V' AND LinkedEntityId = '{case_id}'"
    )
    assert narrowed["done"]


def test_a_document_cannot_be_inserted_directly(fresh_sandbox: RunningSandbox) -> None:
    sf = login(fresh_sandbox)

    with pytest.raises(SalesforceMalformedRequest, match="entity type cannot be inserted"):
        sf.ContentDocument.create({})


def test_the_seed_publishes_files_on_a_subset_of_cases(fresh_sandbox: RunningSandbox) -> None:
    sf = login(fresh_sandbox)
    case_ids = [r["Id"] for r in sf.query_all("SELECT Id FROM Case")["records"]]
    with_attachment = {r["ParentId"] for r in sf.query_all("SELECT ParentId FROM Attachment")["records"]}

    links = linked_files(sf, *case_ids)
    with_file = {r["LinkedEntityId"] for r in links}

    assert 0 < len(with_file) < len(case_ids) and with_file != with_attachment
    first = links[0]["ContentDocument"]
    content = version_data(sf, first["LatestPublishedVersionId"]).content
    assert content.startswith(b"Screen of case") and len(content) == first["ContentSize"]
