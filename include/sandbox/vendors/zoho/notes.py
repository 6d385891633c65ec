"""Zoho CRM Notes and Attachments on records.

Notes take the v8 ``Parent_Id`` object (``{"module": {"api_name"}, "id"}``) or the older
form (``"Parent_Id": "<id>", "se_module": "Contacts"``). Attachments are uploaded as
multipart part ``file`` and kept (base64) in the store, so a restart keeps them.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from sandbox.vendor import VendorState
from sandbox.vendors.zoho.api import JsonBody, ZohoError, ZohoRoute, new_ids, now, owner, record_error, zoho
from sandbox.vendors.zoho.metadata import MODULES
from sandbox.vendors.zoho.records import (
    check_batch,
    display_name,
    modified_since,
    module_or_error,
    page_answer,
    page_of,
    per_page_of,
)

router = APIRouter(route_class=ZohoRoute)
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024


# ---- notes -----------------------------------------------------------------------------------


def new_note(
    state: VendorState, module: str, record: dict[str, Any], title: str, content: str, *, stamp: str
) -> dict[str, Any]:
    """A note as Zoho stores and answers it (every property the spec's ``Note`` requires).

    ``stamp`` is its creation time: now for a user's note, a time of the seeded past when seeding,
    so the same seed gives the same notes.
    """
    return {
        "id": new_ids(state, 1)[0],
        "Note_Title": title,
        "Note_Content": content,
        "Parent_Id": {
            "module": {"api_name": module, "id": MODULES[module].id},
            "id": record["id"],
            "name": display_name(MODULES[module], record),
        },
        "Owner": owner(),
        "Created_By": owner(),
        "Modified_By": owner(),
        "Created_Time": stamp,
        "Modified_Time": stamp,
        "$attachments": [],
        "$editable": True,
        "$is_shared_to_client": False,
        "$sharing_permission": "FULL_ACCESS",
        "$size": str(len(content)),
        "$state": "save",
        "$voice_note": False,
    }


def _note_parent(state: VendorState, values: dict[str, Any], index: int) -> tuple[str, dict[str, Any]]:
    parent = values.get("Parent_Id")
    if isinstance(parent, dict):
        module = (
            (parent.get("module") or {}).get("api_name") if isinstance(parent.get("module"), dict) else None
        )
        record_id = parent.get("id")
    else:
        module, record_id = values.get("se_module"), parent
    if not module or not record_id:
        raise _NoteRejected(
            record_error(
                "MANDATORY_NOT_FOUND",
                "required field not found",
                api_name="Parent_Id",
                json_path=f"$.data[{index}].Parent_Id",
            )
        )
    record = state.collection(module).get(str(record_id)) if module in MODULES else None
    if record is None:
        raise _NoteRejected(
            record_error(
                "INVALID_DATA", "invalid data", api_name="Parent_Id", json_path=f"$.data[{index}].Parent_Id"
            )
        )
    return module, record


class _NoteRejected(Exception):
    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__(answer["message"])
        self.answer = answer


def _note_success(note: dict[str, Any], message: str) -> dict[str, Any]:
    details = {k: note[k] for k in ("Modified_Time", "Modified_By", "Created_Time", "id", "Created_By")}
    return {"code": "SUCCESS", "details": details, "message": message, "status": "success"}


def _create_notes(
    state: VendorState, data: list[Any], parent: tuple[str, dict[str, Any]] | None
) -> JSONResponse:
    answers = []
    for index, values in enumerate(data):
        try:
            if not isinstance(values, dict):
                raise _NoteRejected(
                    record_error("INVALID_DATA", "invalid data", json_path=f"$.data[{index}]")
                )
            module, record = parent or _note_parent(state, values, index)
            if not values.get("Note_Content"):
                raise _NoteRejected(
                    record_error(
                        "MANDATORY_NOT_FOUND",
                        "required field not found",
                        api_name="Note_Content",
                        json_path=f"$.data[{index}].Note_Content",
                    )
                )
        except _NoteRejected as rejected:
            answers.append(rejected.answer)
            continue
        note = new_note(
            state,
            module,
            record,
            str(values.get("Note_Title") or ""),
            str(values["Note_Content"]),
            stamp=now(),
        )
        state.collection("Notes").put(note["id"], note)
        answers.append(_note_success(note, "record added"))
    return _batch_answer(answers)


def _notes_page(
    state: VendorState, notes: list[dict[str, Any]], page: str | None, per_page: str | None
) -> Response:
    notes = sorted(notes, key=lambda n: int(n["id"]), reverse=True)
    size, number = per_page_of(per_page), page_of(page)
    answer = page_answer(state, "Notes", notes, (number - 1) * size, size, None, with_token=False)
    return Response(status_code=204) if answer is None else JSONResponse(answer)


@router.get("/crm/v8/Notes")
def list_notes(
    request: Request,
    page: str | None = None,
    per_page: str | None = None,
    if_modified_since: str | None = Header(None),
) -> Response:
    """Every note, or those modified at or after ``If-Modified-Since`` (304 when none is); the answer
    carries each note whole (the spec's ``Note`` requires every property)."""
    state = zoho(request)
    notes = modified_since(list(state.collection("Notes")), if_modified_since)
    if if_modified_since and not notes:
        return Response(status_code=304)
    return _notes_page(state, notes, page, per_page)


@router.post("/crm/v8/Notes")
def create_notes(request: Request, body: JsonBody) -> JSONResponse:
    return _create_notes(zoho(request), check_batch(body), None)


@router.get("/crm/v8/Notes/{note_id}")
def get_note(request: Request, note_id: str) -> Response:
    return _one_note(_note_under(zoho(request), note_id, None))


def _note_under(state: VendorState, note_id: str, parent_id: str | None) -> dict[str, Any] | None:
    """The note, if it is there and (for a record's related list) hangs on that record."""
    note = state.collection("Notes").get(note_id)
    if note is None or (parent_id is not None and note["Parent_Id"]["id"] != parent_id):
        return None
    return note


def _one_note(note: dict[str, Any] | None) -> Response:
    return Response(status_code=204) if note is None else JSONResponse({"data": [note]})


def _edit_note(state: VendorState, note: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    changes = {k: str(values[k]) for k in ("Note_Title", "Note_Content") if k in values}
    note = {**note, **changes, "Modified_Time": now(), "Modified_By": owner()}
    state.collection("Notes").put(note["id"], note)
    return _note_success(note, "record updated")


def _drop_note(state: VendorState, note: dict[str, Any]) -> dict[str, Any]:
    """The deleted note's stamps come back, as the spec's delete answer requires."""
    state.collection("Notes").delete(note["id"])
    return _note_success(note, "record deleted")


def _no_such_note(**details: Any) -> dict[str, Any]:
    return record_error("INVALID_DATA", "the id given seems to be invalid", api_name="id", **details)


def _batch_answer(answers: list[dict[str, Any]]) -> JSONResponse:
    """Each note's outcome in input order; 202 when not one succeeded, as for a create."""
    failed = all(a["status"] == "error" for a in answers)
    return JSONResponse({"data": answers}, status_code=202 if failed else 200)


def _update_notes(state: VendorState, body: Any, parent_id: str | None) -> JSONResponse:
    """Several notes, each named by its ``id`` in the body (under one record when ``parent_id``)."""
    answers = []
    for index, values in enumerate(check_batch(body)):
        note_id = str(values.get("id") or "") if isinstance(values, dict) else ""
        note = _note_under(state, note_id, parent_id) if note_id else None
        if note is None:
            answers.append(_no_such_note(json_path=f"$.data[{index}].id"))
        else:
            answers.append(_edit_note(state, note, values))
    return _batch_answer(answers)


def _delete_notes(state: VendorState, ids: str | None, parent_id: str | None) -> JSONResponse:
    if not ids:
        raise ZohoError(
            400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", param_name="ids"
        )
    answers = []
    for note_id in (i.strip() for i in ids.split(",") if i.strip()):
        note = _note_under(state, note_id, parent_id)
        answers.append(_no_such_note(id=note_id) if note is None else _drop_note(state, note))
    return _batch_answer(answers)


def _update_one(state: VendorState, note_id: str, parent_id: str | None, body: Any) -> JSONResponse:
    note = _note_under(state, note_id, parent_id)
    if note is None:
        raise ZohoError(400, "INVALID_DATA", "the id given seems to be invalid", api_name="id")
    values = check_batch(body, limit=1)[0]
    return JSONResponse({"data": [_edit_note(state, note, values if isinstance(values, dict) else {})]})


def _delete_one(state: VendorState, note_id: str, parent_id: str | None) -> JSONResponse:
    note = _note_under(state, note_id, parent_id)
    if note is None:
        raise ZohoError(400, "INVALID_DATA", "the id given seems to be invalid", api_name="id")
    return JSONResponse({"data": [_drop_note(state, note)]})


@router.put("/crm/v8/Notes")
def update_notes(request: Request, body: JsonBody) -> JSONResponse:
    return _update_notes(zoho(request), body, None)


@router.delete("/crm/v8/Notes")
def delete_notes(request: Request, ids: str | None = None) -> JSONResponse:
    return _delete_notes(zoho(request), ids, None)


@router.put("/crm/v8/Notes/{note_id}")
def update_note(request: Request, note_id: str, body: JsonBody) -> JSONResponse:
    return _update_one(zoho(request), note_id, None, body)


@router.delete("/crm/v8/Notes/{note_id}")
def delete_note(request: Request, note_id: str) -> JSONResponse:
    return _delete_one(zoho(request), note_id, None)


def _parent(state: VendorState, module: str, record_id: str) -> dict[str, Any]:
    spec = module_or_error(module)
    record = state.collection(spec.api_name).get(record_id)
    if record is None:
        raise ZohoError(400, "INVALID_DATA", "the related id given seems to be invalid", api_name="id")
    return record


# A record's Notes related list (related_records.json's routes with ``Notes`` for the list): the
# same notes as ``/crm/v8/Notes``, kept to those on the record.


@router.get("/crm/v8/{module:zoho_module}/{record_id}/Notes")
def record_notes(
    request: Request,
    module: str,
    record_id: str,
    page: str | None = None,
    per_page: str | None = None,
    if_modified_since: str | None = Header(None),
) -> Response:
    state = zoho(request)
    _parent(state, module, record_id)
    notes = [n for n in state.collection("Notes") if n["Parent_Id"]["id"] == record_id]
    notes = modified_since(notes, if_modified_since)
    if if_modified_since and not notes:
        return Response(status_code=304)
    return _notes_page(state, notes, page, per_page)


@router.post("/crm/v8/{module:zoho_module}/{record_id}/Notes")
def create_record_notes(request: Request, module: str, record_id: str, body: JsonBody) -> JSONResponse:
    state = zoho(request)
    record = _parent(state, module, record_id)
    return _create_notes(state, check_batch(body), (module, record))


@router.put("/crm/v8/{module:zoho_module}/{record_id}/Notes")
def update_record_notes(request: Request, module: str, record_id: str, body: JsonBody) -> JSONResponse:
    state = zoho(request)
    _parent(state, module, record_id)
    return _update_notes(state, body, record_id)


@router.delete("/crm/v8/{module:zoho_module}/{record_id}/Notes")
def delete_record_notes(
    request: Request, module: str, record_id: str, ids: str | None = None
) -> JSONResponse:
    state = zoho(request)
    _parent(state, module, record_id)
    return _delete_notes(state, ids, record_id)


@router.get("/crm/v8/{module:zoho_module}/{record_id}/Notes/{note_id}")
def record_note(request: Request, module: str, record_id: str, note_id: str) -> Response:
    state = zoho(request)
    _parent(state, module, record_id)
    return _one_note(_note_under(state, note_id, record_id))


@router.put("/crm/v8/{module:zoho_module}/{record_id}/Notes/{note_id}")
def update_record_note(
    request: Request, module: str, record_id: str, note_id: str, body: JsonBody
) -> JSONResponse:
    state = zoho(request)
    _parent(state, module, record_id)
    return _update_one(state, note_id, record_id, body)


@router.delete("/crm/v8/{module:zoho_module}/{record_id}/Notes/{note_id}")
def delete_record_note(request: Request, module: str, record_id: str, note_id: str) -> JSONResponse:
    state = zoho(request)
    _parent(state, module, record_id)
    return _delete_one(state, note_id, record_id)


# ---- attachments -----------------------------------------------------------------------------


def new_attachment(
    state: VendorState, module: str, record: dict[str, Any], file_name: str, content: bytes, *, stamp: str
) -> dict[str, Any]:
    """An attachment as stored: the spec's ``Attachment`` properties plus the content (private, base64).

    ``stamp`` is its creation time, as for :func:`new_note`.
    """
    return {
        "id": new_ids(state, 1)[0],
        "Owner": owner(),
        "Modified_By": owner(),
        "Created_By": owner(),
        "Parent_Id": {"id": record["id"], "name": display_name(MODULES[module], record)},
        "$sharing_permission": "FULL_ACCESS",
        "$attachment_type": 1,
        "Modified_Time": stamp,
        "Created_Time": stamp,
        "File_Name": file_name,
        "Size": str(len(content)),
        "$editable": True,
        "$file_id": new_ids(state, 1)[0],
        "$type": "Attachment",
        "$se_module": module,
        "$state": "save",
        "$link_url": None,
        "_content": base64.b64encode(content).decode(),
    }


@router.get("/crm/v8/{module:zoho_module}/{record_id}/Attachments")
def list_attachments(
    request: Request, module: str, record_id: str, page: str | None = None, per_page: str | None = None
) -> Response:
    state = zoho(request)
    _parent(state, module, record_id)
    attachments = [a for a in state.collection("Attachments") if a["Parent_Id"]["id"] == record_id]
    size, number = per_page_of(per_page), page_of(page)
    answer = page_answer(state, "Attachments", attachments, (number - 1) * size, size, None, with_token=False)
    return Response(status_code=204) if answer is None else JSONResponse(answer)


@router.post("/crm/v8/{module:zoho_module}/{record_id}/Attachments")
async def upload_attachment(request: Request, module: str, record_id: str) -> JSONResponse:
    state = zoho(request)
    record = _parent(state, module, record_id)
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ZohoError(
            400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", param_name="file"
        )
    content = await upload.read()
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise ZohoError(
            400,
            "FILE_SIZE_MORE_THAN_ALLOWED_SIZE",
            "file size exceeds the allowed limit",
            limit=MAX_ATTACHMENT_BYTES,
        )
    attachment = new_attachment(state, module, record, upload.filename or "attachment", content, stamp=now())
    state.collection("Attachments").put(attachment["id"], attachment)
    # Only the id: the spec's details are oneOf(full, id-only), and a full object would match both.
    details = {"id": attachment["id"]}
    return JSONResponse(
        {
            "data": [
                {
                    "code": "SUCCESS",
                    "details": details,
                    "message": "attachment uploaded successfully",
                    "status": "success",
                }
            ]
        }
    )


@router.get("/crm/v8/{module:zoho_module}/{record_id}/Attachments/{attachment_id}")
def download_attachment(request: Request, module: str, record_id: str, attachment_id: str) -> Response:
    state = zoho(request)
    _parent(state, module, record_id)
    attachment = state.collection("Attachments").get(attachment_id)
    if attachment is None or attachment["Parent_Id"]["id"] != record_id:
        return Response(status_code=204)
    return Response(
        base64.b64decode(attachment["_content"]),
        media_type="application/octet-stream",
        # RFC 6266/5987: the name percent-encoded as UTF-8, so any name survives the header.
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(attachment['File_Name'])}"},
    )


@router.delete("/crm/v8/{module:zoho_module}/{record_id}/Attachments/{attachment_id}")
def delete_attachment(request: Request, module: str, record_id: str, attachment_id: str) -> JSONResponse:
    state = zoho(request)
    _parent(state, module, record_id)
    attachment = state.collection("Attachments").get(attachment_id)
    if attachment is None or attachment["Parent_Id"]["id"] != record_id:
        raise ZohoError(400, "INVALID_DATA", "the id given seems to be invalid", api_name="id")
    state.collection("Attachments").delete(attachment_id)
    return JSONResponse(
        {
            "data": [
                {
                    "code": "SUCCESS",
                    "details": {"id": attachment_id},
                    "message": "record deleted",
                    "status": "success",
                }
            ]
        }
    )
