"""Apply a change set through a writer, batch by batch, recording every outcome.

Each batch is announced in the journal (and committed) before it is written, and its outcome is
recorded in one transaction after. A process that dies in between leaves the intent behind; the
next apply asks the writer to `reconcile` it, so a create whose response was lost is recorded,
not made twice. Records that fail wait in `pending` and come back through `merge_pending`.

A writer with a `concurrency` above 1 has that many batches written at once (Jira user properties
one call a record, CRM contacts one call a batch; over a vendor budget that allows as many calls at
once). The journal stays exact whatever order they finish in: this thread announces each batch
before it is handed to a writer thread and records each outcome as it comes back.

A sharded apply (``shard``) writes only its shard's records and settles only their interrupted
writes, under a lock of its own, while other tasks write the other shards.

A dry run walks the same path and stops before the first write.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, Protocol

import pandas as pd

from jirasync.engine.shards import Shard
from jirasync.engine.store import CHANGE_COLUMNS, BatchOutcome, JournalEntry, StateStore

KINDS = ("create", "update", "link", "unlink", "delete", "clear", "conflict", "skip")
WRITE_ORDER = ("link", "create", "update", "clear", "unlink", "delete")
DIRECTIONS = ("to_target", "to_source")
COUNTERS = {
    "create": "created",
    "update": "updated",
    "link": "linked",
    "unlink": "unlinked",
    "delete": "deleted",
    "clear": "cleared",
}
STALE = "stale: another run wrote this record after this plan was made; the next run plans it again"


class ApplyError(RuntimeError):
    """The change set or the writer broke the apply contract."""


@dataclass(frozen=True)
class WriteRecord:
    """One record to write: its field values decoded from the change set's JSON."""

    kind: str
    key: str
    source_id: str | None
    target_id: str | None
    values: dict[str, Any]
    before: dict[str, Any]


@dataclass(frozen=True)
class WriteOutcome:
    """What the remote side did with one record.

    `record_id` is the id of the written record on the side written to: for a create, the id the
    remote gave the new record.
    """

    record_id: str | None = None
    error: str | None = None
    retryable: bool = False
    # Why the remote side could not take this write now, though nothing is wrong with it (e.g. no
    # workflow transition leads to the status): the record is skipped and reported, not failed;
    # nothing is recorded as written, so the next plan asks for the write again.
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.skipped is None


class Writer(Protocol):
    """The write side of a sync family, over one vendor API."""

    batch_size: int

    def write(self, kind: str, direction: str, records: Sequence[WriteRecord]) -> list[WriteOutcome]:
        """Write records of one kind and direction; one outcome per record, in order."""
        ...

    def reconcile(self, records: Sequence[WriteRecord]) -> list[str | None]:
        """For creates that may or may not have happened: the remote id of each, or None if absent."""
        ...

    def lookup_calls(self, creates: int) -> int:
        """The fewest calls `reconcile` can make for that many creates, for the run's ideal."""
        ...


@dataclass(frozen=True)
class Failure:
    key: str
    kind: str
    error: str
    action: str


@dataclass
class ApplySummary:
    """Counts are per record (not per field); a dry run counts what the real run would do."""

    sync_id: str
    run_id: str
    dry_run: bool
    created: int = 0
    updated: int = 0
    linked: int = 0
    unlinked: int = 0
    deleted: int = 0
    cleared: int = 0
    failed: int = 0
    skipped: int = 0
    conflicts: int = 0
    recovered: int = 0
    looked_up: int = 0  # interrupted creates the writer looked for, to know if they were made
    failures: list[Failure] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "partial" if self.failed else "success"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _PlannedRecord:
    """A record and the change rows it came from (the ledger and pending keep the rows)."""

    record: WriteRecord
    direction: str | None
    changes: list[dict[str, Any]]


def apply_changes(
    changes: pd.DataFrame,
    *,
    store: StateStore,
    sync_id: str,
    writer: Writer,
    run_id: str | None = None,
    dry_run: bool = False,
    lock_wait: float = 0.0,
    planned_at: datetime | None = None,
    shard: Shard | None = None,
    earlier_tries: Sequence[str] = (),
) -> ApplySummary:
    """Write a change set and record the outcome of every record.

    A real run holds the sync's lock (waiting up to `lock_wait` seconds for another run) and first
    settles the writes an interrupted run left in the journal. A record another run wrote since
    `planned_at` is not written from this plan, made before that write: it is skipped as stale,
    and the next run plans it again from what is there now. A record that one of
    ``earlier_tries`` (the run ids of this run's interrupted tries, applying this same plan)
    wrote is done: counted as this run's, not written again. With ``shard``, only that shard's
    records are written.
    """
    if writer.batch_size < 1:
        raise ApplyError(
            f"the writer for sync {sync_id!r} has batch_size {writer.batch_size}; it must be ≥ 1"
        )
    records = _planned_records(shard.of(changes) if shard else changes, sync_id)
    run_id = run_id or uuid.uuid4().hex
    summary = ApplySummary(sync_id=sync_id, run_id=run_id, dry_run=dry_run)
    store.start_run(sync_id, run_id, dry_run=dry_run)
    try:
        if dry_run:
            _count_dry_run(store, sync_id, records, summary)
        else:
            lock_name = shard.lock_name(sync_id) if shard else sync_id
            with store.lock(lock_name, run_id, wait=lock_wait):
                writers = store.writers_since(sync_id, planned_at) if planned_at else {}
                done = {key for key, runs in writers.items() if runs <= set(earlier_tries)}
                stale = set(writers) - done
                _Run(store, sync_id, run_id, writer, summary, stale, done, shard).apply(records)
    except BaseException:
        store.finish_run(run_id, "failed", summary.to_dict())
        raise
    store.finish_run(run_id, summary.status, summary.to_dict())
    return summary


def merge_pending(changes: pd.DataFrame, pending: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """Add the records waiting for a retry to a fresh change set.

    A record the fresh plan also has is taken from the plan (it is newer). A pending create whose
    source is linked by now was made after all, so it is dropped rather than made twice.
    """
    waiting = pending[~pending["key"].isin(changes["key"])]
    created = (waiting["kind"] == "create") & waiting["source_id"].isin(links["source_id"])
    merged = pd.concat([changes[CHANGE_COLUMNS], waiting.loc[~created, CHANGE_COLUMNS]], ignore_index=True)
    return merged.astype("string")


class _Run:
    """One real apply: the store, the writer and what this run has counted so far."""

    def __init__(
        self,
        store: StateStore,
        sync_id: str,
        run_id: str,
        writer: Writer,
        summary: ApplySummary,
        stale_keys: set[str],
        done_keys: set[str],
        shard: Shard | None,
    ) -> None:
        self.store = store
        self.sync_id = sync_id
        self.run_id = run_id
        self.writer = writer
        self.summary = summary
        self.stale_keys = stale_keys
        self.done_keys = done_keys  # written by an earlier try of this run, from this same plan
        self.failed_keys: set[str] = set()
        self.shard = shard
        self.lock_name = shard.lock_name(sync_id) if shard else sync_id

    def apply(self, records: list[_PlannedRecord]) -> None:
        recovered, requeued = self.settle_interrupted_writes()
        planned_keys = {planned.record.key for planned in records}
        records = records + [item for item in requeued if item.record.key not in planned_keys]
        linked_sources = _linked_targets(self.store.links(self.sync_id))
        local = self.outcome()
        to_write: dict[tuple[str, str], list[_PlannedRecord]] = {}
        for planned in records:
            record = planned.record
            if record.kind == "create" and record.key in recovered:
                continue
            if record.key in self.done_keys and planned.direction is not None:
                _count(self.summary, record.kind)  # its ledger rows are the earlier try's
            elif record.key in self.stale_keys and record.kind != "skip":
                self.skip(local, planned, STALE)
            elif record.kind == "create" and _already_created(planned, linked_sources):
                self.skip(local, planned, "already created by an earlier attempt")
            elif planned.direction is None:
                self.apply_locally(local, planned)
            else:
                to_write.setdefault((record.kind, planned.direction), []).append(planned)
        self.store.record_outcome(local)

        concurrency = getattr(self.writer, "concurrency", 1)
        for kind in WRITE_ORDER:
            for direction in DIRECTIONS:
                group = to_write.get((kind, direction), [])
                # A writer over two APIs may batch each its own way: batch_sizes[(kind, direction)].
                size = getattr(self.writer, "batch_sizes", {}).get((kind, direction), self.writer.batch_size)
                if concurrency > 1:
                    # The writer's batch shared among its threads: a process killed mid-apply then
                    # leaves no more writes unsettled (to be made again) than one batch written
                    # alone would. Never smaller than one call takes: that would spend calls (a
                    # CRM's batch write).
                    per_call = getattr(self.writer, "records_per_call", size)
                    size = max(per_call, size // concurrency)
                    self.write_concurrently(kind, direction, list(_batches(group, size)), concurrency)
                    continue
                for batch in _batches(group, size):
                    self.write_batch(kind, direction, batch)
                    self.store.heartbeat(self.lock_name, self.run_id)

    def outcome(self, settled_batches: list[str] | None = None) -> BatchOutcome:
        return BatchOutcome(self.sync_id, self.run_id, settled_batches=settled_batches or [])

    def write_batch(self, kind: str, direction: str, batch: list[_PlannedRecord]) -> None:
        batch_id = self.journal(batch)
        outcomes = self.writer.write(kind, direction, [item.record for item in batch])
        self.settle(kind, direction, batch, batch_id, outcomes)

    def write_concurrently(
        self, kind: str, direction: str, batches: list[list[_PlannedRecord]], concurrency: int
    ) -> None:
        """Up to `concurrency` batches in the writer's hands at once; journal and store stay on this thread.

        A batch that comes back is replaced by the next one before its outcome is settled, so the
        writer threads never wait on this thread's bookkeeping. A writer thread that raises stops
        the apply once the batches in flight are back; theirs and its intents stay open in the
        journal, and the next run settles them.
        """
        in_flight: dict[Future[list[WriteOutcome]], tuple[list[_PlannedRecord], str]] = {}
        queue = iter(batches)
        with ThreadPoolExecutor(concurrency, thread_name_prefix=f"apply-{self.sync_id}") as pool:

            def refill() -> None:
                for batch in islice(queue, concurrency - len(in_flight)):
                    batch_id = self.journal(batch)
                    records = [item.record for item in batch]
                    in_flight[pool.submit(self.writer.write, kind, direction, records)] = (batch, batch_id)

            refill()
            while in_flight:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                back = [(future, *in_flight.pop(future)) for future in done]
                if not any(future.exception() for future, _, _ in back):
                    refill()
                for future, batch, batch_id in back:
                    self.settle(kind, direction, batch, batch_id, future.result())
                self.store.heartbeat(self.lock_name, self.run_id)

    def journal(self, batch: list[_PlannedRecord]) -> str:
        """Announce a batch before it is written, so a crash leaves a trace of it."""
        batch_id = uuid.uuid4().hex
        entries = [JournalEntry(batch_id, self.run_id, asdict(item.record), item.changes) for item in batch]
        self.store.journal_intents(self.sync_id, self.run_id, batch_id, entries)
        return batch_id

    def settle(
        self,
        kind: str,
        direction: str,
        batch: list[_PlannedRecord],
        batch_id: str,
        outcomes: list[WriteOutcome],
    ) -> None:
        """Record what the writer did with a journaled batch, in one transaction."""
        if len(outcomes) != len(batch):
            raise ApplyError(
                f"the writer of sync {self.sync_id!r} returned {len(outcomes)} outcomes for a batch of "
                f"{len(batch)} {kind} records ({direction}); the batch stays in the journal and is "
                "reconciled on the next run"
            )
        result = self.outcome([batch_id])
        for planned, outcome in zip(batch, outcomes, strict=True):
            if outcome.skipped is not None:
                self.skip(result, planned, outcome.skipped)
            elif outcome.ok:
                self.succeeded(result, planned, direction, outcome.record_id)
            else:
                self.failed(result, planned, outcome.error or "failed", outcome.retryable)
        self.store.record_outcome(result)

    def settle_interrupted_writes(self) -> tuple[set[str], list[_PlannedRecord]]:
        """Record what an interrupted run wrote.

        Returns the keys whose create turned out to exist, and the writes to make again (they also
        wait in pending, in case this run is interrupted too).
        """
        entries = self.store.open_intents(self.sync_id)
        if self.shard is not None:
            entries = [entry for entry in entries if self.shard.holds(entry.record["key"])]
        if not entries:
            return set(), []
        planned = [
            _PlannedRecord(WriteRecord(**entry.record), _direction(entry), entry.changes) for entry in entries
        ]
        creates = [item for item in planned if item.record.kind == "create"]
        self.summary.looked_up += len(creates)
        remote_ids = self.writer.reconcile([item.record for item in creates]) if creates else []
        if len(remote_ids) != len(creates):
            raise ApplyError(
                f"the writer of sync {self.sync_id!r} reconciled {len(remote_ids)} of {len(creates)} "
                "interrupted creates; it must answer for each one"
            )
        found = {id(item): remote_id for item, remote_id in zip(creates, remote_ids, strict=True)}
        result = self.outcome(sorted({entry.batch_id for entry in entries}))
        recovered: set[str] = set()
        requeued: list[_PlannedRecord] = []
        for item in planned:
            remote_id = found.get(id(item))
            if remote_id is not None:
                self.succeeded(result, item, item.direction, remote_id)
                self.summary.recovered += 1
                recovered.add(item.record.key)
            else:
                _requeue(result, item)
                requeued.append(item)
        self.store.record_outcome(result)
        return recovered, requeued

    def succeeded(
        self, result: BatchOutcome, planned: _PlannedRecord, direction: str | None, record_id: str | None
    ) -> None:
        """Ledger, link and base of a written record; the base becomes the written values."""
        record = planned.record
        source_id, target_id = record.source_id, record.target_id
        if record.kind == "create":
            if not record_id:
                raise ApplyError(
                    f"the writer created record {record.key!r} of sync {self.sync_id!r} but returned no id; "
                    "a create must return the new record's id"
                )
            if direction == "to_source":
                source_id = record_id
            else:
                target_id = record_id
        if record.kind in ("create", "link"):
            # auto: jirasync made the target, or matched it by a key the systems hold (an email);
            # manual: a writer that links by a key a person gave (an issue naming its CRM record).
            origin = (
                "auto" if record.kind == "create" else getattr(self.writer, "matched_link_origin", "auto")
            )
            result.links.append(
                {"source_id": source_id, "target_id": target_id, "key": record.key, "origin": origin}
            )
        if record.kind in ("unlink", "delete"):
            result.unlinked.append(source_id)
        elif source_id is not None:
            result.base.extend(
                {"source_id": source_id, "field": name, "value": json.dumps(value)}
                for name, value in record.values.items()
            )
        result.ledger.extend(
            {**change, "source_id": source_id, "target_id": target_id, "outcome": "ok", "error": None}
            for change in planned.changes
        )
        if record.key not in self.failed_keys:
            result.succeeded_keys.append(record.key)
        _count(self.summary, record.kind)

    def failed(self, result: BatchOutcome, planned: _PlannedRecord, error: str, retryable: bool) -> None:
        record = planned.record
        action = (
            "kept in pending; the next run tries it again"
            if retryable
            else "kept in pending; correct the record or the field mapping, then the next run tries it again"
        )
        result.ledger.extend({**change, "outcome": "failed", "error": error} for change in planned.changes)
        result.failed.append({"key": record.key, "changes": planned.changes, "error": error})
        self.failed_keys.add(record.key)
        self.summary.failed += 1
        self.summary.failures.append(Failure(key=record.key, kind=record.kind, error=error, action=action))

    def skip(self, result: BatchOutcome, planned: _PlannedRecord, reason: str) -> None:
        result.ledger.extend(
            {**change, "reason": reason, "outcome": "skipped", "error": None} for change in planned.changes
        )
        self.summary.skipped += 1

    def apply_locally(self, result: BatchOutcome, planned: _PlannedRecord) -> None:
        """Rows that write nothing remote: (un)links go to the store, skips and conflicts to the ledger."""
        kind = planned.record.kind
        if kind in ("link", "unlink"):
            self.succeeded(result, planned, None, None)
            return
        outcome = "held" if kind == "conflict" else "skipped"
        result.ledger.extend({**change, "outcome": outcome, "error": None} for change in planned.changes)
        _count(self.summary, kind)


def _requeue(result: BatchOutcome, planned: _PlannedRecord) -> None:
    """An interrupted write the remote side may not have: it is written again, and waits in pending.

    It is not counted as a failure: the write that follows counts it.
    """
    error = f"the run that wrote it was interrupted before it recorded the outcome ({planned.record.kind})"
    result.ledger.extend({**change, "outcome": "requeued", "error": error} for change in planned.changes)
    result.failed.append({"key": planned.record.key, "changes": planned.changes, "error": error})


def _direction(entry: JournalEntry) -> str | None:
    return entry.changes[0].get("direction") if entry.changes else None


def _linked_targets(links: pd.DataFrame) -> dict[str, str]:
    """Each linked source's target."""
    links = links[links["source_id"].notna()]
    return dict(zip(links["source_id"], links["target_id"], strict=True))


def _already_created(planned: _PlannedRecord, linked_sources: dict[str, str]) -> bool:
    """A create of a linked source means the change set is being applied a second time, unless it
    re-creates the very target the source is still linked to (that target vanished)."""
    record = planned.record
    return (
        planned.direction == "to_target"
        and record.source_id in linked_sources
        and linked_sources[record.source_id] != record.target_id
    )


def _count_dry_run(
    store: StateStore, sync_id: str, records: list[_PlannedRecord], summary: ApplySummary
) -> None:
    """Count as the real run would, assuming every write succeeds; write nothing."""
    linked_sources = _linked_targets(store.links(sync_id))
    for planned in records:
        if planned.record.kind == "create" and _already_created(planned, linked_sources):
            summary.skipped += 1
        else:
            _count(summary, planned.record.kind)


def _count(summary: ApplySummary, kind: str) -> None:
    if kind == "conflict":
        summary.conflicts += 1
    elif kind == "skip":
        summary.skipped += 1
    else:
        counter = COUNTERS[kind]
        setattr(summary, counter, getattr(summary, counter) + 1)


def _batches(records: list[_PlannedRecord], size: int) -> Iterator[list[_PlannedRecord]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]


def _planned_records(changes: pd.DataFrame, sync_id: str) -> list[_PlannedRecord]:
    """Group change rows into records: one per kind, direction, key and ids."""
    missing = [column for column in CHANGE_COLUMNS if column not in changes.columns]
    if missing:
        raise ApplyError(
            f"the change set of sync {sync_id!r} lacks the columns {missing}; build it with plan_changes "
            "or give it all of " + ", ".join(CHANGE_COLUMNS)
        )
    rows = changes[CHANGE_COLUMNS].astype(object)
    grouped: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows.where(rows.notna(), None).to_dict("records"):
        _check_row(row, sync_id)
        group = (row["kind"], row["direction"], row["key"], row["source_id"], row["target_id"])
        grouped.setdefault(group, []).append(row)
    return [
        _PlannedRecord(_write_record(kind, key, source_id, target_id, rows), direction, rows)
        for (kind, direction, key, source_id, target_id), rows in grouped.items()
    ]


def _check_row(row: dict[str, Any], sync_id: str) -> None:
    where = f"change set of sync {sync_id!r}, record {row['key']!r}"
    if row["kind"] not in KINDS:
        raise ApplyError(f"{where}: kind {row['kind']!r} is not one of {', '.join(KINDS)}")
    if row["key"] is None:
        raise ApplyError(
            f"change set of sync {sync_id!r}: a {row['kind']} row has no key; every row needs one"
        )
    if row["direction"] is not None and row["direction"] not in DIRECTIONS:
        raise ApplyError(f"{where}: direction {row['direction']!r} is not one of {', '.join(DIRECTIONS)}")
    if row["kind"] in ("create", "update", "clear", "delete") and row["direction"] is None:
        raise ApplyError(f"{where}: a {row['kind']} row needs a direction (to_target or to_source)")


def _write_record(
    kind: str, key: str, source_id: str | None, target_id: str | None, rows: list[dict[str, Any]]
) -> WriteRecord:
    fields = [row for row in rows if row["field"] is not None]
    return WriteRecord(
        kind=kind,
        key=key,
        source_id=source_id,
        target_id=target_id,
        values={row["field"]: _decode(row["after"]) for row in fields},
        before={row["field"]: _decode(row["before"]) for row in fields if row["before"] is not None},
    )


def _decode(value: str | None) -> Any:
    return None if value is None else json.loads(value)
