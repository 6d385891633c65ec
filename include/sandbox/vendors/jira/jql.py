"""A bounded subset of JQL: clauses on project, issuetype, status, key, dates, labels, summary; AND, OR, ORDER BY.

Enough for what a sync asks (``project = SUP AND updated >= "2026-01-01 10:00" ORDER BY updated``);
anything else is refused with a 400 naming what is not understood, as Jira refuses bad JQL.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

UNBOUNDED = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
MAX_ORDER_FIELDS = 7

_TOKEN = re.compile(
    r"""\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|(>=|<=|!=|!~|[=<>~(),])|([^\s=<>!~(),"']+))"""
)
_FIELDS = {
    "project": "project",
    "issuetype": "issuetype",
    "type": "issuetype",
    "status": "status",
    "key": "key",
    "issuekey": "key",
    "id": "key",
    "updated": "updated",
    "updateddate": "updated",
    "created": "created",
    "createddate": "created",
    "labels": "labels",
    "summary": "summary",
    "text": "summary",
    "reporter": "reporter",
    "assignee": "assignee",
}
_RELATIVE = re.compile(r"([-+]?)(\d+)([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class JqlError(ValueError):
    """Bad or unsupported JQL; the message is what Jira's 400 body says."""


@dataclass(frozen=True)
class Clause:
    field: str
    operator: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Query:
    """``where`` is OR of AND-groups of clauses; ``order`` is (field, descending) pairs."""

    where: tuple[tuple[Clause, ...], ...]
    order: tuple[tuple[str, bool], ...]


def parse(jql: str) -> Query:
    tokens = _tokenize(jql)
    where_tokens, order_tokens = _split_order_by(tokens)
    groups: list[tuple[Clause, ...]] = []
    current: list[Clause] = []
    position = 0
    while position < len(where_tokens):
        clause, position = _clause(where_tokens, position)
        current.append(clause)
        if position < len(where_tokens):
            joiner = where_tokens[position][1].upper()
            if joiner == "OR":
                groups.append(tuple(current))
                current = []
            elif joiner != "AND":
                raise JqlError(f"Error in the JQL Query: Expecting either 'OR' or 'AND' but got '{joiner}'.")
            position += 1
            if position == len(where_tokens):
                raise JqlError(f"Error in the JQL Query: Expecting a field name after '{joiner}'.")
    if current:
        groups.append(tuple(current))
    return Query(tuple(groups), _order(order_tokens))


def require_bounded(query: Query) -> None:
    if not query.where:
        raise JqlError(UNBOUNDED)


# A token is (kind, text): kind "s" quoted string, "o" operator/punctuation, "w" word.
Token = tuple[str, str]


def _tokenize(jql: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    text = jql.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise JqlError(
                f"Error in the JQL Query: The character '{text[position]}' is a reserved JQL character."
            )
        double, single, operator, word = match.groups()
        if double is not None or single is not None:
            # Jira reads a backslash in a quoted string as escaping the character after it.
            quoted = double if double is not None else single
            tokens.append(("s", re.sub(r"\\(.)", r"\1", quoted)))
        elif operator is not None:
            tokens.append(("o", operator))
        elif word is not None:
            tokens.append(("w", word))
        position = match.end()
    return tokens


def _split_order_by(tokens: list[Token]) -> tuple[list[Token], list[Token]]:
    for i in range(len(tokens) - 1):
        kind, text = tokens[i]
        if kind == "w" and text.upper() == "ORDER":
            if tokens[i + 1][1].upper() != "BY":
                raise JqlError("Error in the JQL Query: Expecting 'BY' after 'ORDER'.")
            return tokens[:i], tokens[i + 2 :]
    return tokens, []


def _clause(tokens: list[Token], position: int) -> tuple[Clause, int]:
    name = tokens[position][1]
    field = _FIELDS.get(name.casefold())
    if field is None:
        raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")
    position += 1
    if position >= len(tokens):
        raise JqlError(f"Error in the JQL Query: Expecting an operator after '{name}'.")
    operator = tokens[position][1].upper()
    if operator == "NOT" and position + 1 < len(tokens) and tokens[position + 1][1].upper() == "IN":
        operator, position = "NOT IN", position + 1
    if operator not in {"=", "!=", ">=", "<=", ">", "<", "~", "IN", "NOT IN"}:
        raise JqlError(f"Error in the JQL Query: The operator '{tokens[position][1]}' is not supported here.")
    position += 1
    if operator in {"IN", "NOT IN"}:
        values, position = _list(tokens, position)
    else:
        if position >= len(tokens) or tokens[position][0] == "o":
            raise JqlError(f"Error in the JQL Query: Expecting a value after '{name} {operator}'.")
        values, position = (tokens[position][1],), position + 1
    return Clause(field, operator, values), position


def _list(tokens: list[Token], position: int) -> tuple[tuple[str, ...], int]:
    if position >= len(tokens) or tokens[position] != ("o", "("):
        raise JqlError("Error in the JQL Query: Expecting '(' after 'in'.")
    values: list[str] = []
    position += 1
    while position < len(tokens) and tokens[position] != ("o", ")"):
        if tokens[position] != ("o", ","):
            values.append(tokens[position][1])
        position += 1
    if position >= len(tokens):
        raise JqlError("Error in the JQL Query: Expecting ')' to close the list.")
    return tuple(values), position + 1


def _order(tokens: list[Token]) -> tuple[tuple[str, bool], ...]:
    order: list[tuple[str, bool]] = []
    position = 0
    while position < len(tokens):
        name = tokens[position][1]
        field = _FIELDS.get(name.casefold())
        if field is None:
            raise JqlError(f"Not able to sort using field '{name}'.")
        position += 1
        descending = False
        if position < len(tokens) and tokens[position][1].upper() in {"ASC", "DESC"}:
            descending = tokens[position][1].upper() == "DESC"
            position += 1
        if position < len(tokens) and tokens[position] == ("o", ","):
            position += 1
        order.append((field, descending))
    if len(order) > MAX_ORDER_FIELDS:
        raise JqlError(f"The ORDER BY clause can contain at most {MAX_ORDER_FIELDS} fields.")
    return tuple(order)


def matcher(query: Query, resolve: Callable[[Clause], Clause], now: dt.datetime) -> Callable[[dict], bool]:
    """A predicate on stored issues. ``resolve`` turns names into the stored ids (project key → id...)."""
    groups = [[_predicate(resolve(c), now) for c in group] for group in query.where]
    return lambda issue: any(all(p(issue) for p in group) for group in groups)


def sort_key(field: str) -> Callable[[dict], Any]:
    if field == "key":
        return lambda issue: (issue["key"].split("-")[0], int(issue["key"].split("-")[1]))
    if field in {"created", "updated"}:
        return lambda issue: issue["fields"][field]
    return lambda issue: str(issue["fields"].get(field) or "")


def _predicate(clause: Clause, now: dt.datetime) -> Callable[[dict], bool]:
    field, operator, values = clause.field, clause.operator, clause.values
    if field in {"created", "updated"}:
        bound = _moment(values[0], now)
        compare = {
            ">=": lambda v: v >= bound,
            ">": lambda v: v > bound,
            "<=": lambda v: v <= bound,
            "<": lambda v: v < bound,
            "=": lambda v: v == bound,
            "!=": lambda v: v != bound,
        }.get(operator)
        if compare is None:
            raise JqlError(f"The operator '{operator}' is not supported by the '{field}' field.")
        return lambda issue: compare(_stored_moment(issue["fields"][field]))
    if operator == "~":
        needle = values[0].casefold()
        return lambda issue: needle in str(issue["fields"].get(field, "")).casefold()
    if operator not in {"=", "!=", "IN", "NOT IN"}:
        raise JqlError(f"The operator '{operator}' is not supported by the '{field}' field.")
    wanted = {v.casefold() for v in values}
    negate = operator in {"!=", "NOT IN"}

    def member(issue: dict) -> bool:
        value = issue["key"] if field == "key" else issue["fields"].get(field)
        stored = value if isinstance(value, list) else [value]
        return any(str(v).casefold() in wanted for v in stored if v is not None)

    return (lambda issue: not member(issue)) if negate else member


def _moment(text: str, now: dt.datetime) -> dt.datetime:
    relative = _RELATIVE.fullmatch(text.strip())
    if relative:
        sign = -1 if relative.group(1) == "-" else 1
        moment = now + sign * dt.timedelta(**{_UNITS[relative.group(3)]: int(relative.group(2))})
        return moment.replace(second=0, microsecond=0)
    for layout in ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d"):
        try:
            return dt.datetime.strptime(text.strip(), layout).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
    raise JqlError(
        f"Date value '{text}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', "
        "'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
    )


def _stored_moment(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").replace(second=0, microsecond=0)
