"""Salesforce Files: ContentVersion, ContentDocument and ContentDocumentLink, kept as Salesforce keeps them.

Lightning orgs keep a record's files as Files, not as the legacy ``Attachment``. A client never
creates a ContentDocument: it inserts a ContentVersion (JSON with base64 ``VersionData``, or the
multipart blob insert whose entity part is named ``entity_content``). A version without
``ContentDocumentId`` starts a new document, linked to its owner and, with
``FirstPublishLocationId``, to that record; a version with ``ContentDocumentId`` becomes that
document's latest. A version cannot be deleted; deleting its ContentDocument deletes every version
and link with it. A query on ContentDocumentLink must filter on ``LinkedEntityId`` or
``ContentDocumentId`` (``=`` or ``IN``), as on Salesforce.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any

from sandbox.vendors.salesforce.api import SalesforceError, next_ids
from sandbox.vendors.salesforce.schema import (
    CONTENT_DOCUMENT,
    CONTENT_DOCUMENT_LINK,
    CONTENT_VERSION,
    SObject,
)
from sandbox.vendors.salesforce.soql import BooleanOp, Comparison, Condition, Query

if TYPE_CHECKING:
    from sandbox.vendors.salesforce.records import Records

LINK_FILTERS = frozenset({"linkedentityid", "contentdocumentid"})
LINK_RESTRICTION = (
    "Implementation restriction: ContentDocumentLink requires a filter by a single Id on ContentDocumentId "
    "or LinkedEntityId using the equals operator or multiple Id's using the IN operator."
)
# Salesforce's FileType for the extensions a support case usually carries; any other is UNKNOWN.
FILE_TYPES = {
    "pdf": "PDF", "txt": "TEXT", "csv": "CSV", "png": "PNG", "jpg": "JPG", "jpeg": "JPG", "gif": "GIF",
    "zip": "ZIP", "doc": "WORD", "docx": "WORD_X", "xls": "EXCEL", "xlsx": "EXCEL_X", "ppt": "POWER_POINT",
    "pptx": "POWER_POINT_X", "xml": "XML", "html": "HTML", "json": "JSON",
}  # fmt: skip


def refuse_insert(sobject: SObject) -> None:
    """A ContentDocument comes only from its first ContentVersion."""
    if sobject is CONTENT_DOCUMENT:
        raise SalesforceError(
            400, "INVALID_TYPE_FOR_OPERATION", "entity type cannot be inserted: Content Document"
        )


def refuse_delete(sobject: SObject) -> None:
    """A version goes only with its document."""
    if sobject is CONTENT_VERSION:
        raise SalesforceError(
            400,
            "INVALID_TYPE_FOR_OPERATION",
            "entity type cannot be deleted: Content Version (delete its ContentDocument)",
        )


def derive_version(version: dict[str, Any]) -> None:
    """The fields Salesforce computes from the uploaded file: its size, checksum, extension and type,
    and the title (the file name without its extension) when the client gave none."""
    content = base64.b64decode(version["VersionData"] or "")
    file_name = str(version["PathOnClient"]).replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, extension = file_name.rpartition(".")
    if not dot or not stem:
        stem, extension = file_name, ""
    version["ContentSize"] = len(content)
    version["Checksum"] = hashlib.md5(content, usedforsecurity=False).hexdigest()
    version["FileExtension"] = extension.lower() or None
    version["FileType"] = FILE_TYPES.get(extension.lower(), "UNKNOWN")
    version["Title"] = version.get("Title") or stem


def publish(records: Records, versions: list[dict[str, Any]]) -> None:
    """Put new versions (ids given, not stored yet) in their documents: a new document, linked to its
    owner and first publish location, or the next version of the document named."""
    for version in versions:
        document_id = version.get("ContentDocumentId")
        if document_id:  # checked on create: a live document
            _supersede(records, version, records.collection(CONTENT_DOCUMENT).get(document_id))
            continue
        [document_id] = next_ids(records.state, CONTENT_DOCUMENT, 1)
        document = _born_with(CONTENT_DOCUMENT, version, Id=document_id, OwnerId=version.get("OwnerId"))
        _copy_to_document(version, document)
        records.collection(CONTENT_DOCUMENT).put(document_id, document)
        version.update(ContentDocumentId=document_id, VersionNumber="1", IsLatest=True)
        places = [(version.get("OwnerId"), "I"), (version.get("FirstPublishLocationId"), "V")]
        _link(records, version, [(entity, share) for entity, share in places if entity])


def delete_document(records: Records, document: dict[str, Any]) -> None:
    """Deleting a ContentDocument deletes its versions and its links too."""
    stamp = document["SystemModstamp"]
    for sobject, key in (
        (CONTENT_VERSION, "ContentDocumentId"),
        (CONTENT_DOCUMENT_LINK, "ContentDocumentId"),
    ):
        collection = records.collection(sobject)
        gone = [
            {**r, "IsDeleted": True, "SystemModstamp": stamp, "_deletedDate": stamp}
            for r in collection
            if r.get(key) == document["Id"] and not r["IsDeleted"]
        ]
        collection.put_many((r["Id"], r) for r in gone)


def check_link_query(query: Query) -> None:
    """Salesforce refuses a ContentDocumentLink query that is not narrowed to given records or files."""
    if not any(_narrows(condition) for condition in _conjuncts(query.where)):
        raise SalesforceError(400, "MALFORMED_QUERY", LINK_RESTRICTION)


def _supersede(records: Records, version: dict[str, Any], document: dict[str, Any]) -> None:
    versions = records.collection(CONTENT_VERSION)
    previous = versions.get(document["LatestPublishedVersionId"])
    versions.put(previous["Id"], {**previous, "IsLatest": False})
    version.update(IsLatest=True, VersionNumber=str(int(previous["VersionNumber"]) + 1))
    _copy_to_document(version, document)
    document.update(LastModifiedDate=version["CreatedDate"], SystemModstamp=version["CreatedDate"])
    records.collection(CONTENT_DOCUMENT).put(document["Id"], document)


def _copy_to_document(version: dict[str, Any], document: dict[str, Any]) -> None:
    document.update(
        LatestPublishedVersionId=version["Id"],
        Title=version["Title"],
        ContentSize=version["ContentSize"],
        FileType=version["FileType"],
        FileExtension=version["FileExtension"],
    )


def _link(records: Records, version: dict[str, Any], places: list[tuple[str, str]]) -> None:
    ids = next_ids(records.state, CONTENT_DOCUMENT_LINK, len(places))
    links = [
        _born_with(
            CONTENT_DOCUMENT_LINK,
            version,
            Id=link_id,
            ContentDocumentId=version["ContentDocumentId"],
            LinkedEntityId=entity,
            ShareType=share,
            Visibility="AllUsers",
        )
        for link_id, (entity, share) in zip(ids, places, strict=True)
    ]
    records.collection(CONTENT_DOCUMENT_LINK).put_many((link["Id"], link) for link in links)


def _born_with(sobject: SObject, version: dict[str, Any], **values: Any) -> dict[str, Any]:
    """A record Salesforce makes along with a version: same author and time."""
    system = (
        "IsDeleted",
        "CreatedDate",
        "CreatedById",
        "LastModifiedDate",
        "LastModifiedById",
        "SystemModstamp",
    )
    return {**{f.name: None for f in sobject.fields}, **{k: version[k] for k in system}, **values}


def _conjuncts(condition: Condition | None) -> list[Condition]:
    if isinstance(condition, BooleanOp) and condition.operator == "AND":
        return [c for part in condition.conditions for c in _conjuncts(part)]
    return [] if condition is None else [condition]


def _narrows(condition: Condition) -> bool:
    return (
        isinstance(condition, Comparison)
        and condition.field.casefold() in LINK_FILTERS
        and condition.operator in ("=", "IN")
    )
