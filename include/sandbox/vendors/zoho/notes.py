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
    failed = all(a["status"] == "error" for a in answers)
    return JSONResponse({"data": answers}, status_code=202 if failed else 200)


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
    note = zoho(request).collection("Notes").get(note_id)
    return Response(status_code=204) if note is None else JSONResponse({"data": [note]})


@router.put("/crm/v8/Notes/{note_id}")
def update_note(request: Request, note_id: str, body: JsonBody) -> JSONResponse:
    state = zoho(request)
    note = state.collection("Notes").get(note_id)
    if note is None:
        raise ZohoError(400, "INVALID_DATA", "the id given seems to be invalid", api_name="id")
    values = check_batch(body, limit=1)[0]
    changes = {
        k: str(values[k]) for k in ("Note_Title", "Note_Content") if isinstance(values, dict) and k in values
    }
    note = {**note, **changes, "Modified_Time": now(), "Modified_By": owner()}
    state.collection("Notes").put(note_id, note)
    return JSONResponse({"data": [_note_success(note, "record updated")]})


@router.delete("/crm/v8/Notes/{note_id}")
def delete_note(request: Request, note_id: str) -> JSONResponse:
    """The deleted note's stamps come back, as the spec's delete answer requires."""
    notes = zoho(request).collection("Notes")
    note = notes.get(note_id)
    if note is None or not notes.delete(note_id):
        raise ZohoError(400, "INVALID_DATA", "the id given seems to be invalid", api_name="id")
    return JSONResponse({"data": [_note_success(note, "record deleted")]})


def _parent(state: VendorState, module: str, record_id: str) -> dict[str, Any]:
    spec = module_or_error(module)
    record = state.collection(spec.api_name).get(record_id)
    if record is None:
        raise ZohoError(400, "INVALID_DATA", "the related id given seems to be invalid", api_name="id")
    return record


@router.get("/crm/v8/{module:zoho_module}/{record_id}/Notes")
def record_notes(
    request: Request, module: str, record_id: str, page: str | None = None, per_page: str | None = None
) -> Response:
    state = zoho(request)
    _parent(state, module, record_id)
    notes = [n for n in state.collection("Notes") if n["Parent_Id"]["id"] == record_id]
    return _notes_page(state, notes, page, per_page)


@router.post("/crm/v8/{module:zoho_module}/{record_id}/Notes")
def create_record_notes(request: Request, module: str, record_id: str, body: JsonBody) -> JSONResponse:
    state = zoho(request)
    record = _parent(state, module, record_id)
    return _create_notes(state, check_batch(body), (module, record))


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
