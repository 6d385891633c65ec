"""What the Sync Center shows, read from the state store as plain rows (JSON-ready dicts).

Every query is bounded (a sync can hold 100,000 links and a run a ledger as long), so a page
view costs a few indexed reads whatever the size of the store.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from jirasync.engine.definitions import SyncDefinition
from jirasync.engine.store import (
    StateStore,
    decisions_table,
    ledger_table,
    links_table,
    pending_table,
    runs_table,
)

CHANGE_COUNTS = ("created", "updated", "linked", "unlinked", "deleted", "cleared")
OTHER_COUNTS = ("failed", "skipped", "conflicts", "read_source", "api_calls")
FAILED_STATUSES = ("failed", "partial", "abandoned")
RUNS_SHOWN = 60
CHANGES_SHOWN = 500
LINKS_SHOWN = 200
PENDING_SHOWN = 500
CONFLICTS_SHOWN = 500


def sync_health(definitions: list[SyncDefinition], store: StateStore) -> list[dict[str, Any]]:
    """One row per sync: its last run, its last success, its last failure with the error, and
    what waits (pending records, held conflicts); a last run that failed makes the sync failing."""
    rows = []
    with store.engine.connect() as connection:
        pending = _count_by_sync(connection, pending_table)
        links = _count_by_sync(connection, links_table)
        for definition in definitions:
            latest = _latest_run(store, definition.id)
            success = _latest_run(store, definition.id, ("success",))
            failure = _latest_run(store, definition.id, FAILED_STATUSES)
            held = connection.execute(sa.select(sa.func.count()).select_from(_held(definition.id).subquery()))
            rows.append(
                {
                    "sync": definition.id,
                    "dag_id": dag_id(definition),
                    "family": definition.family,
                    "source": definition.source.system,
                    "target": definition.target.system,
                    "enabled": definition.enabled,
                    "schedule": definition.schedule,
                    "health": _health(latest),
                    "last_run": _run_row(latest) if latest is not None else None,
                    "last_success": _run_row(success) if success is not None else None,
                    "last_failure": _run_row(failure) if failure is not None else None,
                    "pending": pending.get(definition.id, 0),
                    "conflicts": held.scalar_one(),
                    "links": links.get(definition.id, 0),
                }
            )
    return rows


def dag_id(definition: SyncDefinition) -> str:
    """The Airflow DAG that runs the sync (built by jirasync.operators.sync_dag)."""
    return f"jirasync__{definition.id}"


def run_history(store: StateStore, sync_id: str) -> list[dict[str, Any]]:
    """The sync's latest runs, newest first, with their counts and error."""
    return [_run_row(run) for run in store.runs(sync_id, RUNS_SHOWN)]


def run_changes(
    store: StateStore, run_id: str, *, kind: str = "", outcome: str = "", key: str = ""
) -> dict[str, Any]:
    """The ledger of one run (before/after per field), filtered, with how many rows match."""
    conditions = [ledger_table.c.run_id == run_id]
    if kind:
        conditions.append(ledger_table.c.kind == kind)
    if outcome:
        conditions.append(ledger_table.c.outcome == outcome)
    if key:
        conditions.append(ledger_table.c.key.ilike(f"%{_escaped(key)}%", escape="\\"))
    columns = [
        ledger_table.c[name]
        for name in ("key", "kind", "field", "before", "after", "direction", "outcome", "error", "reason")
    ]
    with store.engine.connect() as connection:
        total = connection.execute(sa.select(sa.func.count()).where(*conditions)).scalar_one()
        rows = connection.execute(
            sa.select(*columns).where(*conditions).order_by(ledger_table.c.id).limit(CHANGES_SHOWN)
        )
        return {"total": total, "shown": CHANGES_SHOWN, "rows": [dict(row._mapping) for row in rows]}


def pending_records(store: StateStore, sync_id: str) -> list[dict[str, Any]]:
    """Records that failed and wait for the next run (the latest first): the error, the attempts,
    what they would change."""
    query = (
        sa.select(pending_table)
        .where(pending_table.c.sync_id == sync_id)
        .order_by(pending_table.c.updated_at.desc(), pending_table.c.key)
        .limit(PENDING_SHOWN)
    )
    with store.engine.connect() as connection:
        rows = connection.execute(query).all()
    records = []
    for row in rows:
        changes = json.loads(row.changes)
        records.append(
            {
                "key": row.key,
                "attempts": row.attempts,
                "last_error": row.last_error,
                "updated_at": _iso(row.updated_at),
                "kinds": sorted({change["kind"] for change in changes}),
                "fields": sorted({change["field"] for change in changes if change.get("field")}),
            }
        )
    return records


def held_conflicts(store: StateStore, sync_id: str) -> list[dict[str, Any]]:
    """The conflicts the sync's latest applied run held, each with the decision made on it, if any."""
    decided = decisions_table.c
    query = (
        _held(sync_id)
        .add_columns(
            decided.take,
            decided.decided_by,
            decided.before.label("decided_before"),
            decided.after.label("decided_after"),
        )
        .outerjoin(
            decisions_table,
            sa.and_(
                decided.sync_id == sync_id,
                decided.source_id == ledger_table.c.source_id,
                decided.field == ledger_table.c.field,
            ),
        )
        .order_by(ledger_table.c.key, ledger_table.c.field)
        .limit(CONFLICTS_SHOWN)
    )
    with store.engine.connect() as connection:
        rows = [dict(row._mapping) for row in connection.execute(query)]
    for row in rows:
        same_values = (row.pop("decided_before"), row.pop("decided_after")) == (row["before"], row["after"])
        if not same_values:  # a decision on earlier values does not settle this conflict
            row["take"] = row["decided_by"] = None
    return rows


def _held(sync_id: str) -> sa.Select[Any]:
    """Held ledger rows of the sync's latest run that wrote a ledger.

    A conflict is held again by every run until it is decided, so that run holds all that wait;
    dry runs write no ledger and leave it to the applied ones.
    """
    recorded = ledger_table.alias("recorded")
    latest = (
        sa.select(runs_table.c.run_id)
        .where(
            runs_table.c.sync_id == sync_id,
            sa.exists().where(recorded.c.run_id == runs_table.c.run_id),
        )
        .order_by(runs_table.c.started_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    return sa.select(
        *(
            ledger_table.c[name]
            for name in ("run_id", "key", "source_id", "target_id", "field", "before", "after", "reason")
        )
    ).where(ledger_table.c.run_id == latest, ledger_table.c.outcome == "held")


def held_conflict(store: StateStore, sync_id: str, source_id: str, field: str) -> dict[str, Any] | None:
    """The held conflict of one record's field, as the latest applied run recorded it."""
    for conflict in held_conflicts(store, sync_id):
        if conflict["source_id"] == source_id and conflict["field"] == field:
            return conflict
    return None


def linked_records(store: StateStore, sync_id: str, search: str = "") -> dict[str, Any]:
    """The sync's links whose key or either id contains ``search``, with how many match."""
    conditions = [links_table.c.sync_id == sync_id]
    if search:
        pattern = f"%{_escaped(search)}%"
        conditions.append(
            sa.or_(
                *(
                    column.ilike(pattern, escape="\\")
                    for column in (links_table.c.key, links_table.c.source_id, links_table.c.target_id)
                )
            )
        )
    columns = [links_table.c[name] for name in ("key", "source_id", "target_id", "origin", "updated_at")]
    with store.engine.connect() as connection:
        total = connection.execute(sa.select(sa.func.count()).where(*conditions)).scalar_one()
        rows = connection.execute(
            sa.select(*columns).where(*conditions).order_by(links_table.c.key).limit(LINKS_SHOWN)
        )
        links = [{**row._mapping, "updated_at": _iso(row.updated_at)} for row in rows]
    return {"total": total, "shown": LINKS_SHOWN, "rows": links}


def _latest_run(store: StateStore, sync_id: str, statuses: tuple[str, ...] = ()) -> dict[str, Any] | None:
    return next(iter(store.runs(sync_id, 1, statuses)), None)


def _health(run: dict[str, Any] | None) -> str:
    if run is None:
        return "never run"
    if run["status"] in ("failed", "abandoned"):
        return "failing"
    return {"success": "healthy", "partial": "partial", "running": "running"}.get(
        run["status"], run["status"]
    )


def _run_row(run: dict[str, Any]) -> dict[str, Any]:
    """A run as ``StateStore.runs`` returns it, as the page shows it."""
    summary = run["summary"] or {}
    return {
        "run_id": run["run_id"],
        "airflow_run_id": _airflow_run_id(run["sync_id"], run["run_id"]),
        "status": run["status"],
        "dry_run": bool(run["dry_run"]),
        "started_at": _iso(run["started_at"]),
        "ended_at": _iso(run["ended_at"]),
        **{name: summary.get(name) for name in (*CHANGE_COUNTS, *OTHER_COUNTS)},
        "error": _error(run["status"], summary),
    }


def _error(status: str, summary: dict[str, Any]) -> str | None:
    """Why the run did not succeed, in one line."""
    if summary.get("error"):
        step = summary.get("failed_step")
        return f"{step}: {summary['error']}" if step else str(summary["error"])
    if status == "abandoned":
        return str(summary.get("abandoned", "abandoned"))
    failures = summary.get("failures") or []
    if status == "partial" and failures:
        first = failures[0]
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        return f"{first.get('key')}: {first.get('error')}{more}"
    return None


def _airflow_run_id(sync_id: str, run_id: str) -> str | None:
    """Airflow's run id inside the store's ``sync:airflow_run[:shard-N]:try`` id, to link to the run's page."""
    middle = run_id.removeprefix(f"{sync_id}:")
    airflow_run, _, attempt = middle.rpartition(":")
    airflow_run = re.sub(r":shard-\d+$", "", airflow_run)
    return airflow_run if middle != run_id and attempt.isdigit() else None


def _count_by_sync(connection: sa.Connection, table: sa.Table) -> dict[str, int]:
    query = sa.select(table.c.sync_id, sa.func.count()).group_by(table.c.sync_id)
    return {sync_id: count for sync_id, count in connection.execute(query)}


def _escaped(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()  # SQLite drops the zone
