"""Connectors from Airflow connections: the one place a definition's system meets a hook."""

from __future__ import annotations

import importlib
from typing import Any

from jirasync.engine.definitions import Endpoint

HOOKS = {
    "jira": "jirasync.hooks.jira.JiraCloudHook",
    "jsm": "jirasync.hooks.jsm.JsmHook",
    "assets": "jirasync.hooks.assets.AssetsHook",
    "entra_id": "jirasync.hooks.msgraph.MicrosoftGraphHook",
    "scim": "jirasync.hooks.scim.ScimHook",
    "zoho_crm": "jirasync.hooks.zoho.ZohoCrmHook",
    "salesforce": "jirasync.hooks.salesforce.SalesforceConnectorHook",
}


def connector_for(endpoint: Endpoint) -> Any:
    """The connector of ``endpoint.system``, built from the Airflow connection ``endpoint.conn_id``."""
    if endpoint.system not in HOOKS:
        raise ValueError(
            f"no connector for system '{endpoint.system}' (connection '{endpoint.conn_id}'): "
            f"use one of {', '.join(sorted(HOOKS))}"
        )
    module_name, _, class_name = HOOKS[endpoint.system].rpartition(".")
    hook_class = getattr(importlib.import_module(module_name), class_name)
    hook = hook_class(**{hook_class.conn_name_attr: endpoint.conn_id})
    # The Salesforce hook keeps the provider's get_conn() (a simple_salesforce client) as it is.
    return hook.get_connector() if hasattr(hook, "get_connector") else hook.get_conn()


def api_calls(connector: Any) -> dict[str, int]:
    """The calls a connector made so far, per endpoint (token requests included where it counts them)."""
    if hasattr(connector, "calls_by_endpoint"):  # Zoho: its OAuth token requests go outside the HTTP client
        return {endpoint: count for endpoint, count in connector.calls_by_endpoint().items() if count}
    calls = getattr(connector, "calls", None)
    return calls() if callable(calls) else connector.http.calls.by_endpoint()
