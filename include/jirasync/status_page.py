"""What each sync did last and what waits for a retry: a page and a JSON API in the Airflow UI.

Served by the plugin in plugins/jirasync_status.py at ``/jirasync``. On-call staff see, per sync,
the last run's outcome and counts, how many records wait in ``pending`` and how many are linked,
without opening a task log.
"""

from __future__ import annotations

import html
import json
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from jirasync.engine.definitions import SyncDefinition, read_definitions
from jirasync.engine.store import StateStore, links_table, pending_table, runs_table

COUNTS = ("read_source", "created", "updated", "linked", "unlinked", "failed", "api_calls", "ideal_api_calls")


def sync_statuses(definitions: list[SyncDefinition], store: StateStore) -> list[dict[str, Any]]:
    """One row per sync: its definition's essentials, its last run and what waits for a retry."""
    with store.engine.connect() as connection:
        latest = {
            row.sync_id: row
            for row in connection.execute(
                sa.select(runs_table).order_by(runs_table.c.started_at)  # later rows overwrite earlier
            )
        }
        pending = dict(
            connection.execute(
                sa.select(pending_table.c.sync_id, sa.func.count()).group_by(pending_table.c.sync_id)
            ).all()
        )
        links = dict(
            connection.execute(
                sa.select(links_table.c.sync_id, sa.func.count()).group_by(links_table.c.sync_id)
            ).all()
        )
    rows = []
    for definition in definitions:
        run = latest.get(definition.id)
        summary = json.loads(run.summary) if run is not None and run.summary else {}
        rows.append(
            {
                "sync": definition.id,
                "family": definition.family,
                "enabled": definition.enabled,
                "schedule": definition.schedule,
                "last_run": run.run_id if run is not None else None,
                "last_status": run.status if run is not None else "never run",
                "last_started": run.started_at.isoformat() if run is not None else None,
                "dry_run": bool(run.dry_run) if run is not None else None,
                **{name: summary.get(name) for name in COUNTS},
                "pending": pending.get(definition.id, 0),
                "links": links.get(definition.id, 0),
            }
        )
    return rows


def create_app(syncs_dir: Any, store_location: Any) -> FastAPI:
    """The status app; the locations are functions, read on each request, so a new definition shows at once."""
    app = FastAPI(title="jirasync status")

    def statuses() -> list[dict[str, Any]]:
        store = StateStore(store_location())
        try:
            return sync_statuses(read_definitions(syncs_dir()).definitions, store)
        finally:
            store.close()

    @app.get("/syncs")
    def syncs() -> list[dict[str, Any]]:
        return statuses()

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        rows = statuses()
        columns = list(rows[0]) if rows else ["sync"]
        head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(row[c]))}</td>" for c in columns) + "</tr>"
            for row in rows
        )
        return (
            "<!doctype html><title>jirasync</title><h1>jirasync syncs</h1>"
            f"<table border=1 cellpadding=4><tr>{head}</tr>{body}</table>"
            "<p>JSON: <a href='syncs'>syncs</a>. Records in <em>pending</em> are retried by the next run.</p>"
        )

    return app
