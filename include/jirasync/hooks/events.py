"""The events receiver's access to Airflow: connections for the secrets, Asset events for what it
records, Airflow's metrics for what it counts (``jirasync.events.receiver``). Used inside Airflow's
api-server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jirasync.events.receiver import EventSink
from jirasync.events.sources import Event
from jirasync.operators.pipeline import events_asset


def connection_extras(conn_id: str) -> Mapping[str, Any]:
    from airflow.models.connection import Connection

    return Connection.get_connection_from_secrets(conn_id).extra_dejson


def record_asset_event(sync_id: str, event: Event) -> None:
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


def count_event(sync_id: str, vendor: str, outcome: str) -> None:
    """``jirasync.events.<outcome>`` (recorded, ignored, refused) in Airflow's metrics (StatsD or
    OpenTelemetry, as Airflow's own are), tagged with the sync and the vendor."""
    from airflow.sdk.observability import stats

    stats.incr(f"jirasync.events.{outcome}", tags={"sync": sync_id, "vendor": vendor})


def airflow_event_sink() -> EventSink:
    return EventSink(extras=connection_extras, record=record_asset_event, count=count_event)
