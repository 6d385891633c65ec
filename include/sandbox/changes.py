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


_recorded: ContextVar[tuple[list[Change], ...]] = ContextVar("sandbox_recorded_changes", default=())


@contextmanager
def recording(changes: list[Change]) -> Iterator[None]:
    """Append to ``changes`` every write made in this context (this request) inside the block; a
    recording inside another (a composite request's undo log inside the request's) feeds both."""
    token = _recorded.set((*_recorded.get(), changes))
    try:
        yield
    finally:
        _recorded.reset(token)


def note(made: Iterable[Change]) -> None:
    """Called by the store on every write; a lazy ``made`` costs nothing while nothing records."""
    recordings = _recorded.get()
    if recordings:
        written = list(made)
        for changes in recordings:
            changes.extend(written)
