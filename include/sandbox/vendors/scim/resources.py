"""SCIM 2.0 Users and Groups (RFC 7644 §3): list and search (filter, 1-based ``startIndex``,
capped ``count``, attribute selection), and the writes a provisioning client makes: create,
replace, patch, delete, with ``meta.version`` ETags as preconditions."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse

from sandbox.lookup import candidates
from sandbox.store import Collection
from sandbox.vendors.scim.api import (
    LIST_RESPONSE,
    PAGE_CAP,
    SEARCH_REQUEST,
    error,
    fail,
    parse_attribute_list,
    render,
    scim,
    scim_response,
    scim_url,
    writing,
)
from sandbox.vendors.scim.filter import ScimFilterError, indexed, parse_filter
from sandbox.vendors.scim.schemas import GROUP, KINDS, USER, ResourceKind
from sandbox.vendors.scim.writes import SERVER_OWNED, apply_patch, read_resource

# Scripts send JSON bodies without a Content-Type: read them as JSON, not as no body.
router = APIRouter(prefix="/v2", strict_content_type=False)

JsonBody = Annotated[Any, Body()]
Resource = dict[str, Any]


def _routes(kind: ResourceKind) -> None:
    """The same routes for each resource type, at its endpoint."""

    def list_resources(request: Request) -> JSONResponse:
        return _search(request, kind, request.query_params)

    def search(request: Request, body: JsonBody = None) -> JSONResponse:
        """``POST .search`` (RFC 7644 §3.4.3): the query in a body, for filters too long for a URL."""
        if not isinstance(body, dict) or SEARCH_REQUEST not in (body.get("schemas") or []):
            fail(400, f"a search body is a {SEARCH_REQUEST} message", "invalidSyntax")
        return _search(request, kind, body)

    def get_resource(request: Request, resource_id: str) -> Response:
        resource = _existing(request, kind, resource_id)
        version = resource["meta"]["version"]
        if _etag_matches(request.headers.get("if-none-match"), version):
            return Response(status_code=304, headers={"ETag": version})
        return _answer(request, resource)

    def create(request: Request, body: JsonBody = None) -> JSONResponse:
        collection = scim(request).collection(kind.collection)
        resource = _complete(request, kind, read_resource(body, kind))
        resource_id = str(uuid.uuid4())
        with writing(request):
            _check_unique(collection, kind, resource, resource_id)
            collection.put(resource_id, _stored(resource, resource_id, {"resourceType": kind.name}))
        created = _answer(request, collection.get(resource_id) or {}, 201)
        created.headers["Location"] = scim_url(request, f"{kind.endpoint}/{resource_id}")
        return created

    def replace(request: Request, resource_id: str, body: JsonBody = None) -> JSONResponse:
        return _update(request, kind, resource_id, lambda _current: read_resource(body, kind))

    def patch(request: Request, resource_id: str, body: JsonBody = None) -> JSONResponse:
        return _update(request, kind, resource_id, lambda current: apply_patch(current, body, kind))

    def delete(request: Request, resource_id: str) -> Response:
        with writing(request):
            resource = _existing(request, kind, resource_id)
            _check_precondition(request, resource)
            scim(request).collection(kind.collection).delete(resource_id)
            _forget_member(request, resource_id)
        return Response(status_code=204)

    endpoint, one = kind.endpoint, f"{kind.endpoint}/{{resource_id}}"
    router.add_api_route(endpoint, list_resources, methods=["GET"], name=f"list {kind.name}")
    router.add_api_route(endpoint, create, methods=["POST"], name=f"create {kind.name}")
    router.add_api_route(f"{endpoint}/.search", search, methods=["POST"], name=f"search {kind.name}")
    router.add_api_route(one, get_resource, methods=["GET"], name=f"get {kind.name}")
    router.add_api_route(one, replace, methods=["PUT"], name=f"replace {kind.name}")
    router.add_api_route(one, patch, methods=["PATCH"], name=f"patch {kind.name}")
    router.add_api_route(one, delete, methods=["DELETE"], name=f"delete {kind.name}")


def _search(request: Request, kind: ResourceKind, query: Mapping[str, Any]) -> JSONResponse:
    """A query from the query string or a SearchRequest body: the parameters have the same names."""
    start_index = _integer(query.get("startIndex"), default=1)
    count = _integer(query.get("count"), default=PAGE_CAP)
    if start_index is None or count is None:
        return error(400, "startIndex and count must be integers", "invalidValue")
    start_index = max(start_index, 1)  # RFC 7644: a value below 1 is read as 1
    count = min(max(count, 0), PAGE_CAP)
    collection = scim(request).collection(kind.collection)
    if query.get("filter"):
        try:
            predicate = parse_filter(str(query["filter"]))
        except ScimFilterError as exc:
            return error(400, str(exc), "invalidFilter")
        resources = [r for r in candidates(collection, predicate.lookups, indexed) if predicate(r)]
    else:
        resources = list(collection)
    page = resources[start_index - 1 : start_index - 1 + count]
    attributes = _attribute_list(query.get("attributes"))
    excluded = _attribute_list(query.get("excludedAttributes"))
    return scim_response(
        {
            "schemas": [LIST_RESPONSE],
            "totalResults": len(resources),
            "startIndex": start_index,
            "itemsPerPage": len(page),
            "Resources": [render(request, r, attributes, excluded) for r in page],
        }
    )


def _update(
    request: Request, kind: ResourceKind, resource_id: str, change: Callable[[Resource], Resource]
) -> JSONResponse:
    """PUT and PATCH: the new resource from the current one, under the client's precondition."""
    collection = scim(request).collection(kind.collection)
    with writing(request):
        current = _existing(request, kind, resource_id)
        _check_precondition(request, current)
        resource = _complete(request, kind, change(current))
        _check_unique(collection, kind, resource, resource_id)
        collection.put(resource_id, _stored(resource, resource_id, current["meta"]))
    return _answer(request, collection.get(resource_id) or {})


def _complete(request: Request, kind: ResourceKind, resource: Resource) -> Resource:
    """A resource as stored: with its required attribute, its schemas, and groups' members resolved."""
    required = resource.get(kind.required)
    if not isinstance(required, str) or not required.strip():
        fail(400, f"{kind.name} needs {kind.required}", "invalidValue")
    resource = {key: value for key, value in resource.items() if key not in SERVER_OWNED}
    if kind is GROUP and resource.get("members"):
        members = {m.get("value"): m for m in resource["members"]}  # once each, whatever was sent
        resource["members"] = [_member(request, value) for value in members]
    schemas = [kind.schema, *(e for e in kind.extensions if e in resource)]
    return {"schemas": schemas, **resource}


def _stored(resource: Resource, resource_id: str, meta: dict[str, Any]) -> Resource:
    """In the order servers answer: schemas, id, the attributes, meta (stamped by ``on_change``)."""
    return {"schemas": resource["schemas"], "id": resource_id, **resource, "meta": meta}


def _member(request: Request, member_id: Any) -> Resource:
    for kind in (USER, GROUP):
        found = scim(request).collection(kind.collection).get(str(member_id))
        if found is not None:
            member = {"value": found["id"], "display": found.get("displayName"), "type": kind.name}
            return {key: value for key, value in member.items() if value is not None}
    fail(400, f"member {member_id!r} is no user or group of this server", "invalidValue")


def _forget_member(request: Request, resource_id: str) -> None:
    """A deleted user or group leaves the groups it was a member of."""
    groups = scim(request).collection(GROUP.collection)
    changed = [
        (g["id"], {**g, "members": [m for m in g["members"] if m.get("value") != resource_id]})
        for g in groups
        if any(m.get("value") == resource_id for m in g.get("members") or [])
    ]
    groups.put_many(changed)


def _check_unique(collection: Collection, kind: ResourceKind, resource: Resource, resource_id: str) -> None:
    if kind.unique is None:
        return
    unique = kind.unique
    holders = collection.index(f"unique:{unique}", lambda r: [str(r.get(unique, "")).casefold()])
    found = holders.exact(str(resource[unique]).casefold())
    if any(other["id"] != resource_id for other in collection.in_order(found)):
        fail(409, f"{unique} {resource[unique]!r} is already taken", "uniqueness")


def _check_precondition(request: Request, resource: Resource) -> None:
    """``If-Match`` (RFC 7644 §3.14): the write applies only to the version the client read."""
    if_match = request.headers.get("if-match")
    if if_match is not None and not _etag_matches(if_match, resource["meta"]["version"]):
        fail(412, f"{resource['id']} has changed since version {if_match}")


def _etag_matches(header: str | None, version: str) -> bool:
    """Weak comparison, as for ``If-None-Match``; ``*`` matches any version."""
    if header is None:
        return False
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or _opaque(version) in {_opaque(tag) for tag in tags}


def _opaque(tag: str) -> str:
    return tag.removeprefix("W/")


def _existing(request: Request, kind: ResourceKind, resource_id: str) -> Resource:
    resource = scim(request).collection(kind.collection).get(resource_id)
    if resource is None:
        fail(404, f"Resource {resource_id} not found")
    return resource


def _answer(request: Request, resource: Resource, status: int = 200) -> JSONResponse:
    """One resource, as the client asked (``attributes``), with its version as ETag."""
    params = request.query_params
    rendered = render(
        request,
        resource,
        parse_attribute_list(params.get("attributes")),
        parse_attribute_list(params.get("excludedAttributes")),
    )
    return scim_response(rendered, status, ETag=resource["meta"]["version"])


def _integer(value: Any, default: int) -> int | None:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _attribute_list(value: Any) -> list[str] | None:
    """A SearchRequest names attributes as a list, the query string as one comma-separated text."""
    if isinstance(value, list):
        return [str(v) for v in value]
    return parse_attribute_list(value if isinstance(value, str) else None)


for _kind in KINDS:
    _routes(_kind)
