"""Airflow hook that builds a ``SalesforceConnector`` from a connection of the provider's ``salesforce`` type.

The Salesforce provider's ``SalesforceHook`` already turns a connection into a logged-in
``simple_salesforce.Salesforce`` for every flow simple-salesforce supports, so this hook
reuses it for each login and leaves the REST calls to the connector.

The connection (type ``salesforce``, fields as the provider's form shows them):

- **Username** / **Password**, and the extra ``security_token``: the SOAP login; or the extras
  ``consumer_key`` + ``consumer_secret`` (OAuth, with ``domain`` set to the My Domain, e.g.
  ``acme.my``, for client credentials); or ``consumer_key`` + ``private_key`` (JWT).
- ``domain``: ``login`` (default), ``test`` for a Salesforce sandbox org, or the My Domain.
- ``version``: the REST API version, default simple-salesforce's.
- ``webhook_secret`` and ``organization_id`` (jirasync's own extras, for a sync with ``events: true``):
  the shared secret in its outbound message's URL, and the org whose messages are taken.
- ``sandbox_url`` (jirasync's own extra): send every ``*.salesforce.com`` request to this base
  URL instead, keeping the ``Host`` header; with ``ca_bundle`` naming the CA file to trust there.
  This is how a connection reaches jirasync's local sandbox::

      AIRFLOW_CONN_SALESFORCE_SANDBOX='{"conn_type": "salesforce",
        "login": "integration@northwind.example", "password": "sandbox-salesforce-password",
        "extra": {"security_token": "SbxSecurityToken0001", "sandbox_url": "http://127.0.0.1:8900"}}'
"""

from __future__ import annotations

from typing import Any

import requests
from airflow.providers.salesforce.hooks.salesforce import SalesforceHook
from simple_salesforce import Salesforce
from simple_salesforce.api import DEFAULT_API_VERSION

from jirasync.connectors.redaction import redact, register_secret
from jirasync.connectors.salesforce import SalesforceConnector
from jirasync.hooks.call_limits import connector_limits

SECRET_EXTRAS = ("security_token", "consumer_secret", "private_key")


class SalesforceConnectorHook(SalesforceHook):
    """``SalesforceConnectorHook(salesforce_conn_id).get_connector()``: the org of one connection."""

    hook_name = "Salesforce (jirasync)"

    def get_connector(self) -> SalesforceConnector:
        connection = self.get_connection(self.conn_id)
        extras: dict[str, Any] = connection.extra_dejson
        register_secret(connection.password)
        for name in SECRET_EXTRAS:
            register_secret(self._get_field(extras, name))
        conn_id = self.conn_id

        def login(session: requests.Session) -> Salesforce:
            return SalesforceHook(salesforce_conn_id=conn_id, session=session).get_conn()

        return SalesforceConnector(
            login,
            api_version=self._get_field(extras, "version") or DEFAULT_API_VERSION,
            redirect_to=self._get_field(extras, "sandbox_url"),
            ca_bundle=self._get_field(extras, "ca_bundle"),
            **connector_limits(self.conn_id, extras),
        )

    def test_connection(self) -> tuple[bool, str]:
        """Log in and read the org's limits (one call besides the login)."""
        try:
            connector = self.get_connector()
            try:
                remaining = connector.limits()["DailyApiRequests"]["Remaining"]
            finally:
                connector.close()
        except Exception as error:  # the UI shows the message; it must never carry a secret
            return False, redact(str(error))
        return True, f"Logged in to Salesforce; {remaining} API requests left today"
