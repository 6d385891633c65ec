"""Keeps ``meta.lastModified`` and ``meta.version`` true to every change, whoever made it.

Users and groups change through the SCIM API and the sandbox admin API, and the sandbox tells
the SCIM module which ones each write changed (``Vendor.on_change``): :func:`stamp_changes`
stamps them then, with ``lastModified`` now, a new weak ``version`` (and ``created`` for
resources added without one). A change that set ``meta`` itself (a test placing a user in the past) is kept as
written. Requests read the stamps; they never walk the users.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import msgspec

from sandbox.changes import Change
from sandbox.vendor import VendorState

RESOURCE_TYPES = {"users": "User", "groups": "Group"}  # collection → meta.resourceType


def scim_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


_canonical_json = msgspec.json.Encoder(order="sorted").encode  # fast: seeding versions 100,000 users


def version_of(user: dict[str, Any]) -> str:
    content = {k: v for k, v in user.items() if k != "meta"}
    digest = hashlib.blake2b(_canonical_json(content), digest_size=8).hexdigest()
    return f'W/"{digest}"'


def stamp_changes(state: VendorState, changes: list[Change]) -> None:
    """SCIM's ``on_change`` hook."""
    before: dict[tuple[str, str], dict[str, Any] | None] = {}  # (collection, id) → as it was before
    for change in changes:
        if change.collection in RESOURCE_TYPES:
            before.setdefault((change.collection, change.record_id), change.before)
    now = scim_time(dt.datetime.now(dt.UTC))
    stamped: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for (collection, resource_id), old in before.items():
        resource = state.collection(collection).get(resource_id)
        if resource is None:
            continue
        meta = resource.get("meta") if isinstance(resource.get("meta"), dict) else {}
        if old is not None and meta != old.get("meta"):
            continue  # the change set meta itself
        meta = {"resourceType": RESOURCE_TYPES[collection], "created": now, **meta, "lastModified": now}
        stamped.setdefault(collection, []).append(
            (resource_id, {**resource, "meta": {**meta, "version": version_of(resource)}})
        )
    for collection, resources in stamped.items():
        state.collection(collection).put_many(resources)
