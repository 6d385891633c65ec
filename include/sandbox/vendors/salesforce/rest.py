"""sObject REST routes: versions and resources, describe, single-record CRUD, sObject Collections,
``updated``/``deleted``, limits.

sObject Collections answer 200 even when records fail, with one result per record in input
order and errors keyed ``statusCode`` (not ``errorCode``); with ``allOrNone`` nothing is
written if any record fails, and the valid ones report ``ALL_OR_NONE_OPERATION_ROLLED_BACK``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from sandbox.vendors.salesforce.api import (
    MAX_API_VERSION,
    MIN_API_VERSION,
    DailyAllowance,
    SalesforceError,
    SalesforcePath,
    SalesforceRoute,
    api_version,
    json_object,
    parse_time,
    salesforce,
    salesforce_time,
)
from sandbox.vendors.salesforce.records import Records, attributes, sobject_or_error
from sandbox.vendors.salesforce.schema import BY_KEY_PREFIX, SOBJECTS, Field, SObject, sobject_named

COLLECTION_LIMIT = 200
REPLICATION_DAYS = 30
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}

ENTITY_PARTS = {
    "ContentVersion": "entity_content"
}  # the multipart blob insert's fields part, where not entity_<sobject>

router = APIRouter(route_class=SalesforceRoute)
public = APIRouter(route_class=SalesforcePath)

# The limits besides DailyApiRequests, as a Developer Edition org reports them untouched.
_FIXED_LIMITS = {
    "DailyAsyncApexExecutions": 250_000,
    "DailyBulkApiBatches": 15_000,
    "DailyBulkV2QueryJobs": 10_000,
    "DataStorageMB": 5,
    "FileStorageMB": 20,
    "SingleEmail": 15,
}


@public.get("/services/data")
def versions() -> list[dict[str, str]]:
    """Every version the org serves, oldest first; Salesforce answers this one without a session."""
    newest = int(float(MAX_API_VERSION))
    return [
        {"label": _release(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
        for v in range(int(float(MIN_API_VERSION)), newest + 1)
    ]


@router.get("/services/data/{version}")
def resources(version: str) -> dict[str, str]:
    """The resources of a version that the sandbox serves, by name."""
    base = f"/services/data/v{api_version(version)}"
    return {name: f"{base}/{name}" for name in ("sobjects", "query", "queryAll", "limits", "composite")}


@router.get("/services/data/{version}/limits")
def limits(request: Request, version: str) -> dict[str, Any]:
    api_version(version)
    used, maximum = DailyAllowance(salesforce(request)).get()
    return {
        "DailyApiRequests": {"Max": maximum, "Remaining": max(0, maximum - used)},
        **{name: {"Max": most, "Remaining": most} for name, most in _FIXED_LIMITS.items()},
    }


@router.get("/services/data/{version}/sobjects")
def describe_global(version: str) -> dict[str, Any]:
    number = api_version(version)
    return {
        "encoding": "UTF-8",
        "maxBatchSize": COLLECTION_LIMIT,
        "sobjects": [_summary(s, number) for s in SOBJECTS.values()],
    }


@router.get("/services/data/{version}/sobjects/{sobject}")
def sobject_basic_info(version: str, sobject: str) -> dict[str, Any]:
    number = api_version(version)
    return {"objectDescribe": _summary(sobject_or_error(sobject), number), "recentItems": []}


@router.get("/services/data/{version}/sobjects/{sobject}/describe")
def describe(version: str, sobject: str) -> dict[str, Any]:
    number = api_version(version)
    described = sobject_or_error(sobject)
    return {**_summary(described, number), "fields": [_describe_field(f) for f in described.fields]}


@router.get("/services/data/{version}/sobjects/{sobject}/updated")
def updated(
    request: Request, version: str, sobject: str, start: str | None = None, end: str | None = None
) -> dict:
    api_version(version)
    described = sobject_or_error(sobject)
    since, until = _window(start, end)
    ids = [
        r["Id"]
        for r in Records(salesforce(request)).collection(described)
        if not r["IsDeleted"] and since <= parse_time(r["SystemModstamp"]) < until
    ]
    return {"ids": ids, "latestDateCovered": salesforce_time(until)}


@router.get("/services/data/{version}/sobjects/{sobject}/deleted")
def deleted(
    request: Request, version: str, sobject: str, start: str | None = None, end: str | None = None
) -> dict:
    api_version(version)
    described = sobject_or_error(sobject)
    since, until = _window(start, end)
    bin_ = [r for r in Records(salesforce(request)).collection(described) if r["IsDeleted"]]
    in_window = [r for r in bin_ if since <= parse_time(r["_deletedDate"]) < until]
    earliest = min((r["_deletedDate"] for r in bin_), default=salesforce_time(since))
    return {
        "deletedRecords": [{"id": r["Id"], "deletedDate": r["_deletedDate"]} for r in in_window],
        "earliestDateAvailable": earliest,
        "latestDateCovered": salesforce_time(until),
    }


@router.post("/services/data/{version}/sobjects/{sobject}", status_code=201)
async def create(request: Request, version: str, sobject: str) -> JSONResponse:
    number = api_version(version)
    described = sobject_or_error(sobject)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        body = await _blob_insert(request, described)
    else:
        body = await json_object(request)
    records = Records(salesforce(request))
    [new_id] = records.insert(described, [records.prepare_create(described, body)])
    return JSONResponse(
        {"id": new_id, "success": True, "errors": []},
        status_code=201,
        headers={"Location": attributes(described, new_id, number)["url"]},
    )


@router.get("/services/data/{version}/sobjects/{sobject}/{record_id}")
def get_record(
    request: Request, version: str, sobject: str, record_id: str, fields: str | None = None
) -> dict:
    number = api_version(version)
    described = sobject_or_error(sobject)
    records = Records(salesforce(request))
    names = _field_names(described, fields)
    return records.render(described, records.find(described, record_id), number, names)


@router.patch("/services/data/{version}/sobjects/{sobject}/{record_id}", status_code=204)
async def update(request: Request, version: str, sobject: str, record_id: str) -> Response:
    api_version(version)
    described = sobject_or_error(sobject)
    body = await json_object(request)
    records = Records(salesforce(request))
    records.store(described, [records.prepare_update(described, record_id, body)])
    return Response(status_code=204)


@router.delete("/services/data/{version}/sobjects/{sobject}/{record_id}", status_code=204)
def delete(request: Request, version: str, sobject: str, record_id: str) -> Response:
    api_version(version)
    described = sobject_or_error(sobject)
    records = Records(salesforce(request))
    records.store(described, [records.prepare_delete(described, record_id)])
    return Response(status_code=204)


@router.get("/services/data/{version}/sobjects/{sobject}/{record_id}/{blob_field}")
def blob(request: Request, version: str, sobject: str, record_id: str, blob_field: str) -> Response:
    api_version(version)
    described = sobject_or_error(sobject)
    field = described.field(blob_field)
    if field is None or field.type != "base64":
        raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
    record = Records(salesforce(request)).find(described, record_id)
    content = base64.b64decode(record.get(field.name) or "")
    return Response(content, media_type=record.get("ContentType") or "application/octet-stream")


@router.post("/services/data/{version}/composite/sobjects")
async def create_many(request: Request, version: str) -> list[dict[str, Any]]:
    api_version(version)
    body = await json_object(request)
    items = _collection_records(body)
    records = Records(salesforce(request))

    def prepare(item: dict[str, Any]) -> tuple[SObject, dict[str, Any]]:
        described = _record_type(item)
        return described, records.prepare_create(described, item)

    prepared, results = _prepare_all(items, prepare, id_of=lambda _item: None)
    if _rolled_back(results, body):
        return results
    for index, (described, record) in prepared.items():
        [new_id] = records.insert(described, [record])  # one id each: mixed types keep input order
        results[index] = {"id": new_id, "success": True, "errors": []}
    return results


@router.patch("/services/data/{version}/composite/sobjects")
async def update_many(request: Request, version: str) -> list[dict[str, Any]]:
    api_version(version)
    body = await json_object(request)
    items = _collection_records(body)
    records = Records(salesforce(request))

    def prepare(item: dict[str, Any]) -> tuple[SObject, dict[str, Any]]:
        described = _record_type(item)
        record_id = item.get("Id") or item.get("id")
        if not record_id:
            raise SalesforceError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        return described, records.prepare_update(described, str(record_id), item)

    prepared, results = _prepare_all(items, prepare, id_of=lambda item: item.get("Id") or item.get("id"))
    if _rolled_back(results, body):
        return results
    for index, (described, record) in prepared.items():
        records.store(described, [record])
        results[index] = {"id": record["Id"], "success": True, "errors": []}
    return results


@router.delete("/services/data/{version}/composite/sobjects")
def delete_many(request: Request, version: str, ids: str | None = None, allOrNone: str | None = None) -> list:
    api_version(version)
    id_list = [i for i in (ids or "").split(",") if i]
    if not id_list:
        raise SalesforceError(400, "MISSING_ARGUMENT", "ids parameter is required")
    if len(id_list) > COLLECTION_LIMIT:
        raise _too_many()
    records = Records(salesforce(request))

    def prepare(record_id: str) -> tuple[SObject, dict[str, Any]]:
        described = BY_KEY_PREFIX.get(record_id[:3])
        if described is None:
            raise SalesforceError(400, "MALFORMED_ID", f"malformed id {record_id}", ["Id"])
        return described, records.prepare_delete(described, record_id)

    prepared, results = _prepare_all(id_list, prepare, id_of=lambda record_id: record_id)
    if _rolled_back(results, {"allOrNone": (allOrNone or "").lower() == "true"}):
        return results
    for index, (described, record) in prepared.items():
        records.store(described, [record])
        results[index] = {"id": record["Id"], "success": True, "errors": []}
    return results


@router.get("/services/data/{version}/composite/sobjects/{sobject}")
def get_many(
    request: Request, version: str, sobject: str, ids: str | None = None, fields: str | None = None
) -> list:
    number = api_version(version)
    described = sobject_or_error(sobject)
    id_list = [i for i in (ids or "").split(",") if i]
    if len(id_list) > 2000:
        raise _too_many()
    names = _field_names(described, fields)
    records = Records(salesforce(request))
    answer: list[dict[str, Any] | None] = []
    for record_id in id_list:
        try:
            answer.append(records.render(described, records.find(described, record_id), number, names))
        except SalesforceError:
            answer.append(None)
    return answer


def _prepare_all(
    items: list[Any], prepare: Callable[[Any], tuple[SObject, dict[str, Any]]], id_of: Callable[[Any], Any]
) -> tuple[dict[int, tuple[SObject, dict[str, Any]]], list[dict[str, Any]]]:
    """Check every record first; failed ones get their result now, the rest wait to be written."""
    prepared: dict[int, tuple[SObject, dict[str, Any]]] = {}
    results: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            prepared[index] = prepare(item)
            results.append({})
        except SalesforceError as error:
            failure: dict[str, Any] = {"success": False, "errors": [error.record_error()]}
            if id_of(item):
                failure = {"id": id_of(item), **failure}
            results.append(failure)
    return prepared, results


def _rolled_back(results: list[dict[str, Any]], body: dict[str, Any]) -> bool:
    """With allOrNone and any failure, mark the valid records rolled back; True when nothing is written."""
    if not body.get("allOrNone") or all(not r for r in results):
        return False
    for result in results:
        if not result:
            result.update(success=False, errors=[ROLLED_BACK])
    return True


def _collection_records(body: dict[str, Any]) -> list[dict[str, Any]]:
    items = body.get("records")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise SalesforceError(400, "JSON_PARSER_ERROR", "records must be a list of sObjects")
    if len(items) > COLLECTION_LIMIT:
        raise _too_many()
    return items


def _record_type(item: dict[str, Any]) -> SObject:
    name = (item.get("attributes") or {}).get("type")
    if not name:
        raise SalesforceError(400, "INVALID_TYPE", "sObject type not specified in attributes")
    described = sobject_named(str(name))
    if described is None:
        raise SalesforceError(400, "INVALID_TYPE", f"sObject type '{name}' is not supported.")
    return described


def _too_many() -> SalesforceError:
    return SalesforceError(
        400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call"
    )


async def _blob_insert(request: Request, described: SObject) -> dict[str, Any]:
    """Salesforce's multipart insert of blob data: the fields as JSON in the part
    ``entity_<sobject>`` (``entity_attachment``; ``entity_content`` for a ContentVersion), then the
    file, unencoded, in the part named after the blob field (``Body``, ``VersionData``)."""
    form = await request.form()
    part_name = ENTITY_PARTS.get(described.name, f"entity_{described.name.lower()}")
    entity = form.get(part_name)
    if entity is None:
        raise SalesforceError(400, "INVALID_MULTIPART_REQUEST", f"The first part must be named {part_name}")
    raw = await entity.read() if isinstance(entity, UploadFile) else entity.encode()
    try:
        body = json.loads(raw)
    except ValueError as error:
        raise SalesforceError(
            400, "JSON_PARSER_ERROR", f"Unexpected character in the body: {error}"
        ) from None
    for field in described.fields:
        part = form.get(field.name) if field.type == "base64" else None
        if isinstance(part, UploadFile):
            body[field.name] = base64.b64encode(await part.read()).decode()
    return body


def _field_names(described: SObject, fields: str | None) -> list[str] | None:
    if not fields:
        return None
    names = [f.strip() for f in fields.split(",") if f.strip()]
    for name in names:
        if described.field(name) is None:
            raise SalesforceError(
                400, "INVALID_FIELD", f"No such column '{name}' on entity '{described.name}'", [name]
            )
    return names


def _window(start: str | None, end: str | None) -> tuple[dt.datetime, dt.datetime]:
    """The ``start``/``end`` of a replication window, seconds dropped, within the last 30 days."""
    if not start or not end:
        raise SalesforceError(400, "MISSING_ARGUMENT", "start and end are required")
    try:
        since, until = (parse_time(v).replace(second=0, microsecond=0) for v in (start, end))
    except ValueError:
        raise SalesforceError(400, "INVALID_REPLICATION_DATE", f"invalid date: {start} / {end}") from None
    now = dt.datetime.now(dt.UTC)
    if since < now - dt.timedelta(days=REPLICATION_DAYS):
        raise SalesforceError(400, "INVALID_REPLICATION_DATE", "startDate cannot be more than 30 days ago")
    if until <= since:
        raise SalesforceError(
            400,
            "INVALID_REPLICATION_DATE",
            "startDate must chronologically precede endDate by more than one minute",
        )
    return since, min(until, now.replace(second=0, microsecond=0) + dt.timedelta(minutes=1))


def _summary(described: SObject, version: str) -> dict[str, Any]:
    writable = described.name != "User"
    sobject_url = f"/services/data/v{version}/sobjects/{described.name}"
    return {
        "name": described.name,
        "label": described.label,
        "labelPlural": described.label_plural,
        "keyPrefix": described.key_prefix,
        "custom": False,
        "createable": writable,
        "updateable": writable,
        "deletable": writable,
        "undeletable": writable,
        "queryable": True,
        "retrieveable": True,
        "replicateable": True,
        "searchable": True,
        "urls": {
            "sobject": sobject_url,
            "describe": f"{sobject_url}/describe",
            "rowTemplate": f"{sobject_url}/{{ID}}",
        },
    }


def _release(version: int) -> str:
    """The release a version came with: three a year, and v20.0 was Winter '11."""
    year, season = divmod(version - 20, 3)
    return f"{('Winter', 'Spring', 'Summer')[season]} '{11 + year:02d}"


def _describe_field(field: Field) -> dict[str, Any]:
    return {
        "name": field.name,
        "label": field.label,
        "type": field.type,
        "length": field.length,
        "custom": field.name.endswith("__c"),
        "createable": field.createable,
        "updateable": field.updateable,
        "nillable": field.nillable,
        "referenceTo": [field.reference_to] if field.reference_to else [],
        "relationshipName": field.relationship_name,
        "picklistValues": [{"value": v, "label": v, "active": True} for v in field.picklist],
    }
