"""Graph's change tracking: what /users/delta reports, whoever made the change.

Users change through the sandbox admin API (``PATCH /_sandbox/data/graph/users/{id}``,
``DELETE``, or the Graph actions); the sandbox tells the Graph module which records each
write changed (``Vendor.on_change``), and :meth:`ChangeLog.record` logs them then, so a delta
request reads the log and never walks the users.

Each user has one entry in the ``changes`` collection: the sequence number of their last
change and, if they are gone, the ``@removed`` reason: ``changed`` when soft-deleted (they
sit in ``deleted_users`` and can be restored), ``deleted`` when gone for good. A delta
token is a position in that sequence; the ``delta_state`` record holds the next number.

Tokens also carry the log's generation, which voids every token issued before it. It is
runtime state, like a bearer token, and not stored: a new one comes with a reseed, with the
``expire_delta_links`` action and with a restart (links from before it answer 410
``SyncStateNotFound`` and the client starts a new round). So two worlds of the same seed
store the same records.
"""

from __future__ import annotations

import secrets
import threading
import weakref

from sandbox.changes import Change
from sandbox.store import Collection
from sandbox.vendor import VendorState

STATE_ID = "delta"
USERS, DELETED_USERS = "users", "deleted_users"


class ChangeLog:
    def __init__(self, state: VendorState) -> None:
        self.users = state.collection(USERS)
        self.deleted_users = state.collection(DELETED_USERS)
        self.changes = state.collection("changes")
        self._state = state.collection("delta_state")
        self._lock = threading.Lock()
        self.generation = secrets.token_hex(4)

    @property
    def position(self) -> int:
        """The sequence number of the latest change."""
        return self._next() - 1

    def start_over(self) -> None:
        """After seeding: no changes yet, and tokens of any earlier world are void."""
        with self._lock:
            self._state.put(STATE_ID, {"next": 1})
            self.generation = secrets.token_hex(4)

    def expire_links(self) -> None:
        self.generation = secrets.token_hex(4)

    def record(self, changes: list[Change]) -> None:
        """Log the users a write added, changed, soft-deleted, restored or purged."""
        first: dict[str, dict[str, Change]] = {}  # user id → collection → its first change in the write
        for change in changes:
            if change.collection in (USERS, DELETED_USERS):
                first.setdefault(change.record_id, {}).setdefault(change.collection, change)

        def was_in(user_id: str, collection: Collection) -> bool:
            change = first[user_id].get(collection.name)
            return user_id in collection if change is None else change.before is not None

        entries: list[tuple[str, str | None]] = []
        for user_id in first:
            if user_id in self.users:
                entries.append((user_id, None))
            elif user_id in self.deleted_users:
                if was_in(user_id, self.users):
                    entries.append((user_id, "changed"))
            elif was_in(user_id, self.users) or was_in(user_id, self.deleted_users):
                entries.append((user_id, "deleted"))
        if not entries:
            return
        with self._lock:
            sequence = self._next()
            self.changes.put_many(
                (user_id, {"seq": sequence + n, "removed": removed})
                for n, (user_id, removed) in enumerate(entries)
            )
            self._state.put(STATE_ID, {"next": sequence + len(entries)})

    def since(self, after: int, upto: int) -> list[tuple[int, str, str | None]]:
        """(sequence, user id, removed reason) of the changes in (after, upto], oldest first."""
        found = []
        for user_id in self.changes.ids():
            entry = self.changes.get(user_id)
            if entry is not None and after < entry["seq"] <= upto:
                found.append((entry["seq"], user_id, entry["removed"]))
        return sorted(found)

    def _next(self) -> int:
        state = self._state.get(STATE_ID)
        return 1 if state is None else state["next"]


_logs: weakref.WeakKeyDictionary[Collection, ChangeLog] = weakref.WeakKeyDictionary()
_logs_lock = threading.Lock()


def change_log(state: VendorState) -> ChangeLog:
    """The one change log of this sandbox's Graph users (one per store, so tests may run several)."""
    users = state.collection(USERS)
    with _logs_lock:
        if users not in _logs:
            _logs[users] = ChangeLog(state)
        return _logs[users]


def record_changes(state: VendorState, changes: list[Change]) -> None:
    """Graph's ``on_change`` hook."""
    change_log(state).record(changes)
