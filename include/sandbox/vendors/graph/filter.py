"""The slice of OData ``$filter`` that Graph's /users takes without advanced queries.

``eq``/``ne`` on the filterable properties, ``startswith(prop,'x')``, ``prop in ('a','b')``,
joined by ``and``/``or`` (and before or). String comparisons ignore case, as the directory
does. Anything else gets Graph's own "Unsupported query" error.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.lookup import Filter, all_of, any_of
from sandbox.store import IndexKeys

User = dict[str, Any]

FILTERABLE = (
    "id",
    "userPrincipalName",
    "mail",
    "displayName",
    "givenName",
    "surname",
    "jobTitle",
    "department",
    "employeeId",
    "accountEnabled",
)

_TOKEN = re.compile(r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<punct>[(),])|(?P<word>[A-Za-z0-9_.@-]+))")


class GraphFilterError(ValueError):
    """Answered as 400 ``Request_UnsupportedQuery``."""


def parse_graph_filter(text: str) -> Filter:
    tokens = _tokenize(text)
    parser = _Parser(tokens, text)
    predicate = parser.parse_or()
    if parser.index != len(tokens):
        raise GraphFilterError(
            f"Invalid filter clause: syntax error at '{tokens[parser.index][1]}' in '{text}'."
        )
    return predicate


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while text[position:].strip():
        match = _TOKEN.match(text, position)
        if match is None:
            raise GraphFilterError(f"Invalid filter clause: syntax error at position {position} in '{text}'.")
        kind = match.lastgroup or "word"
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.index = 0

    def take(self) -> tuple[str, str]:
        if self.index >= len(self.tokens):
            raise GraphFilterError(f"Invalid filter clause: '{self.text}' ends too early.")
        self.index += 1
        return self.tokens[self.index - 1]

    def expect(self, text: str) -> None:
        if self.take()[1] != text:
            raise GraphFilterError(f"Invalid filter clause: expected '{text}' in '{self.text}'.")

    def keyword(self, word: str) -> bool:
        if self.index < len(self.tokens) and self.tokens[self.index][1].lower() == word:
            self.index += 1
            return True
        return False

    def parse_or(self) -> Filter:
        terms = [self.parse_and()]
        while self.keyword("or"):
            terms.append(self.parse_and())
        return terms[0] if len(terms) == 1 else any_of(terms)

    def parse_and(self) -> Filter:
        terms = [self.parse_term()]
        while self.keyword("and"):
            terms.append(self.parse_term())
        return terms[0] if len(terms) == 1 else all_of(terms)

    def parse_term(self) -> Filter:
        word = self.take()[1]
        if word == "(":
            inner = self.parse_or()
            self.expect(")")
            return inner
        if word.lower() == "startswith":
            self.expect("(")
            name = _property(self.take()[1])
            self.expect(",")
            prefix = _fold(self._literal())
            self.expect(")")
            return Filter(
                lambda user: isinstance(user.get(name), str) and _fold(user[name]).startswith(prefix)
            )
        name = _property(word)
        operator = self.take()[1].lower()
        if operator == "in":
            self.expect("(")
            values = [_fold(self._literal())]
            while self.keyword(","):
                values.append(_fold(self._literal()))
            self.expect(")")
            return Filter(lambda user: _fold(user.get(name)) in values, ((name, tuple(values)),))
        if operator not in ("eq", "ne"):
            raise GraphFilterError(
                f"Unsupported or invalid query filter clause specified for operator '{operator}'."
            )
        value = _fold(self._literal())
        if operator == "eq":
            return Filter(lambda user: _fold(user.get(name)) == value, ((name, (value,)),))
        return Filter(lambda user: _fold(user.get(name)) != value)

    def _literal(self) -> Any:
        kind, word = self.take()
        if kind == "string":
            return word[1:-1].replace("''", "'")
        if word in ("true", "false"):
            return word == "true"
        if word == "null":
            return None
        raise GraphFilterError(f"Invalid filter clause: '{word}' is not a literal; quote strings as 'text'.")


def _property(word: str) -> str:
    match = next((p for p in FILTERABLE if p.lower() == word.lower()), None)
    if match is None:
        raise GraphFilterError(
            f"Unsupported or invalid query filter clause specified for property '{word}' of resource 'User'."
        )
    return match


def folded(name: str) -> IndexKeys:
    """The index of property ``name`` that ``eq`` and ``in`` look values up in: as they compare it."""
    return lambda user: [_fold(user.get(name))]


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value
