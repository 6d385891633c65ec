"""Salesforce records in the sandbox store: checked writes, derived fields, soft deletes, rendering.

Each sObject is one collection named after it (``Contact``, ``Case``, ...). A deleted record
stays with ``IsDeleted`` true and a private ``_deletedDate`` (the recycle bin), so ``queryAll``
and the ``deleted`` endpoint still see it. Private keys start with ``_`` and never reach a client.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from sandbox.store import Collection
from sandbox.vendor import VendorState
from sandbox.vendors.salesforce import files
from sandbox.vendors.salesforce.api import (
    INTEGRATION_USER_ID,
    SalesforceError,
    case_safe_id,
    id_number,
    next_ids,
    now,
)
from sandbox.vendors.salesforce.schema import (
    BY_KEY_PREFIX,
    CLOSED_STATUSES,
    CONTENT_DOCUMENT,
    CONTENT_VERSION,
    POLYMORPHIC,
    Field,
    SObject,
    sobject_named,
)

_ID = re.compile(r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def sobject_or_error(name: str) -> SObject:
    sobject = sobject_named(name)
    if sobject is None:
        raise SalesforceError(
            404, "NOT_FOUND", f"The requested resource does not exist: sObject type '{name}'"
        )
    return sobject


def check_id(sobject: SObject, value: str) -> str:
    """A well-formed id of this object's type (15-character ids are accepted and widened)."""
    if not _ID.fullmatch(value) or value[:3] != sobject.key_prefix:
        raise SalesforceError(
            400, "MALFORMED_ID", f"{sobject.label} ID: id value of incorrect type: {value}", ["Id"]
        )
    return value if len(value) == 18 else case_safe_id(value)


class Records:
    """The org's data, read and written the way the REST API does."""

    def __init__(self, state: VendorState) -> None:
        self.state = state

    def collection(self, sobject: SObject) -> Collection:
        return self.state.collection(sobject.name)

    def find(self, sobject: SObject, record_id: str, *, include_deleted: bool = False) -> dict[str, Any]:
        record = self.collection(sobject).get(check_id(sobject, record_id))
        if record is None:
            raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
        if record["IsDeleted"] and not include_deleted:
            raise SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return record

    def parent(self, field: Field, record: dict[str, Any]) -> dict[str, Any] | None:
        """The record a reference field points at (any type: an Attachment's parent may be a Contact)."""
        value = record.get(field.name)
        if not value:
            return None
        target = BY_KEY_PREFIX.get(value[:3])
        return None if target is None else self.collection(target).get(value)

    def prepare_create(self, sobject: SObject, fields: dict[str, Any]) -> dict[str, Any]:
        """Check a new record's fields; return it complete but without an id. Raises ``SalesforceError``."""
        files.refuse_insert(sobject)
        if any(k.casefold() == "id" for k in fields):
            raise SalesforceError(400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        values = self._checked(sobject, fields, creating=True)
        missing = [f.name for f in sobject.fields if f.required and values.get(f.name) in (None, "")]
        if missing:
            raise SalesforceError(
                400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
            )
        stamp = now()
        record: dict[str, Any] = {f.name: None for f in sobject.fields}
        record.update(
            IsDeleted=False,
            CreatedDate=stamp,
            CreatedById=INTEGRATION_USER_ID,
            LastModifiedDate=stamp,
            LastModifiedById=INTEGRATION_USER_ID,
            SystemModstamp=stamp,
        )
        if "OwnerId" in record:
            record["OwnerId"] = INTEGRATION_USER_ID
        if sobject.name == "Case":
            record.update(Status="New", Priority="Medium")
        if sobject.name == "CaseComment":
            record["IsPublished"] = False
        if sobject.name == "Attachment":
            record["IsPrivate"] = False
        record.update(values)
        return record

    def insert(self, sobject: SObject, records: list[dict[str, Any]]) -> list[str]:
        """Store prepared records under new ids, in one transaction."""
        ids = next_ids(self.state, sobject, len(records))
        for new_id, record in zip(ids, records, strict=True):
            record["Id"] = new_id
            self._derive(sobject, record)
        if sobject is CONTENT_VERSION:
            files.publish(self, records)
        self.collection(sobject).put_many(zip(ids, records, strict=True))
        return ids

    def prepare_update(self, sobject: SObject, record_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """The record as it will be after the update; nothing is stored yet."""
        current = self.find(sobject, record_id)
        changes = self._checked(
            sobject, {k: v for k, v in fields.items() if k.casefold() != "id"}, creating=False
        )
        required = [
            f.name
            for f in sobject.fields
            if f.required and f.name in changes and changes[f.name] in (None, "")
        ]
        if required:
            raise SalesforceError(
                400,
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(required)}]",
                required,
            )
        stamp = now()
        updated = {**current, **changes, "LastModifiedDate": stamp, "SystemModstamp": stamp}
        updated["LastModifiedById"] = INTEGRATION_USER_ID
        return updated

    def store(self, sobject: SObject, records: list[dict[str, Any]]) -> None:
        for record in records:
            self._derive(sobject, record)
        self.collection(sobject).put_many((r["Id"], r) for r in records)
        if sobject is CONTENT_DOCUMENT:
            for document in (r for r in records if r["IsDeleted"]):
                files.delete_document(self, document)

    def prepare_delete(self, sobject: SObject, record_id: str) -> dict[str, Any]:
        files.refuse_delete(sobject)
        current = self.find(sobject, record_id)
        stamp = now()
        return {**current, "IsDeleted": True, "SystemModstamp": stamp, "_deletedDate": stamp}

    def render(
        self, sobject: SObject, record: dict[str, Any], version: str, fields: list[str] | None = None
    ) -> dict:
        """The JSON a client sees: ``attributes`` first, then the fields (all, or the named ones)."""
        names = [f.name for f in sobject.fields] if fields is None else fields
        rendered: dict[str, Any] = {"attributes": attributes(sobject, record["Id"], version)}
        for name in names:
            field = sobject.field(name)
            if field is None:
                continue
            value = record.get(field.name)
            if field.type == "base64" and value is not None:
                value = f"/services/data/v{version}/sobjects/{sobject.name}/{record['Id']}/{field.name}"
            rendered[field.name] = value
        return rendered

    def _checked(self, sobject: SObject, fields: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, value in fields.items():
            if name == "attributes":
                continue
            field = sobject.field(name)
            if field is None:
                raise SalesforceError(
                    400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject.name}", [name]
                )
            if not (field.createable if creating else field.updateable):
                verb = "create" if creating else "update"
                raise SalesforceError(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to {verb} fields: {field.name}. Please check the security settings of this field "
                    "and verify that it is read/write for your profile or permission set.",
                    [field.name],
                )
            values[field.name] = self._value(sobject, field, value)
        return values

    def _value(self, sobject: SObject, field: Field, value: Any) -> Any:
        if value is None or value == "":
            return None if field.type != "boolean" else False
        if field.type == "boolean":
            if not isinstance(value, bool):
                raise SalesforceError(
                    400,
                    "JSON_PARSER_ERROR",
                    f"Cannot deserialize instance of boolean from {value!r}",
                    [field.name],
                )
            return value
        if field.type == "base64":
            try:
                base64.b64decode(str(value), validate=True)
            except binascii.Error:
                raise SalesforceError(
                    400, "INVALID_FIELD", f"{field.label}: not valid base64", [field.name]
                ) from None
            return str(value)
        text = str(value)
        if field.length and len(text) > field.length:
            raise SalesforceError(
                400,
                "STRING_TOO_LONG",
                f"{field.label}: data value too large: {text[:40]} (max length={field.length})",
                [field.name],
            )
        if field.type == "email" and not _EMAIL.fullmatch(text):
            raise SalesforceError(
                400, "INVALID_EMAIL_ADDRESS", f"{field.label}: invalid email address: {text}", [field.name]
            )
        if field.type == "reference":
            target = sobject_named(field.reference_to or "")
            prefix_owner = BY_KEY_PREFIX.get(text[:3])
            if not _ID.fullmatch(text) or prefix_owner is None:
                raise SalesforceError(
                    400, "MALFORMED_ID", f"{field.label}: id value of incorrect type: {text}", [field.name]
                )
            text = text if len(text) == 18 else case_safe_id(text)
            is_any_parent = (sobject.name, field.name) in POLYMORPHIC
            parent = self.collection(prefix_owner).get(text)
            if (not is_any_parent and prefix_owner is not target) or parent is None or parent["IsDeleted"]:
                raise SalesforceError(
                    400,
                    "INVALID_CROSS_REFERENCE_KEY",
                    f"{field.label}: id value of incorrect type or not found: {text}",
                    [field.name],
                )
        return text

    def _derive(self, sobject: SObject, record: dict[str, Any]) -> None:
        """Formula and system-maintained fields, recomputed on every write."""
        if sobject.name == "Contact":
            record["Name"] = " ".join(p for p in (record.get("FirstName"), record.get("LastName")) if p)
        elif sobject.name == "Case":
            closed = record.get("Status") in CLOSED_STATUSES
            if closed and not record.get("IsClosed"):
                record["ClosedDate"] = record["LastModifiedDate"]
            record["IsClosed"] = closed
            record["ClosedDate"] = record.get("ClosedDate") if closed else None
            contact = self.state.collection("Contact").get(record.get("ContactId") or "")
            record["ContactEmail"] = contact.get("Email") if contact else None
            if record.get("CaseNumber") is None:
                record["CaseNumber"] = str(1000 + id_number(record["Id"])).zfill(8)
        elif sobject.name == "Attachment" and record.get("Body"):
            record["BodyLength"] = len(base64.b64decode(record["Body"]))
        elif sobject is CONTENT_VERSION:
            files.derive_version(record)


def attributes(sobject: SObject, record_id: str, version: str) -> dict[str, str]:
    return {"type": sobject.name, "url": f"/services/data/v{version}/sobjects/{sobject.name}/{record_id}"}
