"""A working subset of AQL, the Assets Query Language, for the emulated ``POST /object/aql``.

Supported: ``attribute = value`` (case-insensitive), ``==`` (case-sensitive), ``!=``,
``LIKE`` (contains, case-insensitive), ``IN (a, b)``, ``NOT IN (...)``, ``IS EMPTY``,
``IS NOT EMPTY``, ``AND``, ``OR`` and parentheses; names and values bare or in double
(or single) quotes. The special names ``objectType``, ``objectSchemaId``, ``objectId``,
``Key`` and ``Label`` are answered by the object itself; any other name is an attribute
of it. Keywords are case-insensitive, as in Assets.

What a name means for one object is the caller's business: ``parse_aql`` returns a
predicate over a lookup ``name -> list of strings`` (an attribute's values, or None when
the object's type has no such attribute, which never matches, as in Assets).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.lookup import Filter, all_of, any_of

ValuesOf = Callable[[str], list[str] | None]
# A predicate over ``ValuesOf``; ``=``, ``==`` and ``IN`` name their lookups as (the attribute
# name case folded, the values case folded), which the caller maps to its own index.
Predicate = Filter

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>==|!=|=|\(|\)|,)
      | (?P<word>[^\s=!(),"']+)
    )""",
    re.VERBOSE,
)


class AqlError(ValueError):
    """A query the emulator cannot parse; the message names the query and the position."""


@dataclass(frozen=True)
class _Token:
    kind: str  # "string", "op" or "word"
    text: str
    position: int

    @property
    def keyword(self) -> str:
        return self.text.upper() if self.kind == "word" else ""


def _tokenize(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(query):
        if query[position:].strip() == "":
            break
        match = _TOKEN.match(query, position)
        if match is None:
            raise AqlError(f"AQL: cannot read {query[position:]!r} at position {position} of {query!r}")
        kind = match.lastgroup or "word"
        text = match.group(kind)
        if kind == "string":
            text = re.sub(r"\\(.)", r"\1", text[1:-1])
        tokens.append(_Token(kind, text, match.start(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _tokenize(query)
        self.index = 0

    def parse(self) -> Predicate:
        if not self.tokens:
            raise AqlError("AQL: the query is empty; write e.g. objectType = Employee")
        predicate = self._or()
        if self.index < len(self.tokens):
            self._fail("expected AND, OR or the end of the query")
        return predicate

    def _peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _next(self, what: str) -> _Token:
        token = self._peek()
        if token is None:
            raise AqlError(f"AQL: expected {what} at the end of {self.query!r}")
        self.index += 1
        return token

    def _fail(self, message: str) -> None:
        token = self._peek()
        where = f"at {token.text!r} (position {token.position})" if token else "at the end"
        raise AqlError(f"AQL: {message} {where} of {self.query!r}")

    def _accept_keyword(self, *keywords: str) -> bool:
        token = self._peek()
        if token is not None and token.keyword in keywords:
            self.index += 1
            return True
        return False

    def _accept_op(self, op: str) -> bool:
        token = self._peek()
        if token is not None and token.kind == "op" and token.text == op:
            self.index += 1
            return True
        return False

    def _or(self) -> Predicate:
        terms = [self._and()]
        while self._accept_keyword("OR"):
            terms.append(self._and())
        return terms[0] if len(terms) == 1 else any_of(terms)

    def _and(self) -> Predicate:
        terms = [self._term()]
        while self._accept_keyword("AND"):
            terms.append(self._term())
        return terms[0] if len(terms) == 1 else all_of(terms)

    def _term(self) -> Predicate:
        if self._accept_op("("):
            inner = self._or()
            if not self._accept_op(")"):
                self._fail("expected ')'")
            return inner
        return self._condition()

    def _value(self) -> str:
        token = self._next("a value")
        if token.kind == "op":
            self.index -= 1
            self._fail("expected a value")
        return token.text

    def _condition(self) -> Predicate:
        name = self._value()
        if self._accept_keyword("IS"):
            negate = self._accept_keyword("NOT")
            if not self._accept_keyword("EMPTY"):
                self._fail("expected EMPTY after IS")
            return _emptiness(name, negate)
        if self._accept_keyword("NOT"):
            if not self._accept_keyword("IN"):
                self._fail("expected IN after NOT")
            return _negated(name, _membership(name, self._value_list()))
        if self._accept_keyword("IN"):
            return _membership(name, self._value_list())
        if self._accept_keyword("LIKE"):
            return _like(name, self._value())
        token = self._next("an operator (=, ==, !=, LIKE, IN, IS)")
        if token.kind != "op" or token.text not in ("=", "==", "!="):
            self.index -= 1
            self._fail("expected an operator (=, ==, !=, LIKE, IN, IS)")
        value = self._value()
        if token.text == "==":
            return _equality(name, value, case_sensitive=True)
        equal = _equality(name, value, case_sensitive=False)
        return _negated(name, equal) if token.text == "!=" else equal

    def _value_list(self) -> list[str]:
        if not self._accept_op("("):
            self._fail("expected '(' to open the IN list")
        values = [self._value()]
        while self._accept_op(","):
            values.append(self._value())
        if not self._accept_op(")"):
            self._fail("expected ',' or ')' in the IN list")
        return values


def _equality(name: str, value: str, *, case_sensitive: bool) -> Predicate:
    def test(values_of: ValuesOf) -> bool:
        values = values_of(name) or []
        if case_sensitive:
            return value in values
        return value.casefold() in {v.casefold() for v in values}

    return Filter(test, ((name.casefold(), (value.casefold(),)),))


def _membership(name: str, candidates: list[str]) -> Predicate:
    wanted = {c.casefold() for c in candidates}
    return Filter(
        lambda values_of: any(v.casefold() in wanted for v in values_of(name) or []),
        ((name.casefold(), tuple(wanted)),),
    )


def _like(name: str, fragment: str) -> Predicate:
    fragment = fragment.casefold()
    return Filter(lambda values_of: any(fragment in v.casefold() for v in values_of(name) or []))


def _emptiness(name: str, negate: bool) -> Predicate:
    def test(values_of: ValuesOf) -> bool:
        values = values_of(name)
        if values is None:  # the type has no such attribute: neither empty nor not empty
            return False
        return bool(values) if negate else not values

    return Filter(test)


def _negated(name: str, predicate: Predicate) -> Predicate:
    """``!=`` and ``NOT IN`` match only objects whose type has the attribute, as in Assets."""
    return Filter(lambda values_of: values_of(name) is not None and not predicate(values_of))


def parse_aql(query: str) -> Predicate:
    """The predicate of an AQL query; raises ``AqlError`` naming the query and what is wrong."""
    return _Parser(query).parse()
