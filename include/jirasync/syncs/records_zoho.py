"""Zoho CRM records as the records ↔ issues family reads and writes them: one module, 200 a page, 100 a write."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from jirasync.connectors.outcome import RecordOutcome
from jirasync.connectors.zoho import PER_PAGE, WRITE_BATCH, ZohoCrmConnector
from jirasync.syncs.records_definition import RelatedList


class ZohoRecords:
    """The records of one Zoho CRM module. Lookups (``Account_Name``, ``Owner``) come as
    ``{"name", "id"}``, so a mapping reads ``Account_Name.name``."""

    id_field = "id"
    modified_field = "Modified_Time"
    batch_size = WRITE_BATCH
    setup_calls = 1  # the OAuth token before the first call

    def __init__(self, crm: ZohoCrmConnector, module: str) -> None:
        self.crm = crm
        self.module = module

    def read(
        self, fields: Sequence[str], since: datetime | None, until: datetime | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """Every record, or those modified since ``since`` (and before ``until``), and the fewest
        calls that read them. Zoho filters by ``If-Modified-Since`` only: ``until`` is applied here."""
        records = list(self.crm.records(self.module, self._with_system_fields(fields), since))
        calls = max(1, math.ceil(len(records) / PER_PAGE))
        if until is not None:
            records = [r for r in records if datetime.fromisoformat(r[self.modified_field]) < until]
        return records, calls

    def read_ids(self, ids: Sequence[str], fields: Sequence[str]) -> tuple[list[dict[str, Any]], int]:
        records = self.crm.records_with_ids(self.module, list(ids), self._with_system_fields(fields))
        return records, math.ceil(len(ids) / WRITE_BATCH)

    def related(
        self, record_ids: Sequence[str], lists: Sequence[RelatedList]
    ) -> tuple[dict[str, dict[str, list[dict[str, Any]]]], int]:
        """Each record's rows of each related list (the list's fields only), by record id and list
        name, and the calls that read them: Zoho reads one record's list a call, a page at a time."""
        rows: dict[str, dict[str, list[dict[str, Any]]]] = {}
        calls = 0
        for record_id in record_ids:
            for related in lists:
                found = self.crm.related_records(
                    self.module, record_id, related.name, related.fields, related.limit
                )
                rows.setdefault(record_id, {})[related.name] = [
                    {name: row.get(name) for name in related.fields} for row in found
                ]
                calls += max(1, math.ceil(len(found) / min(related.limit or PER_PAGE, PER_PAGE)))
        return rows, calls

    def deleted(self, since: datetime) -> tuple[list[str], int]:
        """Ids of the records deleted since ``since`` (in the recycle bin or gone), and the calls that took."""
        ids = [str(r["id"]) for r in self.crm.deleted(self.module, since)]
        return ids, max(1, math.ceil(len(ids) / PER_PAGE))

    def update(self, changes: Sequence[tuple[str, dict[str, Any]]]) -> list[RecordOutcome]:
        return self.crm.update(self.module, [{"id": record_id, **values} for record_id, values in changes])

    def picklist(self, field: str) -> list[str] | None:
        """The values a picklist field allows, or None when ``field`` is no picklist of the module."""
        for meta in self.crm.fields(self.module):
            if meta.get("api_name") == field and meta.get("data_type") == "picklist":
                return [str(value.get("actual_value")) for value in meta.get("pick_list_values") or []]
        return None

    def calls(self) -> dict[str, int]:
        return {endpoint: count for endpoint, count in self.crm.calls_by_endpoint().items() if count}

    @staticmethod
    def write_calls(records: int) -> int:
        return math.ceil(records / WRITE_BATCH)

    def _with_system_fields(self, fields: Sequence[str]) -> list[str]:
        top = {field.split(".")[0] for field in fields}
        return sorted(top | {self.modified_field})
