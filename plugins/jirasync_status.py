"""Airflow plugin: the jirasync status page (/jirasync) and its link in the UI's navigation."""

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

from jirasync.hooks.state import state_store_location
from jirasync.operators.sync_dag import syncs_dir
from jirasync.status_page import create_app


class JirasyncStatusPlugin(AirflowPlugin):
    name = "jirasync_status"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {
            "app": create_app(syncs_dir, state_store_location),
            "url_prefix": "/jirasync",
            "name": "jirasync status",
        }
    ]
    external_views: ClassVar[list[dict[str, Any]]] = [
        {"name": "jirasync syncs", "href": "/jirasync/", "destination": "nav", "url_route": "jirasync"}
    ]
