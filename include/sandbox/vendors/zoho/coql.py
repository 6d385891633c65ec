"""A parser and evaluator for the subset of Zoho's COQL that jirasync and its users send.

``select f1, f2 from Module [where <condition>] [order by f [asc|desc], ...] [limit n [offset m] | limit m, n]``
with comparisons (``= != < > <= >= like not like in not in is null is not null between``)
joined by ``and``/``or`` and parentheses. Errors carry Zoho's codes (``SYNTAX_ERROR``,
``INVALID_QUERY``, ``LIMIT_EXCEEDED``) so the sandbox answers a bad query as Zoho does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MAX_LIMIT = 2000
MAX_OFFSET = 100_000
DEFAULT_LIMIT = 200
MAX_SELECT_FIELDS = 50

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<op><=|>=|!=|<>|=|<|>|\(|\)|,)"
    r"|(?P<word>[A-Za-z_$][\w$.]*))"
)
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?([+-]\d{2}:\d{2}|Z)?)?$")
_KEYWORDS = {
    "select",
    "from",
    "where",
    "order",
    "by",
    "limit",
    "offset",
    "and",
    "or",
    "not",
    "in",
    "like",
    "is",
}


class CoqlError(ValueError):
    """A query Zoho would refuse, with the body fields of Zoho's error answer."""

    def __init__(self, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


Predicate = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class Token:
    kind: str  # string, number, op, word
    text: str
    position: int

    @property
    def keyword(self) -> str:
        return self.text.lower() if self.kind == "word" else ""


@dataclass
class CoqlQuery:
    fields: list[str]
    module: str
    where: Predicate | None = None
    where_fields: list[str] = field(default_factory=list)
    order_by: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    def matches(self, record: dict[str, Any]) -> bool:
        return self.where is None or self.where(record)

    def sort(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Stable multi-key sort, last key first; missing values sort before any value, as nulls do in Zoho."""
        for name, descending in reversed(self.order_by):
            records = sorted(records, key=lambda r, n=name: _sort_key(field_value(r, n)), reverse=descending)
        return records


def field_value(record: dict[str, Any], name: str) -> Any:
    """A field, or a lookup's sub-field by dotted name (``Owner.name``, ``Account_Name.id``)."""
    value: Any = record
    for part in name.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    if isinstance(value, dict) and "id" in value and "." not in name:
        return value["id"]  # a lookup compared as a whole compares by id, as in Zoho
    return value


def parse_coql(text: str) -> CoqlQuery:
    return _Parser(_tokens(text)).query()


def _tokens(text: str) -> list[Token]:
    tokens, position = [], 0
    text = text.rstrip().rstrip(";")
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            if text[position:].strip() == "":
                break
            raise _syntax_error(text[position : position + 20], position)
        kind = match.lastgroup or "word"
        tokens.append(Token(kind, match.group(kind), match.start(kind)))
        position = match.end()
    return tokens


def _syntax_error(near: str, position: int) -> CoqlError:
    return CoqlError(
        "SYNTAX_ERROR",
        "error occured while parsing the query",
        {"near": near, "line": 1, "column": position + 1},
    )


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0

    def query(self) -> CoqlQuery:
        self.expect_keyword("select")
        fields = [self.field_name()]
        while self.accept_op(","):
            fields.append(self.field_name())
        if len(fields) > MAX_SELECT_FIELDS:
            raise CoqlError(
                "LIMIT_EXCEEDED",
                f"select columns limit exceeded: at most {MAX_SELECT_FIELDS}",
                {"by": "select_columns", "limit": MAX_SELECT_FIELDS},
            )
        self.expect_keyword("from")
        module = self.field_name()
        query = CoqlQuery(fields=fields, module=module)
        if self.accept_keyword("where"):
            query.where = self.disjunction(query.where_fields)
        if self.accept_keyword("order"):
            self.expect_keyword("by")
            query.order_by.append(self.order_item())
            while self.accept_op(","):
                query.order_by.append(self.order_item())
        if self.accept_keyword("limit"):
            first = self.integer()
            if self.accept_op(","):
                query.offset, query.limit = first, self.integer()
            else:
                query.limit = first
                if self.accept_keyword("offset"):
                    query.offset = self.integer()
        if self.index < len(self.tokens):
            token = self.tokens[self.index]
            raise _syntax_error(token.text, token.position)
        if query.limit > MAX_LIMIT or query.limit < 1:
            raise CoqlError(
                "LIMIT_EXCEEDED",
                f"limit must be between 1 and {MAX_LIMIT}",
                {"by": "limit", "limit": MAX_LIMIT},
            )
        if query.offset + query.limit > MAX_OFFSET:
            raise CoqlError(
                "LIMIT_EXCEEDED",
                f"offset and limit together can reach at most {MAX_OFFSET} records",
                {"by": "offset", "limit": MAX_OFFSET},
            )
        return query

    def order_item(self) -> tuple[str, bool]:
        name = self.field_name()
        if self.accept_keyword("desc"):
            return name, True
        self.accept_keyword("asc")
        return name, False

    def disjunction(self, used: list[str]) -> Predicate:
        parts = [self.conjunction(used)]
        while self.accept_keyword("or"):
            parts.append(self.conjunction(used))
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def conjunction(self, used: list[str]) -> Predicate:
        parts = [self.primary(used)]
        while self.accept_keyword("and"):
            parts.append(self.primary(used))
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def primary(self, used: list[str]) -> Predicate:
        if self.accept_op("("):
            inner = self.disjunction(used)
            self.expect_op(")")
            return inner
        name = self.field_name()
        used.append(name)
        return self.comparison(name)

    def comparison(self, name: str) -> Predicate:
        def get(record: dict[str, Any]) -> Any:
            return field_value(record, name)

        if self.accept_keyword("is"):
            negate = self.accept_keyword("not")
            self.expect_keyword("null")
            return (lambda r: get(r) not in (None, "")) if negate else (lambda r: get(r) in (None, ""))
        negate = self.accept_keyword("not")
        if self.accept_keyword("in"):
            self.expect_op("(")
            values = [self.value()]
            while self.accept_op(","):
                values.append(self.value())
            self.expect_op(")")
            keys = {_compare_key(v) for v in values}
            return lambda r: (_compare_key(get(r)) in keys) != negate
        if self.accept_keyword("like"):
            pattern = _like_pattern(str(self.value()))
            return lambda r: (get(r) is not None and bool(pattern.fullmatch(str(get(r))))) != negate
        if self.accept_keyword("between"):
            low = _compare_key(self.value())
            self.expect_keyword("and")
            high = _compare_key(self.value())
            return lambda r: _within(get(r), low, high) != negate
        if negate:
            raise self.error()
        operator = self.operator()
        expected = _compare_key(self.value())
        return lambda r: _compare(get(r), operator, expected)

    def operator(self) -> str:
        token = self.peek()
        if token is None or token.kind != "op" or token.text in "(),":
            raise self.error()
        self.index += 1
        return "!=" if token.text == "<>" else token.text

    def value(self) -> Any:
        token = self.peek()
        if token is None:
            raise self.error()
        self.index += 1
        if token.kind == "string":
            return re.sub(r"\\(.)", r"\1", token.text[1:-1])
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        if token.keyword in ("true", "false"):
            return token.keyword == "true"
        if token.keyword == "null":
            return None
        raise _syntax_error(token.text, token.position)

    def integer(self) -> int:
        token = self.peek()
        if token is None or token.kind != "number" or "." in token.text:
            raise self.error()
        self.index += 1
        return int(token.text)

    def field_name(self) -> str:
        token = self.peek()
        if token is None or token.kind != "word" or token.keyword in _KEYWORDS:
            raise self.error()
        self.index += 1
        return token.text

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def accept_keyword(self, keyword: str) -> bool:
        token = self.peek()
        if token is not None and token.keyword == keyword:
            self.index += 1
            return True
        return False

    def expect_keyword(self, keyword: str) -> None:
        if not self.accept_keyword(keyword):
            raise self.error()

    def accept_op(self, op: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "op" and token.text == op:
            self.index += 1
            return True
        return False

    def expect_op(self, op: str) -> None:
        if not self.accept_op(op):
            raise self.error()

    def error(self) -> CoqlError:
        token = self.peek()
        if token is None:
            last = self.tokens[-1] if self.tokens else Token("word", "", 0)
            return _syntax_error(last.text, last.position + len(last.text))
        return _syntax_error(token.text, token.position)


def _like_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "%" else re.escape(c) for c in pattern), re.IGNORECASE | re.DOTALL)


def _compare_key(value: Any) -> Any:
    """Make values of one field comparable: date-times by instant, text case-insensitively."""
    if isinstance(value, str):
        if _DATETIME.match(value):
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return value.casefold()
            return parsed.timestamp() if parsed.tzinfo else parsed.isoformat()
        return value.casefold()
    return value


def _compare(actual: Any, operator: str, expected: Any) -> bool:
    key = _compare_key(actual)
    if operator == "=":
        return key == expected
    if operator == "!=":
        return key != expected
    if (
        key is None
        or expected is None
        or (type(key) is not type(expected) and not _both_numbers(key, expected))
    ):
        return False
    if operator == "<":
        return key < expected
    if operator == ">":
        return key > expected
    if operator == "<=":
        return key <= expected
    return key >= expected


def _within(actual: Any, low: Any, high: Any) -> bool:
    return _compare(actual, ">=", low) and _compare(actual, "<=", high)


def _both_numbers(a: Any, b: Any) -> bool:
    return isinstance(a, int | float) and isinstance(b, int | float)


def _sort_key(value: Any) -> tuple[int, Any]:
    key = _compare_key(value)
    if key is None:
        return (0, "")
    if isinstance(key, int | float):
        return (1, key)
    return (2, str(key))
