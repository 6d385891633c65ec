"""``query`` and ``queryAll``: SOQL in batches of up to 2,000 records, continued by ``nextRecordsUrl``.

A query's matching ids are fixed when it runs (a server-side cursor); each batch renders the
records as they are when it is fetched. As on Salesforce, a user holds at most 10 open cursors
(the oldest is dropped) and a cursor idle for 15 minutes is gone: both give
``INVALID_QUERY_LOCATOR``. ``Sforce-Query-Options: batchSize=n`` (200 to 2,000) sets the batch size.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request

from sandbox.lookup import Lookups, candidates
from sandbox.store import IndexKeys
from sandbox.vendors.salesforce import files
from sandbox.vendors.salesforce.api import SalesforceError, SalesforceRoute, api_version, salesforce
from sandbox.vendors.salesforce.records import Records
from sandbox.vendors.salesforce.schema import BY_KEY_PREFIX, CONTENT_DOCUMENT_LINK, SObject, sobject_named
from sandbox.vendors.salesforce.soql import (
    BooleanOp,
    Comparison,
    Condition,
    Query,
    SoqlError,
    matches,
    parse_soql,
    sort_key,
)

MAX_BATCH = 2000
MIN_BATCH = 200
MAX_OPEN_CURSORS = 10
CURSOR_IDLE_S = 15 * 60

router = APIRouter(route_class=SalesforceRoute)


@dataclass
class Cursor:
    owner: str
    query: Query
    sobject: SObject
    ids: list[str]
    batch_size: int
    path: str  # "query" or "queryAll", for the next URL
    last_used: float = field(default_factory=time.monotonic)


class Cursors:
    """Open query cursors, per sandbox process (they are lost on restart, as they expire anyway)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: OrderedDict[str, Cursor] = OrderedDict()

    def open(self, cursor: Cursor) -> str:
        locator = "01g" + secrets.token_hex(8)[:15]
        with self._lock:
            self._open[locator] = cursor
            owned = [k for k, c in self._open.items() if c.owner == cursor.owner]
            for stale in owned[:-MAX_OPEN_CURSORS]:
                del self._open[stale]
        return locator

    def take(self, locator: str) -> Cursor:
        with self._lock:
            cursor = self._open.get(locator)
            if cursor is None or time.monotonic() - cursor.last_used > CURSOR_IDLE_S:
                self._open.pop(locator, None)
                raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            cursor.last_used = time.monotonic()
            return cursor

    def close(self, locator: str) -> None:
        with self._lock:
            self._open.pop(locator, None)


CURSORS = Cursors()


@router.get("/services/data/{version}/query")
def query(request: Request, version: str, q: str | None = None) -> dict[str, Any]:
    return _run(request, version, q, include_deleted=False)


@router.get("/services/data/{version}/queryAll")
def query_all(request: Request, version: str, q: str | None = None) -> dict[str, Any]:
    return _run(request, version, q, include_deleted=True)


@router.get("/services/data/{version}/query/{locator}")
@router.get("/services/data/{version}/queryAll/{locator}")
def query_more(request: Request, version: str, locator: str) -> dict[str, Any]:
    number = api_version(version)
    cursor_id, _, start = locator.partition("-")
    if not start.isdigit():
        raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    cursor = CURSORS.take(cursor_id)
    return _batch(request, number, cursor, cursor_id, int(start))


def _run(request: Request, version: str, text: str | None, *, include_deleted: bool) -> dict[str, Any]:
    number = api_version(version)
    if not text:
        raise SalesforceError(400, "MALFORMED_QUERY", "A query string has to be specified")
    try:
        parsed = parse_soql(text)
    except SoqlError as error:
        raise SalesforceError(400, "MALFORMED_QUERY", str(error)) from None
    sobject = sobject_named(parsed.sobject)
    if sobject is None:
        raise SalesforceError(
            400,
            "INVALID_TYPE",
            f"sObject type '{parsed.sobject}' is not supported. If you are attempting to use a custom object, "
            "be sure to append the '__c' after the entity name.",
        )
    for path in parsed.referenced_fields():
        _check_path(sobject, path)
    if sobject is CONTENT_DOCUMENT_LINK:
        files.check_link_query(parsed)
    records = Records(salesforce(request))
    ids = _matching_ids(records, sobject, parsed, include_deleted)
    if parsed.is_count:
        return {"totalSize": len(ids), "done": True, "records": []}
    cursor = Cursor(
        owner=request.headers.get("authorization", ""),
        query=parsed,
        sobject=sobject,
        ids=ids,
        batch_size=_batch_size(request.headers.get("sforce-query-options")),
        path="queryAll" if include_deleted else "query",
    )
    if len(ids) <= cursor.batch_size:
        return _batch(request, number, cursor, None, 0)
    locator = CURSORS.open(cursor)
    return _batch(request, number, cursor, locator, 0)


def _batch(request: Request, version: str, cursor: Cursor, locator: str | None, start: int) -> dict[str, Any]:
    records = Records(salesforce(request))
    end = min(start + cursor.batch_size, len(cursor.ids))
    collection = records.collection(cursor.sobject)
    rendered = [
        _render(records, cursor.sobject, collection.get(i), cursor.query.fields, version)
        for i in cursor.ids[start:end]
    ]
    answer: dict[str, Any] = {
        "totalSize": len(cursor.ids),
        "done": end >= len(cursor.ids),
        "records": rendered,
    }
    if locator is not None:
        if end < len(cursor.ids):
            answer["nextRecordsUrl"] = f"/services/data/v{version}/{cursor.path}/{locator}-{end}"
        else:
            CURSORS.close(locator)
    return answer


def _batch_size(options: str | None) -> int:
    """From ``Sforce-Query-Options: batchSize=500``; Salesforce clamps it to 200..2,000."""
    for option in (options or "").split(","):
        name, _, value = option.strip().partition("=")
        if name.strip() == "batchSize" and value.strip().isdigit():
            return max(MIN_BATCH, min(MAX_BATCH, int(value)))
    return MAX_BATCH


def _check_path(sobject: SObject, path: str) -> None:
    *relationships, name = path.split(".")
    current = sobject
    for relationship in relationships:
        reference = current.relationship(relationship)
        target = sobject_named(reference.reference_to or "") if reference else None
        if target is None:
            raise SalesforceError(
                400,
                "INVALID_FIELD",
                f"Didn't understand relationship '{relationship}' in field path '{path}' on entity "
                f"'{sobject.name}'. If you are attempting to use a custom relationship, be sure to append "
                "the '__r' after the custom relationship name.",
            )
        current = target
    if current.field(name) is None:
        raise SalesforceError(
            400,
            "INVALID_FIELD",
            f"No such column '{name}' on entity '{current.name}'. If you are attempting to use a custom field, "
            "be sure to append the '__c' after the custom field name.",
        )


def _value_of(records: Records, sobject: SObject, record: dict[str, Any] | None, path: str) -> Any:
    *relationships, name = path.split(".")
    current = sobject
    for relationship in relationships:
        if record is None:
            return None
        reference = current.relationship(relationship)
        assert reference is not None  # checked by _check_path
        record = records.parent(reference, record)
        if record is None:
            return None
        current = BY_KEY_PREFIX[record["Id"][:3]]
    if record is None:
        return None
    field = current.field(name)
    return record.get(field.name) if field else None


def _matching_ids(records: Records, sobject: SObject, parsed: Query, include_deleted: bool) -> list[str]:
    found = candidates(records.collection(sobject), _lookups(sobject, parsed.where), _as_compared)
    rows = [r for r in found if include_deleted or not r["IsDeleted"]]
    if parsed.where is not None:
        rows = [
            r for r in rows if matches(parsed.where, lambda path, r=r: _value_of(records, sobject, r, path))
        ]
    for ordering in reversed(parsed.order_by):
        rows.sort(
            key=lambda r, o=ordering: sort_key(o, _value_of(records, sobject, r, o.field)),
            reverse=ordering.descending,
        )
    rows = rows[parsed.offset :]
    if parsed.limit is not None:
        rows = rows[: parsed.limit]
    return [r["Id"] for r in rows]


def _lookups(sobject: SObject, condition: Condition | None) -> Lookups | None:
    """Where the records a WHERE can match are: ``Field = 'text'`` and ``Field IN ('a', 'b')`` on the
    object's own fields name the values (as a comparison folds them); None if it can match any record."""
    if isinstance(condition, Comparison):
        own = sobject.field(condition.field) if "." not in condition.field else None
        values = condition.value if condition.operator == "IN" else (condition.value,)
        if (
            own is None
            or condition.operator not in ("=", "IN")
            or not all(isinstance(v, str) for v in values)
        ):
            return None
        return ((own.name, tuple(v.casefold() for v in values)),)
    if isinstance(condition, BooleanOp):
        found = [_lookups(sobject, c) for c in condition.conditions]
        if condition.operator == "AND":
            return next((f for f in found if f is not None), None)
        return None if None in found else tuple(itertools.chain(*found))  # type: ignore[arg-type]
    return None  # NOT, or no WHERE


def _as_compared(field: str) -> IndexKeys:
    """The index of ``field`` as a text comparison reads it: any value as folded text (None: never equal)."""
    return lambda record: [] if record.get(field) is None else [str(record[field]).casefold()]


def _render(
    records: Records, sobject: SObject, record: dict[str, Any] | None, fields: tuple[str, ...], version: str
) -> dict[str, Any]:
    """One result row: selected fields in order, parent fields nested under their relationship."""
    assert record is not None
    row: dict[str, Any] = {"attributes": {"type": sobject.name, "url": _url(sobject, record, version)}}
    for path in fields:
        _place(records, sobject, record, path.split("."), row, version)
    return row


def _place(
    records: Records,
    sobject: SObject,
    record: dict[str, Any],
    parts: list[str],
    row: dict[str, Any],
    version: str,
) -> None:
    if len(parts) == 1:
        field = sobject.field(parts[0])
        assert field is not None
        value = record.get(field.name)
        if field.type == "base64" and value is not None:
            value = f"{_url(sobject, record, version)}/{field.name}"
        row[field.name] = value
        return
    reference = sobject.relationship(parts[0])
    assert reference is not None and reference.relationship_name is not None
    parent = records.parent(reference, record)
    key = reference.relationship_name
    if parent is None:
        row[key] = None
        return
    target = BY_KEY_PREFIX[parent["Id"][:3]]  # by the id: an Attachment's parent may be any record
    nested = row.get(key) or {"attributes": {"type": target.name, "url": _url(target, parent, version)}}
    row[key] = nested
    _place(records, target, parent, parts[1:], nested, version)


def _url(sobject: SObject, record: dict[str, Any], version: str) -> str:
    return f"/services/data/v{version}/sobjects/{sobject.name}/{record['Id']}"
