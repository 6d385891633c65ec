"""The state store: what each sync remembers between runs.

Links, the last-synced base, cursors, runs, the ledger of applied changes, records waiting to be
retried, the write journal and a per-sync lock, in SQLite (a file path) or PostgreSQL (a URL).
The schema is owned by the Alembic migrations next to this module; the tables below describe it
for queries and must stay in step with them (a test compares the two).

Links and base are read and written set-based, because a sync can hold 100,000 links.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from psycopg2.extras import execute_values
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from jirasync.holders import died_here, this_process

VERSION_TABLE = "jirasync_alembic_version"
MIGRATIONS = Path(__file__).with_name("migrations")

LINK_COLUMNS = ["source_id", "target_id", "key", "origin"]
BASE_COLUMNS = ["source_id", "field", "value"]
DECISION_COLUMNS = ["source_id", "field", "take", "before", "after"]
TAKES = ("source", "target")
CHANGE_COLUMNS = ["kind", "key", "source_id", "target_id", "field", "before", "after", "direction", "reason"]

metadata = sa.MetaData()
TIMESTAMP = sa.DateTime(timezone=True)

links_table = sa.Table(
    "links",
    metadata,
    sa.Column("sync_id", sa.String(200), primary_key=True),
    sa.Column("source_id", sa.String(500), primary_key=True),
    sa.Column("target_id", sa.String(500), nullable=False),
    sa.Column("key", sa.String(1000), nullable=False),
    sa.Column("origin", sa.String(10), nullable=False),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    sa.Index("ix_links_sync_target", "sync_id", "target_id"),
)
base_table = sa.Table(
    "base",
    metadata,
    sa.Column("sync_id", sa.String(200), primary_key=True),
    sa.Column("source_id", sa.String(500), primary_key=True),
    sa.Column("field", sa.String(200), primary_key=True),
    sa.Column("value", sa.Text(), nullable=True),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
)
cursors_table = sa.Table(
    "cursors",
    metadata,
    sa.Column("sync_id", sa.String(200), primary_key=True),
    sa.Column("source", sa.String(200), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
)
runs_table = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(250), primary_key=True),
    sa.Column("sync_id", sa.String(200), nullable=False),
    sa.Column("started_at", TIMESTAMP, nullable=False),
    sa.Column("ended_at", TIMESTAMP, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("dry_run", sa.Boolean(), nullable=False),
    sa.Column("summary", sa.Text(), nullable=True),
    sa.Index("ix_runs_sync", "sync_id", "started_at"),
)
ledger_table = sa.Table(
    "ledger",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(250), nullable=False),
    sa.Column("key", sa.String(1000), nullable=False),
    sa.Column("source_id", sa.String(500), nullable=True),
    sa.Column("target_id", sa.String(500), nullable=True),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("field", sa.String(200), nullable=True),
    sa.Column("before", sa.Text(), nullable=True),
    sa.Column("after", sa.Text(), nullable=True),
    sa.Column("direction", sa.String(10), nullable=True),
    sa.Column("reason", sa.Text(), nullable=True),
    sa.Column("outcome", sa.String(10), nullable=False),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("recorded_at", TIMESTAMP, nullable=False),
    sa.Index("ix_ledger_run", "run_id"),
)
pending_table = sa.Table(
    "pending",
    metadata,
    sa.Column("sync_id", sa.String(200), primary_key=True),
    sa.Column("key", sa.String(1000), primary_key=True),
    sa.Column("changes", sa.Text(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
)
journal_table = sa.Table(
    "journal",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("sync_id", sa.String(200), nullable=False),
    sa.Column("run_id", sa.String(250), nullable=False),
    sa.Column("batch_id", sa.String(32), nullable=False),
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("record", sa.Text(), nullable=False),
    sa.Column("changes", sa.Text(), nullable=False),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Index("ix_journal_sync_state", "sync_id", "state"),
    sa.Index("ix_journal_batch", "batch_id"),
)
locks_table = sa.Table(
    "locks",
    metadata,
    sa.Column("sync_id", sa.String(200), primary_key=True),
    sa.Column("run_id", sa.String(250), nullable=False),
    sa.Column("holder", sa.String(300), nullable=False),
    sa.Column("acquired_at", TIMESTAMP, nullable=False),
    sa.Column("heartbeat_at", TIMESTAMP, nullable=False),
)

decisions_table = sa.Table(
    "decisions",
    metadata,
    sa.Column("sync_id", sa.String(200), primary_key=True),
    sa.Column("source_id", sa.String(500), primary_key=True),
    sa.Column("field", sa.String(200), primary_key=True),
    sa.Column("take", sa.String(10), nullable=False),
    sa.Column("before", sa.Text(), nullable=True),
    sa.Column("after", sa.Text(), nullable=True),
    sa.Column("decided_by", sa.String(200), nullable=False),
    sa.Column("decided_at", TIMESTAMP, nullable=False),
)

# A mirrored stream item (a comment mirrored as a CRM note, or a note as a Jira comment) and its
# origin: ``origin_side`` is where the origin lives ("source": the CRM, "target": Jira); ``digest``
# the origin's content when it was last mirrored, so an edit is seen.
stream_links_table = sa.Table(
    "stream_links",
    metadata,
    sa.Column("sync_id", sa.String(200), primary_key=True),
    sa.Column("stream", sa.String(50), primary_key=True),
    sa.Column("origin_side", sa.String(10), primary_key=True),
    sa.Column("origin_id", sa.String(500), primary_key=True),
    sa.Column("mirror_id", sa.String(500), nullable=False),
    sa.Column("record_id", sa.String(500), nullable=False),
    sa.Column("issue_key", sa.String(500), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    sa.Index("ix_stream_links_mirror", "sync_id", "stream", "mirror_id"),
)
STREAM_LINK_COLUMNS = ["origin_side", "origin_id", "mirror_id", "record_id", "issue_key", "digest"]

INTENT = "intent"  # the journal holds intents only: a settled batch's rows are deleted
KEYS_PER_QUERY = 500  # ids per IN (...): under SQLite's bound-parameter limit, few round trips


class SyncLockedError(RuntimeError):
    """Another run holds the apply lock of this sync."""


@dataclass(frozen=True)
class JournalEntry:
    """A write that was announced but whose outcome was never recorded."""

    batch_id: str
    run_id: str
    record: dict[str, Any]
    changes: list[dict[str, Any]]


@dataclass
class BatchOutcome:
    """Everything one written batch changes in the store, recorded in one transaction.

    Recording it all at once is what lets a crash leave either the journal intent (to be
    reconciled) or the full outcome, never half of it.
    """

    sync_id: str
    run_id: str
    settled_batches: list[str] = field(default_factory=list)
    ledger: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    base: list[dict[str, Any]] = field(default_factory=list)
    unlinked: list[str] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    succeeded_keys: list[str] = field(default_factory=list)


def utc_now() -> datetime:
    return datetime.now(UTC)


def engine_url(location: str | os.PathLike[str]) -> str:
    """A URL is used as given, but for PostgreSQL's driver; anything else is the path of a SQLite file.

    A ``postgresql://`` URL with no driver (what the ``jirasync_state`` connection gives) means psycopg
    3 to SQLAlchemy 2.1, and the bulk upsert is psycopg2's (``execute_values``): it gets psycopg2.
    """
    text = os.fspath(location)
    if text.startswith("postgresql://"):
        return "postgresql+psycopg2://" + text.removeprefix("postgresql://")
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@functools.cache
def _head_revision() -> str | None:
    """The newest migration: the scripts are read once per process."""
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _as_utc(moment: datetime) -> datetime:
    """SQLite hands timestamps back without a zone; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _rows(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    """Frame rows as dicts for executemany, with missing values as NULL."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"the frame lacks the columns {missing}; it needs {columns}")
    values = frame[columns].astype(object)
    return values.where(values.notna(), None).to_dict("records")


def _frame(rows: Iterable[sa.Row[Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([tuple(row) for row in rows], columns=columns).astype("string")


class StateStore:
    """One sync database; opening it brings its schema to the newest migration.

    A reader that must not change the schema (the Sync Center, on every page view) opens it with
    ``migrate=False``: the runs and ``jirasync state migrate`` own the migrations.
    """

    def __init__(self, location: str | os.PathLike[str], *, migrate: bool = True) -> None:
        url = engine_url(location)
        self.engine: Engine = sa.create_engine(url, **_engine_options(url))
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        if migrate:
            self.migrate()

    def __repr__(self) -> str:
        return f"StateStore({self.engine.url.render_as_string(hide_password=True)!r})"

    def close(self) -> None:
        self.engine.dispose()

    def migrate(self) -> None:
        """Upgrade the schema to head; on PostgreSQL, concurrent openers wait for each other.

        Every step of every run opens the store: one at head costs a query, not Alembic loading
        its environment and every migration script again.
        """
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('jirasync.migrate'))"))
            current = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
            if current.get_current_revision() == _head_revision():
                return
            config = _alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    # links and base

    def links(self, sync_id: str) -> pd.DataFrame:
        query = sa.select(*(links_table.c[name] for name in LINK_COLUMNS)).where(
            links_table.c.sync_id == sync_id
        )
        with self.engine.connect() as connection:
            return _frame(connection.execute(query), LINK_COLUMNS)

    def base(self, sync_id: str, source_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """The sync's base, or only that of ``source_ids``: a run that read a few changed records
        need not read and decode the base of every linked one."""
        query = sa.select(*(base_table.c[name] for name in BASE_COLUMNS)).where(
            base_table.c.sync_id == sync_id
        )
        if source_ids is None:
            with self.engine.connect() as connection:
                return _frame(connection.execute(query), BASE_COLUMNS)
        wanted = sorted(set(source_ids))
        rows: list[sa.Row[Any]] = []
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), KEYS_PER_QUERY):
                chunk = wanted[start : start + KEYS_PER_QUERY]
                rows.extend(connection.execute(query.where(base_table.c.source_id.in_(chunk))))
        return _frame(rows, BASE_COLUMNS)

    def save_links(self, sync_id: str, links: pd.DataFrame) -> None:
        """Insert or replace links (columns as `links()` returns them), keyed by source id."""
        with self.engine.begin() as connection:
            self._upsert_links(connection, sync_id, _rows(links, LINK_COLUMNS))

    def save_base(self, sync_id: str, base: pd.DataFrame) -> None:
        with self.engine.begin() as connection:
            self._upsert_base(connection, sync_id, _rows(base, BASE_COLUMNS))

    def remove_links(self, sync_id: str, source_ids: Iterable[str]) -> None:
        """Forget links and their base together, so a later link starts from a clean base."""
        with self.engine.begin() as connection:
            self._delete_links(connection, sync_id, list(source_ids))

    # stream links

    def stream_links(self, sync_id: str, stream: str) -> pd.DataFrame:
        table = stream_links_table
        query = sa.select(*(table.c[name] for name in STREAM_LINK_COLUMNS)).where(
            table.c.sync_id == sync_id, table.c.stream == stream
        )
        with self.engine.connect() as connection:
            return _frame(connection.execute(query), STREAM_LINK_COLUMNS)

    def save_stream_link(self, sync_id: str, stream: str, link: dict[str, str]) -> None:
        """Insert or replace one mirror's link (``STREAM_LINK_COLUMNS``), right after its write."""
        now = utc_now()
        row = {"sync_id": sync_id, "stream": stream, **link, "created_at": now, "updated_at": now}
        with self.engine.begin() as connection:
            self._upsert(
                connection,
                stream_links_table,
                [row],
                ["sync_id", "stream", "origin_side", "origin_id"],
                ["mirror_id", "record_id", "issue_key", "digest", "updated_at"],
            )

    def remove_stream_link(self, sync_id: str, stream: str, origin_side: str, origin_id: str) -> None:
        table = stream_links_table
        with self.engine.begin() as connection:
            connection.execute(
                sa.delete(table).where(
                    table.c.sync_id == sync_id,
                    table.c.stream == stream,
                    table.c.origin_side == origin_side,
                    table.c.origin_id == origin_id,
                )
            )

    # cursors

    def cursor(self, sync_id: str, source: str) -> str | None:
        query = sa.select(cursors_table.c.value).where(
            cursors_table.c.sync_id == sync_id, cursors_table.c.source == source
        )
        with self.engine.connect() as connection:
            return connection.execute(query).scalar_one_or_none()

    def cursor_saved_at(self, sync_id: str, source: str) -> datetime | None:
        """When the cursor was last saved: the moment a run that reads nothing new has been idle since."""
        query = sa.select(cursors_table.c.updated_at).where(
            cursors_table.c.sync_id == sync_id, cursors_table.c.source == source
        )
        with self.engine.connect() as connection:
            saved = connection.execute(query).scalar_one_or_none()
        return None if saved is None else _as_utc(saved)

    def save_cursor(self, sync_id: str, source: str, value: str) -> None:
        row = {"sync_id": sync_id, "source": source, "value": value, "updated_at": utc_now()}
        with self.engine.begin() as connection:
            self._upsert(connection, cursors_table, [row], ["sync_id", "source"], ["value", "updated_at"])

    # runs and ledger

    def start_run(self, sync_id: str, run_id: str, *, dry_run: bool) -> None:
        row = {
            "run_id": run_id,
            "sync_id": sync_id,
            "started_at": utc_now(),
            "status": "running",
            "dry_run": dry_run,
        }
        with self.engine.begin() as connection:
            connection.execute(sa.insert(runs_table), [row])

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        statement = (
            sa.update(runs_table)
            .where(runs_table.c.run_id == run_id)
            .values(ended_at=utc_now(), status=status, summary=json.dumps(summary))
        )
        with self.engine.begin() as connection:
            connection.execute(statement)

    def record_failure(self, sync_id: str, run_id: str, step: str, error: str) -> None:
        """Mark a run failed with the error that stopped it, adding the run if it failed before apply
        started it: a sync whose last run failed must read as failed, not as never run."""
        with self.engine.begin() as connection:
            run = connection.execute(sa.select(runs_table).where(runs_table.c.run_id == run_id)).first()
            summary = {**(json.loads(run.summary) if run is not None and run.summary else {})}
            summary.update(error=error, failed_step=step)
            values = {"status": "failed", "ended_at": utc_now(), "summary": json.dumps(summary)}
            if run is None:
                row = {"run_id": run_id, "sync_id": sync_id, "started_at": utc_now(), "dry_run": False}
                connection.execute(sa.insert(runs_table), [{**row, **values}])
            else:
                connection.execute(sa.update(runs_table).where(runs_table.c.run_id == run_id).values(values))

    def writers_since(self, sync_id: str, since: datetime) -> dict[str, set[str]]:
        """The runs of the sync that wrote each record (by key) to a side after ``since`` (a plan's
        time). A link or unlink a run only recorded here wrote nothing (it has no direction)."""
        query = (
            sa.select(ledger_table.c.key, ledger_table.c.run_id)
            .distinct()
            .join(runs_table, runs_table.c.run_id == ledger_table.c.run_id)
            .where(
                runs_table.c.sync_id == sync_id,
                ledger_table.c.outcome == "ok",
                ledger_table.c.direction.is_not(None),
                ledger_table.c.recorded_at > since,
            )
        )
        writers: dict[str, set[str]] = {}
        with self.engine.connect() as connection:
            for key, run_id in connection.execute(query):
                writers.setdefault(key, set()).add(run_id)
        return writers

    def run(self, run_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(runs_table).where(runs_table.c.run_id == run_id)).first()
        return None if row is None else _run_of(row)

    def runs(self, sync_id: str, limit: int, statuses: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """The sync's latest ``limit`` runs (of ``statuses`` only, when given), newest first, as
        ``run`` returns one."""
        query = sa.select(runs_table).where(runs_table.c.sync_id == sync_id)
        if statuses:
            query = query.where(runs_table.c.status.in_(statuses))
        query = query.order_by(runs_table.c.started_at.desc()).limit(limit)
        with self.engine.connect() as connection:
            return [_run_of(row) for row in connection.execute(query)]

    def ledger(self, run_id: str) -> pd.DataFrame:
        """The changes a run applied, in the order it recorded them, with outcome and error."""
        columns = [*CHANGE_COLUMNS, "outcome", "error"]
        query = (
            sa.select(*(ledger_table.c[name] for name in columns))
            .where(ledger_table.c.run_id == run_id)
            .order_by(ledger_table.c.id)
        )
        with self.engine.connect() as connection:
            return _frame(connection.execute(query), columns)

    # pending

    def pending(self, sync_id: str) -> pd.DataFrame:
        """The change rows of records that failed and wait for a retry, with their attempt count."""
        query = sa.select(pending_table.c.changes, pending_table.c.attempts).where(
            pending_table.c.sync_id == sync_id
        )
        with self.engine.connect() as connection:
            rows = [
                {**change, "attempts": attempts}
                for changes, attempts in connection.execute(query)
                for change in json.loads(changes)
            ]
        frame = pd.DataFrame(rows, columns=[*CHANGE_COLUMNS, "attempts"])
        return frame.astype({column: "string" for column in CHANGE_COLUMNS} | {"attempts": "int64"})

    def waiting(self, sync_id: str) -> bool:
        """Whether records wait for the next run: a failed write to retry, or a journal intent whose
        outcome was never recorded (a crash), which the apply must reconcile."""
        queries = [
            sa.select(pending_table.c.key).where(pending_table.c.sync_id == sync_id).limit(1),
            sa.select(journal_table.c.id)
            .where(journal_table.c.sync_id == sync_id, journal_table.c.state == INTENT)
            .limit(1),
        ]
        with self.engine.connect() as connection:
            return any(connection.execute(query).first() is not None for query in queries)

    # decisions

    def decide(self, sync_id: str, change: dict[str, Any], take: str, decided_by: str) -> None:
        """Settle a held conflict (a ledger row: source_id, field, before, after) for the next run.

        The decision keeps the values it was made on, so it settles that conflict only: if either
        side changes the field again, the plan holds the new conflict for a new decision.
        """
        if take not in TAKES:
            raise ValueError(f"sync {sync_id!r}: a decision takes 'source' or 'target', not {take!r}")
        row = {
            "sync_id": sync_id,
            **{name: change[name] for name in ("source_id", "field", "before", "after")},
            "take": take,
            "decided_by": decided_by,
            "decided_at": utc_now(),
        }
        with self.engine.begin() as connection:
            self._upsert(
                connection,
                decisions_table,
                [row],
                ["sync_id", "source_id", "field"],
                ["take", "before", "after", "decided_by", "decided_at"],
            )

    def decisions(self, sync_id: str) -> pd.DataFrame:
        """The sync's decisions, as the plan applies them (before: the target's value, after: the source's)."""
        query = sa.select(*(decisions_table.c[name] for name in DECISION_COLUMNS)).where(
            decisions_table.c.sync_id == sync_id
        )
        with self.engine.connect() as connection:
            return _frame(connection.execute(query), DECISION_COLUMNS)

    # journal

    def journal_intents(self, sync_id: str, run_id: str, batch_id: str, entries: list[JournalEntry]) -> None:
        """Commit the intent to write a batch before it is written, so a crash leaves a trace."""
        now = utc_now()
        rows = [
            {
                "sync_id": sync_id,
                "run_id": run_id,
                "batch_id": batch_id,
                "state": INTENT,
                "record": json.dumps(entry.record),
                "changes": json.dumps(entry.changes),
                "created_at": now,
            }
            for entry in entries
        ]
        with self.engine.begin() as connection:
            connection.execute(sa.insert(journal_table), rows)

    def open_intents(self, sync_id: str) -> list[JournalEntry]:
        query = (
            sa.select(
                journal_table.c.batch_id,
                journal_table.c.run_id,
                journal_table.c.record,
                journal_table.c.changes,
            )
            .where(journal_table.c.sync_id == sync_id, journal_table.c.state == INTENT)
            .order_by(journal_table.c.id)
        )
        with self.engine.connect() as connection:
            return [
                JournalEntry(batch_id, run_id, json.loads(record), json.loads(changes))
                for batch_id, run_id, record, changes in connection.execute(query)
            ]

    # outcomes

    def record_outcome(self, outcome: BatchOutcome) -> None:
        """Ledger, links, base, pending and journal for one batch, in one transaction."""
        now = utc_now()
        sync_id = outcome.sync_id
        with self.engine.begin() as connection:
            if outcome.ledger:
                rows = [{**row, "run_id": outcome.run_id, "recorded_at": now} for row in outcome.ledger]
                connection.execute(sa.insert(ledger_table), rows)
            self._delete_links(connection, sync_id, outcome.unlinked)
            self._upsert_links(connection, sync_id, outcome.links)
            self._upsert_base(connection, sync_id, outcome.base)
            if outcome.succeeded_keys:
                connection.execute(
                    sa.delete(pending_table).where(
                        pending_table.c.sync_id == sync_id, pending_table.c.key.in_(outcome.succeeded_keys)
                    )
                )
            if outcome.failed:
                rows = [
                    {
                        "sync_id": sync_id,
                        "key": failure["key"],
                        "changes": json.dumps(failure["changes"]),
                        "attempts": 1,
                        "last_error": failure["error"],
                        "updated_at": now,
                    }
                    for failure in outcome.failed
                ]
                insert = self._insert(pending_table)
                statement = insert.on_conflict_do_update(
                    index_elements=["sync_id", "key"],
                    set_={
                        "changes": insert.excluded.changes,
                        "attempts": pending_table.c.attempts + 1,
                        "last_error": insert.excluded.last_error,
                        "updated_at": insert.excluded.updated_at,
                    },
                )
                connection.execute(statement, rows)
            if outcome.settled_batches:  # the ledger keeps what they wrote; kept, they only grew the store
                connection.execute(
                    sa.delete(journal_table).where(journal_table.c.batch_id.in_(outcome.settled_batches))
                )

    # lock

    @contextmanager
    def lock(
        self, name: str, run_id: str, *, wait: float = 0.0, stale_after: float = 600.0
    ) -> Iterator[None]:
        """Hold the apply lock `name` (a sync's id, or a shard's lock name: ``Shard.lock_name``),
        waiting up to `wait` seconds for another run to finish.

        A lock whose holder process is gone (same host) or whose heartbeat is older than
        `stale_after` seconds is taken over, so a crashed run does not block the sync forever.
        """
        deadline = time.monotonic() + wait
        while not self._take_lock(name, run_id, stale_after):
            if time.monotonic() >= deadline:
                raise SyncLockedError(self._lock_message(name, stale_after))
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        try:
            yield
        finally:
            with self.engine.begin() as connection:
                connection.execute(
                    sa.delete(locks_table).where(
                        locks_table.c.sync_id == name, locks_table.c.run_id == run_id
                    )
                )

    def heartbeat(self, name: str, run_id: str) -> None:
        """Tell waiting runs that the holder is still alive (called between batches)."""
        with self.engine.begin() as connection:
            connection.execute(
                sa.update(locks_table)
                .where(locks_table.c.sync_id == name, locks_table.c.run_id == run_id)
                .values(heartbeat_at=utc_now())
            )

    def _take_lock(self, name: str, run_id: str, stale_after: float) -> bool:
        now = utc_now()
        row = {
            "sync_id": name,
            "run_id": run_id,
            "holder": this_process(),
            "acquired_at": now,
            "heartbeat_at": now,
        }
        try:
            with self.engine.begin() as connection:
                connection.execute(sa.insert(locks_table), [row])
            return True
        except sa.exc.IntegrityError:
            pass
        with self.engine.begin() as connection:
            held = connection.execute(sa.select(locks_table).where(locks_table.c.sync_id == name)).first()
            if held is None or not _is_stale(held.holder, _as_utc(held.heartbeat_at), now, stale_after):
                return False
            taken = connection.execute(
                sa.update(locks_table)
                .where(
                    locks_table.c.sync_id == name,
                    locks_table.c.holder == held.holder,
                    locks_table.c.heartbeat_at == held.heartbeat_at,
                )
                .values(**row)
            )
            if taken.rowcount != 1:
                return False
            _abandon(connection, held.run_id, taken_over_by=run_id, now=now)
            return True

    def _lock_message(self, name: str, stale_after: float) -> str:
        with self.engine.connect() as connection:
            held = connection.execute(sa.select(locks_table).where(locks_table.c.sync_id == name)).first()
        if held is None:
            return f"the apply lock {name!r} could not be taken; run the sync again"
        return (
            f"the apply lock {name!r} is held by run {held.run_id!r} (process {held.holder}, "
            f"since {_as_utc(held.acquired_at):%Y-%m-%d %H:%M:%S} UTC). Wait for that run to finish; "
            f"if its process is gone, the lock is taken over {stale_after:.0f} s after its last heartbeat."
        )

    # set-based writes shared by the public methods and record_outcome

    def _insert(self, table: sa.Table) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    def _upsert(
        self,
        connection: Connection,
        table: sa.Table,
        rows: list[dict[str, Any]],
        keys: list[str],
        updates: list[str],
    ) -> None:
        """Insert or update many rows through the driver's own bulk path.

        SQLAlchemy's executemany costs about 80 µs a row here; the driver's multi-row VALUES
        (PostgreSQL) or executemany (SQLite) writes 100,000 links in a fraction of that.
        """
        if not rows:
            return
        dialect = connection.dialect
        quote = dialect.identifier_preparer.quote
        columns = list(rows[0])
        processors = [table.c[name].type.bind_processor(dialect) for name in columns]
        values = [
            tuple(
                process(row[name]) if process else row[name]
                for name, process in zip(columns, processors, strict=True)
            )
            for row in rows
        ]
        conflict = f"ON CONFLICT ({', '.join(map(quote, keys))}) DO UPDATE SET " + ", ".join(
            f"{quote(name)} = excluded.{quote(name)}" for name in updates
        )
        head = f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, columns))}) VALUES"
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            if dialect.name == "postgresql":
                execute_values(cursor, f"{head} %s {conflict}", values, page_size=1000)
            else:
                cursor.executemany(f"{head} ({', '.join('?' for _ in columns)}) {conflict}", values)
        finally:
            cursor.close()

    def _upsert_links(self, connection: Connection, sync_id: str, links: list[dict[str, Any]]) -> None:
        now = utc_now()
        rows = [{**link, "sync_id": sync_id, "created_at": now, "updated_at": now} for link in links]
        self._upsert(
            connection,
            links_table,
            rows,
            ["sync_id", "source_id"],
            ["target_id", "key", "origin", "updated_at"],
        )

    def _upsert_base(self, connection: Connection, sync_id: str, base: list[dict[str, Any]]) -> None:
        now = utc_now()
        rows = [{**entry, "sync_id": sync_id, "updated_at": now} for entry in base]
        self._upsert(connection, base_table, rows, ["sync_id", "source_id", "field"], ["value", "updated_at"])

    def _delete_links(self, connection: Connection, sync_id: str, source_ids: list[str]) -> None:
        if not source_ids:
            return
        for table in (links_table, base_table):
            connection.execute(
                sa.delete(table).where(table.c.sync_id == sync_id, table.c.source_id == sa.bindparam("sid")),
                [{"sid": source_id} for source_id in source_ids],
            )


def _run_of(row: sa.Row[Any]) -> dict[str, Any]:
    run = dict(row._mapping)
    run["summary"] = json.loads(run["summary"]) if run["summary"] else None
    return run


def _abandon(connection: sa.Connection, run_id: str, *, taken_over_by: str, now: datetime) -> None:
    """Finish a run whose process died holding the lock: "abandoned", with what its ledger says it
    applied, so the runs table and the status page stop showing it as running."""
    run = connection.execute(sa.select(runs_table).where(runs_table.c.run_id == run_id)).first()
    if run is None or run.status != "running":
        return
    applied = connection.execute(
        sa.select(ledger_table.c.kind, sa.func.count(sa.distinct(ledger_table.c.key)))
        .where(ledger_table.c.run_id == run_id, ledger_table.c.outcome == "ok")
        .group_by(ledger_table.c.kind)
    ).all()
    summary = {
        **(json.loads(run.summary) if run.summary else {}),
        "abandoned": f"its process died holding the lock; run {taken_over_by} took the lock over",
        "applied_by_kind": {kind: count for kind, count in applied},
    }
    connection.execute(
        sa.update(runs_table)
        .where(runs_table.c.run_id == run_id)
        .values(status="abandoned", ended_at=now, summary=json.dumps(summary))
    )


def _is_stale(holder: str, heartbeat_at: datetime, now: datetime, stale_after: float) -> bool:
    return now - heartbeat_at > timedelta(seconds=stale_after) or died_here(holder)


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers go on while a batch is recorded; the busy timeout lets writers queue."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
