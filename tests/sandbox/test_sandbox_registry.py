"""The registry loads every vendor module, and refuses to run without one of them."""

from __future__ import annotations

import pytest

from sandbox import registry


def test_every_vendor_is_loaded() -> None:
    assert sorted(registry.load_vendors()) == [
        "assets",
        "entra",
        "graph",
        "jira",
        "jsm",
        "salesforce",
        "scim",
        "zoho",
        "zoho-accounts",
    ]


def test_a_missing_vendor_module_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "VENDOR_MODULES", (*registry.VENDOR_MODULES, "sandbox.vendors.nowhere"))
    with pytest.raises(ModuleNotFoundError, match=r"sandbox\.vendors\.nowhere"):
        registry.load_vendors()
