"""Keeps ``meta.lastModified`` and ``meta.version`` true to every change, whoever made it.

Users change through the sandbox admin API, which writes the collection directly. The store
replaces a record's object on every write, so before answering, a pass of identity checks
finds the users written since the last look and stamps them: ``lastModified`` now, a new
weak ``version`` (and ``created`` for users added without a ``meta``). A change that set
``meta`` itself (a test placing a user in the past) is kept as written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import weakref
from typing import Any

from sandbox.store import Collection


def scim_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def version_of(user: dict[str, Any]) -> str:
    content = {k: v for k, v in user.items() if k != "meta"}
    digest = hashlib.blake2b(json.dumps(content, sort_keys=True).encode(), digest_size=8).hexdigest()
    return f'W/"{digest}"'


class MetaStamper:
    def __init__(self, users: Collection) -> None:
        self.users = users
        self._lock = threading.Lock()
        self._seen: dict[str, Any] = {}
        self.remember()

    def remember(self) -> None:
        """Take the users as they are now as unchanged (after seeding)."""
        self._seen = {user_id: self.users.get(user_id) for user_id in self.users.ids()}

    def catch_up(self) -> None:
        with self._lock:
            now = scim_time(dt.datetime.now(dt.UTC))
            current = {user_id: self.users.get(user_id) for user_id in self.users.ids()}
            stamped = []
            for user_id, user in current.items():
                before = self._seen.get(user_id)
                if user is None or before is user:
                    continue
                meta = user.get("meta") if isinstance(user.get("meta"), dict) else {}
                if before is not None and meta != before.get("meta"):
                    continue  # the change set meta itself
                meta = {"resourceType": "User", "created": now, **meta, "lastModified": now}
                user = {**user, "meta": {**meta, "version": version_of(user)}}
                stamped.append((user_id, user))
            if stamped:
                self.users.put_many(stamped)
                current.update(stamped)
            self._seen = current


_stampers: weakref.WeakKeyDictionary[Collection, MetaStamper] = weakref.WeakKeyDictionary()
_stampers_lock = threading.Lock()


def meta_stamper(users: Collection) -> MetaStamper:
    """The one stamper of this sandbox's SCIM users (one per store, so tests may run several)."""
    with _stampers_lock:
        if users not in _stampers:
            _stampers[users] = MetaStamper(users)
        return _stampers[users]
