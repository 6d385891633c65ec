"""SCIM 2.0 Users (RFC 7644 §3.4.2): filter, 1-based ``startIndex``, capped ``count``, attribute
selection; one User; and the discovery endpoints a client reads first."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.vendors.scim.api import (
    CORE_USER,
    ENTERPRISE_USER,
    LIST_RESPONSE,
    PAGE_CAP,
    error,
    parse_attribute_list,
    render_user,
    scim,
    scim_response,
    scim_url,
)
from sandbox.vendors.scim.filter import ScimFilterError, parse_filter

router = APIRouter(prefix="/v2")


@router.get("/Users")
def list_users(request: Request) -> JSONResponse:
    params = request.query_params
    users_collection = scim(request).collection("users")
    start_index = _integer(params.get("startIndex"), default=1)
    count = _integer(params.get("count"), default=PAGE_CAP)
    if start_index is None or count is None:
        return error(400, "startIndex and count must be integers", "invalidValue")
    start_index = max(start_index, 1)  # RFC 7644: a value below 1 is read as 1
    count = min(max(count, 0), PAGE_CAP)
    users = list(users_collection)
    if params.get("filter"):
        try:
            predicate = parse_filter(params["filter"])
        except ScimFilterError as exc:
            return error(400, str(exc), "invalidFilter")
        users = [u for u in users if predicate(u)]
    page = users[start_index - 1 : start_index - 1 + count]
    attributes = parse_attribute_list(params.get("attributes"))
    excluded = parse_attribute_list(params.get("excludedAttributes"))
    return scim_response(
        {
            "schemas": [LIST_RESPONSE],
            "totalResults": len(users),
            "startIndex": start_index,
            "itemsPerPage": len(page),
            "Resources": [render_user(request, u, attributes, excluded) for u in page],
        }
    )


@router.get("/Users/{user_id}")
def get_user(request: Request, user_id: str) -> JSONResponse:
    users = scim(request).collection("users")
    user = users.get(user_id)
    if user is None:
        return error(404, f"Resource {user_id} not found")
    params = request.query_params
    rendered = render_user(
        request,
        user,
        parse_attribute_list(params.get("attributes")),
        parse_attribute_list(params.get("excludedAttributes")),
    )
    return scim_response(rendered, ETag=user["meta"]["version"])


@router.get("/ServiceProviderConfig")
def service_provider_config(request: Request) -> JSONResponse:
    return scim_response(
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "documentationUri": scim_url(request, "/ServiceProviderConfig"),
            "patch": {"supported": False},
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
    user_type = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "schema": CORE_USER,
        "schemaExtensions": [{"schema": ENTERPRISE_USER, "required": False}],
        "meta": {"resourceType": "ResourceType", "location": scim_url(request, "/ResourceTypes/User")},
    }
    return scim_response(
        {
            "schemas": [LIST_RESPONSE],
            "totalResults": 1,
            "startIndex": 1,
            "itemsPerPage": 1,
            "Resources": [user_type],
        }
    )


@router.get("/Schemas")
def schemas(request: Request) -> JSONResponse:
    found = [_schema(request, schema_id) for schema_id in SCHEMAS]
    return scim_response(
        {
            "schemas": [LIST_RESPONSE],
            "totalResults": len(found),
            "startIndex": 1,
            "itemsPerPage": len(found),
            "Resources": found,
        }
    )


@router.get("/Schemas/{schema_id}")
def schema(request: Request, schema_id: str) -> JSONResponse:
    if schema_id not in SCHEMAS:
        return error(404, f"Schema {schema_id} not found")
    return scim_response(_schema(request, schema_id))


def _integer(text: str | None, default: int) -> int | None:
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        return None


def _attribute(name: str, kind: str = "string", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": kind,
        "multiValued": False,
        "required": False,
        "caseExact": False,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
        **extra,
    }


def _sub_attributes(*names: str) -> list[dict[str, Any]]:
    return [_attribute(n, "boolean" if n == "primary" else "string") for n in names]


SCHEMAS: dict[str, dict[str, Any]] = {
    CORE_USER: {
        "name": "User",
        "description": "User Account",
        "attributes": [
            _attribute("userName", required=True, uniqueness="server"),
            _attribute(
                "name", "complex", subAttributes=_sub_attributes("formatted", "familyName", "givenName")
            ),
            _attribute("displayName"),
            _attribute("title"),
            _attribute("locale"),
            _attribute("timezone"),
            _attribute("active", "boolean"),
            _attribute(
                "emails",
                "complex",
                multiValued=True,
                subAttributes=_sub_attributes("value", "type", "primary"),
            ),
            _attribute(
                "phoneNumbers", "complex", multiValued=True, subAttributes=_sub_attributes("value", "type")
            ),
        ],
    },
    ENTERPRISE_USER: {
        "name": "EnterpriseUser",
        "description": "Enterprise User",
        "attributes": [
            _attribute("employeeNumber"),
            _attribute("department"),
            _attribute("organization"),
            _attribute("manager", "complex", subAttributes=_sub_attributes("value", "displayName")),
        ],
    },
}


def _schema(request: Request, schema_id: str) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": schema_id,
        **SCHEMAS[schema_id],
        "meta": {"resourceType": "Schema", "location": scim_url(request, f"/Schemas/{schema_id}")},
    }
