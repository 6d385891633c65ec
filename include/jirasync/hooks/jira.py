"""``JiraCloudHook``: a ``JiraConnector`` from a connection of the Jira provider's ``jira`` type.

It reuses the provider's connection type rather than declaring its own, so a site
already configured for the Jira provider works as is: host = site URL (a base path
such as ``http://127.0.0.1:8900/jira`` is kept), login = account email, password =
API token, extra ``verify`` = false or a CA bundle path; for a sync with ``events: true``, extra
``webhook_secret`` = the secret its Jira webhook is signed with.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from jirasync.connectors.errors import ApiError
from jirasync.connectors.jira import JiraConnector
from jirasync.connectors.jsm import JsmConnector
from jirasync.hooks.call_limits import connector_limits


class JiraCloudHook(BaseHook):
    conn_name_attr = "jira_conn_id"
    default_conn_name = "jira_default"
    conn_type = "jira"
    hook_name = "Jira Cloud (jirasync)"
    # JSM lives on the same site with the same credentials: its hook only swaps the connector.
    connector_class: type[JiraConnector] | type[JsmConnector] = JiraConnector

    def __init__(self, jira_conn_id: str = default_conn_name, **connector_options: Any) -> None:
        super().__init__()
        self.jira_conn_id = jira_conn_id
        self.connector_options = connector_options
        self._connector: JiraConnector | JsmConnector | None = None

    def get_conn(self) -> JiraConnector | JsmConnector:
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
            options = {
                "verify": conn.extra_dejson.get("verify", True),
                **connector_limits(self.jira_conn_id, conn.extra_dejson),
                **self.connector_options,
            }
            self._connector = self.connector_class.with_api_token(host, conn.login, conn.password, **options)
        return self._connector

    def test_connection(self) -> tuple[bool, str]:
        """Call ``/myself``: proves the URL, the credentials and that the account can use the API."""
        try:
            me = self.get_conn().myself()
        except (ApiError, ValueError) as error:
            return False, str(error)
        return True, f"Connected to Jira as {me.get('displayName')} ({me.get('accountId')})."
