"""The discovery endpoints a client reads first (RFC 7644 §4): what the server supports, its
resource types and their schemas; each says what the write routes really do."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.vendors.scim.api import LIST_RESPONSE, PAGE_CAP, error, scim_response, scim_url
from sandbox.vendors.scim.schemas import KINDS, SCHEMAS, ResourceKind

router = APIRouter(prefix="/v2")


@router.get("/ServiceProviderConfig")
def service_provider_config(request: Request) -> JSONResponse:
    return scim_response(
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "documentationUri": scim_url(request, "/ServiceProviderConfig"),
            "patch": {"supported": True},
            "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": True, "maxResults": PAGE_CAP},
            "changePassword": {"supported": False},
            "sort": {"supported": False},
            "etag": {"supported": True},
            "authenticationSchemes": [
                {
                    "type": "oauthbearertoken",
                    "name": "OAuth Bearer Token",
                    "description": "Authentication with a static bearer token",
                    "specUri": "https://www.rfc-editor.org/info/rfc6750",
                    "primary": True,
                }
            ],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": scim_url(request, "/ServiceProviderConfig"),
            },
        }
    )


@router.get("/ResourceTypes")
def resource_types(request: Request) -> JSONResponse:
    return scim_response(_list_response([_resource_type(request, kind) for kind in KINDS]))


@router.get("/ResourceTypes/{name}")
def resource_type(request: Request, name: str) -> JSONResponse:
    kind = next((k for k in KINDS if k.name == name), None)
    if kind is None:
        return error(404, f"Resource type {name} not found")
    return scim_response(_resource_type(request, kind))


@router.get("/Schemas")
def schemas(request: Request) -> JSONResponse:
    return scim_response(_list_response([_schema(request, schema_id) for schema_id in SCHEMAS]))


@router.get("/Schemas/{schema_id}")
def schema(request: Request, schema_id: str) -> JSONResponse:
    if schema_id not in SCHEMAS:
        return error(404, f"Schema {schema_id} not found")
    return scim_response(_schema(request, schema_id))


def _list_response(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def _resource_type(request: Request, kind: ResourceKind) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": kind.name,
        "name": kind.name,
        "endpoint": kind.endpoint,
        "schema": kind.schema,
        "schemaExtensions": [{"schema": e, "required": False} for e in kind.extensions],
        "meta": {
            "resourceType": "ResourceType",
            "location": scim_url(request, f"/ResourceTypes/{kind.name}"),
        },
    }


def _schema(request: Request, schema_id: str) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": schema_id,
        **SCHEMAS[schema_id],
        "meta": {"resourceType": "Schema", "location": scim_url(request, f"/Schemas/{schema_id}")},
    }
