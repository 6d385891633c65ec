"""The result of writing one record, shared by every connector's batch writes.

Batch APIs succeed and fail per record; returning one ``RecordOutcome`` per input
record (in input order) lets the apply step store each result and keep only the
failed ones for the next run.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RecordOutcome:
    ok: bool
    id: str | None = None
    error: str | None = None
    retryable: bool = False

    @classmethod
    def success(cls, record_id: str | None) -> RecordOutcome:
        return cls(ok=True, id=record_id)

    @classmethod
    def failure(cls, error: str, *, retryable: bool, record_id: str | None = None) -> RecordOutcome:
        return cls(ok=False, id=record_id, error=error, retryable=retryable)
