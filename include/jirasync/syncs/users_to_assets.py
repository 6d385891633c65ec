"""Jira users → JSM Assets "user assets" (seed 004).

Each Jira user (accountType atlassian) is matched with the object of the configured type whose
User attribute (the key's target field) holds its accountId; a user without one gets a new
object, filed in the configured folder or its A–Z subfolder, and mapped attributes are kept up
to date. A run may be narrowed to display names starting with a prefix and to Jira groups (the
trigger form's fields, else the definition's `scope`). A narrowed read is not complete, so
objects of users outside it are left alone; users gone from Jira altogether are always known,
because every run reads the user list, and follow the delete policy: `ignore`, `delete`, or
`clear`, which here marks the object inactive (see `refine`).
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from jirasync.connectors.assets import AQL_PAGE_SIZE, AssetsConnector
from jirasync.connectors.jira import (
    GROUP_MEMBERS_PAGE_SIZE,
    GROUPS_PAGE_SIZE,
    USERS_PAGE_SIZE,
    JiraConnector,
    JiraUser,
)
from jirasync.connectors.query_literals import aql_string
from jirasync.engine.frames import source_frame, target_frame, values_equal
from jirasync.engine.keys import email_key
from jirasync.syncs.assets_definition import Scope, assets_target, definition_scope, scope_from
from jirasync.syncs.assets_layout import LAYOUT_CURSOR, AssetsLayout, read_layout
from jirasync.syncs.assets_writer import AssetObjectWriter
from jirasync.syncs.family import (
    JIRA_USERS_UNDATED,
    DefinitionMismatch,
    Extract,
    SyncRun,
    say_window_cannot_narrow,
)


class ScopeError(DefinitionMismatch):
    """A scope naming Jira groups that do not exist; `action` says what to change."""

    def __init__(self, sync_id: str, unknown: list[str], known: list[str]) -> None:
        super().__init__(
            f"sync '{sync_id}': Jira has no group {', '.join(map(repr, unknown))}",
            f"name groups that exist (the trigger form's groups or the definition's scope): {known}",
        )
        self.records = unknown


class UsersToAssets:
    """The Jira users → Assets objects family."""

    def read_source(self, run: SyncRun, jira: JiraConnector) -> Extract:
        scope = run_scope(run)
        say_window_cannot_narrow(run, JIRA_USERS_UNDATED)
        accounts = list(jira.users())
        # A bare array with no total: only an empty page proves the end.
        ideal = math.ceil(len(accounts) / USERS_PAGE_SIZE) + 1
        people = [u for u in accounts if u.account_type == "atlassian"]
        if scope.groups:
            members, calls = _group_members(run, jira, scope.groups)
            people = [u for u in people if u.account_id in members]
            ideal += calls
        if scope.name_prefix:
            prefix = scope.name_prefix.casefold()
            people = [u for u in people if u.display_name.casefold().startswith(prefix)]
        only = email_key(run.options.only)
        if only:
            people = [u for u in people if only in (email_key(u.account_id), email_key(u.email or ""))]
        frame = source_frame(run.definition, [_record(u) for u in people], id_field="accountId")
        complete = not (scope.narrowed or only)
        removed: tuple[str, ...] = ()
        if not complete and not only:
            # Every run reads the whole user list, so a narrowed one still knows who left Jira.
            existing = {u.account_id for u in accounts}
            linked = run.store.links(run.definition.id)["source_id"]
            removed = tuple(sorted(set(linked) - existing))
        return Extract(frame, complete, removed, None, ideal)

    def read_target(self, run: SyncRun, assets: AssetsConnector, source: Extract) -> Extract:
        definition = run.definition
        target = assets_target(definition)
        attributes = [target.user_attribute, *(m.target for m in definition.fields)]
        layout, ideal = read_layout(definition.id, assets, target, attributes)
        # The apply step writes with these ids, in another process: it need not read them again.
        run.store.save_cursor(definition.id, LAYOUT_CURSOR, layout.to_json())
        objects = list(assets.search(f"objectTypeId = {aql_string(layout.type_id)}"))
        ideal += max(1, math.ceil(len(objects) / AQL_PAGE_SIZE))
        records = [{"id": o.id, **{name: o.value(name) for name in attributes}} for o in objects]
        return Extract(target_frame(definition, records, id_field="id"), True, (), None, ideal)

    def refine(self, run: SyncRun, changes: pd.DataFrame) -> pd.DataFrame:
        """`clear` marks objects inactive: their clears become updates of `mark_removed` attributes.

        An object marked already gets no write, so a removed user costs one write, once.
        """
        clears = changes["kind"] == "clear"
        if not clears.any():
            return changes
        mark = assets_target(run.definition).mark_removed
        rows = []
        for _, cleared in changes[clears].groupby("key", sort=False):
            held = dict(zip(cleared["field"], cleared["before"], strict=True))
            first = cleared.iloc[0]
            for attribute, value in mark.items():
                before = held.get(attribute, "null")
                if _same(before, value):
                    continue
                rows.append(
                    {
                        "kind": "update",
                        "key": first["key"],
                        "source_id": first["source_id"],
                        "target_id": first["target_id"],
                        "field": attribute,
                        "before": before,
                        "after": json.dumps(value),
                        "direction": "to_target",
                        "reason": f"{first['reason']}: marked {attribute} {value}",
                    }
                )
        marks = pd.DataFrame(rows, columns=changes.columns)
        return pd.concat([changes[~clears], marks], ignore_index=True).astype("string")

    def writer(self, run: SyncRun, assets: AssetsConnector, source: pd.DataFrame) -> AssetObjectWriter:
        definition = run.definition
        stored = run.store.cursor(definition.id, LAYOUT_CURSOR)
        if stored is None:
            raise RuntimeError(
                f"sync '{definition.id}': the target read left no Assets layout; rerun the DAG run from the start"
            )

        def save_layout(layout: AssetsLayout) -> None:
            run.store.save_cursor(definition.id, LAYOUT_CURSOR, layout.to_json())

        return AssetObjectWriter(
            assets,
            definition.id,
            assets_target(definition),
            AssetsLayout.from_json(stored),
            save_layout,
            batch_size=definition.batch_size or 50,
        )


def run_scope(run: SyncRun) -> Scope:
    """The trigger form's scope when it names one, else the definition's (scheduled runs)."""
    asked = scope_from(run.options.extra.get("name_prefix"), run.options.extra.get("groups"))
    return asked if asked.narrowed else definition_scope(run.definition)


def _group_members(run: SyncRun, jira: JiraConnector, names: tuple[str, ...]) -> tuple[set[str], int]:
    """Account ids of the members of groups named ``names``, inactive ones included (they are marked)."""
    groups = list(jira.groups())
    by_name = {g.name.casefold(): g.id for g in groups}
    unknown = [name for name in names if name.casefold() not in by_name]
    if unknown:
        raise ScopeError(run.definition.id, unknown, sorted(g.name for g in groups))
    calls = max(1, math.ceil(len(groups) / GROUPS_PAGE_SIZE))
    members: set[str] = set()
    for name in names:
        group = {u.account_id for u in jira.group_members(by_name[name.casefold()], include_inactive=True)}
        calls += max(1, math.ceil(len(group) / GROUP_MEMBERS_PAGE_SIZE))
        members |= group
    return members, calls


def _record(user: JiraUser) -> dict[str, Any]:
    """A user by the field names of Jira's API, which mappings use."""
    return {
        "accountId": user.account_id,
        "accountType": user.account_type,
        "displayName": user.display_name,
        "emailAddress": user.email,
        "active": user.active,
        "timeZone": user.time_zone,
        "locale": user.locale,
    }


def _same(before_json: str, value: str) -> bool:
    """The rule of equality between what the object holds and the mark."""
    return bool(values_equal(pd.Series([json.loads(before_json)]), pd.Series([value]))[0])


FAMILY = UsersToAssets()
