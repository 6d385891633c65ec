"""jirasync registers itself as an Airflow provider, so its connection forms show in the UI."""

from __future__ import annotations

import pytest
from airflow.providers_manager import ProvidersManager

from jirasync.provider_info import CONNECTION_TYPES

JIRASYNC_TYPES = {"jirasync_assets", "jirasync_msgraph", "jirasync_scim", "jirasync_zoho_crm"}


@pytest.fixture(scope="module")
def providers() -> ProvidersManager:
    return ProvidersManager()


def test_airflow_lists_jirasync_as_a_provider(providers: ProvidersManager) -> None:
    assert "jirasync" in providers.providers
    declared = {c["connection-type"] for c in providers.providers["jirasync"].data["connection-types"]}
    assert declared == JIRASYNC_TYPES


def test_connection_forms_have_labelled_fields(providers: ProvidersManager) -> None:
    widgets = providers.connection_form_widgets
    assert widgets["extra__jirasync_assets__workspace_id"].field["schema"]["title"] == "Assets workspace id"
    assert widgets["extra__jirasync_msgraph__tenant_id"].field["schema"]["title"] == "Tenant id"
    zoho_dc = widgets["extra__jirasync_zoho_crm__data_centre"].field["schema"]
    assert zoho_dc["title"] == "Data centre"
    assert "EU" in zoho_dc["enum"]
    assert widgets["extra__jirasync_zoho_crm__refresh_token"].is_sensitive


def test_standard_fields_are_relabelled(providers: ProvidersManager) -> None:
    behaviours = providers.field_behaviours
    assert behaviours["jirasync_scim"]["relabeling"] == {"host": "SCIM base URL", "password": "Bearer token"}
    assert behaviours["jirasync_msgraph"]["relabeling"]["login"] == "Client (application) id"


def test_every_declared_type_names_a_hook_class() -> None:
    for connection_type in CONNECTION_TYPES:
        module, _, name = connection_type["hook-class-name"].rpartition(".")
        assert module.startswith("jirasync.hooks."), connection_type
        assert name.endswith("Hook"), connection_type
