"""What the SCIM routes share: the token, the Error body, writes, and how a stored resource becomes a response.

Stored resources (users, groups) are SCIM resources without ``meta.location`` (it depends
on the URL the client used), users with the enterprise extension under its URN.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from fastapi import Request
from fastapi.responses import JSONResponse

from sandbox.vendor import VendorError, VendorState, public_base_url, vendor_state

NAME = "scim"
BEARER_TOKEN = "sandbox-scim-bearer-token"
PAGE_CAP = 100  # the most resources one ListResponse carries, whatever ``count`` asks

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
MEDIA_TYPE = "application/scim+json"

ALWAYS_RETURNED = ("id", "schemas")


def scim(request: Request) -> VendorState:
    return vendor_state(request, NAME)


def scim_url(request: Request, path: str) -> str:
    return f"{public_base_url(request)}/v2{path}"


def scim_response(body: Any, status: int = 200, **headers: str) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers or None)


def error(status: int, detail: str, scim_type: str | None = None, **headers: str) -> JSONResponse:
    """RFC 7644 §3.12: ``status`` is a string."""
    body: dict[str, Any] = {"schemas": [ERROR], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return scim_response(body, status, **headers)


def fail(status: int, detail: str, scim_type: str | None = None) -> NoReturn:
    """Answer the request with a SCIM Error, from however deep in a write it went wrong."""
    raise VendorError(error(status, detail, scim_type))


def route_error(status: int, message: str) -> JSONResponse:
    """The framework's own answers (no such endpoint, method, or a body that is not JSON) as SCIM Errors."""
    return error(status, message, "invalidSyntax" if status == 400 else None)


@contextmanager
def writing(request: Request) -> Iterator[None]:
    """One write: atomic against other requests (a uniqueness check and its insert), and stamped
    through the same ``on_change`` hook as admin writes, so readers see it the same way."""
    sandbox = request.app.state.sandbox
    with sandbox.store.transaction(), sandbox.telling_vendors():
        yield


def render(
    request: Request, resource: dict[str, Any], attributes: list[str] | None, excluded: list[str] | None
) -> dict[str, Any]:
    endpoint = f"/{resource['meta']['resourceType']}s/{resource['id']}"
    rendered = {**resource, "meta": {**resource["meta"], "location": scim_url(request, endpoint)}}
    if attributes:
        rendered = _project(rendered, attributes)
    if excluded:
        rendered = _exclude(rendered, excluded)
    return rendered


def parse_attribute_list(text: str | None) -> list[str] | None:
    return [a.strip() for a in text.split(",") if a.strip()] if text else None


def _split(path: str) -> tuple[str | None, str, str | None]:
    """``[urn:]name[.sub]``: the URN (if any), the attribute and the sub-attribute, names lower-cased."""
    urn = None
    if path.lower().startswith("urn:"):
        urn, _, path = path.rpartition(":")
        if urn.lower() in (CORE_USER.lower(), CORE_GROUP.lower()):
            urn = None
    name, _, sub = path.partition(".")
    return (urn.lower() if urn else None), name.lower(), (sub.lower() or None)


def _key(container: dict[str, Any], name: str) -> str | None:
    return next((key for key in container if key.lower() == name), None)


def _project(user: dict[str, Any], attributes: list[str]) -> dict[str, Any]:
    """Only the asked attributes (sub-attributes too), plus ``id`` and ``schemas``."""
    result: dict[str, Any] = {name: user[name] for name in ALWAYS_RETURNED if name in user}
    for path in attributes:
        urn, name, sub = _split(path)
        source, target = user, result
        if urn is not None:
            urn_key = _key(user, urn)
            if urn_key is None or not isinstance(user[urn_key], dict):
                continue
            source, target = user[urn_key], result.setdefault(urn_key, {})
        if urn is not None and name == "":  # the whole extension
            target.update(source)
            continue
        key = _key(source, name)
        if key is None:
            continue
        if sub is None:
            target[key] = source[key]
            continue
        value = source[key]
        if isinstance(value, list):
            picked = [{k: v for k, v in e.items() if k.lower() == sub} for e in value if isinstance(e, dict)]
            existing = target.get(key) if isinstance(target.get(key), list) else [{} for _ in picked]
            target[key] = [{**old, **new} for old, new in zip(existing, picked, strict=False)]
        elif isinstance(value, dict):
            target.setdefault(key, {}).update({k: v for k, v in value.items() if k.lower() == sub})
    return result


def _exclude(user: dict[str, Any], excluded: list[str]) -> dict[str, Any]:
    result = {**user}
    for path in excluded:
        urn, name, sub = _split(path)
        container = result
        if urn is not None:
            urn_key = _key(result, urn)
            if urn_key is None:
                continue
            container = result[urn_key] = {**result[urn_key]}
        key = _key(container, name)
        if key is None or key in ALWAYS_RETURNED:
            continue
        if sub is None:
            del container[key]
        elif isinstance(container[key], dict):
            container[key] = {k: v for k, v in container[key].items() if k.lower() != sub}
        elif isinstance(container[key], list):
            container[key] = [
                {k: v for k, v in e.items() if k.lower() != sub}
                for e in container[key]
                if isinstance(e, dict)
            ]
    return result
