"""The vendor modules the sandbox serves. Adding a vendor is adding its module name here.

A module exposes ``VENDOR``, or ``VENDORS`` when it serves two (Graph and Entra, Zoho and its
accounts server). A module that is not there yet (another developer is writing it) is skipped, so the
sandbox runs with whatever vendors exist; an error inside a module that exists is raised.
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
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        for vendor in getattr(module, "VENDORS", None) or (module.VENDOR,):
            vendors[vendor.name] = vendor
    return vendors
