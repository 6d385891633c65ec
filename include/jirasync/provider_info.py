"""Airflow provider metadata for jirasync.

Declared through the ``apache_airflow_provider`` entry point so that the
connection types below appear in the Airflow UI with labelled fields. The
fields are declarative (``conn-fields``), so Airflow does not import the
hooks to draw the form.
"""

from __future__ import annotations

from typing import Any

import jirasync


def _secret(label: str, description: str) -> dict[str, Any]:
    return {"label": label, "description": description, "schema": {"type": "string", "format": "password"}}


def _text(label: str, description: str, **schema: Any) -> dict[str, Any]:
    return {"label": label, "description": description, "schema": {"type": "string", **schema}}


ZOHO_DATA_CENTRES = ["US", "EU", "IN", "AU", "JP", "CN", "UK", "CA", "SA"]

CONNECTION_TYPES: list[dict[str, Any]] = [
    {
        "connection-type": "jirasync_assets",
        "hook-class-name": "jirasync.hooks.assets.AssetsHook",
        "hook-name": "Jira Service Management Assets (jirasync)",
        "ui-field-behaviour": {
            "hidden-fields": ["schema", "port", "extra"],
            "relabeling": {
                "host": "API base URL",
                "login": "Atlassian account email",
                "password": "API token",
            },
            "placeholders": {"host": "https://api.atlassian.com", "login": "admin@example.com"},
        },
        "conn-fields": {
            "workspace_id": _text(
                "Assets workspace id",
                "From GET /rest/servicedeskapi/assets/workspace on your Jira site.",
            ),
        },
    },
    {
        "connection-type": "jirasync_msgraph",
        "hook-class-name": "jirasync.hooks.msgraph.MicrosoftGraphHook",
        "hook-name": "Microsoft Entra ID / Graph (jirasync)",
        "ui-field-behaviour": {
            "hidden-fields": ["schema", "port", "extra"],
            "relabeling": {
                "host": "Graph base URL",
                "login": "Client (application) id",
                "password": "Client secret",
            },
            "placeholders": {"host": "https://graph.microsoft.com"},
        },
        "conn-fields": {
            "tenant_id": _text("Tenant id", "Directory (tenant) id of the Entra ID tenant."),
            "login_url": _text(
                "Login URL",
                "Microsoft identity platform base URL.",
                default="https://login.microsoftonline.com",
            ),
        },
    },
    {
        "connection-type": "jirasync_scim",
        "hook-class-name": "jirasync.hooks.scim.ScimHook",
        "hook-name": "SCIM 2.0 server (jirasync)",
        "ui-field-behaviour": {
            "hidden-fields": ["schema", "port", "login", "extra"],
            "relabeling": {"host": "SCIM base URL", "password": "Bearer token"},
            "placeholders": {"host": "https://idp.example.com/scim/v2"},
        },
    },
    {
        "connection-type": "jirasync_zoho_crm",
        "hook-class-name": "jirasync.hooks.zoho.ZohoCrmHook",
        "hook-name": "Zoho CRM (jirasync)",
        "ui-field-behaviour": {
            "hidden-fields": ["schema", "port", "host", "extra"],
            "relabeling": {"login": "Client id", "password": "Client secret"},
        },
        "conn-fields": {
            "data_centre": {
                "label": "Data centre",
                "description": "The Zoho data centre of the CRM organisation.",
                "schema": {"type": "string", "enum": ZOHO_DATA_CENTRES, "default": "US"},
            },
            "refresh_token": _secret("Refresh token", "A refresh token from the Zoho API Console."),
            "accounts_url": _text(
                "Accounts server URL",
                "Leave empty to use the data centre's; set it only to reach a test server.",
            ),
        },
    },
]


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "jirasync",
        "name": "jirasync",
        "description": "Keeps Jira Cloud in sync with identity providers, CRMs and Assets.",
        "versions": [jirasync.__version__],
        "connection-types": CONNECTION_TYPES,
    }
