"""Airflow plugin: the jirasync Sync Center (/jirasync) and its entry in the UI's navigation, and the
receiver of the vendors' change notifications (/jirasync-events)."""

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

from jirasync.events.receiver import create_receiver
from jirasync.hooks.events import airflow_event_sink
from jirasync.hooks.state import state_store_location
from jirasync.hooks.ui_access import airflow_access
from jirasync.sync_center.app import create_app
from jirasync.syncs.catalog import syncs_dir


class JirasyncStatusPlugin(AirflowPlugin):
    name = "jirasync_status"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {
            "app": create_app(syncs_dir, state_store_location, airflow_access()),
            "url_prefix": "/jirasync",
            "name": "jirasync Sync Center",
        },
        {
            "app": create_receiver(syncs_dir, airflow_event_sink()),
            "url_prefix": "/jirasync-events",
            "name": "jirasync events",
        },
    ]
    external_views: ClassVar[list[dict[str, Any]]] = [
        {"name": "Sync Center", "href": "/jirasync/", "destination": "nav", "url_route": "jirasync"}
    ]
