"""Which records an admin write changed, so vendors that track changes learn of them as they happen.

Graph's delta log and SCIM's ``meta.lastModified`` must follow changes made through the admin
API. Rather than comparing every record with its last seen copy on each request (a walk of
100,000 users per page), the admin routes record the writes they make (``recording``), and the
sandbox hands them to the vendor's ``on_change`` hook once the write is done.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Change:
    """One record put or deleted: as it was before the write and as it is after (None: absent)."""

    vendor: str
    collection: str
    record_id: str
    before: Record | None
    after: Record | None


_recorded: ContextVar[list[Change] | None] = ContextVar("sandbox_recorded_changes", default=None)


@contextmanager
def recording(changes: list[Change]) -> Iterator[None]:
    """Append to ``changes`` every write made in this context (this request) inside the block."""
    token = _recorded.set(changes)
    try:
        yield
    finally:
        _recorded.reset(token)


def note(made: Iterable[Change]) -> None:
    """Called by the store on every write; a lazy ``made`` costs nothing while nothing records."""
    changes = _recorded.get()
    if changes is not None:
        changes.extend(made)
