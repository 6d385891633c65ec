"""The vendor packages the sandbox serves. Adding a vendor is adding its package name here.

A package exposes ``VENDOR``, or ``VENDORS`` when it serves two (Graph and Entra, Zoho and its
accounts server). Every package listed must import: a missing one is an error, not a vendor
quietly absent from every test and demo.
"""

from __future__ import annotations

import importlib

from sandbox.vendor import Vendor

VENDOR_MODULES = (
    "sandbox.vendors.jira",
    "sandbox.vendors.jsm",
    "sandbox.vendors.assets",
    "sandbox.vendors.graph",
    "sandbox.vendors.scim",
    "sandbox.vendors.zoho",
    "sandbox.vendors.salesforce",
)


def load_vendors() -> dict[str, Vendor]:
    vendors: dict[str, Vendor] = {}
    for module_name in VENDOR_MODULES:
        module = importlib.import_module(module_name)
        for vendor in getattr(module, "VENDORS", None) or (module.VENDOR,):
            vendors[vendor.name] = vendor
    return vendors
