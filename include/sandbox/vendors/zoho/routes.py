"""Zoho CRM v8 record routes: read, search, write, upsert, delete, deleted records, related lists, COQL, metadata.

Query parameters are plain strings, checked by hand so a bad one gets Zoho's error body
rather than FastAPI's. An empty result is HTTP 204 with no body, as Zoho answers it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse

from sandbox.lookup import Filter, candidates
from sandbox.vendors.zoho.api import (
    JsonBody,
    ZohoError,
    ZohoRoute,
    invalid_param,
    now,
    owner,
    record_error,
    zoho,
)
from sandbox.vendors.zoho.coql import CoqlError, field_value, parse_coql
from sandbox.vendors.zoho.criteria import any_field_equals, indexed, parse_criteria
from sandbox.vendors.zoho.metadata import (
    MODULES,
    field_description,
    module_description,
    related_list_descriptions,
)
from sandbox.vendors.zoho.records import (
    DEFAULT_DUPLICATE_CHECK,
    DISCRETE_PAGE_LIMIT,
    RecordRejected,
    check_batch,
    display_name,
    duplicate_index,
    merged_record,
    modified_since,
    module_or_error,
    page_answer,
    page_of,
    page_window,
    per_page_of,
    records_of,
    render,
    selected_fields,
    sort_records,
    write_success,
)

router = APIRouter(route_class=ZohoRoute)
NO_CONTENT = 204
NOT_MODIFIED = 304


def _answer(body: dict[str, Any] | None, status: int = 200, empty_status: int = NO_CONTENT) -> Response:
    return Response(status_code=empty_status) if body is None else JSONResponse(body, status_code=status)


# ---- metadata --------------------------------------------------------------------------------


@router.get("/crm/v8/settings/modules")
def list_modules() -> dict[str, Any]:
    return {"modules": [module_description(m) for m in MODULES.values()]}


@router.get("/crm/v8/settings/modules/{api_name}")
def get_module(api_name: str) -> dict[str, Any]:
    return {"modules": [module_description(module_or_error(api_name))]}


@router.get("/crm/v8/settings/fields")
def list_fields(module: str | None = None) -> dict[str, Any]:
    if not module:
        raise ZohoError(
            400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", param_name="module"
        )
    spec = module_or_error(module)
    return {"fields": [field_description(spec, f, i + 1) for i, f in enumerate(spec.all_fields)]}


@router.get("/crm/v8/settings/related_lists")
def list_related_lists(module: str | None = None) -> dict[str, Any]:
    if not module:
        raise ZohoError(
            400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", param_name="module"
        )
    spec = MODULES.get(module)
    if spec is None:
        raise ZohoError(400, "INVALID_MODULE", "the module name given seems to be invalid", param="module")
    return {"related_lists": related_list_descriptions(spec)}


# ---- COQL ------------------------------------------------------------------------------------


@router.post("/crm/v8/coql")
def coql(request: Request, body: JsonBody) -> Response:
    if not isinstance(body, dict) or not isinstance(body.get("select_query"), str):
        raise ZohoError(
            400,
            "REQUIRED_PARAM_MISSING",
            "One of the expected parameter is missing",
            param_name="select_query",
        )
    try:
        query = parse_coql(body["select_query"])
    except CoqlError as error:
        raise ZohoError(400, error.code, error.message, **error.details) from None
    module = MODULES.get(query.module)
    if module is None:
        raise ZohoError(
            400, "INVALID_QUERY", "invalid query formed", reason="invalid module", module=query.module
        )
    for name in (*query.fields, *query.where_fields, *(f for f, _ in query.order_by)):
        if name != "id" and module.field(name.split(".")[0]) is None:
            raise ZohoError(400, "INVALID_QUERY", "column given seems to be invalid", column_name=name)
    matching = query.sort([r for r in records_of(zoho(request), module) if query.matches(r)])
    chunk = matching[query.offset : query.offset + query.limit]
    if not chunk:
        return Response(status_code=NO_CONTENT)
    data = [
        {"id": r["id"], **{name: field_value(r, name) for name in query.fields if name != "id"}}
        for r in chunk
    ]
    more = query.offset + query.limit < len(matching)
    return JSONResponse({"data": data, "info": {"count": len(data), "more_records": more}})


# ---- reads -----------------------------------------------------------------------------------


@router.get("/crm/v8/{module:zoho_module}/search")
def search(
    request: Request,
    module: str,
    criteria: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    word: str | None = None,
    fields: str | None = None,
    page: str | None = None,
    per_page: str | None = None,
) -> Response:
    """Search stops at 2,000 records whatever the page; there is no page_token here."""
    spec = module_or_error(module)
    wanted = selected_fields(spec, fields, required=False)
    if criteria:
        predicate = parse_criteria(criteria, spec)
    elif email:
        predicate = any_field_equals(_fields_of_type(spec, "email"), email)
    elif phone:
        predicate = any_field_equals(_fields_of_type(spec, "phone"), phone)
    elif word:
        needle = word.casefold()
        predicate = Filter(
            lambda r: any(needle in str(v).casefold() for v in r.values() if isinstance(v, str))
        )
    else:
        raise ZohoError(
            400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", param_name="criteria"
        )
    size, number = per_page_of(per_page), page_of(page)
    if number * size > DISCRETE_PAGE_LIMIT:
        raise ZohoError(
            400, "LIMIT_REACHED", "search can reach only the first 2000 records", limit=DISCRETE_PAGE_LIMIT
        )
    found = candidates(records_of(zoho(request), spec), predicate.lookups, indexed)
    matching = [r for r in found if predicate(r)][:DISCRETE_PAGE_LIMIT]
    answer = page_answer(zoho(request), module, matching, (number - 1) * size, size, wanted, with_token=False)
    return _answer(answer)


def _fields_of_type(spec: Any, data_type: str) -> list[str]:
    return [f.api_name for f in spec.fields if f.data_type == data_type]


@router.get("/crm/v8/{module:zoho_module}/deleted")
def deleted_records(
    request: Request,
    module: str,
    type: str | None = None,
    page: str | None = None,
    per_page: str | None = None,
    if_modified_since: str | None = Header(None),
) -> Response:
    module_or_error(module)
    kind = type or "all"
    if kind not in ("all", "recycle", "permanent"):
        raise invalid_param(
            "type", "type must be all, recycle or permanent", supported_values=["all", "recycle", "permanent"]
        )
    entries = [e for e in zoho(request).collection("deleted") if e["module"] == module]
    entries = [e for e in entries if kind == "all" or e["type"] == kind]
    entries = modified_since(entries, if_modified_since, key="deleted_time")
    entries.sort(key=lambda e: (e["deleted_time"], e["id"]), reverse=True)
    size, number = per_page_of(per_page), page_of(page)
    chunk = entries[(number - 1) * size : number * size]
    if not chunk:
        return Response(status_code=NOT_MODIFIED if if_modified_since and not entries else NO_CONTENT)
    fields = ["deleted_by", "display_name", "type", "created_by", "deleted_time"]
    info = {
        "per_page": size,
        "count": len(chunk),
        "page": number,
        "more_records": number * size < len(entries),
    }
    return JSONResponse({"data": [render(e, fields) for e in chunk], "info": info})


@router.get("/crm/v8/{module:zoho_module}")
def list_records(
    request: Request,
    module: str,
    fields: str | None = None,
    page: str | None = None,
    per_page: str | None = None,
    page_token: str | None = None,
    sort_by: str | None = None,
    sort_order: str | None = None,
    ids: str | None = None,
    if_modified_since: str | None = Header(None),
) -> Response:
    spec = module_or_error(module)
    wanted = selected_fields(spec, fields)
    state = zoho(request)
    records = list(records_of(state, spec))
    if ids:
        wanted_ids = {i.strip() for i in ids.split(",")}
        records = [r for r in records if r["id"] in wanted_ids]
    records = modified_since(records, if_modified_since)
    records = sort_records(records, sort_by, sort_order)
    offset, size = page_window(state, module, page, per_page, page_token)
    answer = page_answer(
        state, module, records, offset, size, wanted, (sort_by or "id", sort_order or "desc")
    )
    return _answer(answer, empty_status=NOT_MODIFIED if if_modified_since and not records else NO_CONTENT)


@router.get("/crm/v8/{module:zoho_module}/{record_id}")
def get_record(request: Request, module: str, record_id: str, fields: str | None = None) -> Response:
    spec = module_or_error(module)
    record = records_of(zoho(request), spec).get(record_id)
    if record is None:
        return Response(status_code=NO_CONTENT)
    return JSONResponse({"data": [render(record, selected_fields(spec, fields, required=False))]})


@router.get("/crm/v8/{module:zoho_module}/{record_id}/{related_list}")
def related_records(
    request: Request,
    module: str,
    record_id: str,
    related_list: str,
    fields: str | None = None,
    page: str | None = None,
    per_page: str | None = None,
    if_modified_since: str | None = Header(None),
) -> Response:
    """A record's child records (Contacts of an Account, Cases of a Contact); Notes and Attachments have their own routes."""
    spec = module_or_error(module)
    state = zoho(request)
    if records_of(state, spec).get(record_id) is None:
        raise ZohoError(400, "INVALID_DATA", "the related id given seems to be invalid", api_name="id")
    lookup = spec.related_lists.get(related_list)
    if lookup is None:
        raise ZohoError(
            404,
            "INVALID_URL_PATTERN",
            "Please check if the URL trying to access is a correct one",
            resource_path_index=3,
        )
    child = MODULES[related_list]
    wanted = selected_fields(child, fields)
    children = [r for r in records_of(state, child) if (r.get(lookup) or {}).get("id") == record_id]
    children = modified_since(children, if_modified_since)
    size, number = per_page_of(per_page), page_of(page)
    answer = page_answer(state, related_list, children, (number - 1) * size, size, wanted, with_token=False)
    return _answer(answer)


# ---- writes ----------------------------------------------------------------------------------


@router.post("/crm/v8/{module:zoho_module}")
def insert_records(request: Request, module: str, body: JsonBody) -> JSONResponse:
    """Per-record outcomes in input order; the spec gives HTTP 200 for the call whatever each record's fate."""
    spec = module_or_error(module)
    state = zoho(request)
    answers = []
    for index, values in enumerate(check_batch(body)):
        try:
            record = merged_record(state, spec, values, index, None)
        except RecordRejected as rejected:
            answers.append(rejected.answer)
            continue
        _store(state, spec, record)
        answers.append(write_success(record, "record added"))
    return JSONResponse({"data": answers})


@router.put("/crm/v8/{module:zoho_module}")
def update_records(request: Request, module: str, body: JsonBody) -> JSONResponse:
    spec = module_or_error(module)
    state = zoho(request)
    answers = []
    for index, values in enumerate(check_batch(body)):
        existing = records_of(state, spec).get(str(values.get("id"))) if isinstance(values, dict) else None
        if existing is None:
            answers.append(
                record_error(
                    "INVALID_DATA",
                    "the id given seems to be invalid",
                    api_name="id",
                    json_path=f"$.data[{index}].id",
                )
            )
            continue
        answers.append(_update(state, spec, values, index, existing))
    return JSONResponse({"data": answers})


@router.put("/crm/v8/{module:zoho_module}/{record_id}")
def update_record(request: Request, module: str, record_id: str, body: JsonBody) -> JSONResponse:
    spec = module_or_error(module)
    state = zoho(request)
    values = check_batch(body, limit=1)[0]
    existing = records_of(state, spec).get(record_id)
    if existing is None:
        raise ZohoError(
            400, "INVALID_DATA", "the id given seems to be invalid", api_name="id", resource_path_index=2
        )
    return JSONResponse({"data": [_update(state, spec, values, 0, existing)]})


def _update(state: Any, spec: Any, values: Any, index: int, existing: dict[str, Any]) -> dict[str, Any]:
    try:
        record = merged_record(state, spec, values, index, existing)
    except RecordRejected as rejected:
        return rejected.answer
    _store(state, spec, record)
    return write_success(record, "record updated")


def _store(state: Any, spec: Any, record: dict[str, Any]) -> None:
    """Keep a written record (Zoho's ``on_change`` gives a deal whose stage it set its history entry)."""
    records_of(state, spec).put(record["id"], record)


@router.post("/crm/v8/{module:zoho_module}/upsert")
def upsert_records(request: Request, module: str, body: JsonBody) -> JSONResponse:
    """Match by ``id``, then by ``duplicate_check_fields`` (in order); update the match or insert."""
    spec = module_or_error(module)
    state = zoho(request)
    data = check_batch(body)
    check_fields = tuple(body.get("duplicate_check_fields") or DEFAULT_DUPLICATE_CHECK.get(module, ()))
    for name in check_fields:
        if spec.field(name) is None:
            raise invalid_param("duplicate_check_fields", f"{name} is not a field of {module}", api_name=name)
    collection = records_of(state, spec)
    index_by_value = duplicate_index(collection, check_fields)
    answers = []
    for index, values in enumerate(data):
        match, matched_on = None, None
        if isinstance(values, dict) and values.get("id"):
            match = collection.get(str(values["id"]))
            matched_on = "id" if match else None
        for name in check_fields if match is None and isinstance(values, dict) else ():
            value = values.get(name)
            if isinstance(value, str) and (name, value.casefold()) in index_by_value:
                match, matched_on = collection.get(index_by_value[(name, value.casefold())]["id"]), name
                break
        try:
            record = merged_record(state, spec, values, index, match)
        except RecordRejected as rejected:
            answers.append(rejected.answer)
            continue
        _store(state, spec, record)
        for name in check_fields:
            if isinstance(record.get(name), str) and record[name]:
                index_by_value.setdefault((name, record[name].casefold()), record)
        if match is None:
            answers.append(write_success(record, "record added", action="insert"))
        else:
            answers.append(
                write_success(record, "record updated", action="update", duplicate_field=matched_on)
            )
    return JSONResponse({"data": answers})


@router.delete("/crm/v8/{module:zoho_module}")
def delete_records(request: Request, module: str, ids: str | None = None) -> JSONResponse:
    spec = module_or_error(module)
    if not ids:
        raise ZohoError(
            400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", param_name="ids"
        )
    wanted = [i.strip() for i in ids.split(",") if i.strip()]
    if len(wanted) > 100:
        raise ZohoError(400, "LIMIT_EXCEEDED", "at most 100 records can be deleted in one call", limit=100)
    return JSONResponse({"data": [_delete(request, spec, record_id) for record_id in wanted]})


@router.delete("/crm/v8/{module:zoho_module}/{record_id}")
def delete_record(request: Request, module: str, record_id: str) -> JSONResponse:
    return JSONResponse({"data": [_delete(request, module_or_error(module), record_id)]})


def _delete(request: Request, spec: Any, record_id: str) -> dict[str, Any]:
    state = zoho(request)
    record = records_of(state, spec).get(record_id)
    if record is None:
        return record_error("INVALID_DATA", "the id given seems to be invalid", id=record_id)
    records_of(state, spec).delete(record_id)
    state.collection("deleted").put(
        record_id,
        {
            "module": spec.api_name,
            "id": record_id,
            "display_name": display_name(spec, record),
            "type": "recycle",
            "deleted_by": owner(),
            "created_by": record.get("Created_By") or owner(),
            "deleted_time": now(),
        },
    )
    return {"code": "SUCCESS", "details": {"id": record_id}, "message": "record deleted", "status": "success"}
