"""The receiver of the vendors' change notifications: Jira's webhooks.

An event never writes anything. A signed one is recorded as an event of the sync's events Asset
(``events_asset``: Airflow's own, kept in its database), and Airflow's scheduler starts the sync's
DAG on it: the events that arrive before the run starts make one run, and those that arrive while
it runs make the next. The run reads what changed since the sync's cursor, as a scheduled run does,
so an event lost on the way is healed by the next one or the next scheduled run, and a duplicated
or late one finds nothing left to do.

A request is checked before its content is read: its size (``MAX_BODY``), then the vendor's
signature, made with the secret kept in the extras of the sync's connection to that vendor
(``webhook_secret``). A refusal is logged without the payload.
"""

# No `from __future__ import annotations`: FastAPI must see the route parameters' real types.
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from jirasync.engine.definitions import SyncDefinition, read_definitions
from jirasync.events.scope import jira_project, jira_side

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # Jira's payloads are kilobytes; a megabyte is no webhook


@dataclass(frozen=True)
class EventSink:
    """Where the receiver finds secrets and records events: Airflow's, or a test's."""

    secret: Callable[[str], str | None]  # a connection id → the webhook secret in its extras, if any
    record: Callable[[str, dict[str, Any]], None]  # a sync id and what its event says → recorded


def create_receiver(syncs_dir: Callable[[], Path], sink: EventSink) -> FastAPI:
    """The app; the definitions are read on each request, so a sync turned on listens at once."""
    app = FastAPI(title="jirasync events", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/{sync_id}/jira", status_code=202)
    async def jira(sync_id: str, request: Request) -> dict[str, Any]:
        definition = _listening(syncs_dir(), sync_id)
        endpoint = jira_side(definition)
        if endpoint is None:
            raise HTTPException(404, f"sync {sync_id!r} has no Jira side to send it events")
        # The sink reads and writes Airflow's database: off the event loop, which serves every request.
        secret = await run_in_threadpool(sink.secret, endpoint.conn_id)
        if not secret:
            log.error(
                "sync '%s': a Jira webhook came, but the connection '%s' has no webhook_secret in its "
                "extras: nothing can be trusted; put the webhook's secret there",
                sync_id,
                endpoint.conn_id,
            )
            raise HTTPException(503, f"sync {sync_id!r} has no webhook secret to check events with")
        body = await _body(request, sync_id)
        if not _jira_signed(secret, body, request.headers.get("x-hub-signature")):
            log.warning(
                "sync '%s': refused a Jira webhook from %s: no X-Hub-Signature, or not the body signed with "
                "the secret of the connection '%s' (the payload is not logged)",
                sync_id,
                request.client.host if request.client else "an unknown client",
                endpoint.conn_id,
            )
            raise HTTPException(
                401, "X-Hub-Signature does not match: the body must be signed with the webhook's secret"
            )
        event = jira_event(body)
        outside = _out_of_scope(definition, event)
        if outside:
            log.info("sync '%s': ignored %s of %s: %s", sync_id, event["event"], event["record"], outside)
            return {**event, "ignored": outside}
        try:
            await run_in_threadpool(sink.record, sync_id, event)
        except LookupError as error:  # Airflow has not parsed the sync's DAG with events on yet
            log.error("sync '%s': %s of %s not recorded: %s", sync_id, event["event"], event["record"], error)
            raise HTTPException(503, str(error)) from None
        log.info(
            "sync '%s': recorded %s of %s; the sync runs on it", sync_id, event["event"], event["record"]
        )
        return event

    return app


def jira_event(body: bytes) -> dict[str, Any]:
    """What a Jira webhook says, kept small: its event and the record it is about (an issue key, a
    user's account id); the run reads the record itself."""
    try:
        payload = json.loads(body)
    except ValueError:
        raise HTTPException(400, "the body is not JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("webhookEvent"), str):
        raise HTTPException(400, "a Jira webhook names its event in webhookEvent")
    issue = payload.get("issue") if isinstance(payload.get("issue"), dict) else {}
    user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
    record = issue.get("key") or issue.get("id") or user.get("accountId")
    return {
        "vendor": "jira",
        "event": payload["webhookEvent"],
        "record": record,
        "at": payload.get("timestamp"),
    }


def _out_of_scope(definition: SyncDefinition, event: dict[str, Any]) -> str | None:
    """Why an event cannot concern the sync, or None: an issue of another project than a records ↔
    issues sync's (a webhook whose filter is wider than the sync)."""
    project = jira_project(definition)
    record = event["record"]
    if project and isinstance(record, str) and "-" in record and not record.startswith(f"{project}-"):
        return f"the issue is not in the sync's project {project}"
    return None


def _jira_signed(secret: str, body: bytes, signature: str | None) -> bool:
    """Jira's ``X-Hub-Signature: sha256=<hex>``: the HMAC-SHA256 of the body with the webhook's secret."""
    if not signature or not signature.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.removeprefix("sha256="))


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
