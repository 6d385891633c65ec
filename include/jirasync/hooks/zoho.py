"""``ZohoCrmHook``: a ``ZohoCrmConnector`` from a ``jirasync_zoho_crm`` connection.

login = client id, password = client secret, extras ``data_centre`` (US, EU, IN, AU, JP,
CN, UK, CA, SA; default US), ``refresh_token``, and ``accounts_url`` (empty: the data
centre's accounts server; set it only to reach a test server such as the sandbox's
``http://127.0.0.1:8900/zoho-accounts``). The API host is never configured: it is the
``api_domain`` the accounts server answers with. For a sync with ``events: true``, the extra
``webhook_secret`` (at most 50 characters) is the token its notification channel sends back.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from jirasync.connectors.errors import ApiError
from jirasync.connectors.zoho import ZohoAuth, ZohoCrmConnector, accounts_url_for
from jirasync.hooks.call_limits import connector_limits


class ZohoCrmHook(BaseHook):
    conn_name_attr = "zoho_conn_id"
    default_conn_name = "jirasync_zoho_crm_default"
    conn_type = "jirasync_zoho_crm"
    hook_name = "Zoho CRM (jirasync)"

    def __init__(self, zoho_conn_id: str = default_conn_name, **connector_options: Any) -> None:
        super().__init__()
        self.zoho_conn_id = zoho_conn_id
        self.connector_options = connector_options
        self._connector: ZohoCrmConnector | None = None

    def get_conn(self) -> ZohoCrmConnector:
        if self._connector is None:
            conn = self.get_connection(self.zoho_conn_id)
            extras = conn.extra_dejson
            missing = [
                label
                for label, value in (
                    ("login (client id)", conn.login),
                    ("password (client secret)", conn.password),
                    ("extra refresh_token", extras.get("refresh_token")),
                )
                if not value
            ]
            if missing:
                raise ValueError(
                    f"Airflow connection {self.zoho_conn_id!r} lacks {', '.join(missing)}: create a self client "
                    "in the Zoho API Console and copy its client id, client secret and a refresh token."
                )
            accounts_url = extras.get("accounts_url") or accounts_url_for(extras.get("data_centre") or "US")
            auth = ZohoAuth(accounts_url, conn.login, conn.password, extras["refresh_token"])
            options = {**connector_limits(self.zoho_conn_id, extras), **self.connector_options}
            self._connector = ZohoCrmConnector(auth, **options)
        return self._connector

    def test_connection(self) -> tuple[bool, str]:
        """Refresh a token and list the modules: proves the client, the refresh token, the data centre and the scope."""
        try:
            connector = self.get_conn()
            modules = connector.modules()
        except (ApiError, ValueError) as error:
            return False, str(error)
        return True, f"Connected to Zoho CRM at {connector.auth.api_domain} ({len(modules)} modules)."
