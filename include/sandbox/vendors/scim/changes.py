"""Keeps ``meta.lastModified`` and ``meta.version`` true to every change, whoever made it.

Users change through the sandbox admin API, and the sandbox tells the SCIM module which users
each write changed (``Vendor.on_change``): :func:`stamp_changes` stamps them then, with
``lastModified`` now, a new weak ``version`` (and ``created`` for users added without a
``meta``). A change that set ``meta`` itself (a test placing a user in the past) is kept as
written. Requests read the stamps; they never walk the users.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import msgspec

from sandbox.changes import Change
from sandbox.vendor import VendorState

USERS = "users"


def scim_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


_canonical_json = msgspec.json.Encoder(order="sorted").encode  # fast: seeding versions 100,000 users


def version_of(user: dict[str, Any]) -> str:
    content = {k: v for k, v in user.items() if k != "meta"}
    digest = hashlib.blake2b(_canonical_json(content), digest_size=8).hexdigest()
    return f'W/"{digest}"'


def stamp_changes(state: VendorState, changes: list[Change]) -> None:
    """SCIM's ``on_change`` hook."""
    users = state.collection(USERS)
    before: dict[str, dict[str, Any] | None] = {}  # user id → as it was before the write
    for change in changes:
        if change.collection == USERS:
            before.setdefault(change.record_id, change.before)
    now = scim_time(dt.datetime.now(dt.UTC))
    stamped = []
    for user_id, old in before.items():
        user = users.get(user_id)
        if user is None:
            continue
        meta = user.get("meta") if isinstance(user.get("meta"), dict) else {}
        if old is not None and meta != old.get("meta"):
            continue  # the change set meta itself
        meta = {"resourceType": "User", "created": now, **meta, "lastModified": now}
        stamped.append((user_id, {**user, "meta": {**meta, "version": version_of(user)}}))
    users.put_many(stamped)
