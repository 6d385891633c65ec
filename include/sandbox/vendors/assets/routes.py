"""Assets REST v1 routes under ``/jsm/assets/workspace/{workspaceId}/v1`` (and the ``/ex/jira`` form).

Every route checks the workspace id and answers errors in the Assets form through
``AssetsRoute``: handlers raise ``AssetsError`` and never build error responses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from sandbox.lookup import candidates
from sandbox.vendors.assets.api import (
    AssetsError,
    api_base,
    assets,
    next_number,
    now,
    page_numbers,
    workspace_id,
)
from sandbox.vendors.assets.aql import AqlError, parse_aql
from sandbox.vendors.assets.objects import AssetsView, stored_values

AQL_DEFAULT_PAGE = 25
SCHEMA_DEFAULT_PAGE = 25


class AssetsRoute(APIRoute):
    """Checks the workspace of the path and turns ``AssetsError`` into the Assets error response."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_in_workspace(request: Request) -> Response:
            try:
                known = workspace_id(assets(request))
                asked = request.path_params.get("workspaceId")
                if asked != known:
                    raise AssetsError(404, f"No workspace found with id {asked}")
                return await handle(request)
            except AssetsError as failure:
                return failure.response()
            except RequestValidationError as invalid:
                problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in invalid.errors())
                return AssetsError(400, f"Invalid request: {problems}").response()

        return handle_in_workspace


workspace_router = APIRouter(route_class=AssetsRoute)


def _view(request: Request) -> AssetsView:
    state = assets(request)
    return AssetsView(state, workspace_id(state) or "", api_base(request))


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise AssetsError(400, "The request body is not valid JSON") from None


def _object(view: AssetsView, object_id: str) -> dict[str, Any]:
    obj = view.objects.get(object_id)
    if obj is None:
        raise AssetsError(404, f"No object found with id {object_id}")
    return obj


@workspace_router.get("/objectschema/list")
def object_schemas(request: Request, startAt: str | None = None, maxResults: str | None = None) -> Any:
    view = _view(request)
    start, size = page_numbers(startAt, maxResults, SCHEMA_DEFAULT_PAGE)
    schemas = list(view.schemas)
    page = schemas[start : start + size]
    return {
        "startAt": start,
        "maxResults": size,
        "total": len(schemas),
        "values": [view.schema_json(s) for s in page],
        "isLast": start + len(page) >= len(schemas),
    }


@workspace_router.get("/objectschema/{schemaId}")
def object_schema(request: Request, schemaId: str) -> Any:
    view = _view(request)
    schema = view.schemas.get(schemaId)
    if schema is None:
        raise AssetsError(404, f"No object schema found with id {schemaId}")
    return view.schema_json(schema)


def _schema_types(view: AssetsView, schema_id: str) -> list[dict[str, Any]]:
    if schema_id not in view.schemas:
        raise AssetsError(404, f"No object schema found with id {schema_id}")
    return sorted((t for t in view.types if t["objectSchemaId"] == schema_id), key=lambda t: t["position"])


@workspace_router.get("/objectschema/{schemaId}/objecttypes")
@workspace_router.get("/objectschema/{schemaId}/objecttypes/flat")
def object_types(request: Request, schemaId: str) -> Any:
    view = _view(request)
    return [view.type_json(t) for t in _schema_types(view, schemaId)]


@workspace_router.get("/objectschema/{schemaId}/attributes")
def schema_attributes(request: Request, schemaId: str) -> Any:
    view = _view(request)
    return [
        view.attribute_json(a) for t in _schema_types(view, schemaId) for a in view.type_attributes(t["id"])
    ]


@workspace_router.get("/objecttype/{typeId}")
def object_type(request: Request, typeId: str) -> Any:
    view = _view(request)
    object_type = view.types.get(typeId)
    if object_type is None:
        raise AssetsError(404, f"No object type found with id {typeId}")
    return view.type_json(object_type)


@workspace_router.get("/objecttype/{typeId}/attributes")
def type_attributes(request: Request, typeId: str) -> Any:
    view = _view(request)
    if typeId not in view.types:
        raise AssetsError(404, f"No object type found with id {typeId}")
    return [view.attribute_json(a) for a in view.type_attributes(typeId)]


def _matching(view: AssetsView, body: Any) -> list[dict[str, Any]]:
    query = body.get("qlQuery") if isinstance(body, dict) else None
    if not isinstance(query, str):
        raise AssetsError(
            400, errors={"qlQuery": 'qlQuery is required, e.g. {"qlQuery": "objectType = Employee"}'}
        )
    try:
        predicate = parse_aql(query)
    except AqlError as problem:
        raise AssetsError(400, str(problem), errors={"qlQuery": "Invalid AQL"}) from None
    found = candidates(view.objects, view.value_lookups(predicate), stored_values)
    return [o for o in found if predicate(lambda name, o=o: view.aql_values(o, name))]


@workspace_router.post("/object/aql")
async def search_objects(
    request: Request,
    startAt: str | None = None,
    maxResults: str | None = None,
    includeAttributes: str | None = None,
) -> Any:
    """Paging is in the query string per the spec; many clients send it in the body, so both work."""
    view = _view(request)
    body = await _json_body(request)
    from_body = body if isinstance(body, dict) else {}
    start, size = page_numbers(
        startAt if startAt is not None else from_body.get("startAt"),
        maxResults if maxResults is not None else from_body.get("maxResults"),
        AQL_DEFAULT_PAGE,
    )
    include = includeAttributes if includeAttributes is not None else from_body.get("includeAttributes", True)
    include_attributes = str(include).lower() != "false"
    matches = _matching(view, body)
    page = matches[start : start + size]
    type_ids = list(dict.fromkeys(o["objectTypeId"] for o in page))
    values = []
    for obj in page:
        rendered = view.object_json(obj, embed_attribute_types=False)
        if not include_attributes:
            rendered["attributes"] = []
        values.append(rendered)
    is_last = start + len(page) >= len(matches)
    return {
        "startAt": start,
        "maxResults": size,
        "total": len(matches),
        "isLast": is_last,
        "last": is_last,
        "objectTypeAttributes": [view.attribute_json(a) for t in type_ids for a in view.type_attributes(t)]
        if include_attributes
        else [],
        "values": values,
    }


@workspace_router.post("/object/aql/totalcount")
async def count_objects(request: Request) -> Any:
    return {"totalCount": len(_matching(_view(request), await _json_body(request)))}


@workspace_router.post("/object/create", status_code=201)
async def create_object(request: Request) -> Any:
    view = _view(request)
    type_id, values = view.validated_values(await _json_body(request), None, {})
    schema = view.schemas.get(view.types.get(type_id)["objectSchemaId"])
    number = next_number(view.state, "object", 1)
    stamp = now()
    obj = {
        "id": str(number),
        "objectTypeId": type_id,
        "objectKey": f"{schema['objectSchemaKey']}-{number}",
        "created": stamp,
        "updated": stamp,
        "values": values,
    }
    view.objects.put(obj["id"], obj)
    return JSONResponse(view.object_json(obj, embed_attribute_types=True), status_code=201)


@workspace_router.get("/object/{objectId}")
def get_object(request: Request, objectId: str) -> Any:
    view = _view(request)
    return view.object_json(_object(view, objectId), embed_attribute_types=True)


@workspace_router.put("/object/{objectId}")
async def update_object(request: Request, objectId: str) -> Any:
    """Attributes not in the body keep their values; one with no values is cleared."""
    view = _view(request)
    current = _object(view, objectId)
    type_id, values = view.validated_values(await _json_body(request), objectId, current["values"])
    if type_id != current["objectTypeId"]:
        raise AssetsError(
            400, errors={"objectTypeId": f"Object {objectId} is of object type {current['objectTypeId']}"}
        )
    updated = {**current, "values": values, "updated": now()}
    view.objects.put(objectId, updated)
    return view.object_json(updated, embed_attribute_types=True)


@workspace_router.delete("/object/{objectId}", status_code=204)
def delete_object(request: Request, objectId: str) -> Response:
    view = _view(request)
    _object(view, objectId)
    view.objects.delete(objectId)
    return Response(status_code=204)


router = APIRouter()
router.include_router(workspace_router, prefix="/jsm/assets/workspace/{workspaceId}/v1")
router.include_router(workspace_router, prefix="/ex/jira/{cloudId}/jsm/assets/workspace/{workspaceId}/v1")
