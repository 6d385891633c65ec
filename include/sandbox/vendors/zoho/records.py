"""CRM records as Zoho stores and answers them: validated writes, field selection, sorting and pages.

Routes stay thin: they parse parameters and call these functions. Records are stored with
lookups as ``{"name", "id"}`` and times as Zoho strings; a write answers one element per
input record in input order, a success or Zoho's error for that record.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import time
from typing import Any

from sandbox.store import Collection
from sandbox.vendor import VendorState
from sandbox.vendors.zoho.api import (
    ZohoError,
    invalid_param,
    new_ids,
    now,
    owner,
    parse_time,
    record_error,
    settings,
    zoho_time,
)
from sandbox.vendors.zoho.metadata import MODULES, Module

MAX_PER_PAGE = 200
DISCRETE_PAGE_LIMIT = 2000
MAX_WRITE_RECORDS = 100
MAX_FIELDS = 50
PAGE_TOKEN_LIFETIME_S = 24 * 3600
SORTABLE = ("id", "Created_Time", "Modified_Time")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Upsert matches on these when the request names no duplicate_check_fields (Zoho: system, then unique fields).
DEFAULT_DUPLICATE_CHECK = {
    "Leads": ("Email",),
    "Contacts": ("Email",),
    "Accounts": ("Account_Name",),
    "Deals": ("Deal_Name",),
    "Cases": ("Subject",),
}


def module_or_error(api_name: str) -> Module:
    module = MODULES.get(api_name)
    if module is None:
        raise ZohoError(
            400, "INVALID_MODULE", "the module name given seems to be invalid", resource_path_index=0
        )
    return module


def records_of(state: VendorState, module: Module) -> Collection:
    return state.collection(module.api_name)


def display_name(module: Module, record: dict[str, Any]) -> str:
    if module.api_name in ("Leads", "Contacts"):
        return " ".join(p for p in (record.get("First_Name"), record.get("Last_Name")) if p)
    return str(record.get(module.display_field) or "")


# ---- reads -----------------------------------------------------------------------------------


def selected_fields(module: Module, fields: str | None, required: bool = True) -> list[str] | None:
    """The ``fields`` parameter as a list, checked against the module; ``None`` means all fields."""
    if not fields:
        if required:
            raise ZohoError(
                400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", param_name="fields"
            )
        return None
    names = [name.strip() for name in fields.split(",") if name.strip()]
    if len(names) > MAX_FIELDS:
        raise ZohoError(
            400, "LIMIT_EXCEEDED", f"at most {MAX_FIELDS} fields can be asked for", limit=MAX_FIELDS
        )
    for name in names:
        if name != "id" and module.field(name) is None:
            raise invalid_param(
                "fields", f"the field {name} is not a field of {module.api_name}", api_name=name
            )
    return names


def render(record: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    """The record as Zoho answers it: ``id`` plus the asked fields (absent ones as null)."""
    if fields is None:
        return {k: v for k, v in record.items() if not k.startswith("_")}
    return {"id": record["id"], **{name: record.get(name) for name in fields if name != "id"}}


def modified_since(
    records: list[dict[str, Any]], header: str | None, key: str = "Modified_Time"
) -> list[dict]:
    """Records changed at or after ``If-Modified-Since``.

    Zoho times have second precision, so "at or after" is used: a client passing the last
    ``Modified_Time`` it saw re-reads that second's records instead of missing some.
    """
    if not header:
        return records
    try:
        since = parse_time(header).timestamp()
    except ValueError:
        raise invalid_param(
            "If-Modified-Since", "the If-Modified-Since header must be an ISO 8601 date-time"
        ) from None
    return [r for r in records if parse_time(r[key]).timestamp() >= since]


def sort_records(records: list[dict[str, Any]], sort_by: str | None, sort_order: str | None) -> list[dict]:
    sort_by = sort_by or "id"
    sort_order = sort_order or "desc"
    if sort_by not in SORTABLE:
        raise invalid_param(
            "sort_by", f"sort_by must be one of {', '.join(SORTABLE)}", supported_values=SORTABLE
        )
    if sort_order not in ("asc", "desc"):
        raise invalid_param("sort_order", "sort_order must be asc or desc", supported_values=["asc", "desc"])
    if sort_by == "id":
        key: Any = lambda r: int(r["id"])  # noqa: E731
    else:
        key = lambda r: (parse_time(r[sort_by]).timestamp(), int(r["id"]))  # noqa: E731
    return sorted(records, key=key, reverse=sort_order == "desc")


def per_page_of(per_page: str | None) -> int:
    value = _integer("per_page", per_page, MAX_PER_PAGE)
    if not 1 <= value <= MAX_PER_PAGE:
        raise invalid_param(
            "per_page", f"per_page must be between 1 and {MAX_PER_PAGE}", maximum_value=MAX_PER_PAGE
        )
    return value


def page_of(page: str | None) -> int:
    value = _integer("page", page, 1)
    if value < 1:
        raise invalid_param("page", "page must be 1 or more")
    return value


def _integer(name: str, text: str | None, default: int) -> int:
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise invalid_param(name, f"{name} must be an integer", expected_data_type="integer") from None


def page_window(
    state: VendorState, module_name: str, page: str | None, per_page: str | None, page_token: str | None
) -> tuple[int, int]:
    """(offset, per_page) of the asked page: ``page`` reaches the first 2,000 records, ``page_token`` the rest."""
    size = per_page_of(per_page)
    if page_token:
        return read_page_token(state, module_name, page_token), size
    number = page_of(page)
    if number * size > DISCRETE_PAGE_LIMIT:
        raise ZohoError(
            400,
            "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
            "You can only get the first 2000 records without using page_token param",
            limit=DISCRETE_PAGE_LIMIT,
        )
    return (number - 1) * size, size


def page_token(state: VendorState, module_name: str, offset: int) -> tuple[str, str]:
    """An opaque token for the records from ``offset`` on, and its expiry (Zoho's ``page_token_expiry``)."""
    expiry = int(time.time()) + PAGE_TOKEN_LIFETIME_S
    payload = {"m": module_name, "o": offset, "e": settings(state)["page_token_epoch"], "x": expiry}
    token = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
    return token, zoho_time(dt.datetime.fromtimestamp(expiry, dt.UTC))


def read_page_token(state: VendorState, module_name: str, token: str) -> int:
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset, epoch, expiry, module = int(payload["o"]), payload["e"], payload["x"], payload["m"]
    except (ValueError, KeyError, TypeError):
        raise invalid_param("page_token", "the page_token given seems to be invalid") from None
    if module != module_name:
        raise invalid_param("page_token", "the page_token given belongs to another module")
    if epoch != settings(state)["page_token_epoch"] or expiry < time.time():
        raise invalid_param("page_token", "the page_token has expired; start again from page 1")
    return offset


def page_answer(
    state: VendorState,
    module_name: str,
    records: list[dict[str, Any]],
    offset: int,
    size: int,
    fields: list[str] | None,
    sort: tuple[str, str] | None = None,
    with_token: bool = True,
) -> dict[str, Any] | None:
    """One page of ``records`` as Zoho's ``{"data", "info"}``; ``None`` when the page is empty (HTTP 204)."""
    chunk = records[offset : offset + size]
    if not chunk:
        return None
    more = offset + size < len(records)
    info: dict[str, Any] = {
        "per_page": size,
        "count": len(chunk),
        "page": offset // size + 1,
        "more_records": more,
    }
    if sort is not None:
        info["sort_by"], info["sort_order"] = sort
    if with_token and more:
        info["next_page_token"], info["page_token_expiry"] = page_token(state, module_name, offset + size)
    return {"data": [render(r, fields) for r in chunk], "info": info}


# ---- writes ----------------------------------------------------------------------------------


def check_batch(body: Any, limit: int = MAX_WRITE_RECORDS) -> list[Any]:
    """The ``data`` array of a write body, or the request-level error Zoho gives for it."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise ZohoError(
            400, "INVALID_DATA", "the body must be a JSON object with a data array", api_name="data"
        )
    if not body["data"]:
        raise ZohoError(400, "REQUIRED_PARAM_MISSING", "the data array is empty", param_name="data")
    if len(body["data"]) > limit:
        raise ZohoError(
            400, "LIMIT_EXCEEDED", f"at most {limit} records can be written in one call", limit=limit
        )
    return body["data"]


def write_success(record: dict[str, Any], message: str, **extra: Any) -> dict[str, Any]:
    details = {
        "Modified_Time": record["Modified_Time"],
        "Modified_By": record["Modified_By"],
        "Created_Time": record["Created_Time"],
        "id": record["id"],
        "Created_By": record["Created_By"],
    }
    return {"code": "SUCCESS", **extra, "details": details, "message": message, "status": "success"}


def merged_record(
    state: VendorState,
    module: Module,
    values: Any,
    index: int,
    existing: dict[str, Any] | None,
    new_id: str | None = None,
) -> dict[str, Any]:
    """The record after writing ``values`` (an insert when ``existing`` is None); raises ``RecordRejected``."""
    if not isinstance(values, dict):
        raise RecordRejected(record_error("INVALID_DATA", "invalid data", json_path=f"$.data[{index}]"))
    record = dict(existing) if existing else {}
    for name, value in values.items():
        spec = module.field(name)
        if spec is None or spec.read_only or name == "id":
            continue  # Zoho ignores fields it does not know and system fields
        path = f"$.data[{index}].{name}"
        record[name] = _checked_value(
            state, spec.data_type, spec.lookup_module, spec.length, name, path, value
        )
    if existing is None:
        for spec in module.fields:
            if spec.mandatory and record.get(spec.api_name) in (None, ""):
                raise RecordRejected(
                    record_error(
                        "MANDATORY_NOT_FOUND",
                        "required field not found",
                        api_name=spec.api_name,
                        json_path=f"$.data[{index}].{spec.api_name}",
                    )
                )
    stamp = now()
    if existing is None:
        record.update(
            id=new_id or new_ids(state, 1)[0],
            Owner=owner(),
            Created_Time=stamp,
            Created_By=owner(),
        )
        if module.api_name == "Cases":
            record["Case_Number"] = str(len(state.collection("Cases")) + 1).zfill(5)
    record.update(Modified_Time=stamp, Modified_By=owner())
    if module.api_name in ("Leads", "Contacts"):
        record["Full_Name"] = display_name(module, record)
    return record


class RecordRejected(Exception):
    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__(answer["message"])
        self.answer = answer


def _checked_value(
    state: VendorState,
    data_type: str,
    lookup_module: str | None,
    length: int,
    name: str,
    path: str,
    value: Any,
) -> Any:
    def reject(expected: str, **more: Any) -> RecordRejected:
        return RecordRejected(
            record_error(
                "INVALID_DATA",
                "invalid data",
                api_name=name,
                json_path=path,
                expected_data_type=expected,
                **more,
            )
        )

    if value is None:
        return None
    if data_type == "lookup" and lookup_module:
        target_id = value.get("id") if isinstance(value, dict) else value
        target = state.collection(lookup_module).get(str(target_id)) if target_id else None
        if target is None:
            raise reject("jsonobject")
        return {"name": display_name(MODULES[lookup_module], target), "id": target["id"]}
    if data_type == "ownerlookup":
        return owner()
    if data_type == "currency":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise reject("double")
        return value
    if not isinstance(value, str):
        raise reject("string")
    if len(value) > length:
        raise RecordRejected(
            record_error("INVALID_DATA", "invalid data", api_name=name, json_path=path, maximum_length=length)
        )
    if data_type == "email" and value and not _EMAIL.match(value):
        raise reject("email")
    return value


def duplicate_index(records: Collection, fields: tuple[str, ...]) -> dict[tuple[str, str], dict[str, Any]]:
    """(field, value) → first record with it; built once per upsert call, emails compared case-insensitively."""
    index: dict[tuple[str, str], dict[str, Any]] = {}
    for record in records:
        for name in fields:
            value = record.get(name)
            if isinstance(value, str) and value:
                index.setdefault((name, value.casefold()), record)
    return index
