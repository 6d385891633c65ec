"""The CRM side of files ↔ attachments: Zoho CRM attachments of a record, Salesforce Attachments and
Files of a Case.

Each side lists the files of the linked records (counting the fewest calls the listing took, for
the run summary), opens one file's content unread, uploads one file from an open file, and
deletes one file.
"""

from __future__ import annotations

import math
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import requests

from jirasync.connectors.outcome import RecordOutcome
from jirasync.connectors.salesforce import SalesforceConnector
from jirasync.connectors.zoho import PER_PAGE, ZohoCrmConnector
from jirasync.syncs.comments_crm import IDS_PER_QUERY

OCTET_STREAM = "application/octet-stream"
CONTENT_VERSION_PREFIX = "068"  # the key prefix of a ContentVersion id (a legacy Attachment's is 00P)


@dataclass(frozen=True)
class File:
    """A file on a record or an issue, as the stream compares it (its content is read apart)."""

    id: str
    owner: str  # the CRM record's id, or the key
    name: str
    size: int
    content_type: str


class ZohoFiles:
    """Attachments of the records of one Zoho CRM module. Zoho lists a file's name and size, not its
    type: the type is guessed from the name, as a browser would."""

    system = "Zoho CRM"
    setup_calls = 1  # the OAuth token before the first call

    def __init__(self, crm: ZohoCrmConnector, module: str) -> None:
        self.crm = crm
        self.module = module

    def files_of(self, record_ids: Sequence[str]) -> tuple[list[File], int]:
        """Every file of these records, one related-list read per record (Zoho has no listing of
        the files of many records)."""
        files: list[File] = []
        calls = 0
        for record_id in record_ids:
            found = self.crm.attachments(self.module, record_id)
            files += [File(a.id, record_id, a.file_name, a.size, guessed_type(a.file_name)) for a in found]
            calls += max(1, math.ceil(len(found) / PER_PAGE))
        return files, calls

    def open(self, file: File) -> requests.Response:
        return self.crm.open_attachment(self.module, file.owner, file.id)

    def upload(self, record_id: str, name: str, content: BinaryIO, content_type: str) -> RecordOutcome:
        return self.crm.upload_attachment(self.module, record_id, name, content, content_type)

    def delete(self, file: File) -> RecordOutcome:
        return self.crm.delete_attachment(self.module, file.owner, file.id)

    def calls(self) -> dict[str, int]:
        return {endpoint: count for endpoint, count in self.crm.calls_by_endpoint().items() if count}


class SalesforceFiles:
    """The files of Salesforce Cases, both kinds: legacy Attachments (``ParentId`` the case) and
    Salesforce Files, which Lightning users see (a ContentDocument linked to the case by a
    ContentDocumentLink). Each kind is listed by one SOQL per 200 cases; a file from Jira is
    published to the case as a File.

    A File stands for its latest ContentVersion: its id is the version's id. The upload answers
    with that id, so the copy is linked with no call more (the link is saved right after the
    write, which keeps the crash window as small as a single call), and the content is read from
    it. A new version of a File is then new content, copied to the issue as one more attachment
    (Jira keeps no versions), while the versions already copied stay linked and go nowhere again.
    Salesforce keeps no content type for a File: it is guessed from the name.
    """

    system = "Salesforce"
    setup_calls = 1  # the login before the first call

    def __init__(self, org: SalesforceConnector) -> None:
        self.org = org
        self.documents: dict[str, str] = {}  # a listed File's version id → its ContentDocument id

    def files_of(self, record_ids: Sequence[str]) -> tuple[list[File], int]:
        ids = list(record_ids)
        attachments = [
            File(
                str(r["Id"]),
                str(r["ParentId"]),
                str(r["Name"]),
                int(r.get("BodyLength") or 0),
                str(r.get("ContentType") or guessed_type(str(r["Name"]))),
            )
            for r in self.org.attachments(ids)
        ]
        files = []
        for link in self.org.files(ids):
            document = link["ContentDocument"]
            self.documents[str(document["LatestPublishedVersionId"])] = str(link["ContentDocumentId"])
            name = file_name(str(document["Title"]), document.get("FileExtension"))
            files.append(
                File(
                    str(document["LatestPublishedVersionId"]),
                    str(link["LinkedEntityId"]),
                    name,
                    int(document.get("ContentSize") or 0),
                    guessed_type(name),
                )
            )
        return attachments + files, 2 * math.ceil(len(ids) / IDS_PER_QUERY)  # a query per kind

    def open(self, file: File) -> requests.Response:
        if file.id.startswith(CONTENT_VERSION_PREFIX):
            return self.org.open_file(file.id)
        return self.org.open_attachment(file.id)

    def upload(self, record_id: str, name: str, content: BinaryIO, content_type: str) -> RecordOutcome:
        return RecordOutcome.success(self.org.upload_file(record_id, name, content, content_type))

    def delete(self, file: File) -> RecordOutcome:
        """Delete a legacy Attachment, or a File: its ContentDocument, with every version (Salesforce
        deletes no version alone)."""
        return self.org.delete([self.documents.get(file.id, file.id)])[0]

    def calls(self) -> dict[str, int]:
        return self.org.calls.by_endpoint()


CrmFiles = ZohoFiles | SalesforceFiles


def crm_files(system: str, crm: Any, crm_object: str) -> CrmFiles:
    """The files side of a connected item's CRM."""
    if system == "zoho_crm":
        return ZohoFiles(crm, crm_object)
    return SalesforceFiles(crm)


def file_name(title: str, extension: str | None) -> str:
    """A File's name: its title, which a user may have typed without the extension Salesforce keeps
    apart, and that extension."""
    if not extension or title.casefold().endswith(f".{extension}".casefold()):
        return title
    return f"{title}.{extension}"


def guessed_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or OCTET_STREAM
