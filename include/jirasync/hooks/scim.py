"""``ScimHook``: a ``ScimConnector`` from a ``jirasync_scim`` connection.

host = SCIM base URL (the one ending in ``/scim/v2`` or ``/v2``, under which ``/Users`` lives),
password = bearer token.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from jirasync.connectors.errors import ApiError
from jirasync.connectors.scim import ScimConnector
from jirasync.hooks.call_limits import connector_limits


class ScimHook(BaseHook):
    conn_name_attr = "scim_conn_id"
    default_conn_name = "jirasync_scim_default"
    conn_type = "jirasync_scim"
    hook_name = "SCIM 2.0 server (jirasync)"

    def __init__(self, scim_conn_id: str = default_conn_name, **connector_options: Any) -> None:
        super().__init__()
        self.scim_conn_id = scim_conn_id
        self.connector_options = connector_options
        self._connector: ScimConnector | None = None

    def get_conn(self) -> ScimConnector:
        if self._connector is None:
            conn = self.get_connection(self.scim_conn_id)
            missing = [
                label
                for name, label in (("host", "SCIM base URL"), ("password", "Bearer token"))
                if not getattr(conn, name)
            ]
            if missing:
                raise ValueError(
                    f"Airflow connection {self.scim_conn_id!r} lacks {' and '.join(missing)}: set the SCIM base URL "
                    "(for example https://idp.example.com/scim/v2) and a bearer token the server accepts."
                )
            host = conn.host if "://" in conn.host else f"https://{conn.host}"
            options = {**connector_limits(self.scim_conn_id, conn.extra_dejson), **self.connector_options}
            self._connector = ScimConnector(host, conn.password, **options)
        return self._connector

    def test_connection(self) -> tuple[bool, str]:
        """Read one user: proves the URL and the token."""
        try:
            connector = self.get_conn()
            connector.check_connection()
        except (ApiError, ValueError) as error:
            return False, str(error)
        if connector.can_filter:
            return (
                True,
                "Connected to the SCIM server; it filters, so incremental reads ask only for changes.",
            )
        return True, "Connected to the SCIM server; it cannot filter, so every read is a full read."
