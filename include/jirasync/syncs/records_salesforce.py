"""Salesforce records as the records ↔ issues family reads and writes them: SOQL (parent fields such as
``Account.Name`` through relationships), sObject Collections of 200."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from jirasync.connectors.outcome import RecordOutcome
from jirasync.connectors.query_literals import soql_string
from jirasync.connectors.salesforce import COLLECTION_LIMIT, SalesforceConnector

QUERY_BATCH = 2000  # the most records one SOQL call brings back
IDS_PER_QUERY = 200  # ids one SOQL "IN (...)" lists, well inside SOQL's length limit
DELETED_WINDOW = timedelta(days=29)  # Salesforce answers deletions of the last 30 days only


class SalesforceRecords:
    """The records of one sObject of one Salesforce org."""

    id_field = "Id"
    modified_field = "SystemModstamp"
    batch_size = COLLECTION_LIMIT
    setup_calls = 1  # the login before the first call

    def __init__(self, org: SalesforceConnector, sobject: str) -> None:
        self.org = org
        self.sobject = sobject

    def read(
        self, fields: Sequence[str], since: datetime | None, until: datetime | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """Every record, or those modified since ``since`` (and before ``until``), and the fewest
        calls that read them."""
        bounds = [f"{self.modified_field} >= {_soql_datetime(since)}"] if since else []
        bounds += [f"{self.modified_field} < {_soql_datetime(until)}"] if until else []
        where = f" WHERE {' AND '.join(bounds)}" if bounds else ""
        order = self.modified_field if since else "Id"
        records = list(self.org.query(f"{self._select(fields)}{where} ORDER BY {order}"))
        return records, max(1, math.ceil(len(records) / QUERY_BATCH))

    def read_ids(self, ids: Sequence[str], fields: Sequence[str]) -> tuple[list[dict[str, Any]], int]:
        records: list[dict[str, Any]] = []
        for start in range(0, len(ids), IDS_PER_QUERY):
            listed = ", ".join(soql_string(i) for i in ids[start : start + IDS_PER_QUERY])
            records += self.org.query(f"{self._select(fields)} WHERE Id IN ({listed})")
        return records, math.ceil(len(ids) / IDS_PER_QUERY)

    def deleted(self, since: datetime) -> tuple[list[str], int]:
        """Ids of the records deleted since ``since`` (Salesforce keeps 30 days of them), in one call."""
        now = datetime.now(UTC)
        start = min(max(since, now - DELETED_WINDOW), now - timedelta(minutes=1))
        # Salesforce counts whole minutes and leaves out the end's: end after the current minute.
        end = now + timedelta(minutes=1)
        return [r.id for r in self.org.deleted(self.sobject, start, end).records], 1

    def update(self, changes: Sequence[tuple[str, dict[str, Any]]]) -> list[RecordOutcome]:
        return self.org.update(self.sobject, [{"Id": record_id, **values} for record_id, values in changes])

    def picklist(self, field: str) -> list[str] | None:
        """The values a picklist field allows, or None when ``field`` is no picklist of the sObject."""
        for meta in self.org.describe(self.sobject)["fields"]:
            if meta.get("name") == field and meta.get("type") == "picklist":
                return [str(value["value"]) for value in meta.get("picklistValues") or []]
        return None

    def calls(self) -> dict[str, int]:
        return self.org.calls.by_endpoint()

    @staticmethod
    def write_calls(records: int) -> int:
        return math.ceil(records / COLLECTION_LIMIT)

    def _select(self, fields: Sequence[str]) -> str:
        names = sorted({*fields, self.modified_field} - {self.id_field})
        return f"SELECT {', '.join([self.id_field, *names])} FROM {self.sobject}"


def _soql_datetime(moment: datetime) -> str:
    """A time as SOQL compares it: a dateTime literal in UTC, unquoted."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
