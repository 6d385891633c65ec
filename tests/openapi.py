"""Validate sandbox answers against the vendors' own OpenAPI 3.0 documents (``tests/specs.py``).

Documents are named by their path under the specs directory (``jira-platform-v3.json``,
``zoho-crm-v8/record.json``). One registry resolves every ``$ref``: a document's own
``#/components/...`` and Zoho's cross-file refs, which point at raw.githubusercontent.com and
resolve to the local copies (a Zoho document not copied there, such as custom_views.json,
resolves to an open schema). OpenAPI 3.0 ``nullable`` becomes a JSON Schema null type, and
schemas validate as draft 4, the JSON Schema OpenAPI 3.0 is built on. A successful request's
answer must match a success schema: error alternatives (Zoho's ``API_Exception``) are dropped
from a 2xx response's top-level ``oneOf`` unless the request was meant to fail (Zoho answers a
missing record with a 2xx whose items are errors). Alternatives of a top-level ``oneOf`` may
overlap, so any one matching will do.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from tests.specs import SPECS, spec_path

ZOHO = "zoho-crm-v8/"
ZOHO_REMOTE = "https://raw.githubusercontent.com/Zohocorp-Pvt-Ltd/crm-oas/refs/heads/main/v8.0/"
LOCAL = "https://specs.invalid/"


def _with_null_types(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _with_null_types(v) for k, v in node.items()}
        if node.get("nullable") is True:
            if "type" in node:
                node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
            if "$ref" in node:
                node = {"anyOf": [{"$ref": node.pop("$ref")}, {"type": "null"}], **node}
        return node
    if isinstance(node, list):
        return [_with_null_types(v) for v in node]
    return node


class _OpenDocument(dict):
    """A document not copied here: every pointer into it finds an empty schema, which accepts anything."""

    def __missing__(self, key: str) -> _OpenDocument:
        return _OpenDocument()


def _without_patterns(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_patterns(v) for k, v in node.items() if k != "pattern"}
    if isinstance(node, list):
        return [_without_patterns(v) for v in node]
    return node


# Documents whose string patterns were generated from their examples and fit no real value
# (users.json: an email must hold ``[a-z0-9]{9}[@][a-z0-9]{5}[.]com``): their patterns are dropped.
EXAMPLE_PATTERNS = {ZOHO + "users.json"}


@cache
def document(name: str) -> dict[str, Any]:
    """A document with its ``nullable``s as null types."""
    loaded = _with_null_types(json.loads(spec_path(name).read_text()))
    return _without_patterns(loaded) if name in EXAMPLE_PATTERNS else loaded


def uri(name: str) -> str:
    """The base URI of a document, the one its own and its neighbours' ``$ref``s use."""
    return ZOHO_REMOTE + name.removeprefix(ZOHO) if name.startswith(ZOHO) else LOCAL + name


def _retrieve(address: str) -> Resource:
    if address.startswith(ZOHO_REMOTE):
        name = ZOHO + address.removeprefix(ZOHO_REMOTE)
        contents: dict[str, Any] = document(name) if (SPECS / name).exists() else _OpenDocument()
    else:
        contents = document(address.removeprefix(LOCAL))
    return Resource.from_contents(contents, default_specification=DRAFT4)


REGISTRY = Registry(retrieve=_retrieve)  # type: ignore[call-arg]


def response(name: str, path: str, method: str, status: int) -> dict[str, Any] | None:
    """The documented response of an operation for ``status`` (or its ``default``), None if undocumented."""
    doc = document(name)
    responses = doc["paths"][path][method]["responses"]
    found = responses.get(str(status), responses.get("default"))
    if found is not None and "$ref" in found:
        found = doc["components"]["responses"][found["$ref"].split("/")[-1]]
    return found


def response_schema(
    name: str, path: str, method: str, status: int, failed: bool = False
) -> dict[str, Any] | None:
    """The JSON schema of a documented response, resolvable through REGISTRY; None when it has no
    JSON body (or the document gives the status none). ``failed``: the answer to a request meant
    to fail, which may be any alternative."""
    documented = response(name, path, method, status) or {}
    schema = documented.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return None
    if "oneOf" in schema:
        # Alternatives may overlap (an error item list is also a Zoho API_Exception): any one will do.
        keep = [s for s in schema["oneOf"] if failed or status >= 300 or not _is_error_branch(s)]
        schema = {"anyOf": keep}
    return _absolute_refs(schema, uri(name))


def _is_error_branch(schema: dict[str, Any]) -> bool:
    return "Exception" in schema.get("$ref", "") or "Error" in schema.get("$ref", "")


def _absolute_refs(node: Any, base: str) -> Any:
    """Point the document-local ``#/components/...`` refs at the document, for a schema lifted out of it."""
    if isinstance(node, dict):
        return {
            k: (base + v if k == "$ref" and v.startswith("#") else _absolute_refs(v, base))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_absolute_refs(v, base) for v in node]
    return node


def assert_valid(body: Any, schema: dict[str, Any], what: str) -> None:
    """``body`` matches ``schema``, else fail with the innermost mismatch and where it is."""
    validator = jsonschema.Draft4Validator(schema, registry=REGISTRY)
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    while error is not None and error.context:
        error = jsonschema.exceptions.best_match(error.context)
    assert error is None, f"{what} breaks the spec at {list(error.absolute_path)}: {error.message[:300]}"


def assert_matches_spec(
    body: Any, name: str, path: str, method: str, status: int = 200, failed: bool = False
) -> None:
    """``body`` is what document ``name`` says ``method`` ``path`` answers with ``status``."""
    schema = response_schema(name, path, method, status, failed)
    assert schema is not None, f"{name} gives {method.upper()} {path} no JSON body for {status}"
    assert_valid(body, schema, f"{method.upper()} {path} answer ({status})")


def component(name: str, schema: str) -> dict[str, Any]:
    """A named schema of a document (``components/schemas``), to validate one item of an answer."""
    return {"$ref": f"{uri(name)}#/components/schemas/{schema}"}


def documented_route(names: list[str], method: str, served: str) -> tuple[str, str] | None:
    """The document and path template that describe a served route (``/crm/v8/{module}/search``),
    None when no document has it.

    Parameter names may differ. A served literal segment matches the same literal, or a parameter
    where no documented path has that literal, as a router prefers literals: the sandbox's
    ``/crm/v8/Deals/{id}/Stage_History`` is the documented related list
    ``/crm/v8/{module_api_name}/{record_id}/{related_list_api_name}``, while
    ``/crm/v8/settings/related_lists`` is no record ``/crm/v8/{module_api_name}/{id}``. Of paths
    that still tie, the first documented wins. The path must document ``method``.
    """
    wanted = _segments(served)
    candidates = [
        (name, path)
        for name in names
        for path in document(name)["paths"]
        if len(_segments(path)) == len(wanted)
    ]
    for position, segment in enumerate(wanted):
        literal = [c for c in candidates if _segments(c[1])[position] == segment]
        if _is_parameter(segment) or not literal:
            candidates = [c for c in candidates if _is_parameter(_segments(c[1])[position])]
        else:
            candidates = literal
    if not candidates or method.lower() not in document(candidates[0][0])["paths"][candidates[0][1]]:
        return None
    return candidates[0]


def _segments(path: str) -> list[str]:
    return path.strip("/").split("/")


def _is_parameter(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")
