"""The Sync Center's FastAPI app: its page and the JSON API the page reads, behind a login.

Every route but the static files asks ``Access.user`` for the logged-in user (in Airflow, its
own JWT cookie or ``Authorization: Bearer`` check): a request without one gets 401, and the page
sends the browser to the login instead. The state store is opened once per location and never
migrated here; the runs and ``jirasync state migrate`` own its schema.
"""

# No `from __future__ import annotations`: FastAPI must see the route parameters' real types,
# and ``User`` is a local of create_app.
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from jirasync.engine.definitions import SyncDefinition, read_definitions
from jirasync.engine.store import StateStore
from jirasync.sync_center import records

STATIC = Path(__file__).with_name("static")


@dataclass(frozen=True)
class Access:
    """Who may use the Sync Center, as the host (Airflow) decides it."""

    user: Callable[..., Any]  # a FastAPI dependency: the logged-in user, or HTTPException 401/403
    may_read: Callable[[Any, str], bool]  # whether the user may see this DAG id (and so its sync)
    may_run: Callable[[Any, str], bool]  # whether the user may start runs of this DAG id
    login_url: Callable[[str], str]  # the login page, which returns to the given URL
    user_name: Callable[[Any], str]


class Decision(BaseModel):
    source_id: str
    field: str
    take: str


def create_app(syncs_dir: Callable[[], Any], store_location: Callable[[], str], access: Access) -> FastAPI:
    """The app; the locations are functions, read on each request, so a new definition shows at once."""
    app = FastAPI(title="jirasync Sync Center", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    stores: dict[str, StateStore] = {}
    User = Annotated[Any, Depends(access.user)]

    def store() -> StateStore:
        location = store_location()
        if location not in stores:
            stores[location] = StateStore(location, migrate=False)
        return stores[location]

    def definition(sync_id: str, user: Any) -> SyncDefinition:
        """The sync's definition, if the user may see its DAG: its ledger holds people's data."""
        found = next((d for d in read_definitions(syncs_dir()).definitions if d.id == sync_id), None)
        if found is None:
            raise HTTPException(404, f"no sync {sync_id!r} in {syncs_dir()}")
        if not access.may_read(user, records.dag_id(found)):
            raise HTTPException(403, f"you may not see the Dag of sync {sync_id!r}")
        return found

    @app.exception_handler(sa.exc.OperationalError)
    @app.exception_handler(sa.exc.ProgrammingError)
    async def store_not_ready(_request: Request, _error: Exception) -> JSONResponse:
        return JSONResponse(
            status_code=503,
            content={
                "detail": f"the state store {store()!r} cannot be read (no tables yet, or it is down): "
                "the first run of a sync creates its tables, as does `jirasync state migrate`"
            },
        )

    @app.exception_handler(HTTPException)
    async def login_first(request: Request, error: HTTPException) -> Response:
        """The page sends a visitor without a valid login to the login; the API answers as is."""
        if request.url.path.rstrip("/") == request.scope.get("root_path", "").rstrip("/") and (
            error.status_code in (401, 403)
        ):
            return RedirectResponse(access.login_url(str(request.url)), status_code=303)
        return JSONResponse(status_code=error.status_code, content={"detail": error.detail})

    @app.get("/", response_model=None)
    def page(_user: User) -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    @app.get("/api/syncs")
    def syncs(user: User) -> dict[str, Any]:
        found = read_definitions(syncs_dir())
        visible = [d for d in found.definitions if access.may_read(user, records.dag_id(d))]
        return {
            "user": access.user_name(user),
            "syncs": records.sync_health(visible, store()),
            "definition_errors": [str(error) for error in found.errors],
        }

    @app.get("/api/syncs/{sync_id}/runs")
    def runs(sync_id: str, user: User) -> list[dict[str, Any]]:
        return records.run_history(store(), definition(sync_id, user).id)

    @app.get("/api/syncs/{sync_id}/runs/{run_id}/changes")
    def changes(
        sync_id: str, run_id: str, user: User, kind: str = "", outcome: str = "", key: str = ""
    ) -> dict[str, Any]:
        run = store().run(run_id)
        if run is None or run["sync_id"] != definition(sync_id, user).id:
            raise HTTPException(404, f"sync {sync_id!r} has no run {run_id!r}")
        return records.run_changes(store(), run_id, kind=kind, outcome=outcome, key=key)

    @app.get("/api/syncs/{sync_id}/pending")
    def pending(sync_id: str, user: User) -> list[dict[str, Any]]:
        return records.pending_records(store(), definition(sync_id, user).id)

    @app.get("/api/syncs/{sync_id}/conflicts")
    def conflicts(sync_id: str, user: User) -> list[dict[str, Any]]:
        return records.held_conflicts(store(), definition(sync_id, user).id)

    @app.post("/api/syncs/{sync_id}/decisions")
    def decide(sync_id: str, decision: Decision, user: User) -> dict[str, Any]:
        """Record which side wins a held conflict; the next run of the sync applies it."""
        sync = definition(sync_id, user)
        if not access.may_run(user, records.dag_id(sync)):
            raise HTTPException(403, f"you may not run sync {sync.id!r}, so you may not decide its conflicts")
        if decision.take not in ("source", "target"):
            raise HTTPException(422, "take is 'source' or 'target'")
        held = records.held_conflict(store(), sync.id, decision.source_id, decision.field)
        if held is None:
            raise HTTPException(
                404,
                f"sync {sync.id!r} holds no conflict on field {decision.field!r} of source record "
                f"{decision.source_id!r}; reload the page",
            )
        store().decide(sync.id, held, decision.take, access.user_name(user))
        return {**held, "take": decision.take, "decided_by": access.user_name(user)}

    @app.get("/api/syncs/{sync_id}/links")
    def links(sync_id: str, user: User, search: str = "") -> dict[str, Any]:
        return records.linked_records(store(), definition(sync_id, user).id, search.strip())

    return app
