"""The events receiver's access to Airflow: connections for the webhook secrets, Asset events
for what it records (``jirasync.events.receiver``). Used inside Airflow's api-server."""

from __future__ import annotations

from typing import Any

from jirasync.events.receiver import EventSink
from jirasync.events.scope import WEBHOOK_SECRET
from jirasync.operators.pipeline import events_asset


def webhook_secret(conn_id: str) -> str | None:
    from airflow.models.connection import Connection

    return Connection.get_connection_from_secrets(conn_id).extra_dejson.get(WEBHOOK_SECRET) or None


def record_asset_event(sync_id: str, event: dict[str, Any]) -> None:
    """An event of the sync's events Asset, as Airflow's REST API records one: the scheduler queues
    the sync's DAG on it. The Asset exists once the DAG processor has parsed the sync's DAG."""
    from airflow.assets.manager import asset_manager
    from airflow.models.asset import AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    asset = events_asset(sync_id)
    with create_session() as session:
        model = session.scalar(
            select(AssetModel).where(AssetModel.name == asset.name, AssetModel.uri == asset.uri)
        )
        if model is None:
            raise LookupError(
                f"sync {sync_id!r}: Airflow has no Asset {asset.name!r} yet; it is made when the DAG processor "
                "parses the sync's DAG with events: true"
            )
        asset_manager.register_asset_change(asset=model, extra=event, source_is_api=True, session=session)


def airflow_event_sink() -> EventSink:
    return EventSink(secret=webhook_secret, record=record_asset_event)
