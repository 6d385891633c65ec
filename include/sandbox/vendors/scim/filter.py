"""The SCIM 2.0 ``filter`` language (RFC 7644 §3.4.2.2), parsed into a predicate over resource dicts.

The sandbox needs the whole grammar because identity connectors in the wild send all of it:
``eq ne co sw ew pr gt ge lt le``, ``and``/``or``/``not`` with the RFC's precedence
(not, then and, then or), parentheses, value paths (``emails[type eq "work"]``), value
paths followed by a sub-attribute (``emails[type eq "work"].value eq "x"``, which Entra's
provisioning sends), and attributes qualified by a schema URN. String comparisons
ignore case except on the case-exact attributes (``id``, ``externalId``, ``meta.version``);
``meta.*`` dates compare as instants, not as text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox.lookup import Filter, all_of, any_of, negated
from sandbox.store import IndexKeys

Resource = dict[str, Any]
Predicate = Callable[[Resource], bool]

OPERATORS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")
CASE_EXACT = frozenset({"id", "externalid", "meta.version"})
DATE_ATTRIBUTES = frozenset({"meta.created", "meta.lastmodified"})

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<punct>[()\[\]])
      | (?P<word>[A-Za-z0-9_:.$\-+]+)
    )""",
    re.VERBOSE,
)


class ScimFilterError(ValueError):
    """A filter the sandbox cannot parse: answered as SCIM error ``invalidFilter`` (400)."""


@dataclass(frozen=True)
class _Token:
    kind: str  # "string", "punct" or "word"
    text: str
    position: int


@dataclass(frozen=True)
class AttributePath:
    """``[urn:...:]name[.sub]``; names are kept lower-cased, since SCIM attribute names ignore case."""

    urn: str | None
    name: str
    sub: str | None

    @property
    def dotted(self) -> str:
        return f"{self.name}.{self.sub}" if self.sub else self.name

    @classmethod
    def parse(cls, text: str) -> AttributePath:
        urn = None
        if text.lower().startswith("urn:"):
            urn, _, text = text.rpartition(":")
            if not urn or not text:
                raise ScimFilterError(f"attribute path {text!r} has a schema URN but no attribute name")
        name, _, sub = text.partition(".")
        if not re.fullmatch(r"[A-Za-z$][\w$-]*", name) or (
            sub and not re.fullmatch(r"[A-Za-z$][\w$-]*", sub)
        ):
            raise ScimFilterError(f"{text!r} is not an attribute path (attribute or attribute.subAttribute)")
        return cls(urn.lower() if urn else None, name.lower(), sub.lower() or None)


def parse_filter(text: str) -> Filter:
    """The predicate ``text`` describes; raises ``ScimFilterError`` naming the position of the problem."""
    tokens = _tokenize(text)
    if not tokens:
        raise ScimFilterError("the filter is empty")
    parser = _Parser(tokens, text)
    predicate = parser.parse_or()
    if parser.peek() is not None:
        token = parser.peek()
        raise ScimFilterError(f"unexpected {token.text!r} at position {token.position} of filter {text!r}")
    return predicate


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ScimFilterError(f"cannot read filter {text!r} at position {position}")
        kind = match.lastgroup or "word"
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        position = match.end()
    return tokens


class _Parser:
    """Recursive descent: or-expression > and-expression > not / ( ) / attribute expression."""

    def __init__(self, tokens: list[_Token], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.index = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise ScimFilterError(f"filter {self.text!r} ends too early")
        self.index += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise ScimFilterError(
                f"expected {text!r} at position {token.position} of filter {self.text!r}, found {token.text!r}"
            )

    def is_keyword(self, keyword: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "word" and token.text.lower() == keyword

    def parse_or(self) -> Filter:
        terms = [self.parse_and()]
        while self.is_keyword("or"):
            self.take()
            terms.append(self.parse_and())
        if len(terms) == 1:
            return terms[0]
        return any_of(terms)

    def parse_and(self) -> Filter:
        terms = [self.parse_unary()]
        while self.is_keyword("and"):
            self.take()
            terms.append(self.parse_unary())
        if len(terms) == 1:
            return terms[0]
        return all_of(terms)

    def parse_unary(self) -> Filter:
        if self.is_keyword("not"):
            self.take()
            self.expect("(")
            inner = self.parse_or()
            self.expect(")")
            return negated(inner)
        token = self.peek()
        if token is not None and token.text == "(":
            self.take()
            inner = self.parse_or()
            self.expect(")")
            return inner
        return self.parse_attribute_expression()

    def parse_attribute_expression(self) -> Filter:
        token = self.take()
        if token.kind != "word":
            raise ScimFilterError(
                f"expected an attribute at position {token.position} of filter {self.text!r}, found {token.text!r}"
            )
        path = AttributePath.parse(token.text)
        following = self.peek()
        if following is not None and following.text == "[":
            return self.parse_value_path(path)
        return self.parse_comparison(lambda resource: _values(resource, path), path)

    def parse_value_path(self, path: AttributePath) -> Filter:
        """``emails[type eq "work"]`` alone, or followed by ``.value <op> <value>``."""
        self.expect("[")
        inner = self.parse_or()
        self.expect("]")
        elements = lambda resource: [e for e in _as_list(_attribute(resource, path)) if isinstance(e, dict)]  # noqa: E731
        following = self.peek()
        if following is not None and following.kind == "word" and following.text.startswith("."):
            self.take()
            sub = AttributePath.parse(following.text[1:])
            matched = lambda resource: [  # noqa: E731
                e.get(_key(e, sub.name)) for e in elements(resource) if inner(e)
            ]
            return self.parse_comparison(matched, AttributePath(path.urn, path.name, sub.name))
        return Filter(lambda resource: any(inner(e) for e in elements(resource)))

    def parse_comparison(self, values: Callable[[Resource], list[Any]], path: AttributePath) -> Filter:
        token = self.take()
        operator = token.text.lower()
        if operator == "pr":
            return Filter(lambda resource: any(_present(v) for v in values(resource)))
        if operator not in OPERATORS:
            raise ScimFilterError(
                f"unknown operator {token.text!r} at position {token.position} of filter {self.text!r}; "
                f"use one of {', '.join(OPERATORS)} or pr"
            )
        expected = _literal(self.take(), self.text)
        compare = _comparator(operator, path, expected)
        if operator == "ne":
            return Filter(lambda resource: not any(compare(v) for v in values(resource)))
        test = lambda resource: any(compare(v) for v in values(resource))  # noqa: E731
        if operator == "eq" and isinstance(expected, str) and path.dotted not in DATE_ATTRIBUTES:
            return Filter(test, ((path, (_folded(expected, path),)),))
        return Filter(test)  # read every resource: no index holds dates or numbers


def _literal(token: _Token, text: str) -> Any:
    if token.kind == "string":  # RFC 7644: a JSON string, with JSON's escapes
        try:
            return json.loads(token.text)
        except json.JSONDecodeError:
            raise ScimFilterError(
                f"invalid string at position {token.position} of filter {text!r}: {token.text}"
            ) from None
    word = token.text.lower()
    if word in ("true", "false"):
        return word == "true"
    if word == "null":
        return None
    try:
        return float(token.text) if any(c in token.text for c in ".eE") else int(token.text)
    except ValueError:
        raise ScimFilterError(
            f"expected a value (a quoted string, number, true, false or null) at position {token.position} "
            f"of filter {text!r}, found {token.text!r}"
        ) from None


def _comparator(operator: str, path: AttributePath, expected: Any) -> Callable[[Any], bool]:
    """Compares one attribute value with the filter's value; ``ne`` is built as ``not eq``."""
    is_date = path.dotted in DATE_ATTRIBUTES
    if is_date and isinstance(expected, str):
        expected = _instant(expected)
    elif isinstance(expected, str) and path.dotted not in CASE_EXACT:
        expected = expected.casefold()
    if operator in ("gt", "ge", "lt", "le") and (isinstance(expected, bool) or expected is None):
        raise ScimFilterError(f"{operator} needs a string, number or date, not {expected!r}")

    def normalise(value: Any) -> Any:
        if is_date and isinstance(value, str):
            try:
                return _instant(value)
            except ScimFilterError:
                return None
        if isinstance(value, str) and path.dotted not in CASE_EXACT:
            return value.casefold()
        return value

    def compare(value: Any) -> bool:
        value = normalise(value)
        if operator in ("eq", "ne"):
            return value == expected
        if value is None or type(value) is bool or isinstance(value, dict):
            return False
        try:
            if operator == "co":
                return isinstance(value, str) and expected in value
            if operator == "sw":
                return isinstance(value, str) and value.startswith(expected)
            if operator == "ew":
                return isinstance(value, str) and value.endswith(expected)
            if operator == "gt":
                return value > expected
            if operator == "ge":
                return value >= expected
            if operator == "lt":
                return value < expected
            return value <= expected
        except TypeError:  # a string attribute compared with a number: no match, as a server would say
            return False

    return compare


def indexed(path: AttributePath) -> IndexKeys:
    """The index an ``eq`` on a string attribute finds its resources in: each value as compared."""
    return lambda resource: [_folded(v, path) for v in _values(resource, path) if isinstance(v, str)]


def _folded(value: Any, path: AttributePath) -> Any:
    return value.casefold() if isinstance(value, str) and path.dotted not in CASE_EXACT else value


def _instant(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ScimFilterError(f'{text!r} is not a date-time such as "2025-01-01T00:00:00Z"') from None


def _key(resource: Resource, name: str) -> str:
    """The resource's own spelling of an attribute name (SCIM names ignore case)."""
    if name in resource:
        return name
    return next((key for key in resource if key.lower() == name), name)


def _attribute(resource: Resource, path: AttributePath) -> Any:
    container = resource
    if path.urn is not None:
        extension = resource.get(_key(resource, path.urn))
        container = extension if isinstance(extension, dict) else {}
    return container.get(_key(container, path.name))


def _values(resource: Resource, path: AttributePath) -> list[Any]:
    """Every value the path reaches: many for a multi-valued attribute (a filter matches if any does)."""
    value = _attribute(resource, path)
    if path.sub is None:
        # A complex multi-valued attribute without sub-attribute is compared on its "value".
        return [e.get("value") if isinstance(e, dict) else e for e in _as_list(value)]
    return [e.get(_key(e, path.sub)) for e in _as_list(value) if isinstance(e, dict)]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _present(value: Any) -> bool:
    return value not in (None, "", [], {})
