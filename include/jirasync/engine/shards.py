"""Shards of a change set: parts of one run's apply that separate tasks write at once.

A sync whose definition sets ``shards`` applies its change set as that many mapped Airflow tasks,
which the executor spreads over its workers (each Celery worker takes some). A record's shard
follows from its key alone, so every change of a record, and every write an interrupted run left
open for it, falls in the same shard whatever run planned it: each shard's task settles its own
records' interrupted writes and nobody else's, under a lock of its own.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Shard:
    """Part ``index`` (from 0) of ``count``."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index} of {self.count} does not exist; shards count from 0")

    def __str__(self) -> str:
        return f"shard {self.index + 1} of {self.count}"

    def holds(self, key: str) -> bool:
        # crc32, not hash(): the same key must land in the same shard in every process.
        return zlib.crc32(key.encode()) % self.count == self.index

    def of(self, changes: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``changes`` whose record is in this shard (a row without a key goes to the
        first shard, which refuses it as an unkeyed row would be refused anywhere)."""
        keys = changes["key"].astype(object)
        held = keys.map(lambda key: self.holds(key) if isinstance(key, str) else self.index == 0)
        return changes[held.astype(bool)]

    def lock_name(self, sync_id: str) -> str:
        """The name of the apply lock this shard holds: shards of a sync lock apart."""
        return f"{sync_id}#{self.index + 1}/{self.count}"
