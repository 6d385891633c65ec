"""Zoho search ``criteria``: ``((Email:equals:a@b.com)and(Last_Name:starts_with:B))``.

Values escape ``(``, ``)`` and ``,`` with a backslash; ``in`` and ``between`` take
comma-separated values. At most 10 conditions, as in Zoho.
"""

from __future__ import annotations

from typing import Any

from sandbox.lookup import Filter, all_of, any_of
from sandbox.store import IndexKeys
from sandbox.vendors.zoho.api import ZohoError
from sandbox.vendors.zoho.coql import field_value
from sandbox.vendors.zoho.metadata import Module

MAX_CONDITIONS = 10
# The two ways a search compares a field, each with its index: a criteria condition reads the
# field as COQL does (a lookup by its id), ``email=``/``phone=`` read it raw, empty as "".
CRITERIA, RAW = "criteria", "raw"


def parse_criteria(text: str, module: Module) -> Filter:
    parser = _CriteriaParser(text, module)
    predicate = parser.expression()
    if parser.position != len(text):
        raise _invalid(text)
    if parser.conditions > MAX_CONDITIONS:
        raise ZohoError(
            400, "LIMIT_EXCEEDED", f"at most {MAX_CONDITIONS} criteria are allowed", limit=MAX_CONDITIONS
        )
    return predicate


def _invalid(text: str) -> ZohoError:
    return ZohoError(400, "INVALID_QUERY", "invalid query formed", param_name="criteria", criteria=text)


class _CriteriaParser:
    def __init__(self, text: str, module: Module) -> None:
        self.text = text
        self.module = module
        self.position = 0
        self.conditions = 0

    def expression(self) -> Filter:
        parts = [self.group()]
        joins: list[str] = []
        while self.text.startswith(("and", "or"), self.position):
            join = "and" if self.text.startswith("and", self.position) else "or"
            self.position += len(join)
            joins.append(join)
            parts.append(self.group())
        if len(set(joins)) > 1:
            raise _invalid(self.text)  # Zoho needs parentheses to mix and/or
        if not joins:
            return parts[0]
        return all_of(parts) if joins[0] == "and" else any_of(parts)

    def group(self) -> Filter:
        if not self.text.startswith("(", self.position):
            raise _invalid(self.text)
        self.position += 1
        inner = self.expression() if self.text.startswith("(", self.position) else self.condition()
        if not self.text.startswith(")", self.position):
            raise _invalid(self.text)
        self.position += 1
        return inner

    def condition(self) -> Filter:
        raw, escaped = [], False
        while self.position < len(self.text):
            char = self.text[self.position]
            if escaped:
                raw.append("\0" if char == "," else char)
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == ")":
                break
            else:
                raw.append(char)
            self.position += 1
        name, _, rest = "".join(raw).partition(":")
        operator, _, value = rest.partition(":")
        if not name or not operator or (self.module.field(name) is None and name != "id"):
            raise _invalid(self.text)
        self.conditions += 1
        values = [v.replace("\0", ",").strip().casefold() for v in value.split(",")]
        return _comparison(name, operator, values, self.text)


def any_field_equals(names: list[str], value: str) -> Filter:
    """``email=``/``phone=`` search: any of the fields ``names`` equal to ``value``, case ignored."""
    wanted = value.strip().casefold()
    return Filter(
        lambda r: any(str(r.get(n) or "").casefold() == wanted for n in names),
        tuple(((RAW, n), (wanted,)) for n in names),
    )


def indexed(field: tuple[str, str]) -> IndexKeys:
    """The index a search finds ``equals``/``in``/``email=`` matches in, for (CRITERIA or RAW, field name)."""
    kind, name = field
    if kind == RAW:
        return lambda record: [str(record.get(name) or "").casefold()]
    return lambda record: [_text_of(record, name)]


def _text_of(record: dict[str, Any], name: str) -> str:
    value = field_value(record, name)
    return "" if value is None else str(value).casefold()


def _comparison(name: str, operator: str, values: list[str], text: str) -> Filter:
    def text_of(record: dict[str, Any]) -> str:
        return _text_of(record, name)

    first = values[0].replace("\0", ",")
    if operator == "equals":
        return Filter(lambda r: text_of(r) == first, (((CRITERIA, name), (first,)),))
    if operator == "in":
        return Filter(lambda r: text_of(r) in values, (((CRITERIA, name), tuple(values)),))
    simple = {
        "not_equal": lambda r: text_of(r) != first,
        "starts_with": lambda r: text_of(r).startswith(first),
        "contains": lambda r: first in text_of(r),
        "not_contains": lambda r: first not in text_of(r),
        "greater_than": lambda r: text_of(r) > first,
        "greater_equal": lambda r: text_of(r) >= first,
        "less_than": lambda r: text_of(r) < first,
        "less_equal": lambda r: text_of(r) <= first,
        "between": lambda r: len(values) == 2 and values[0] <= text_of(r) <= values[1],
    }
    if operator not in simple:
        raise _invalid(text)
    return Filter(simple[operator])
