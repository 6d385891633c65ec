"""The sandbox's records: in memory for speed, written through to one SQLite file so they survive a restart.

Every record is a JSON object in a (vendor, collection, id) slot. Insertion order is kept
(an update keeps the row), so listings page the same way before and after a restart.
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
from bisect import bisect_left, insort
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec

from sandbox.changes import Change, note

Record = dict[str, Any]
# What an index files a record under: every key it can be found by (a lower-case email, a name's words).
IndexKeys = Callable[[Record], Iterable[Hashable]]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    vendor TEXT NOT NULL, collection TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (vendor, collection, id)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# msgspec (which Airflow itself depends on) rather than json: a first seed of 100,000 people
# writes over half a million records, and json.dumps alone took seconds of it.
_to_json = msgspec.json.Encoder().encode
_from_json = msgspec.json.Decoder().decode
_UPSERT = (
    "INSERT INTO records (vendor, collection, id, data) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (vendor, collection, id) DO UPDATE SET data = excluded.data"
)


class Index:
    """The ids of a collection's records by keys worked out from them, so that a lookup by email or
    name prefix reads the few records it finds rather than all 100,000 of them.

    It keeps the keys it filed each record under: a record changed in place and put again must
    still leave the keys it had.
    """

    def __init__(self, keys: IndexKeys) -> None:
        self._keys = keys
        self._ids: dict[Hashable, dict[str, None]] = {}
        self._filed: dict[str, tuple[Hashable, ...]] = {}
        self._sorted: list[tuple[str, str]] | None = None  # (key, id): made by the first prefix lookup

    def add(self, record_id: str, record: Record) -> None:
        keys = tuple(dict.fromkeys(self._keys(record)))
        self._filed[record_id] = keys
        for key in keys:
            self._ids.setdefault(key, {})[record_id] = None
            if self._sorted is not None and isinstance(key, str):
                insort(self._sorted, (key, record_id))

    def remove(self, record_id: str) -> None:
        for key in self._filed.pop(record_id, ()):
            ids = self._ids[key]
            del ids[record_id]
            if not ids:
                del self._ids[key]
            if self._sorted is not None and isinstance(key, str):
                del self._sorted[bisect_left(self._sorted, (key, record_id))]

    def exact(self, key: Hashable) -> Iterable[str]:
        return self._ids.get(key, {})

    def prefix(self, text: str) -> Iterator[str]:
        """Ids under a string key starting with ``text`` (an id twice if two of its keys do)."""
        if self._sorted is None:
            self._sorted = sorted((k, i) for k, ids in self._ids.items() if isinstance(k, str) for i in ids)
        entries = self._sorted
        for position in range(bisect_left(entries, (text,)), len(entries)):
            key, record_id = entries[position]
            if not key.startswith(text):
                return
            yield record_id


class Collection:
    """The records of one vendor collection (e.g. Jira ``users``), keyed by their id as a string.

    Records handed out are the stored objects: change them only through :meth:`put`, which
    also writes them to disk.
    """

    def __init__(self, store: Store, vendor: str, name: str, on_disk: bool) -> None:
        self._store = store
        self.vendor = vendor
        self.name = name
        self._loaded: dict[str, Record] | None = None if on_disk else {}
        self._indexes: dict[str, Index] = {}
        # Each record's place in insertion order, kept once an index exists: what an index finds
        # comes back in the order a scan would have found it.
        self._places: dict[str, int] = {}
        self._next_place = itertools.count()
        # Routes run on many threads: a lookup must not read an index another thread is changing.
        self._index_lock = threading.RLock()

    @property
    def _records(self) -> dict[str, Record]:
        """Read from disk on first use, so a cold start with 100,000 users does not wait for all of them."""
        if self._loaded is None:
            self._loaded = self._store.read(self.vendor, self.name)
        return self._loaded

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._records

    def __iter__(self) -> Iterator[Record]:
        return iter(list(self._records.values()))

    def ids(self) -> list[str]:
        return list(self._records)

    def get(self, record_id: str) -> Record | None:
        return self._records.get(str(record_id))

    def index(self, name: str, keys: IndexKeys) -> Index:
        """The index ``name`` filing records by ``keys``: built from the records at its first use
        (after a start from disk too), then kept by every write."""
        with self._index_lock:
            if name not in self._indexes:
                if not self._indexes:
                    self._places = {
                        i: place for place, i in zip(self._next_place, self._records, strict=False)
                    }
                index = Index(keys)
                for record_id, record in self._records.items():
                    index.add(record_id, record)
                self._indexes[name] = index
            return self._indexes[name]

    def in_order(self, ids: Iterable[str]) -> list[Record]:
        """The records of ``ids`` (found through an index), once each, in the collection's order."""
        records = self._records
        with self._index_lock:  # ``ids`` may be an index's lookup still to be read
            return [records[i] for i in sorted(set(ids), key=self._places.__getitem__)]

    def put(self, record_id: str, record: Record) -> Record:
        self.put_many([(str(record_id), record)])
        return record

    def put_many(self, items: Iterable[tuple[str, Record]]) -> None:
        """Store many records in one transaction (seeding 100,000 users must take seconds, not minutes)."""
        records = self._records  # load first: reading back rows just written would parse them for nothing
        items = [(str(i), r) for i, r in items]
        self._store.write(_UPSERT, [(self.vendor, self.name, i, _to_json(r).decode()) for i, r in items])
        note(Change(self.vendor, self.name, i, records.get(i), r) for i, r in items)
        with self._index_lock:
            records.update(items)
            for record_id, record in items if self._indexes else ():
                self._places.setdefault(record_id, next(self._next_place))
                for index in self._indexes.values():
                    index.remove(record_id)
                    index.add(record_id, record)

    def delete(self, record_id: str) -> bool:
        record_id = str(record_id)
        if record_id not in self._records:
            return False
        self._store.write(
            "DELETE FROM records WHERE vendor = ? AND collection = ? AND id = ?",
            [(self.vendor, self.name, record_id)],
        )
        note([Change(self.vendor, self.name, record_id, self._records[record_id], None)])
        with self._index_lock:
            del self._records[record_id]
            self._places.pop(record_id, None)
            for index in self._indexes.values():
                index.remove(record_id)
        return True

    def forget(self) -> None:
        """Drop every record from memory (the store cleared them on disk), and the indexes with them."""
        with self._index_lock:
            self._loaded = {}
            self._indexes = {}
            self._places = {}


class Store:
    """All vendors' collections plus a few meta values (the seed and size the world was built from)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._in_transaction = False
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;" + _SCHEMA)
        self._collections: dict[tuple[str, str], Collection] = {}
        for vendor, name in self._db.execute("SELECT DISTINCT vendor, collection FROM records"):
            self._collections[(vendor, name)] = Collection(self, vendor, name, on_disk=True)

    def read(self, vendor: str, name: str) -> dict[str, Record]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, data FROM records WHERE vendor = ? AND collection = ? ORDER BY rowid",
                (vendor, name),
            ).fetchall()
        return {record_id: _from_json(data) for record_id, data in rows}

    def collection(self, vendor: str, name: str) -> Collection:
        key = (vendor, name)
        if key not in self._collections:  # every collection on disk was registered at start
            self._collections[key] = Collection(self, vendor, name, on_disk=False)
        return self._collections[key]

    def collections(self, vendor: str) -> list[Collection]:
        return [c for (v, _), c in self._collections.items() if v == vendor]

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.write("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [(key, value)])

    def clear(self) -> None:
        """Forget every record (a reseed follows)."""
        self.write("DELETE FROM records", [()])
        for collection in self._collections.values():
            collection.forget()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Make every write inside one commit (a seed's thousands of writes), and keep other threads out.

        If the block raises, nothing of it reaches the disk (the memory copies may be ahead of it).
        """
        with self._lock:
            if self._in_transaction:  # already inside one (a reseed seeds every vendor): join it
                yield
                return
            self._db.execute("BEGIN")
            self._in_transaction = True
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._in_transaction = False

    def write(self, statement: str, rows: list[tuple]) -> None:
        with self._lock:
            if self._in_transaction:
                self._db.executemany(statement, rows)
                return
            self._db.execute("BEGIN")
            self._db.executemany(statement, rows)
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()
