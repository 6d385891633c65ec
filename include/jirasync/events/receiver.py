"""The receiver of the vendors' pushes: Jira's webhooks, Zoho CRM's notifications, Salesforce's
outbound messages (``jirasync.events.sources``), at ``POST /<sync>/<vendor>``.

An event never writes anything. A proven one is recorded as an event of the sync's events Asset
(``events_asset``: Airflow's own, kept in its database), and Airflow's scheduler starts the sync's
DAG on it: the events that arrive before the run starts make one run, and those that arrive while
it runs make the next. The run reads what changed since the sync's cursor, as a scheduled run does,
so an event lost on the way is healed by the next one or the next scheduled run, and a duplicated
or late one finds nothing left to do. An event about records the sync does not keep (another
project's issue, another module's record) is answered, counted and not recorded.

A request is checked before its content is used: its size (``MAX_BODY``), then the vendor's proof,
made with the secrets in the extras of the sync's connection to that vendor. A refusal is logged
without the payload.
"""

# No `from __future__ import annotations`: FastAPI must see the route parameters' real types.
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from jirasync.engine.definitions import SyncDefinition, read_definitions
from jirasync.events.scope import side_on
from jirasync.events.sources import SALESFORCE_ACK, SOURCES, Event, NotAnEvent, Pushed, described

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # the vendors' pushes are kilobytes; a megabyte is no event


@dataclass(frozen=True)
class EventSink:
    """Where the receiver finds secrets, records events and counts them: Airflow's, or a test's."""

    extras: Callable[[str], Mapping[str, Any]]  # a connection id → its extras
    record: Callable[[str, Event], None]  # a sync id and its event → recorded
    count: Callable[[str, str, str], None]  # a sync id, the vendor, "recorded" / "ignored" / "refused"


def create_receiver(syncs_dir: Callable[[], Path], sink: EventSink) -> FastAPI:
    """The app; the definitions are read on each request, so a sync turned on listens at once."""
    app = FastAPI(title="jirasync events", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/{sync_id}/{vendor}", status_code=202)
    async def receive(sync_id: str, vendor: str, request: Request) -> Response:
        source = SOURCES.get(vendor)
        if source is None:
            raise HTTPException(404, f"no events from {vendor!r}: from {', '.join(SOURCES)}")
        definition = _listening(syncs_dir(), sync_id)
        endpoint = side_on(definition, source.systems)
        if endpoint is None:
            raise HTTPException(404, f"sync {sync_id!r} has no {vendor} side to send it events")
        # The sink reads and writes Airflow's database: off the event loop, which serves every request.
        extras = await run_in_threadpool(sink.extras, endpoint.conn_id)
        missing = [name for name in source.needs if not extras.get(name)]
        if missing:
            log.error(
                "sync '%s': an event came from %s, but the connection '%s' has no %s in its extras: "
                "nothing can be trusted; put them there (see jirasync webhooks register)",
                sync_id,
                vendor,
                endpoint.conn_id,
                " and ".join(missing),
            )
            raise HTTPException(503, f"sync {sync_id!r} has no {' and '.join(missing)} to check events with")
        pushed = Pushed(await _body(request, sync_id), request.headers, request.query_params)
        if not source.proven(extras, pushed):
            await run_in_threadpool(sink.count, sync_id, vendor, "refused")
            log.warning(
                "sync '%s': refused an event from %s (client %s): not proven with the secrets of the "
                "connection '%s' (the payload is not logged)",
                sync_id,
                vendor,
                request.client.host if request.client else "unknown",
                endpoint.conn_id,
            )
            raise HTTPException(401, f"not a {vendor} event of this sync: its proof does not match")
        try:
            event = source.read(pushed.body)
        except NotAnEvent as error:
            raise HTTPException(400, str(error)) from None
        said = described(event)
        outside = source.outside(definition, event)
        if outside:
            await run_in_threadpool(sink.count, sync_id, vendor, "ignored")
            log.info("sync '%s': ignored %s: %s", sync_id, said, outside)
            return _answer(vendor, {**event, "ignored": outside})
        try:
            await run_in_threadpool(sink.record, sync_id, event)
        except LookupError as error:  # Airflow has not parsed the sync's DAG with events on yet
            log.error("sync '%s': %s not recorded: %s", sync_id, said, error)
            raise HTTPException(503, str(error)) from None
        await run_in_threadpool(sink.count, sync_id, vendor, "recorded")
        log.info("sync '%s': recorded %s; the sync runs on it", sync_id, said)
        return _answer(vendor, event)

    return app


def _answer(vendor: str, event: Event) -> Response:
    """What the vendor takes for delivered: Salesforce sends an outbound message again until it
    is acknowledged in SOAP."""
    if vendor == "salesforce":
        return Response(SALESFORCE_ACK, status_code=200, media_type="text/xml")
    return JSONResponse(event, status_code=202)


async def _body(request: Request, sync_id: str) -> bytes:
    """The body, refused once it passes MAX_BODY, whatever Content-Length claims."""
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > MAX_BODY:
            log.warning("sync '%s': refused an event of more than %d bytes", sync_id, MAX_BODY)
            raise HTTPException(413, f"an event is at most {MAX_BODY} bytes")
    return bytes(received)


def _listening(folder: Path, sync_id: str) -> SyncDefinition:
    found = next((d for d in read_definitions(folder).definitions if d.id == sync_id), None)
    if found is None or not found.events:
        raise HTTPException(
            404, f"no sync {sync_id!r} listens to events here (its definition sets events: true)"
        )
    return found
