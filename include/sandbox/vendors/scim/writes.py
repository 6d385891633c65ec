"""How a write's body becomes a resource: a whole one (POST, PUT) or PATCH operations (RFC 7644 §3.5.2).

Values are read through the attribute's schema, the way provisioning clients send them:
attribute names in any case, booleans as the strings ``"True"``/``"False"`` (Entra sends
``active`` so), a bare id for a single complex attribute (``manager``), one object where a
list is expected. What the server owns (``id``, ``meta``, read-only attributes) is never
taken from a body.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from sandbox.vendors.scim.api import PATCH_OP, fail
from sandbox.vendors.scim.filter import Predicate, ScimFilterError, parse_filter
from sandbox.vendors.scim.schemas import SCHEMAS, Attribute, ResourceKind, find_attribute

Resource = dict[str, Any]
OPERATIONS = ("add", "replace", "remove")
SERVER_OWNED = ("schemas", "id", "meta")

_PATH = re.compile(
    r"(?:(?P<urn>urn:.*):)?(?P<name>[A-Za-z$][\w$-]*)(?:\[(?P<filter>.*)\])?(?:\.(?P<sub>[A-Za-z$][\w$-]*))?",
    re.IGNORECASE | re.DOTALL,
)
_EQUALITY = re.compile(r'\s*([A-Za-z$][\w$-]*)\s+eq\s+("(?:[^"\\]|\\.)*"|true|false)\s*', re.IGNORECASE)


def read_resource(body: Any, kind: ResourceKind) -> Resource:
    """The resource a POST or PUT body describes, in the schema's spelling, without what the server owns."""
    if not isinstance(body, dict):
        fail(400, "the request body must be a JSON object (a SCIM resource)", "invalidSyntax")
    resource: Resource = {}
    for key, value in body.items():
        extension = _extension(kind, key)
        if extension is not None and value is not None:
            if not isinstance(value, dict):
                fail(400, f"{extension} must be an object of its attributes", "invalidValue")
            resource[extension] = _read_object(value, SCHEMAS[extension]["attributes"], extension)
            continue
        attribute = find_attribute(SCHEMAS[kind.schema]["attributes"], key)
        if attribute is not None and _writable(attribute) and value is not None:
            resource[attribute["name"]] = coerce(value, attribute, attribute["name"])
    return resource


def apply_patch(resource: Resource, body: Any, kind: ResourceKind) -> Resource:
    """``resource`` after the PatchOp ``body``'s operations, applied in order; all or none of them."""
    if not isinstance(body, dict) or PATCH_OP not in (body.get("schemas") or []):
        fail(400, f"a PATCH body is a {PATCH_OP} message", "invalidSyntax")
    operations = _case_insensitive(body, "Operations")
    if not isinstance(operations, list) or not operations:
        fail(400, "a PATCH body needs a non-empty Operations list", "invalidSyntax")
    result = copy.deepcopy(resource)
    for operation in operations:
        if not isinstance(operation, dict):
            fail(400, "each operation is an object with op, path and value", "invalidSyntax")
        op = str(_case_insensitive(operation, "op") or "").lower()
        if op not in OPERATIONS:
            fail(400, f"op must be one of {', '.join(OPERATIONS)}, not {op!r}", "invalidSyntax")
        path = _case_insensitive(operation, "path")
        has_value = any(k.lower() == "value" for k in operation)
        value = _case_insensitive(operation, "value")
        if op != "remove" and not has_value:
            fail(400, f"a {op} operation needs a value", "invalidValue")
        if path and (op == "remove" or _extension(kind, str(path)) is None):
            _apply(result, _target(str(path), kind), op, value)
        elif path:  # a whole extension: each of its attributes
            _apply_unpathed(result, kind, op, str(path), value)
        elif op == "remove":
            fail(400, "a remove operation needs a path", "noTarget")
        elif not isinstance(value, dict):
            fail(400, f"a {op} operation without a path takes an object of attributes", "invalidValue")
        else:  # clients that send the whole resource send what the server owns too: not theirs to change
            for key, item in value.items():
                if key.lower() not in SERVER_OWNED:
                    _apply_unpathed(result, kind, op, key, item)
    return result


def coerce(value: Any, attribute: Attribute, where: str) -> Any:
    """``value`` as the attribute's type; a value of another type is an ``invalidValue`` error."""
    if attribute["multiValued"]:
        items = value if isinstance(value, list) else [value]
        single = {**attribute, "multiValued": False}
        return [coerce(item, single, where) for item in items]
    if attribute["type"] == "complex":
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, str):
            value = {"value": value}
        if not isinstance(value, dict):
            fail(400, f"{where} takes an object, not {value!r}", "invalidValue")
        return _read_object(value, attribute["subAttributes"], where)
    if attribute["type"] == "boolean":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            fail(400, f"{where} takes true or false, not {value!r}", "invalidValue")
        return value
    if not isinstance(value, str):
        fail(400, f"{where} takes a string, not {value!r}", "invalidValue")
    return value


@dataclass(frozen=True)
class _Target:
    """Where a PATCH path points: an attribute of the resource or an extension, maybe filtered, maybe a sub-attribute."""

    container: str | None  # the extension URN holding the attribute; None for the core schema
    attribute: Attribute | None  # None: the whole extension
    select: Predicate | None
    select_text: str | None
    sub: Attribute | None
    path: str


def _target(path: str, kind: ResourceKind) -> _Target:
    extension = _extension(kind, path)
    if extension is not None:
        return _Target(extension, None, None, None, None, path)
    match = _PATH.fullmatch(path.strip())
    if match is None:
        fail(400, f"{path!r} is not an attribute path", "invalidPath")
    container = None
    if match["urn"] is not None and match["urn"].lower() != kind.schema.lower():
        container = _extension(kind, match["urn"])
        if container is None:
            fail(400, f"{path!r}: {match['urn']} is not a schema of {kind.name}", "invalidPath")
    attributes = SCHEMAS[container or kind.schema]["attributes"]
    attribute = find_attribute(attributes, match["name"])
    if attribute is None:
        if match["name"].lower() in SERVER_OWNED:
            fail(400, f"{match['name']} is set by the server", "mutability")
        fail(400, f"{path!r}: {kind.name} has no attribute {match['name']!r}", "invalidPath")
    if not _writable(attribute):
        fail(400, f"{attribute['name']} is read-only", "mutability")
    select = None
    if match["filter"] is not None:
        if not attribute["multiValued"]:
            fail(400, f"{path!r}: only a multi-valued attribute takes a [filter]", "invalidPath")
        try:
            select = parse_filter(match["filter"])
        except ScimFilterError as exc:
            fail(400, f"{path!r}: {exc}", "invalidFilter")
    sub = None
    if match["sub"] is not None:
        sub = find_attribute(attribute.get("subAttributes", []), match["sub"])
        if sub is None:
            fail(400, f"{path!r}: {attribute['name']} has no sub-attribute {match['sub']!r}", "invalidPath")
    return _Target(container, attribute, select, match["filter"], sub, path)


def _apply_unpathed(resource: Resource, kind: ResourceKind, op: str, key: str, value: Any) -> None:
    """A path-less add or replace: each key of its value is a path (Entra sends ``name.givenName`` keys)."""
    extension = _extension(kind, key)
    if extension is not None and isinstance(value, dict):
        for name, item in value.items():
            _apply(resource, _target(f"{extension}:{name}", kind), op, item)
        return
    _apply(resource, _target(key, kind), op, value)


def _apply(resource: Resource, target: _Target, op: str, value: Any) -> None:
    holder = resource
    if target.container is not None:
        holder = resource.setdefault(target.container, {})
    if target.attribute is None:  # the whole extension
        if op != "remove":
            fail(400, f"{target.path} takes an object of its attributes", "invalidValue")
        resource.pop(target.container, None)
        return
    attribute, name = target.attribute, target.attribute["name"]
    if attribute["multiValued"]:
        _apply_multi(holder, target, op, value)
    elif target.sub is not None:
        _apply_sub(holder.setdefault(name, {}), target.sub, op, value, target.path)
        if not holder[name]:
            del holder[name]
    elif op == "remove":
        holder.pop(name, None)
    elif attribute["type"] == "complex":  # add and replace both merge the sub-attributes given
        holder[name] = {**(holder.get(name) or {}), **coerce(value, attribute, target.path)}
    else:
        holder[name] = coerce(value, attribute, target.path)
    if target.container is not None and not resource[target.container]:
        del resource[target.container]


def _apply_multi(holder: Resource, target: _Target, op: str, value: Any) -> None:
    assert target.attribute is not None
    name = target.attribute["name"]
    elements: list[Any] = list(holder.get(name) or [])
    if target.select is None and target.sub is None:
        if op == "remove":
            if value is None:
                holder.pop(name, None)
                return
            given = coerce(value, target.attribute, target.path)
            elements = [e for e in elements if not any(_matches(e, g) for g in given)]
        elif op == "replace":
            elements = coerce(value, target.attribute, target.path)
        else:
            added = coerce(value, target.attribute, target.path)
            elements += [e for e in added if not any(_same(e, old) for old in elements)]
    else:
        chosen = [i for i, e in enumerate(elements) if target.select is None or target.select(e)]
        if not chosen and op != "remove":
            if op == "replace" and target.select is not None:
                fail(400, f"no value of {name} matches {target.select_text!r}", "noTarget")
            elements.append(_new_element(target))
            chosen = [len(elements) - 1]
        if op == "remove" and target.sub is None:
            elements = [e for i, e in enumerate(elements) if i not in chosen]
        else:
            single = {**target.attribute, "multiValued": False}
            for i in chosen:
                if target.sub is not None:
                    _apply_sub(elements[i], target.sub, op, value, target.path)
                else:
                    elements[i] = {**elements[i], **coerce(value, single, target.path)}
    if elements:
        holder[name] = elements
    else:
        holder.pop(name, None)


def _apply_sub(element: Resource, sub: Attribute, op: str, value: Any, where: str) -> None:
    if op == "remove":
        element.pop(sub["name"], None)
    else:
        element[sub["name"]] = coerce(value, sub, where)


def _new_element(target: _Target) -> Resource:
    """For ``add`` to ``emails[type eq "work"].value`` where no work email is: the element the filter describes."""
    text = target.select_text or ""
    terms = re.split(r"\s+and\s+", text, flags=re.IGNORECASE) if text else []
    element: Resource = {}
    for term in terms:
        match = _EQUALITY.fullmatch(term)
        if match is None:
            fail(400, f"no value of {target.path} matches, and {text!r} does not describe one", "noTarget")
        element[match[1]] = json.loads(match[2].lower() if match[2][0] != '"' else match[2])
    assert target.attribute is not None
    return _read_object(element, target.attribute["subAttributes"], target.path)


def _read_object(value: Resource, attributes: list[Attribute], where: str) -> Resource:
    result: Resource = {}
    for key, item in value.items():
        attribute = find_attribute(attributes, key)
        if attribute is not None and _writable(attribute) and item is not None:
            result[attribute["name"]] = coerce(item, attribute, f"{where}.{attribute['name']}")
    return result


def _same(one: Any, other: Any) -> bool:
    """Two values of a multi-valued attribute are one if equal, or if they name the same value the same way."""
    if one == other:
        return True
    return (
        isinstance(one, dict)
        and isinstance(other, dict)
        and one.get("value") is not None
        and one.get("value") == other.get("value")
        and one.get("type") == other.get("type")
    )


def _matches(element: Any, given: Resource) -> bool:
    """A remove's value names the elements to remove by the sub-attributes it gives."""
    return isinstance(element, dict) and all(element.get(k) == v for k, v in given.items())


def _writable(attribute: Attribute) -> bool:
    return attribute["mutability"] != "readOnly"


def _extension(kind: ResourceKind, text: str) -> str | None:
    return next((e for e in kind.extensions if e.lower() == text.strip().lower()), None)


def _case_insensitive(mapping: Resource, key: str) -> Any:
    return next((v for k, v in mapping.items() if k.lower() == key.lower()), None)
