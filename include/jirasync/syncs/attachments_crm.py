"""The CRM side of files ↔ attachments: Zoho CRM attachments of a record, Salesforce Attachments of
a Case.

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
    """Attachments of Salesforce Cases (the ``Attachment`` sObject, ``ParentId`` the case): listed by
    SOQL for 200 cases a call."""

    system = "Salesforce"
    setup_calls = 1  # the login before the first call

    def __init__(self, org: SalesforceConnector) -> None:
        self.org = org

    def files_of(self, record_ids: Sequence[str]) -> tuple[list[File], int]:
        rows = self.org.attachments(list(record_ids))
        files = [
            File(
                str(r["Id"]),
                str(r["ParentId"]),
                str(r["Name"]),
                int(r.get("BodyLength") or 0),
                str(r.get("ContentType") or guessed_type(str(r["Name"]))),
            )
            for r in rows
        ]
        return files, math.ceil(len(record_ids) / IDS_PER_QUERY)

    def open(self, file: File) -> requests.Response:
        return self.org.open_attachment(file.id)

    def upload(self, record_id: str, name: str, content: BinaryIO, content_type: str) -> RecordOutcome:
        return RecordOutcome.success(self.org.upload_attachment(record_id, name, content, content_type))

    def delete(self, file: File) -> RecordOutcome:
        return self.org.delete([file.id])[0]

    def calls(self) -> dict[str, int]:
        return self.org.calls.by_endpoint()


CrmFiles = ZohoFiles | SalesforceFiles


def crm_files(system: str, crm: Any, crm_object: str) -> CrmFiles:
    """The files side of a connected item's CRM."""
    if system == "zoho_crm":
        return ZohoFiles(crm, crm_object)
    return SalesforceFiles(crm)


def guessed_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or OCTET_STREAM
