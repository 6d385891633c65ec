"""Zoho CRM Contacts as the contacts family reads and writes them: 200 a page, 100 a write."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

from jirasync.connectors.outcome import RecordOutcome
from jirasync.connectors.query_literals import coql_string
from jirasync.connectors.zoho import PER_PAGE, WRITE_BATCH, ZohoCrmConnector
from jirasync.engine.keys import email_key

MODULE = "Contacts"
LOOKUP_BATCH = 50  # values one COQL "in (...)" takes
# Zoho's sub-concurrency of heavy calls, whatever the edition allows: a write of more than ten
# records is one.
HEAVY_CALLS_AT_ONCE = 10


class ZohoContacts:
    """The Contacts module of one Zoho CRM org."""

    id_field = "id"
    batch_size = WRITE_BATCH
    # Zoho's documented lengths of the Contacts fields jirasync fills from a name.
    text_limits: ClassVar[dict[str, int]] = {"First_Name": 40, "Last_Name": 80}

    def __init__(self, crm: ZohoCrmConnector) -> None:
        self.crm = crm

    def read(self, fields: Sequence[str]) -> tuple[list[dict[str, Any]], int]:
        """Every contact, and the fewest calls that read them: a token, then full pages."""
        contacts = list(self.crm.records(MODULE, list(fields)))
        return contacts, 1 + max(1, math.ceil(len(contacts) / PER_PAGE))

    def writes_at_once(self) -> int:
        """Batch writes in flight at once: what the connection's budget allows, up to Zoho's limit
        for heavy calls."""
        budget = self.crm.budget
        return min(budget.concurrency, HEAVY_CALLS_AT_ONCE) if budget is not None else 1

    def create(self, contacts: Sequence[dict[str, Any]]) -> list[RecordOutcome]:
        return self.crm.insert(MODULE, contacts)

    def update(self, changes: Sequence[tuple[str, dict[str, Any]]]) -> list[RecordOutcome]:
        return self.crm.update(MODULE, [{"id": contact_id, **values} for contact_id, values in changes])

    def find_all(self, emails: Sequence[str]) -> dict[str, str]:
        """The ids of the contacts with these emails, by email key: one COQL call per 50 emails (the
        most one ``in (…)`` takes), text compared as Zoho does, ignoring case."""
        found: dict[str, str] = {}
        for start in range(0, len(emails), LOOKUP_BATCH):
            listed = ", ".join(coql_string(email) for email in emails[start : start + LOOKUP_BATCH])
            for contact in self.crm.coql(f"select Email from {MODULE} where Email in ({listed}) limit 2000"):
                found.setdefault(email_key(str(contact["Email"])), str(contact["id"]))
        return found

    def field_names(self) -> list[str]:
        return [str(field["api_name"]) for field in self.crm.fields(MODULE)]

    @staticmethod
    def lookup_calls(emails: int) -> int:
        return math.ceil(emails / LOOKUP_BATCH)

    @staticmethod
    def is_gone(error: str) -> bool:
        """Zoho's answer when the contact written to no longer exists."""
        return error.startswith("INVALID_DATA") and "api_name=id" in error
