"""Assets records as the API shows them, what AQL sees of an object, and ``ObjectIn`` validation.

Stored objects keep their values as strings per attribute id: literal values for
default types, the accountId for User attributes and the referenced object's id for
object references. Responses are rendered from them on each read, so a renamed Jira
user or folder shows up at once, as in Assets.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Hashable
from typing import Any

from sandbox.lookup import Filter, Lookups
from sandbox.store import IndexKeys
from sandbox.vendor import VendorState
from sandbox.vendors.assets.api import AssetsError, attribute_error_key, timestamp_ms
from sandbox.vendors.assets.seed import DEFAULT, DEFAULT_TYPE_NAMES, REFERENCE, USER

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Text, URL and Email attributes hold at most 255 characters (Assets' attribute types, cloud).
TEXT_TYPES = frozenset({0, 7, 8})
TEXT_LIMIT = 255
_REFERENCE_TYPE = {"id": "1", "name": "Reference", "description": "References an object", "color": "000000"}
# The names AQL answers from the object itself, not from an attribute.
SPECIAL_NAMES = frozenset({"objecttype", "objecttypeid", "objectschemaid", "objectid", "key", "label"})
STORED_VALUES = "stored values"


def stored_values(_field: Hashable) -> IndexKeys:
    """The index of objects by (attribute id, value case folded) of their own plain stored values."""
    return lambda obj: [
        (attribute_id, v.casefold())
        for attribute_id, values in obj["values"].items()
        for v in values
        if isinstance(v, str)
    ]


def _object_type(obj: dict[str, Any]) -> list[str]:
    """The index of objects by type: every object found renders its type with the type's object count."""
    return [obj["objectTypeId"]]


class AssetsView:
    """Read access to one workspace's records, and their JSON."""

    def __init__(self, state: VendorState, workspace_id: str, api_base: str) -> None:
        self.state = state
        self.workspace_id = workspace_id
        self.api_base = api_base
        self.schemas = state.collection("schemas")
        self.types = state.collection("objecttypes")
        self.attributes = state.collection("attributes")
        self.objects = state.collection("objects")
        self.jira_users = state.collection("users", vendor="jira")

    def global_id(self, record_id: str) -> str:
        return f"{self.workspace_id}:{record_id}"

    def type_attributes(self, type_id: str) -> list[dict[str, Any]]:
        return sorted(
            (a for a in self.attributes if a["objectTypeId"] == type_id), key=lambda a: a["position"]
        )

    def label_attribute(self, type_id: str) -> dict[str, Any]:
        return next(a for a in self.type_attributes(type_id) if a["label"])

    def label(self, obj: dict[str, Any]) -> str:
        values = obj["values"].get(self.label_attribute(obj["objectTypeId"])["id"]) or [""]
        return values[0]

    # --- JSON ---------------------------------------------------------------------------------

    def schema_json(self, schema: dict[str, Any]) -> dict[str, Any]:
        types = [t for t in self.types if t["objectSchemaId"] == schema["id"]]
        type_ids = {t["id"] for t in types}
        return {
            "workspaceId": self.workspace_id,
            "globalId": self.global_id(schema["id"]),
            "id": schema["id"],
            "name": schema["name"],
            "objectSchemaKey": schema["objectSchemaKey"],
            "status": "Ok",
            "description": schema["description"],
            "created": schema["created"],
            "updated": schema["updated"],
            "objectCount": sum(1 for o in self.objects if o["objectTypeId"] in type_ids),
            "objectTypeCount": len(types),
            "canManage": True,
            "idAsInt": int(schema["id"]),
        }

    def type_json(self, object_type: dict[str, Any]) -> dict[str, Any]:
        return {
            "workspaceId": self.workspace_id,
            "globalId": self.global_id(object_type["id"]),
            "id": object_type["id"],
            "name": object_type["name"],
            "type": 0,
            "description": object_type["description"],
            "icon": {"id": "1", "name": object_type["name"]},
            "position": object_type["position"],
            "created": object_type["created"],
            "updated": object_type["updated"],
            "objectCount": len(self.objects.index("by type", _object_type).exact(object_type["id"])),
            "objectSchemaId": object_type["objectSchemaId"],
            "inherited": False,
            "abstractObjectType": False,
            "parentObjectTypeInherited": False,
        }

    def attribute_json(self, attribute: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "workspaceId": self.workspace_id,
            "globalId": self.global_id(attribute["id"]),
            "id": attribute["id"],
            "objectType": self.type_json(self.types.get(attribute["objectTypeId"]) or {}),
            "name": attribute["name"],
            "label": attribute["label"],
            "type": attribute["type"],
            "description": attribute["description"],
            "editable": not attribute["system"],
            "system": attribute["system"],
            "sortable": True,
            "summable": False,
            "indexed": True,
            "minimumCardinality": attribute["minimumCardinality"],
            "maximumCardinality": attribute["maximumCardinality"],
            "removable": not attribute["system"] and not attribute["label"],
            "hidden": False,
            "includeChildObjectTypes": False,
            "uniqueAttribute": attribute["uniqueAttribute"],
            "options": "",
            "position": attribute["position"],
        }
        if attribute["type"] == DEFAULT:
            type_id = attribute["defaultTypeId"]
            body["defaultType"] = {"id": type_id, "name": DEFAULT_TYPE_NAMES[type_id]}
        if attribute["type"] == REFERENCE:
            referenced = self.types.get(attribute["referenceObjectTypeId"]) or {}
            body["referenceType"] = _REFERENCE_TYPE
            body["referenceObjectTypeId"] = attribute["referenceObjectTypeId"]
            body["referenceObjectType"] = self.type_json(referenced)
        return body

    def object_json(self, obj: dict[str, Any], *, embed_attribute_types: bool) -> dict[str, Any]:
        """An ``ObjectEntry``; GET/create/update embed each ``objectTypeAttribute``, AQL lists them once."""
        object_type = self.types.get(obj["objectTypeId"]) or {}
        label = self.label(obj)
        attributes = []
        for attribute in self.type_attributes(obj["objectTypeId"]):
            values = self._rendered_values(obj, attribute)
            if not values:
                continue
            entry: dict[str, Any] = {
                "workspaceId": self.workspace_id,
                "globalId": self.global_id(f"{obj['id']}-{attribute['id']}"),
                "id": f"{obj['id']}{int(attribute['id']):04d}",
                "objectTypeAttributeId": attribute["id"],
                "objectId": obj["id"],
                "objectAttributeValues": values,
            }
            if embed_attribute_types:
                entry["objectTypeAttribute"] = self.attribute_json(attribute)
            attributes.append(entry)
        return {
            "workspaceId": self.workspace_id,
            "globalId": self.global_id(obj["id"]),
            "id": obj["id"],
            "label": label,
            "objectKey": obj["objectKey"],
            "avatar": {"objectId": obj["id"]},
            "objectType": self.type_json(object_type),
            "created": obj["created"],
            "updated": obj["updated"],
            "hasAvatar": False,
            "timestamp": timestamp_ms(obj["updated"]),
            "attributes": attributes,
            "_links": {"self": f"{self.api_base}/object/{obj['id']}"},
            "name": label,
        }

    def _rendered_values(self, obj: dict[str, Any], attribute: dict[str, Any]) -> list[dict[str, Any]]:
        name = attribute["name"]
        if attribute["system"]:
            value = {"Key": obj["objectKey"], "Created": obj["created"], "Updated": obj["updated"]}[name]
            return [_plain(value)]
        stored = obj["values"].get(attribute["id"]) or []
        if attribute["type"] == USER:
            return [self._user_value(account_id) for account_id in stored]
        if attribute["type"] == REFERENCE:
            return [self._reference_value(object_id) for object_id in stored if object_id in self.objects]
        return [_plain(value) for value in stored]

    def _user_value(self, account_id: str) -> dict[str, Any]:
        """A User value reads back as ``user`` (api-contracts §2), with the accountId as its ``key``."""
        user = self.jira_users.get(account_id)
        display_name = user["displayName"] if user else account_id
        email = user.get("emailAddress") if user and user.get("emailVisible", True) else None
        site = f"https://{self.state.config.jira_host}"
        return {
            "user": {
                "avatarUrl": f"https://secure.gravatar.com/avatar/{hashlib.md5(account_id.encode()).hexdigest()}",
                "displayName": display_name,
                "name": display_name,
                "key": account_id,
                "emailAddress": email or "",
                "html": display_name,
                "renderedLink": f"{site}/jira/people/{account_id}",
                "isDeleted": user is None,
                "lastSeenVersion": "",
                "self": f"{site}/rest/api/3/user?accountId={account_id}",
            },
            "displayValue": display_name,
            "searchValue": account_id,
            "referencedType": False,
        }

    def _reference_value(self, object_id: str) -> dict[str, Any]:
        referenced = self.objects.get(object_id) or {}
        label = self.label(referenced)
        return {
            "referencedObject": {
                "workspaceId": self.workspace_id,
                "globalId": self.global_id(object_id),
                "id": object_id,
                "label": label,
                "objectKey": referenced["objectKey"],
                "objectType": self.type_json(self.types.get(referenced["objectTypeId"]) or {}),
                "created": referenced["created"],
                "updated": referenced["updated"],
                "hasAvatar": False,
                "timestamp": timestamp_ms(referenced["updated"]),
                "_links": {"self": f"{self.api_base}/object/{object_id}"},
                "name": label,
            },
            "displayValue": label,
            "searchValue": referenced["objectKey"],
            "referencedType": True,
        }

    # --- AQL ----------------------------------------------------------------------------------

    def aql_values(self, obj: dict[str, Any], name: str) -> list[str] | None:
        """What AQL compares for ``name`` on ``obj``: None when the object's type has no such attribute."""
        object_type = self.types.get(obj["objectTypeId"]) or {}
        special = {  # SPECIAL_NAMES, each
            "objecttype": [object_type.get("name", "")],
            "objecttypeid": [obj["objectTypeId"]],
            "objectschemaid": [object_type.get("objectSchemaId", "")],
            "objectid": [obj["id"]],
            "key": [obj["objectKey"]],
            "label": [self.label(obj)],
        }
        if name.casefold() in special:
            return special[name.casefold()]
        attribute = next(
            (a for a in self.type_attributes(obj["objectTypeId"]) if a["name"].casefold() == name.casefold()),
            None,
        )
        if attribute is None:
            return None
        if attribute["system"]:
            return [{"Created": obj["created"], "Updated": obj["updated"]}.get(attribute["name"], "")]
        stored = obj["values"].get(attribute["id"]) or []
        if attribute["type"] == USER:  # matched by accountId, name or email, as the Assets UI does
            users = [self.jira_users.get(a) or {} for a in stored]
            return (
                stored
                + [u.get("displayName", "") for u in users]
                + [u.get("emailAddress", "") for u in users]
            )
        if attribute["type"] == REFERENCE:  # matched by the referenced object's label or key
            referenced = [self.objects.get(i) for i in stored]
            return [self.label(r) for r in referenced if r] + [r["objectKey"] for r in referenced if r]
        return list(stored)

    def value_lookups(self, aql: Filter) -> Lookups | None:
        """The first of an AQL filter's lookups by attribute name (``Email = "x"`` rather than
        ``objectType = Employee``) that the index of the objects' own stored values
        (``stored_values``) can serve, as lookups by (attribute id, value); None: read every object."""
        for lookups in (aql.lookups, *aql.alternatives):
            if lookups is not None and (served := self._stored_value_lookups(lookups)) is not None:
                return served
        return None

    def _stored_value_lookups(self, lookups: Lookups) -> Lookups | None:
        """None for a special name, or when some type's attribute of that name is a system, user or
        reference one: AQL works their values out from other records, which the index does not follow."""
        found: list[tuple[Hashable, tuple[Hashable, ...]]] = []
        for name, values in lookups:
            attributes = [a for a in self.attributes if a["name"].casefold() == name]
            if name in SPECIAL_NAMES or any(a["system"] or a["type"] != DEFAULT for a in attributes):
                return None
            found.append((STORED_VALUES, tuple((a["id"], v) for a in attributes for v in values)))
        return tuple(found)

    # --- writes -------------------------------------------------------------------------------

    def validated_values(
        self, body: Any, object_id: str | None, current: dict[str, list[str]]
    ) -> tuple[str, dict[str, list[str]]]:
        """The object type and the stored values an ``ObjectIn`` body gives, or ``AssetsError`` 400."""
        if not isinstance(body, dict):
            raise AssetsError(400, "The request body must be a JSON object (ObjectIn)")
        type_id = str(body.get("objectTypeId") or "")
        if not type_id:
            raise AssetsError(400, errors={"objectTypeId": "objectTypeId is required"})
        if type_id not in self.types:
            raise AssetsError(400, errors={"objectTypeId": f"No object type found with id {type_id}"})
        by_id = {a["id"]: a for a in self.type_attributes(type_id)}
        entries = body.get("attributes") or []
        if not isinstance(entries, list):
            raise AssetsError(400, errors={"attributes": "attributes must be a list of ObjectAttributeIn"})
        values = dict(current)
        errors: dict[str, str] = {}
        for entry in entries:
            attribute_id = str(entry.get("objectTypeAttributeId") or "") if isinstance(entry, dict) else ""
            attribute = by_id.get(attribute_id)
            if attribute is None:
                errors[attribute_error_key(attribute_id or "?")] = (
                    f"The object type attribute {attribute_id or '(missing id)'} does not exist "
                    f"on object type {type_id}"
                )
                continue
            try:
                values[attribute_id] = self._stored_values(
                    attribute, entry.get("objectAttributeValues") or []
                )
            except ValueError as problem:
                errors[attribute_error_key(attribute_id)] = str(problem)
        for attribute in by_id.values():
            key = attribute_error_key(attribute["id"])
            if key in errors or attribute["system"]:
                continue
            count = len(values.get(attribute["id"]) or [])
            if count < attribute["minimumCardinality"]:
                errors[key] = f"{attribute['name']} is required"
            elif attribute["uniqueAttribute"] and count:
                clash = self._holder_of(type_id, attribute["id"], values[attribute["id"]], object_id)
                if clash is not None:
                    errors[key] = (
                        f"{attribute['name']} must be unique: {clash['objectKey']} already has this value"
                    )
        if errors:
            raise AssetsError(400, errors=errors)
        return type_id, values

    def _stored_values(self, attribute: dict[str, Any], raw_values: Any) -> list[str]:
        if not isinstance(raw_values, list) or not all(isinstance(v, dict) for v in raw_values):
            raise ValueError(f"{attribute['name']}: objectAttributeValues must be a list of {{'value': ...}}")
        if attribute["system"]:
            raise ValueError(f"{attribute['name']} is a system attribute and cannot be set")
        values = [str(v.get("value", "")) for v in raw_values if str(v.get("value", "")) != ""]
        maximum = attribute["maximumCardinality"]
        if maximum != -1 and len(values) > maximum:
            raise ValueError(f"{attribute['name']} takes at most {maximum} value(s), got {len(values)}")
        return [self._stored_value(attribute, value) for value in values]

    def _stored_value(self, attribute: dict[str, Any], value: str) -> str:
        name = attribute["name"]
        if attribute["type"] == USER:
            if value not in self.jira_users:
                raise ValueError(f"{name}: no Jira user with the key {value!r} (use the accountId)")
            return value
        if attribute["type"] == REFERENCE:
            referenced = next(
                (o for o in self.objects if o["objectKey"] == value or o["id"] == value),
                None,
            )
            if referenced is None or referenced["objectTypeId"] != attribute["referenceObjectTypeId"]:
                raise ValueError(
                    f"{name}: no object {value!r} of object type {attribute['referenceObjectTypeId']} "
                    "(use the object key, e.g. HR-1)"
                )
            return referenced["id"]
        if attribute["defaultTypeId"] in TEXT_TYPES and len(value) > TEXT_LIMIT:
            raise ValueError(
                f"{name}: the value has {len(value)} characters; at most {TEXT_LIMIT} are allowed"
            )
        if attribute["defaultTypeId"] == 8 and not _EMAIL.fullmatch(value):
            raise ValueError(f"{name}: {value!r} is not a valid email address")
        return value

    def _holder_of(
        self, type_id: str, attribute_id: str, values: list[str], object_id: str | None
    ) -> dict[str, Any] | None:
        for other in self.objects:
            if other["id"] == object_id or other["objectTypeId"] != type_id:
                continue
            if set(other["values"].get(attribute_id) or []) & set(values):
                return other
        return None


def _plain(value: str) -> dict[str, Any]:
    return {"value": value, "displayValue": value, "searchValue": value, "referencedType": False}
