"""Jira Service Management Assets REST v1 (``…/jsm/assets/workspace/<id>/v1``), on the shared HTTP layer.

The traps of this API (api-contracts §2), handled here: AQL paging goes in the query
string and ends at ``isLast`` (``total`` is deprecated; ``count`` uses
``/object/aql/totalcount``); the next page starts after what came back; 429s may come
without ``Retry-After``, and the HTTP layer then backs off exponentially; writes name
attributes by id, so ``object_in`` builds bodies from attribute names; values read
back per type (a User value is ``user.key``, the accountId; a reference is the object
key), and ``AssetsObject.attributes`` gives them as plain strings by attribute name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jirasync.connectors.auth import BasicAuth, ConnectorAuth
from jirasync.connectors.clock import Clock
from jirasync.connectors.errors import ApiError
from jirasync.connectors.http import DEFAULT_TIMEOUT, HttpClient
from jirasync.connectors.outcome import RecordOutcome
from jirasync.connectors.rate_limit import TokenBucket
from jirasync.connectors.retry import RetryPolicy

if TYPE_CHECKING:  # the budget imports the timeouts of jirasync.connectors.http
    from jirasync.connectors.budget import VendorBudget

VENDOR = "Assets"
DEFAULT_API_URL = "https://api.atlassian.com"
AQL_PAGE_SIZE = 100
SCHEMA_PAGE_SIZE = 50
USER_TYPE = 2
REFERENCE_TYPE = 1

AttributeValue = str | int | float | bool | None | Sequence[str | int | float | bool]


class AssetsRequestError(ValueError):
    """A write the connector refuses to build: an attribute name the object type does not have."""


@dataclass(frozen=True)
class ObjectSchema:
    id: str
    name: str
    key: str


@dataclass(frozen=True)
class ObjectType:
    id: str
    name: str
    schema_id: str


@dataclass(frozen=True)
class ObjectTypeAttribute:
    id: str
    name: str
    type: int  # 0 default, 1 object reference, 2 user, 4 group, 7 status
    label: bool
    system: bool
    editable: bool
    unique: bool
    default_type: str | None  # "Text", "Email", ... for type 0
    reference_type_id: str | None  # for type 1

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> ObjectTypeAttribute:
        return cls(
            id=str(body["id"]),
            name=body["name"],
            type=int(body.get("type", 0)),
            label=bool(body.get("label", False)),
            system=bool(body.get("system", False)),
            editable=bool(body.get("editable", True)),
            unique=bool(body.get("uniqueAttribute", False)),
            default_type=(body.get("defaultType") or {}).get("name"),
            reference_type_id=str(body["referenceObjectTypeId"])
            if body.get("referenceObjectTypeId")
            else None,
        )


@dataclass(frozen=True)
class AssetsObject:
    id: str
    key: str
    label: str
    object_type_id: str
    attributes: dict[str, list[str]] = field(default_factory=dict)  # attribute name -> plain values

    def value(self, name: str) -> str | None:
        """The first value of an attribute, None when it has none."""
        values = self.attributes.get(name) or []
        return values[0] if values else None


@dataclass(frozen=True)
class ObjectIn:
    """The body of ``/object/create`` and ``PUT /object/{id}``; an empty value list clears an attribute."""

    object_type_id: str
    values: dict[str, list[str]]  # attribute id -> values

    def to_json(self) -> dict[str, Any]:
        return {
            "objectTypeId": self.object_type_id,
            "attributes": [
                {
                    "objectTypeAttributeId": attribute_id,
                    "objectAttributeValues": [{"value": v} for v in values],
                }
                for attribute_id, values in self.values.items()
            ],
        }


def plain_value(value: Mapping[str, Any]) -> str:
    """An ``ObjectAttributeValue`` as the string a write would send: accountId, object key or literal."""
    if "user" in value:
        return str(value["user"].get("key") or value.get("searchValue") or "")
    if value.get("referencedType") and "referencedObject" in value:
        return str(value["referencedObject"].get("objectKey") or value.get("searchValue") or "")
    return str(value.get("value", value.get("searchValue", "")))


def object_from_api(body: Mapping[str, Any], attribute_names: Mapping[str, str]) -> AssetsObject:
    """An object, its attributes named from ``attribute_names`` (id -> name) or their embedded type."""
    attributes: dict[str, list[str]] = {}
    for entry in body.get("attributes") or []:
        attribute_id = str(entry["objectTypeAttributeId"])
        name = attribute_names.get(attribute_id) or (entry.get("objectTypeAttribute") or {}).get("name")
        attributes[name or attribute_id] = [plain_value(v) for v in entry.get("objectAttributeValues") or []]
    return AssetsObject(
        id=str(body["id"]),
        key=body["objectKey"],
        label=body.get("label", ""),
        object_type_id=str(body["objectType"]["id"]),
        attributes=attributes,
    )


class AssetsConnector:
    """One Assets workspace at ``api_url`` (``https://api.atlassian.com`` or a sandbox's base URL)."""

    def __init__(
        self,
        api_url: str,
        workspace_id: str,
        auth: ConnectorAuth,
        *,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        rate_limiter: TokenBucket | None = None,
        verify: bool | str = True,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        budget: VendorBudget | None = None,
    ) -> None:
        if not workspace_id:
            raise ValueError(
                "AssetsConnector needs a workspace id: get it from GET "
                "https://<site>.atlassian.net/rest/servicedeskapi/assets/workspace "
                "(JsmConnector.assets_workspace_id())"
            )
        self.workspace_id = workspace_id
        base_url = f"{api_url.rstrip('/')}/jsm/assets/workspace/{workspace_id}/v1"
        self.http = HttpClient(
            VENDOR,
            base_url,
            auth,
            clock=clock,
            retry=retry,
            rate_limiter=rate_limiter,
            budget=budget,
            verify=verify,
            timeout=timeout,
        )
        self._attributes: dict[str, list[ObjectTypeAttribute]] = {}

    @classmethod
    def with_api_token(
        cls, api_url: str, workspace_id: str, email: str, api_token: str, **options: Any
    ) -> AssetsConnector:
        return cls(api_url, workspace_id, BasicAuth(email, api_token), **options)

    def close(self) -> None:
        self.http.close()

    # --- metadata -----------------------------------------------------------------------------

    def object_schemas(self) -> list[ObjectSchema]:
        schemas: list[ObjectSchema] = []
        start = 0
        while True:
            page = self.http.request_json(
                "GET", "/objectschema/list", params={"startAt": start, "maxResults": SCHEMA_PAGE_SIZE}
            )
            schemas += [ObjectSchema(str(s["id"]), s["name"], s["objectSchemaKey"]) for s in page["values"]]
            if page.get("isLast", True) or not page["values"]:
                return schemas
            start += len(page["values"])

    def object_types(self, schema_id: str) -> list[ObjectType]:
        types = self.http.request_json(
            "GET", "/objectschema/{schema}/objecttypes/flat", path_params={"schema": schema_id}
        )
        return [ObjectType(str(t["id"]), t["name"], str(t["objectSchemaId"])) for t in types]

    def object_type(self, schema_id: str, name: str) -> ObjectType:
        """The object type of a schema by name, or an error listing the names there are."""
        types = self.object_types(schema_id)
        for object_type in types:
            if object_type.name.casefold() == name.casefold():
                return object_type
        raise AssetsRequestError(
            f"Assets schema {schema_id} has no object type {name!r}; it has {sorted(t.name for t in types)}"
        )

    def attributes(self, object_type_id: str) -> list[ObjectTypeAttribute]:
        """The attributes of an object type (read once per connector, they rarely change)."""
        if object_type_id not in self._attributes:
            body = self.http.request_json(
                "GET", "/objecttype/{type}/attributes", path_params={"type": object_type_id}
            )
            self._attributes[object_type_id] = [ObjectTypeAttribute.from_api(a) for a in body]
        return self._attributes[object_type_id]

    def attribute_ids(self, object_type_id: str, names: Sequence[str]) -> dict[str, str]:
        """Attribute name -> id for ``names``; an unknown name is an error naming what exists."""
        by_name = {a.name.casefold(): a for a in self.attributes(object_type_id)}
        missing = [n for n in names if n.casefold() not in by_name]
        if missing:
            raise AssetsRequestError(
                f"Assets object type {object_type_id} has no attribute {', '.join(map(repr, missing))}; "
                f"it has {sorted(a.name for a in by_name.values())}. Fix the attribute names in the sync definition."
            )
        return {n: by_name[n.casefold()].id for n in names}

    def object_in(self, object_type_id: str, values: Mapping[str, AttributeValue]) -> ObjectIn:
        """An ``ObjectIn`` from {attribute name: value}: a list for many values, None to clear.

        Values are what Assets takes: literals (ISO 8601 dates), a Jira accountId for a User
        attribute, an object key (``HR-12``) for a reference.
        """
        ids = self.attribute_ids(object_type_id, list(values))
        read_only = [a.name for a in self.attributes(object_type_id) if a.id in ids.values() and a.system]
        if read_only:
            raise AssetsRequestError(
                f"Assets attributes {read_only} of object type {object_type_id} are set by Assets itself; "
                "leave them out of the mapping."
            )
        return ObjectIn(object_type_id, {ids[name]: _as_strings(value) for name, value in values.items()})

    # --- reads --------------------------------------------------------------------------------

    def search(
        self, aql: str, *, page_size: int = AQL_PAGE_SIZE, include_attributes: bool = True
    ) -> Iterator[AssetsObject]:
        """Every object matching ``aql``, ``page_size`` per call, until the page that says ``isLast``."""
        start = 0
        while True:
            page = self.http.request_json(
                "POST",
                "/object/aql",
                params={
                    "startAt": start,
                    "maxResults": page_size,
                    "includeAttributes": str(include_attributes).lower(),
                },
                json={"qlQuery": aql},
                idempotent=True,  # a search: safe to repeat after a dropped connection
            )
            names = {str(a["id"]): a["name"] for a in page.get("objectTypeAttributes") or []}
            for body in page["values"]:
                yield object_from_api(body, names)
            if page.get("isLast", page.get("last", True)) or not page["values"]:
                return
            start += len(page["values"])

    def count(self, aql: str) -> int:
        body = self.http.request_json(
            "POST", "/object/aql/totalcount", json={"qlQuery": aql}, idempotent=True
        )
        return int(body["totalCount"])

    def get_object(self, object_id: str) -> AssetsObject:
        body = self.http.request_json("GET", "/object/{id}", path_params={"id": object_id})
        return object_from_api(body, {})

    # --- writes -------------------------------------------------------------------------------

    def create_object(self, body: ObjectIn) -> AssetsObject:
        """Not retried after a dropped connection: Assets may have created it, and a retry would duplicate."""
        return object_from_api(self.http.request_json("POST", "/object/create", json=body.to_json()), {})

    def update_object(self, object_id: str, body: ObjectIn) -> AssetsObject:
        """Attributes left out of ``body`` keep their values."""
        answer = self.http.request_json(
            "PUT", "/object/{id}", path_params={"id": object_id}, json=body.to_json()
        )
        return object_from_api(answer, {})

    def delete_object(self, object_id: str) -> None:
        self.http.request("DELETE", "/object/{id}", path_params={"id": object_id})

    def create_objects(self, bodies: Sequence[ObjectIn]) -> list[RecordOutcome]:
        """One outcome per body, in order; ``id`` is the new object's id. Assets has no batch create."""
        return [self._outcome(lambda b=b: self.create_object(b).id) for b in bodies]

    def update_objects(self, changes: Sequence[tuple[str, ObjectIn]]) -> list[RecordOutcome]:
        return [self._outcome(lambda i=i, b=b: self.update_object(i, b).id, i) for i, b in changes]

    def delete_objects(self, object_ids: Sequence[str]) -> list[RecordOutcome]:
        return [self._outcome(lambda i=i: self._deleted(i), i) for i in object_ids]

    def _deleted(self, object_id: str) -> str:
        self.delete_object(object_id)
        return object_id

    @staticmethod
    def _outcome(write: Callable[[], str], object_id: str | None = None) -> RecordOutcome:
        try:
            return RecordOutcome.success(write())
        except ApiError as error:
            return RecordOutcome.failure(str(error), retryable=error.retryable, record_id=object_id)


def _as_strings(value: AttributeValue) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [_as_string(v) for v in value]
    return [_as_string(value)]


def _as_string(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
