"""Filters that say which index entries their matches sit under, so a search reads only those records.

A vendor's filter parser (Graph ``$filter``, SCIM ``filter``, SOQL ``WHERE``) wraps each
equality term in a :class:`Filter` naming the field and the values a match must hold; ``and``
keeps one side's lookups, ``or`` joins them when every side has some. The filter is still
applied to what the index finds, so an index only ever narrows the records read, never the answer.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from sandbox.store import Collection, IndexKeys, Record

# (field, the values a matching record holds in it, one of them at least); a field is whatever
# the vendor's index maker takes (a property name, a parsed attribute path).
Lookups = tuple[tuple[Hashable, tuple[Hashable, ...]], ...]


@dataclass(frozen=True)
class Filter:
    """A predicate on a record and, if known, the lookups its matches are all found by (None: any record)."""

    test: Callable[[Any], bool]
    lookups: Lookups | None = None
    # Other lookups that find every match too (an ``and``'s other terms), for a caller that can
    # serve only some lookups from its indexes.
    alternatives: tuple[Lookups, ...] = ()

    def __call__(self, record: Any) -> bool:
        return self.test(record)


def all_of(terms: list[Filter]) -> Filter:
    """``a and b``: every match of it is a match of each term, so any term's lookups find them all."""
    found = [lookups for t in terms for lookups in (t.lookups, *t.alternatives) if lookups is not None]
    return Filter(lambda record: all(t(record) for t in terms), found[0] if found else None, tuple(found[1:]))


def any_of(terms: list[Filter]) -> Filter:
    """``a or b``: found by the terms' lookups together, if each term has some."""
    joined = (
        None if any(t.lookups is None for t in terms) else tuple(itertools.chain(*(t.lookups for t in terms)))
    )
    return Filter(lambda record: any(t(record) for t in terms), joined)


def negated(term: Filter) -> Filter:
    return Filter(lambda record: not term(record))


def candidates(
    collection: Collection, lookups: Lookups | None, keys: Callable[[Any], IndexKeys]
) -> list[Record]:
    """The records a filter with ``lookups`` can match, in the collection's order: through the index
    ``keys(field)`` of each field, or every record when the filter names none."""
    if lookups is None:
        return list(collection)
    return collection.in_order(
        record_id
        for field, values in lookups
        for value in values
        for record_id in collection.index(f"lookup:{field}", keys(field)).exact(value)
    )
