"""The resource types the server serves and their schemas (RFC 7643 §4), as data.

The write routes read them too: an attribute's schema decides how a value sent for it is
read (a ``"False"`` string for a boolean, a bare id for ``manager``), the canonical spelling
of a name sent in any case, and which attributes a client cannot set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.vendors.scim.api import CORE_GROUP, CORE_USER, ENTERPRISE_USER

Attribute = dict[str, Any]


@dataclass(frozen=True)
class ResourceKind:
    """A resource type: its endpoint, where its resources are stored, and what a write must hold."""

    name: str
    endpoint: str
    collection: str
    schema: str
    extensions: tuple[str, ...]
    required: str
    unique: str | None  # no two resources share this attribute's value (compared ignoring case)


USER = ResourceKind("User", "/Users", "users", CORE_USER, (ENTERPRISE_USER,), "userName", "userName")
GROUP = ResourceKind("Group", "/Groups", "groups", CORE_GROUP, (), "displayName", None)
KINDS = (USER, GROUP)


def _attribute(name: str, kind: str = "string", **extra: Any) -> Attribute:
    return {
        "name": name,
        "type": kind,
        "multiValued": False,
        "required": False,
        "caseExact": False,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
        **extra,
    }


def _complex(name: str, *subs: str, multi: bool = False, **extra: Any) -> Attribute:
    sub_attributes = [_attribute(n, "boolean" if n == "primary" else "string") for n in subs]
    return _attribute(name, "complex", multiValued=multi, subAttributes=sub_attributes, **extra)


_MULTI = ("value", "display", "type", "primary")

SCHEMAS: dict[str, dict[str, Any]] = {
    CORE_USER: {
        "name": "User",
        "description": "User Account",
        "attributes": [
            _attribute("externalId", caseExact=True),
            _attribute("userName", required=True, uniqueness="server"),
            _complex(
                "name",
                "formatted",
                "familyName",
                "givenName",
                "middleName",
                "honorificPrefix",
                "honorificSuffix",
            ),
            _attribute("displayName"),
            _attribute("nickName"),
            _attribute("profileUrl", "reference"),
            _attribute("title"),
            _attribute("userType"),
            _attribute("preferredLanguage"),
            _attribute("locale"),
            _attribute("timezone"),
            _attribute("active", "boolean"),
            _complex("emails", *_MULTI, multi=True),
            _complex("phoneNumbers", *_MULTI, multi=True),
            _complex("ims", *_MULTI, multi=True),
            _complex("photos", *_MULTI, multi=True),
            _complex(
                "addresses",
                "formatted",
                "streetAddress",
                "locality",
                "region",
                "postalCode",
                "country",
                "type",
                "primary",
                multi=True,
            ),
            _complex("groups", "value", "$ref", "display", "type", multi=True, mutability="readOnly"),
            _complex("entitlements", *_MULTI, multi=True),
            _complex("roles", *_MULTI, multi=True),
            _complex("x509Certificates", *_MULTI, multi=True),
        ],
    },
    ENTERPRISE_USER: {
        "name": "EnterpriseUser",
        "description": "Enterprise User",
        "attributes": [
            _attribute("employeeNumber"),
            _attribute("costCenter"),
            _attribute("organization"),
            _attribute("division"),
            _attribute("department"),
            _complex("manager", "value", "$ref", "displayName"),
        ],
    },
    CORE_GROUP: {
        "name": "Group",
        "description": "Group",
        "attributes": [
            _attribute("externalId", caseExact=True),
            _attribute("displayName", required=True),
            _complex("members", "value", "$ref", "display", "type", multi=True),
        ],
    },
}


def find_attribute(attributes: list[Attribute], name: str) -> Attribute | None:
    """The attribute ``name`` names, whatever its case (SCIM attribute names ignore case)."""
    return next((a for a in attributes if a["name"].lower() == name.lower()), None)
