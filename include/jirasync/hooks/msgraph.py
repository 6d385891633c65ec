"""``MicrosoftGraphHook``: a ``GraphConnector`` from a ``jirasync_msgraph`` connection.

host = Graph base URL (``https://graph.microsoft.com``, or a sandbox prefix such as
``http://127.0.0.1:8900/graph``), login = client (application) id, password = client
secret, extras ``tenant_id`` and ``login_url`` (default ``https://login.microsoftonline.com``).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from jirasync.connectors.errors import ApiError
from jirasync.connectors.graph import DEFAULT_LOGIN_URL, GraphConnector
from jirasync.hooks.call_limits import connector_limits


class MicrosoftGraphHook(BaseHook):
    conn_name_attr = "msgraph_conn_id"
    default_conn_name = "jirasync_msgraph_default"
    conn_type = "jirasync_msgraph"
    hook_name = "Microsoft Entra ID / Graph (jirasync)"

    def __init__(self, msgraph_conn_id: str = default_conn_name, **connector_options: Any) -> None:
        super().__init__()
        self.msgraph_conn_id = msgraph_conn_id
        self.connector_options = connector_options
        self._connector: GraphConnector | None = None

    def get_conn(self) -> GraphConnector:
        if self._connector is None:
            conn = self.get_connection(self.msgraph_conn_id)
            extras = conn.extra_dejson
            missing = [name for name in ("host", "login", "password") if not getattr(conn, name)]
            missing += [] if extras.get("tenant_id") else ["the tenant id"]
            if missing:
                raise ValueError(
                    f"Airflow connection {self.msgraph_conn_id!r} lacks {', '.join(missing)}: set Graph base URL "
                    "(https://graph.microsoft.com), Client (application) id, Client secret and Tenant id from the "
                    "app registration in Entra ID."
                )
            host = conn.host if "://" in conn.host else f"https://{conn.host}"
            self._connector = GraphConnector(
                host,
                extras["tenant_id"],
                conn.login,
                conn.password,
                login_url=extras.get("login_url") or DEFAULT_LOGIN_URL,
                **{**connector_limits(self.msgraph_conn_id, extras), **self.connector_options},
            )
        return self._connector

    def test_connection(self) -> tuple[bool, str]:
        """Get a token and read one user: proves the tenant, the client secret and ``User.Read.All``."""
        try:
            self.get_conn().check_connection()
        except (ApiError, ValueError) as error:
            return False, str(error)
        return True, "Connected to Microsoft Graph and read a user."
