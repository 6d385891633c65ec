"""What the SCIM routes share: the token, the Error body, and how a stored user becomes a response.

Stored users are SCIM resources without ``meta.location`` (it depends on the URL the
client used) and with the enterprise extension under its URN.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from sandbox.vendor import VendorState, public_base_url, vendor_state

NAME = "scim"
BEARER_TOKEN = "sandbox-scim-bearer-token"
PAGE_CAP = 100  # the most resources one ListResponse carries, whatever ``count`` asks

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
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


def render_user(
    request: Request, user: dict[str, Any], attributes: list[str] | None, excluded: list[str] | None
) -> dict[str, Any]:
    rendered = {**user, "meta": {**user["meta"], "location": scim_url(request, f"/Users/{user['id']}")}}
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
        if urn.lower() in (CORE_USER.lower(),):
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
