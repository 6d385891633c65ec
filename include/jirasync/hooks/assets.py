"""``AssetsHook``: an ``AssetsConnector`` from a ``jirasync_assets`` connection.

host = API base URL (``https://api.atlassian.com``, or a sandbox's
``http://127.0.0.1:8900/atlassian``), login = Atlassian account email, password = API
token, extra ``workspace_id``. The workspace id cannot be found from this connection:
it comes from the Jira site (``GET https://<site>.atlassian.net/rest/servicedeskapi/assets/workspace``,
or ``JsmHook(...).get_conn().assets_workspace_id()``), so an empty one is an error saying so.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from jirasync.connectors.assets import DEFAULT_API_URL, AssetsConnector
from jirasync.connectors.errors import ApiError
from jirasync.hooks.call_limits import connector_limits


class AssetsHook(BaseHook):
    conn_name_attr = "assets_conn_id"
    default_conn_name = "jirasync_assets_default"
    conn_type = "jirasync_assets"
    hook_name = "Jira Service Management Assets (jirasync)"

    def __init__(self, assets_conn_id: str = default_conn_name, **connector_options: Any) -> None:
        super().__init__()
        self.assets_conn_id = assets_conn_id
        self.connector_options = connector_options
        self._connector: AssetsConnector | None = None

    def get_conn(self) -> AssetsConnector:
        if self._connector is None:
            conn = self.get_connection(self.assets_conn_id)
            missing = [name for name in ("login", "password") if not getattr(conn, name)]
            if missing:
                raise ValueError(
                    f"Airflow connection {self.assets_conn_id!r} lacks {', '.join(missing)}: set login to the "
                    "Atlassian account email and password to an API token of the Jira site."
                )
            workspace_id = str(conn.extra_dejson.get("workspace_id") or "").strip()
            if not workspace_id:
                raise ValueError(
                    f"Airflow connection {self.assets_conn_id!r} has no 'Assets workspace id' (extra "
                    "workspace_id): it cannot be discovered from this connection. Open "
                    "https://<site>.atlassian.net/rest/servicedeskapi/assets/workspace signed in to the Jira "
                    "site (or call JsmHook(jira_conn_id).get_conn().assets_workspace_id()) and set the "
                    "workspaceId it returns."
                )
            host = conn.host or DEFAULT_API_URL
            host = host if "://" in host else f"https://{host}"
            options = {
                "verify": conn.extra_dejson.get("verify", True),
                **connector_limits(self.assets_conn_id, conn.extra_dejson),
                **self.connector_options,
            }
            self._connector = AssetsConnector.with_api_token(
                host, workspace_id, conn.login, conn.password, **options
            )
        return self._connector

    def test_connection(self) -> tuple[bool, str]:
        """List the object schemas: proves the URL, the credentials and the workspace id."""
        try:
            schemas = self.get_conn().object_schemas()
        except (ApiError, ValueError) as error:
            return False, str(error)
        return (
            True,
            f"Connected to Assets workspace {self._connector.workspace_id}: {len(schemas)} schema(s).",
        )
