"""A process that dies between a remote write and its recorded outcome loses nothing and duplicates nothing.

The remote side lives in a SQLite file so it survives the process. A real child process applies a
change set and ends with os._exit right after the remote side accepted a batch; the next run, in
this process, must finish the job.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from tests.engine import state_fixtures
from tests.engine.state_fixtures import change_set

from jirasync.engine.apply import WriteOutcome, WriteRecord, apply_changes
from jirasync.engine.shards import Shard
from jirasync.engine.store import StateStore

postgres_url = state_fixtures.postgres_url
store_location = state_fixtures.store_location

SYNC = "jira-users-to-crm"
ROOT = Path(__file__).resolve().parents[2]
CRASH_EXIT = 17


class SqliteRemote:
    """A remote system whose records persist in a SQLite file, written one committed batch at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._connect() as connection:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS records (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT, data TEXT)"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path)

    def write(self, kind: str, records: Sequence[WriteRecord]) -> list[WriteOutcome]:
        outcomes = []
        with self._connect() as connection:
            for record in records:
                if kind == "create":
                    cursor = connection.execute(
                        "INSERT INTO records (key, data) VALUES (?, ?)",
                        (record.key, json.dumps(record.values)),
                    )
                    outcomes.append(WriteOutcome(record_id=str(cursor.lastrowid)))
                else:
                    (data,) = connection.execute(
                        "SELECT data FROM records WHERE id = ?", (int(record.target_id),)
                    ).fetchone()
                    connection.execute(
                        "UPDATE records SET data = ? WHERE id = ?",
                        (json.dumps(json.loads(data) | record.values), int(record.target_id)),
                    )
                    outcomes.append(WriteOutcome(record_id=record.target_id))
        return outcomes

    def find(self, key: str) -> str | None:
        with self._connect() as connection:
            row = connection.execute("SELECT id FROM records WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def records(self) -> list[tuple[str, str, dict]]:
        with self._connect() as connection:
            rows = connection.execute("SELECT id, key, data FROM records ORDER BY id").fetchall()
        return [(str(record_id), key, json.loads(data)) for record_id, key, data in rows]


class SqliteRemoteWriter:
    """Writes to a SqliteRemote; `die_after_batch` ends the process right after that batch's write.

    With `concurrency` above 1 the apply hands it that many batches at once, each taking a while,
    so a death finds other batches in flight.
    """

    def __init__(
        self, remote: SqliteRemote, batch_size: int, die_after_batch: int | None = None, concurrency: int = 1
    ) -> None:
        self.remote = remote
        self.batch_size = batch_size
        self.die_after_batch = die_after_batch
        self.concurrency = concurrency
        self.batches_written = 0
        self._lock = threading.Lock()

    def write(self, kind: str, direction: str, records: Sequence[WriteRecord]) -> list[WriteOutcome]:
        if self.concurrency > 1:
            time.sleep(0.05)
        with self._lock:  # SQLite takes one writer at a time
            outcomes = self.remote.write(kind, records)
            self.batches_written += 1
            if self.batches_written == self.die_after_batch:
                os._exit(CRASH_EXIT)
        return outcomes

    def reconcile(self, records: Sequence[WriteRecord]) -> list[str | None]:
        return [self.remote.find(record.key) for record in records]


def apply_until_crash(
    store_location: str,
    remote_path: str,
    changes_path: str,
    die_after_batch: int,
    concurrency: int = 1,
    shard: tuple[int, int] | None = None,
) -> None:
    """The child process: apply a change set (one shard of it, if given) and die after the given
    batch reached the remote."""
    store = StateStore(store_location)
    writer = SqliteRemoteWriter(
        SqliteRemote(Path(remote_path)),
        batch_size=2,
        die_after_batch=die_after_batch,
        concurrency=concurrency,
    )
    changes = pd.read_json(changes_path, orient="records", dtype=False).astype("string")
    apply_changes(changes, store=store, sync_id=SYNC, writer=writer, shard=Shard(*shard) if shard else None)


def run_child_that_crashes(
    store_location: str,
    remote: SqliteRemote,
    changes: pd.DataFrame,
    tmp: Path,
    die_after_batch: int = 2,
    concurrency: int = 1,
    shard: tuple[int, int] | None = None,
) -> None:
    changes_path = tmp / "changes.json"
    changes.to_json(changes_path, orient="records")
    code = (
        "from tests.engine.test_crash_apply import apply_until_crash; "
        f"apply_until_crash({store_location!r}, {str(remote.path)!r}, {str(changes_path)!r}, "
        f"{die_after_batch}, {concurrency}, {shard!r})"
    )
    child = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert child.returncode == CRASH_EXIT, child.stderr


def creates(keys: list[str]) -> pd.DataFrame:
    return change_set(
        [
            {
                "kind": "create",
                "key": key,
                "source_id": f"S-{key}",
                "field": "name",
                "after": json.dumps(key.upper()),
            }
            | {"direction": "to_target"}
            for key in keys
        ]
    )


def test_a_retried_apply_after_a_crash_creates_each_record_once(store_location: str, tmp_path: Path) -> None:
    remote = SqliteRemote(tmp_path / "remote.db")
    keys = ["ann", "bob", "cid", "dee", "eve"]
    changes = creates(keys)
    run_child_that_crashes(store_location, remote, changes, tmp_path)
    assert [key for _, key, _ in remote.records()] == ["ann", "bob", "cid", "dee"]

    store = StateStore(store_location)
    summary = apply_changes(
        changes, store=store, sync_id=SYNC, writer=SqliteRemoteWriter(remote, batch_size=2)
    )

    written = remote.records()
    assert sorted(key for _, key, _ in written) == keys
    ids_by_key = {key: record_id for record_id, key, _ in written}
    links = store.links(SYNC)
    assert dict(zip(links["key"], links["target_id"], strict=True)) == ids_by_key
    assert (summary.recovered, summary.skipped, summary.failed) == (2, 2, 0)
    assert store.open_intents(SYNC) == []
    assert store.pending(SYNC).empty
    base = store.base(SYNC)
    assert sorted(base["value"]) == sorted(json.dumps(key.upper()) for key in keys)
    store.close()


def test_writes_interrupted_by_a_crash_are_completed_by_the_next_run(
    store_location: str, tmp_path: Path
) -> None:
    remote = SqliteRemote(tmp_path / "remote.db")
    keys = ["ann", "bob", "cid", "dee"]
    outcomes = remote.write(
        "create", [WriteRecord("create", key, None, None, {"title": "old"}, {}) for key in keys]
    )
    target_ids = [outcome.record_id for outcome in outcomes]
    store = StateStore(store_location)
    store.save_links(
        SYNC, pd.DataFrame({"source_id": keys, "target_id": target_ids, "key": keys, "origin": "auto"})
    )
    store.save_base(SYNC, pd.DataFrame({"source_id": keys, "field": "title", "value": '"old"'}))
    updates = change_set(
        [
            {"kind": "update", "key": key, "source_id": key, "target_id": target_id, "field": "title"}
            | {"before": '"old"', "after": '"new"', "direction": "to_target"}
            for key, target_id in zip(keys, target_ids, strict=True)
        ]
    )
    run_child_that_crashes(store_location, remote, updates, tmp_path)
    assert [data["title"] for _, _, data in remote.records()] == ["new", "new", "new", "new"]
    assert store.base(SYNC)["value"].tolist().count('"new"') == 2

    summary = apply_changes(
        change_set([]), store=store, sync_id=SYNC, writer=SqliteRemoteWriter(remote, batch_size=2)
    )
    assert summary.updated == 2
    assert sorted(store.base(SYNC)["value"]) == ['"new"'] * 4
    assert store.open_intents(SYNC) == []
    assert store.pending(SYNC).empty
    assert len(remote.records()) == 4
    store.close()


def test_a_crash_with_batches_in_flight_at_once_loses_and_duplicates_nothing(
    store_location: str, tmp_path: Path
) -> None:
    """Three batches at a time; the process dies when the fourth reaches the remote, others in the
    writer's hands: the rerun, concurrent too, makes every record exactly once."""
    remote = SqliteRemote(tmp_path / "remote.db")
    keys = [f"k{number:02}" for number in range(12)]
    changes = creates(keys)
    run_child_that_crashes(store_location, remote, changes, tmp_path, die_after_batch=4, concurrency=3)
    written_before = {key for _, key, _ in remote.records()}
    assert 8 <= len(written_before) < 12
    store = StateStore(store_location)
    left_open = {entry.record["key"] for entry in store.open_intents(SYNC)}
    assert left_open & written_before, "no written batch was left unsettled: the crash proves nothing"

    summary = apply_changes(
        changes, store=store, sync_id=SYNC, writer=SqliteRemoteWriter(remote, batch_size=2, concurrency=3)
    )

    written = remote.records()
    assert sorted(key for _, key, _ in written) == keys
    links = store.links(SYNC)
    assert dict(zip(links["key"], links["target_id"], strict=True)) == {key: i for i, key, _ in written}
    assert summary.recovered == len(left_open & written_before) and summary.failed == 0
    assert store.open_intents(SYNC) == []
    assert store.pending(SYNC).empty
    store.close()


class JournalCheckingWriter(SqliteRemoteWriter):
    """Checks that each batch is in the journal when it is written; the first batch finishes last."""

    def __init__(self, remote: SqliteRemote, store: StateStore, keys: int) -> None:
        super().__init__(remote, batch_size=1, concurrency=4)
        self.store = store
        self.unjournaled: list[str] = []
        self.order: list[str] = []
        self.others_done = threading.Semaphore(0)
        self.keys = keys

    def write(self, kind: str, direction: str, records: Sequence[WriteRecord]) -> list[WriteOutcome]:
        journaled = {entry.record["key"] for entry in self.store.open_intents(SYNC)}
        self.unjournaled += [record.key for record in records if record.key not in journaled]
        if records[0].key == "k00":
            for _ in range(self.keys - 1):  # held until every other record is written
                self.others_done.acquire(timeout=60)
        with self._lock:
            outcomes = self.remote.write(kind, records)
            self.order += [record.key for record in records]
        if records[0].key != "k00":
            self.others_done.release()
        return outcomes


def test_concurrent_batches_are_journaled_before_their_write_and_settled_in_any_order(
    store_location: str, tmp_path: Path
) -> None:
    remote = SqliteRemote(tmp_path / "remote.db")
    keys = [f"k{number:02}" for number in range(12)]
    store = StateStore(store_location)
    writer = JournalCheckingWriter(remote, store, len(keys))

    summary = apply_changes(creates(keys), store=store, sync_id=SYNC, writer=writer)

    assert writer.unjournaled == []
    assert writer.order[-1] == "k00"  # written last, though handed out first
    assert summary.created == 12
    assert sorted(store.links(SYNC)["key"]) == keys
    assert store.open_intents(SYNC) == []
    assert sorted(store.ledger(summary.run_id)["key"]) == keys
    store.close()


def test_a_shard_killed_mid_apply_is_finished_by_its_own_retry_while_the_other_shard_writes_its_part(
    store_location: str, tmp_path: Path
) -> None:
    """Two shards of one change set, as two mapped tasks on two workers: the first dies with writes
    unsettled; the second, applied meanwhile, writes its records and leaves the first's open writes
    alone; the first's retry settles them. Every record exists once and is linked."""
    remote = SqliteRemote(tmp_path / "remote.db")
    keys = [f"k{number:02}" for number in range(16)]
    changes = creates(keys)
    first, second = Shard(0, 2), Shard(1, 2)
    first_keys = {key for key in keys if first.holds(key)}
    assert 4 <= len(first_keys) <= 12, "the keys must fall in both shards"
    run_child_that_crashes(store_location, remote, changes, tmp_path, die_after_batch=2, shard=(0, 2))
    store = StateStore(store_location)
    left_open = {entry.record["key"] for entry in store.open_intents(SYNC)}
    assert left_open and left_open <= first_keys

    other = apply_changes(
        changes, store=store, sync_id=SYNC, writer=SqliteRemoteWriter(remote, batch_size=2), shard=second
    )
    assert other.created == len(keys) - len(first_keys) and other.recovered == 0
    assert {entry.record["key"] for entry in store.open_intents(SYNC)} == left_open

    retry = apply_changes(
        changes, store=store, sync_id=SYNC, writer=SqliteRemoteWriter(remote, batch_size=2), shard=first
    )
    written = remote.records()
    assert sorted(key for _, key, _ in written) == keys
    links = store.links(SYNC)
    assert dict(zip(links["key"], links["target_id"], strict=True)) == {key: i for i, key, _ in written}
    assert retry.recovered == len(left_open) and retry.failed == 0
    assert store.open_intents(SYNC) == []
    assert store.pending(SYNC).empty
    store.close()
