"""A working subset of SOQL: parse a query into a tree the Salesforce emulator evaluates on its records.

Covered: ``SELECT`` of fields and parent fields (``Account.Name``) or ``COUNT()``, ``FROM``,
``WHERE`` with ``= != <> < <= > >=``, ``LIKE``, ``IN``/``NOT IN``, ``AND``/``OR``/``NOT`` and
parentheses, literals (strings, numbers, ``true``/``false``/``null``, dates, date-times and
the date constants ``TODAY``, ``YESTERDAY``, ``LAST_N_DAYS:n``), ``ORDER BY`` (``ASC``/``DESC``,
``NULLS FIRST``/``LAST``), ``LIMIT`` and ``OFFSET`` (at most 2,000, as on Salesforce).
Anything else is a ``SoqlError`` whose text reads like Salesforce's ``MALFORMED_QUERY``.

Comparisons follow SOQL: text compares case-insensitively, ``null`` only matches ``= null``
and ``!= null``, and a date-time field compared to a date-time literal compares instants.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

MAX_OFFSET = 2000

_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<string>'(?:\\.|[^'\\])*')
    | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<operator><=|>=|!=|<>|=|<|>)
    | (?P<punct>[(),])
    | (?P<word>[A-Za-z_][A-Za-z0-9_.]*(?::\d+)?)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC",
    "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "NULL", "TRUE", "FALSE",
}  # fmt: skip


# Salesforce's escape sequences in string literals; any other escaped character stands for itself.
_ESCAPED = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


class SoqlError(ValueError):
    """A query the emulator cannot run; the text is what Salesforce's MALFORMED_QUERY would say."""


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    position: int

    @property
    def keyword(self) -> str | None:
        upper = self.text.upper()
        return upper if self.kind == "word" and upper in _KEYWORDS else None


@dataclass(frozen=True)
class Comparison:
    field: str
    operator: str  # = != < <= > >= LIKE IN NOT IN
    value: Any  # a literal, or a tuple of literals for IN


@dataclass(frozen=True)
class Not:
    condition: Condition


@dataclass(frozen=True)
class BooleanOp:
    operator: str  # AND or OR
    conditions: tuple[Condition, ...]


Condition = Comparison | Not | BooleanOp


@dataclass(frozen=True)
class Ordering:
    field: str
    descending: bool = False
    nulls_last: bool = False


@dataclass(frozen=True)
class Query:
    fields: tuple[str, ...]  # empty for SELECT COUNT()
    sobject: str
    where: Condition | None = None
    order_by: tuple[Ordering, ...] = ()
    limit: int | None = None
    offset: int = 0

    @property
    def is_count(self) -> bool:
        return not self.fields

    def referenced_fields(self) -> list[str]:
        """Every field path the query reads, for the caller to check against the object's fields."""
        paths = list(self.fields) + [o.field for o in self.order_by]
        stack = [self.where] if self.where is not None else []
        while stack:
            node = stack.pop()
            if isinstance(node, Comparison):
                paths.append(node.field)
            elif isinstance(node, Not):
                stack.append(node.condition)
            else:
                stack.extend(node.conditions)
        return paths


def parse_soql(text: str, today: date | None = None) -> Query:
    """Parse ``text``; ``today`` anchors the relative date constants (default: today in UTC)."""
    return _Parser(text, today or datetime.now(UTC).date()).query()


def matches(condition: Condition | None, value_of: Callable[[str], Any]) -> bool:
    """Whether a record, read through ``value_of(field path)``, satisfies the WHERE condition."""
    if condition is None:
        return True
    if isinstance(condition, Not):
        return not matches(condition.condition, value_of)
    if isinstance(condition, BooleanOp):
        results = (matches(c, value_of) for c in condition.conditions)
        return all(results) if condition.operator == "AND" else any(results)
    return _compare(value_of(condition.field), condition.operator, condition.value)


def sort_key(ordering: Ordering, value: Any) -> tuple:
    """A key that sorts nulls first (or last) and text case-insensitively, before any reversal."""
    if value is None:
        return (0 if ordering.nulls_last == ordering.descending else 2,)
    if isinstance(value, str):
        value = value.casefold()
    return (1, value)


def _compare(actual: Any, operator: str, expected: Any) -> bool:
    if operator in ("IN", "NOT IN"):
        found = any(_compare(actual, "=", candidate) for candidate in expected)
        return found if operator == "IN" else not found
    if expected is None or actual is None:
        if operator == "=":
            return actual is None and expected is None
        if operator == "!=":
            return (actual is None) != (expected is None)
        return False
    if operator == "LIKE":
        return _like(expected).fullmatch(str(actual)) is not None
    left, right = _comparable(actual, expected)
    if left is None:
        return False
    if operator == "=":
        return left == right
    if operator == "!=":
        return left != right
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[operator]


def _comparable(actual: Any, expected: Any) -> tuple[Any, Any]:
    """Bring a stored value and a literal to one type; (None, None) when they cannot be compared."""
    if isinstance(expected, datetime):
        stamp = _parse_datetime(str(actual))
        return (stamp, expected) if stamp else (None, None)
    if isinstance(expected, date):
        try:
            return date.fromisoformat(str(actual)[:10]), expected
        except ValueError:
            return None, None
    if isinstance(expected, bool):
        return (actual, expected) if isinstance(actual, bool) else (None, None)
    if isinstance(expected, int | float):
        try:
            return float(actual), float(expected)
        except (TypeError, ValueError):
            return None, None
    return str(actual).casefold(), str(expected).casefold()


def _parse_datetime(text: str) -> datetime | None:
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _like(pattern: str) -> re.Pattern[str]:
    parts = []
    for char in pattern:
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


class _Parser:
    def __init__(self, text: str, today: date) -> None:
        self.text = text
        self.today = today
        self.tokens = self._tokenize(text)
        self.index = 0

    def _tokenize(self, text: str) -> list[Token]:
        tokens, position = [], 0
        text = text.rstrip()
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                raise SoqlError(f"unexpected token: '{text[position:].split()[0]}'")
            kind = match.lastgroup or ""
            tokens.append(Token(kind, match.group(kind), match.start(kind)))
            position = match.end()
        return tokens

    def query(self) -> Query:
        self._expect_keyword("SELECT")
        fields = self._select_list()
        self._expect_keyword("FROM")
        sobject = self._name("an object name after FROM")
        where = None
        if self._accept_keyword("WHERE"):
            where = self._or()
        order_by: list[Ordering] = []
        if self._accept_keyword("ORDER"):
            self._expect_keyword("BY")
            order_by.append(self._ordering())
            while self._accept_punct(","):
                order_by.append(self._ordering())
        limit = self._integer("LIMIT") if self._accept_keyword("LIMIT") else None
        offset = self._integer("OFFSET") if self._accept_keyword("OFFSET") else 0
        if offset > MAX_OFFSET:
            raise SoqlError(f"Maximum SOQL offset allowed is {MAX_OFFSET}")
        if self.index < len(self.tokens):
            raise SoqlError(f"unexpected token: '{self.tokens[self.index].text}'")
        return Query(tuple(fields), sobject, where, tuple(order_by), limit, offset)

    def _select_list(self) -> list[str]:
        token = self._peek()
        if token is not None and token.text.upper() == "COUNT":
            self.index += 1
            self._expect_punct("(")
            self._expect_punct(")")
            return []
        fields = [self._name("a field name after SELECT")]
        while self._accept_punct(","):
            fields.append(self._name("a field name after ','"))
        return fields

    def _ordering(self) -> Ordering:
        field = self._name("a field name in ORDER BY")
        descending = False
        if self._accept_keyword("DESC"):
            descending = True
        else:
            self._accept_keyword("ASC")
        nulls_last = descending  # Salesforce's default: nulls first ascending, last descending
        if self._accept_keyword("NULLS"):
            nulls_last = self._accept_keyword("LAST")
            if not nulls_last:
                self._expect_keyword("FIRST")
        return Ordering(field, descending, nulls_last)

    def _or(self) -> Condition:
        conditions = [self._and()]
        while self._accept_keyword("OR"):
            conditions.append(self._and())
        return conditions[0] if len(conditions) == 1 else BooleanOp("OR", tuple(conditions))

    def _and(self) -> Condition:
        conditions = [self._unary()]
        while self._accept_keyword("AND"):
            conditions.append(self._unary())
        return conditions[0] if len(conditions) == 1 else BooleanOp("AND", tuple(conditions))

    def _unary(self) -> Condition:
        if self._accept_keyword("NOT"):
            return Not(self._unary())
        if self._accept_punct("("):
            condition = self._or()
            self._expect_punct(")")
            return condition
        return self._comparison()

    def _comparison(self) -> Comparison:
        field = self._name("a field name in WHERE")
        token = self._next("an operator")
        if token.kind == "operator":
            operator = "!=" if token.text == "<>" else token.text
            return Comparison(field, operator, self._literal())
        keyword = token.keyword
        if keyword == "LIKE":
            value = self._literal()
            if not isinstance(value, str):
                raise SoqlError(f"LIKE needs a text value, got '{self.tokens[self.index - 1].text}'")
            return Comparison(field, "LIKE", value)
        if keyword == "NOT":
            self._expect_keyword("IN")
            return Comparison(field, "NOT IN", self._list())
        if keyword == "IN":
            return Comparison(field, "IN", self._list())
        raise SoqlError(f"unexpected token: '{token.text}'")

    def _list(self) -> tuple[Any, ...]:
        self._expect_punct("(")
        values = [self._literal()]
        while self._accept_punct(","):
            values.append(self._literal())
        self._expect_punct(")")
        return tuple(values)

    def _literal(self) -> Any:
        token = self._next("a value")
        if token.kind == "string":
            return re.sub(r"\\(.)", lambda m: _ESCAPED.get(m.group(1), m.group(1)), token.text[1:-1])
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        if token.kind == "datetime":
            stamp = _parse_datetime(token.text)
            if stamp is None:
                raise SoqlError(f"value of filter criterion is not a valid date-time: '{token.text}'")
            return stamp
        if token.kind == "date":
            try:
                return date.fromisoformat(token.text)
            except ValueError:
                raise SoqlError(f"value of filter criterion is not a valid date: '{token.text}'") from None
        if token.kind == "word":
            upper = token.text.upper()
            constants: dict[str, Any] = {"NULL": None, "TRUE": True, "FALSE": False}
            if upper in constants:
                return constants[upper]
            if upper == "TODAY":
                return self.today
            if upper == "YESTERDAY":
                return self.today - timedelta(days=1)
            if upper.startswith("LAST_N_DAYS:"):
                return self.today - timedelta(days=int(upper.partition(":")[2]))
        raise SoqlError(f"unexpected token: '{token.text}'")

    def _integer(self, clause: str) -> int:
        token = self._next(f"a number after {clause}")
        if token.kind != "number" or not token.text.isdigit():
            raise SoqlError(f"unexpected token: '{token.text}' ({clause} needs a whole number)")
        return int(token.text)

    def _name(self, what: str) -> str:
        token = self._next(what)
        if token.kind != "word" or token.keyword is not None:
            raise SoqlError(f"unexpected token: '{token.text}' (expected {what})")
        return token.text

    def _peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _next(self, what: str) -> Token:
        token = self._peek()
        if token is None:
            raise SoqlError(f"unexpected end of query: expected {what}")
        self.index += 1
        return token

    def _accept_keyword(self, keyword: str) -> bool:
        token = self._peek()
        if token is not None and token.keyword == keyword:
            self.index += 1
            return True
        return False

    def _expect_keyword(self, keyword: str) -> None:
        token = self._next(keyword)
        if token.keyword != keyword:
            raise SoqlError(f"unexpected token: '{token.text}' (expected {keyword})")

    def _accept_punct(self, char: str) -> bool:
        token = self._peek()
        if token is not None and token.kind == "punct" and token.text == char:
            self.index += 1
            return True
        return False

    def _expect_punct(self, char: str) -> None:
        token = self._next(f"'{char}'")
        if token.kind != "punct" or token.text != char:
            raise SoqlError(f"unexpected token: '{token.text}' (expected '{char}')")
