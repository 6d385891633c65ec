"""The CRM side of notes ↔ comments: Zoho CRM notes of a record, Salesforce comments of a Case.

Each side reads the notes changed since a time (to find the records to look at), the notes of
some records whole (to compare them with the issue's comments), and writes one note a call. Each
counts the fewest calls its reads took, for the run summary.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jirasync.connectors.outcome import RecordOutcome
from jirasync.connectors.salesforce import SalesforceConnector
from jirasync.connectors.zoho import PER_PAGE, ZohoCrmConnector

SOQL_BATCH = 2000  # the most records one SOQL call brings back
IDS_PER_QUERY = 200  # case ids one "ParentId IN (...)" lists (the connector's chunk)


@dataclass(frozen=True)
class Note:
    """A CRM note or case comment as the stream compares it."""

    id: str
    record_id: str
    text: str
    author: str
    created: datetime
    modified: str  # the CRM's own stamp, for the next run's cursor


class ZohoNotes:
    """Notes of the records of one Zoho CRM module. Zoho keeps notes as plain text."""

    system = "Zoho CRM"
    limit = 32_000  # characters a note keeps; Zoho documents none for the API [unverified]
    setup_calls = 1  # the OAuth token before the first call

    def __init__(self, crm: ZohoCrmConnector, module: str) -> None:
        self.crm = crm
        self.module = module

    def changed(self, since: datetime) -> tuple[list[Note], int]:
        """The module's notes changed since ``since``, and the calls taken."""
        notes = [
            _zoho_note(n)
            for n in self.crm.notes_modified_since(since)
            if (n.get("Parent_Id") or {}).get("module", {}).get("api_name") == self.module
        ]
        return notes, max(1, math.ceil(len(notes) / PER_PAGE))

    def notes_of(self, record_ids: Sequence[str]) -> tuple[list[Note], int]:
        """Every note of these records, one related-list read per record."""
        notes: list[Note] = []
        calls = 0
        for record_id in record_ids:
            found = self.crm.notes(self.module, record_id)
            notes += [_zoho_note(n) for n in found]
            calls += max(1, math.ceil(len(found) / PER_PAGE))
        return notes, calls

    def post(self, record_id: str, text: str) -> RecordOutcome:
        return self.crm.add_note(self.module, record_id, "", text)

    def update(self, note_id: str, text: str) -> RecordOutcome:
        return self.crm.update_note(note_id, text)

    def delete(self, note_id: str) -> RecordOutcome:
        return self.crm.delete_note(note_id)

    def calls(self) -> dict[str, int]:
        return {endpoint: count for endpoint, count in self.crm.calls_by_endpoint().items() if count}


class SalesforceCaseComments:
    """Comments of Salesforce Cases: read by SOQL, for all the cases of a run at once."""

    system = "Salesforce"
    limit = 4_000  # CaseComment.CommentBody's length
    setup_calls = 1  # the login before the first call

    def __init__(self, org: SalesforceConnector) -> None:
        self.org = org

    def changed(self, since: datetime) -> tuple[list[Note], int]:
        """The comments changed since ``since`` (deleted ones too), of every case, and the calls taken."""
        rows = self.org.case_comments_modified_since(since)
        return [_case_comment(r) for r in rows], max(1, math.ceil(len(rows) / SOQL_BATCH))

    def notes_of(self, record_ids: Sequence[str]) -> tuple[list[Note], int]:
        rows = self.org.case_comments_of(list(record_ids))
        return [_case_comment(r) for r in rows], math.ceil(len(record_ids) / IDS_PER_QUERY)

    def post(self, record_id: str, text: str) -> RecordOutcome:
        return self.org.add_case_comments([{"ParentId": record_id, "CommentBody": text}])[0]

    def update(self, note_id: str, text: str) -> RecordOutcome:
        return self.org.update("CaseComment", [{"Id": note_id, "CommentBody": text}])[0]

    def delete(self, note_id: str) -> RecordOutcome:
        return self.org.delete([note_id])[0]

    def calls(self) -> dict[str, int]:
        return self.org.calls.by_endpoint()


CrmNotes = ZohoNotes | SalesforceCaseComments


def crm_notes(system: str, crm: Any, crm_object: str) -> CrmNotes:
    """The notes side of a connected item's CRM."""
    if system == "zoho_crm":
        return ZohoNotes(crm, crm_object)
    return SalesforceCaseComments(crm)


def newest_stamp(notes: Iterable[Note], before: str | None) -> str | None:
    """The latest CRM modification time among ``notes`` and ``before``, as the next read's start."""
    stamps = [n.modified for n in notes if n.modified] + ([before] if before else [])
    return max(stamps, key=_time, default=None)


def _time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _zoho_note(note: dict[str, Any]) -> Note:
    return Note(
        id=str(note["id"]),
        record_id=str(note["Parent_Id"]["id"]),
        text=str(note.get("Note_Content") or ""),
        author=str((note.get("Created_By") or {}).get("name") or "someone"),
        created=_time(str(note["Created_Time"])),
        modified=str(note.get("Modified_Time") or ""),
    )


def _case_comment(row: dict[str, Any]) -> Note:
    return Note(
        id=str(row["Id"]),
        record_id=str(row["ParentId"]),
        text=str(row.get("CommentBody") or ""),
        author=str((row.get("CreatedBy") or {}).get("Name") or "someone"),
        created=_time(str(row["CreatedDate"]).replace("+0000", "+00:00")),
        modified=str(row.get("SystemModstamp") or "").replace("+0000", "+00:00"),
    )
