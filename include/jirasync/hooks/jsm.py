"""``JsmHook``: a ``JsmConnector`` from a connection of the Jira provider's ``jira`` type.

JSM is part of the Jira site and uses its credentials, so it reuses the Jira
connection as is: host = site URL (a base path such as ``http://127.0.0.1:8900/jira``
is kept), login = account email, password = API token, extra ``verify`` = false or a
CA bundle path.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from jirasync.connectors.errors import ApiError
from jirasync.connectors.jsm import JsmConnector


class JsmHook(BaseHook):
    conn_name_attr = "jira_conn_id"
    default_conn_name = "jira_default"
    conn_type = "jira"
    hook_name = "Jira Service Management (jirasync)"

    def __init__(self, jira_conn_id: str = default_conn_name, **connector_options: Any) -> None:
        super().__init__()
        self.jira_conn_id = jira_conn_id
        self.connector_options = connector_options
        self._connector: JsmConnector | None = None

    def get_conn(self) -> JsmConnector:
        if self._connector is None:
            conn = self.get_connection(self.jira_conn_id)
            missing = [name for name in ("host", "login", "password") if not getattr(conn, name)]
            if missing:
                raise ValueError(
                    f"Airflow connection {self.jira_conn_id!r} lacks {', '.join(missing)}: set host to the "
                    "Jira site URL, login to the account email and password to an API token."
                )
            host = conn.host if "://" in conn.host else f"{conn.schema or 'https'}://{conn.host}"
            if conn.port and "://" not in conn.host:
                host = f"{host}:{conn.port}"
            options = {"verify": conn.extra_dejson.get("verify", True), **self.connector_options}
            self._connector = JsmConnector.with_api_token(host, conn.login, conn.password, **options)
        return self._connector

    def test_connection(self) -> tuple[bool, str]:
        """List the service desks: proves the URL, the credentials and that JSM is on the site."""
        try:
            desks = list(self.get_conn().service_desks())
        except (ApiError, ValueError) as error:
            return False, str(error)
        return True, f"Connected to Jira Service Management: {len(desks)} service desk(s)."
