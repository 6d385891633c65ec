"""The vendor packages the sandbox serves. Adding a vendor is adding its package name here.

A package exposes ``VENDOR``, or ``VENDORS`` when it serves two (Graph and Entra, Zoho and its
accounts server). Every package listed must import: a missing one is an error, not a vendor
quietly absent from every test and demo.
"""

from __future__ import annotations

import importlib

from starlette.routing import Route

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


def served_routes(vendor: Vendor) -> list[tuple[str, str]]:
    """``(method, real path template)`` of every route the vendor serves, sorted by path then method.

    Read from the router itself, so a route added to a vendor is listed (``--routes``) and walked by
    the conformance test without anyone keeping a list. The template is the one a client sees:
    ``{module}``, not the route's ``{module:zoho_module}`` with its path convertor.
    """
    return sorted(
        (
            (method, route.path_format)
            for route in vendor.router.routes
            if isinstance(route, Route)
            for method in route.methods or ()
        ),
        key=lambda served: (served[1], served[0]),
    )
