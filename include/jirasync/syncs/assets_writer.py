"""Writes of user assets: one Assets call per object, since Assets has no bulk write.

Bodies name attributes by the ids the target read found (`AssetsLayout`), so writing costs no
read. A create sets the User attribute to the accountId and files the object in its folder; a
create interrupted by a crash is looked up by that attribute (a batch in one AQL search), so it
is never made twice.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from jirasync.connectors.assets import AssetsConnector, ObjectIn
from jirasync.connectors.errors import ApiError, AuthenticationError, NotFoundError
from jirasync.connectors.query_literals import aql_string
from jirasync.engine.apply import WriteOutcome, WriteRecord
from jirasync.syncs.assets_definition import AssetsTarget
from jirasync.syncs.assets_folders import FolderFiler
from jirasync.syncs.assets_layout import AssetsLayout


@dataclass
class AssetObjectWriter:
    assets: AssetsConnector
    sync_id: str
    target: AssetsTarget
    layout: AssetsLayout
    save_layout: Callable[[AssetsLayout], None]  # keeps folders made by this run for a retry
    batch_size: int = 50
    records_per_call: int = 1
    folders: FolderFiler | None = field(init=False)

    def __post_init__(self) -> None:
        folder = self.layout.folder
        self.folders = (
            FolderFiler(self.assets, folder, lambda: self.save_layout(self.layout)) if folder else None
        )

    @property
    def setup_calls(self) -> int:
        """The A–Z folders this run had to make before filing new objects in them."""
        return self.folders.created if self.folders else 0

    def write(self, kind: str, direction: str, records: Sequence[WriteRecord]) -> list[WriteOutcome]:
        write_one = {"create": self._create, "update": self._update, "delete": self._delete}[kind]
        return [self._outcome(record, write_one) for record in records]

    def reconcile(self, records: Sequence[WriteRecord]) -> list[str | None]:
        """Creates that may have happened: the object whose User attribute holds each one's
        accountId, looked up for the whole batch in one AQL search."""
        found = self._objects_of([record.source_id for record in records if record.source_id])
        return [found.get(record.source_id or "") for record in records]

    def lookup_calls(self, creates: int) -> int:
        """One AQL search per batch: a batch's objects fit in one page of results."""
        return math.ceil(creates / self.batch_size)

    def _outcome(self, record: WriteRecord, write_one: Callable[[WriteRecord], str]) -> WriteOutcome:
        try:
            return WriteOutcome(record_id=write_one(record))
        except AuthenticationError:
            raise  # the run's credentials, not this record: every other write would fail the same way
        except ApiError as error:
            where = f" (object {record.target_id})" if record.target_id else ""
            return WriteOutcome(
                error=f"sync '{self.sync_id}': Jira user {record.key}{where}: {error}",
                retryable=error.retryable,
            )

    def _create(self, record: WriteRecord) -> str:
        values = {name: value for name, value in record.values.items() if value is not None}
        values[self.target.user_attribute] = record.source_id
        if self.folders and self.target.folder:
            values[self.target.folder.attribute] = self.folders.folder_for(
                values.get(self.target.name_attribute)
            )
        return self.assets.create_object(self._body(values)).id

    def _update(self, record: WriteRecord) -> str:
        return self.assets.update_object(record.target_id or "", self._body(record.values)).id

    def _delete(self, record: WriteRecord) -> str:
        with contextlib.suppress(NotFoundError):  # already gone: what a delete wants
            self.assets.delete_object(record.target_id or "")
        return record.target_id or ""

    def _body(self, values: dict[str, Any]) -> ObjectIn:
        ids = self.layout.attribute_ids
        return ObjectIn(self.layout.type_id, {ids[name]: _strings(value) for name, value in values.items()})

    def _objects_of(self, account_ids: list[str]) -> dict[str, str]:
        """accountId → the object whose User attribute holds it, for those a lost create made."""
        if not account_ids:
            return {}
        attribute = self.target.user_attribute
        listed = ", ".join(aql_string(account_id) for account_id in account_ids)
        query = f"objectTypeId = {aql_string(self.layout.type_id)} AND {aql_string(attribute)} IN ({listed})"
        wanted = set(account_ids)
        found: dict[str, str] = {}
        for found_object in self.assets.search(query):
            account_id = found_object.value(attribute)
            if account_id in wanted:
                found.setdefault(account_id, found_object.id)
        return found


def _strings(value: Any) -> list[str]:
    """A value as Assets takes it: a list of texts, empty to clear."""
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in values]
