"""Zoho CRM Contacts as the contacts family reads and writes them: 200 a page, 100 a write."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

from jirasync.connectors.outcome import RecordOutcome
from jirasync.connectors.query_literals import zoho_criteria_value
from jirasync.connectors.zoho import PER_PAGE, WRITE_BATCH, ZohoCrmConnector

MODULE = "Contacts"


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

    def create(self, contacts: Sequence[dict[str, Any]]) -> list[RecordOutcome]:
        return self.crm.insert(MODULE, contacts)

    def update(self, changes: Sequence[tuple[str, dict[str, Any]]]) -> list[RecordOutcome]:
        return self.crm.update(MODULE, [{"id": contact_id, **values} for contact_id, values in changes])

    def find(self, email: str) -> str | None:
        """The id of a contact with this email, if one exists (Zoho's search ignores case)."""
        found = self.crm.search(MODULE, f"(Email:equals:{zoho_criteria_value(email)})", fields=["Email"])
        return str(found[0]["id"]) if found else None

    @staticmethod
    def is_gone(error: str) -> bool:
        """Zoho's answer when the contact written to no longer exists."""
        return error.startswith("INVALID_DATA") and "api_name=id" in error
