"""Graph's change tracking: what /users/delta reports, whoever made the change.

Users change through the sandbox admin API (``PATCH /_sandbox/data/graph/users/{id}``,
``DELETE``, or the Graph actions), which write the collections directly. So the change
log is kept by looking: the store replaces a record's object on every write, so an object
that is not the one seen last time is a changed user. The look is a pass of identity
checks, cheap even at 100,000 users, and runs before every delta answer.

Each user has one entry in the ``changes`` collection: the sequence number of their last
change and, if they are gone, the ``@removed`` reason: ``changed`` when soft-deleted (they
sit in ``deleted_users`` and can be restored), ``deleted`` when gone for good. A delta
token is a position in that sequence; the ``delta_state`` record holds the next number and
the generation, which invalidates every token issued before it (a reseed, or the
``expire_delta_links`` action).
"""

from __future__ import annotations

import secrets
import threading
import weakref
from typing import Any

from sandbox.store import Collection
from sandbox.vendor import VendorState

STATE_ID = "delta"


class ChangeLog:
    def __init__(self, state: VendorState) -> None:
        self.users = state.collection("users")
        self.deleted_users = state.collection("deleted_users")
        self.changes = state.collection("changes")
        self._state = state.collection("delta_state")
        self._lock = threading.Lock()
        self._seen_users: dict[str, Any] = {}
        self._seen_deleted: set[str] = set()
        self._remember()

    @property
    def generation(self) -> str:
        return self._delta_state()["generation"]

    @property
    def position(self) -> int:
        """The sequence number of the latest change."""
        return self._delta_state()["next"] - 1

    def start_over(self) -> None:
        """After seeding: no changes yet, and tokens of any earlier world are void."""
        with self._lock:
            self._state.put(STATE_ID, {"next": 1, "generation": secrets.token_hex(4)})
            self._remember()

    def expire_links(self) -> None:
        with self._lock:
            self._state.put(STATE_ID, {**self._delta_state(), "generation": secrets.token_hex(4)})

    def catch_up(self) -> None:
        """Log every user changed, added, soft-deleted, restored or purged since the last look."""
        with self._lock:
            current = {user_id: self.users.get(user_id) for user_id in self.users.ids()}
            deleted = set(self.deleted_users.ids())
            entries: list[tuple[str, str | None]] = [
                (user_id, None)
                for user_id, user in current.items()
                if self._seen_users.get(user_id) is not user
            ]
            for user_id in self._seen_users.keys() - current.keys():
                entries.append((user_id, "changed" if user_id in deleted else "deleted"))
            for user_id in self._seen_deleted - deleted - current.keys():
                entries.append((user_id, "deleted"))
            if entries:
                state = self._delta_state()
                sequence = state["next"]
                self.changes.put_many(
                    (user_id, {"seq": sequence + n, "removed": removed})
                    for n, (user_id, removed) in enumerate(entries)
                )
                self._state.put(STATE_ID, {**state, "next": sequence + len(entries)})
            self._seen_users, self._seen_deleted = current, deleted

    def since(self, after: int, upto: int) -> list[tuple[int, str, str | None]]:
        """(sequence, user id, removed reason) of the changes in (after, upto], oldest first."""
        found = []
        for user_id in self.changes.ids():
            entry = self.changes.get(user_id)
            if entry is not None and after < entry["seq"] <= upto:
                found.append((entry["seq"], user_id, entry["removed"]))
        return sorted(found)

    def _remember(self) -> None:
        self._seen_users = {user_id: self.users.get(user_id) for user_id in self.users.ids()}
        self._seen_deleted = set(self.deleted_users.ids())

    def _delta_state(self) -> dict[str, Any]:
        state = self._state.get(STATE_ID)
        if state is None:  # a data dir from before change tracking: start it now
            state = {"next": 1, "generation": secrets.token_hex(4)}
            self._state.put(STATE_ID, state)
        return state


_logs: weakref.WeakKeyDictionary[Collection, ChangeLog] = weakref.WeakKeyDictionary()
_logs_lock = threading.Lock()


def change_log(state: VendorState) -> ChangeLog:
    """The one change log of this sandbox's Graph users (one per store, so tests may run several)."""
    users = state.collection("users")
    with _logs_lock:
        if users not in _logs:
            _logs[users] = ChangeLog(state)
        return _logs[users]
