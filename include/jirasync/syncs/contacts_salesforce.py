"""Salesforce Contacts as the contacts family reads and writes them: SOQL, sObject Collections of 200."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

from jirasync.connectors.outcome import RecordOutcome
from jirasync.connectors.query_literals import soql_string
from jirasync.connectors.salesforce import COLLECTION_LIMIT, SalesforceConnector
from jirasync.engine.keys import email_key

SOBJECT = "Contact"
QUERY_BATCH = 2000  # the most records one SOQL call brings back
LOOKUP_BATCH = 200  # emails one SOQL "IN (...)" lists, well inside SOQL's length limit
GONE_ERRORS = ("ENTITY_IS_DELETED", "NOT_FOUND", "INVALID_CROSS_REFERENCE_KEY")


class SalesforceContacts:
    """The Contact object of one Salesforce org."""

    id_field = "Id"
    batch_size = COLLECTION_LIMIT
    # Salesforce's documented lengths of the Contact fields jirasync fills from a name.
    text_limits: ClassVar[dict[str, int]] = {"FirstName": 40, "LastName": 80}

    def __init__(self, org: SalesforceConnector) -> None:
        self.org = org

    def read(self, fields: Sequence[str]) -> tuple[list[dict[str, Any]], int]:
        """Every contact, and the fewest calls that read them: a login, then batches of 2,000."""
        contacts = list(self.org.query(f"SELECT Id, {', '.join(fields)} FROM {SOBJECT} ORDER BY Id"))
        return contacts, 1 + max(1, math.ceil(len(contacts) / QUERY_BATCH))

    def writes_at_once(self) -> int:
        """Batch writes in flight at once: what the connection's budget allows (Salesforce limits
        only calls that run long, which a write of 200 contacts is not)."""
        budget = self.org.budget
        return budget.concurrency if budget is not None else 1

    def create(self, contacts: Sequence[dict[str, Any]]) -> list[RecordOutcome]:
        return self.org.create(SOBJECT, list(contacts))

    def update(self, changes: Sequence[tuple[str, dict[str, Any]]]) -> list[RecordOutcome]:
        return self.org.update(SOBJECT, [{"Id": contact_id, **values} for contact_id, values in changes])

    def find_all(self, emails: Sequence[str]) -> dict[str, str]:
        """The ids of the contacts with these emails, by email key: one SOQL call per 200 emails
        (SOQL compares text without case)."""
        found: dict[str, str] = {}
        for start in range(0, len(emails), LOOKUP_BATCH):
            listed = ", ".join(soql_string(email) for email in emails[start : start + LOOKUP_BATCH])
            for contact in self.org.query(f"SELECT Id, Email FROM {SOBJECT} WHERE Email IN ({listed})"):
                found.setdefault(email_key(str(contact["Email"])), str(contact["Id"]))
        return found

    def field_names(self) -> list[str]:
        return [str(field["name"]) for field in self.org.describe(SOBJECT)["fields"]]

    @staticmethod
    def lookup_calls(emails: int) -> int:
        return math.ceil(emails / LOOKUP_BATCH)

    @staticmethod
    def is_gone(error: str) -> bool:
        """Salesforce's answer when the contact written to no longer exists."""
        return error.startswith(GONE_ERRORS)
