"""Properties of the plan, checked by applying change sets to in-memory records."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from jirasync.engine.definitions import SyncDefinition
from jirasync.engine.frames import source_frame, target_frame, values_equal
from jirasync.engine.plan import empty_base, empty_links, plan_changes

FIELDS = ["department", "title"]
EMAILS = ["ann@example.com", "bob@example.com", "cy@example.com", "dee@example.com", "eve@example.com"]
VALUES = st.sampled_from([None, "", "red", " red", "blue", "1", "1.0", "green"])


def definition(owner: str = "source", conflict_policy: str = "hold") -> SyncDefinition:
    return SyncDefinition.model_validate(
        {
            "id": "props",
            "family": "users_to_contacts",
            "source": {"system": "jira", "conn_id": "jira"},
            "target": {"system": "zoho", "conn_id": "zoho"},
            "key": {"source_field": "email", "target_field": "email"},
            "fields": [{"source": name, "target": name, "owner": owner} for name in FIELDS],
            "conflict_policy": conflict_policy,
        }
    )


Records = dict[str, dict[str, Any]]


@st.composite
def records(draw: st.DrawFn, prefix: str) -> Records:
    emails = draw(st.lists(st.sampled_from(EMAILS), unique=True, max_size=len(EMAILS)))
    return {
        f"{prefix}{n}": {"email": email, **{name: draw(VALUES) for name in FIELDS}}
        for n, email in enumerate(emails)
    }


class World:
    """Both systems and the state store, as plain dicts; the change set is applied to them."""

    def __init__(self, sync: SyncDefinition, source: Records, target: Records) -> None:
        self.sync = sync
        self.source = source
        self.target = target
        self.links: dict[str, str] = {}
        self.base: dict[tuple[str, str], str] = {}

    def plan(self) -> pd.DataFrame:
        links = empty_links()
        if self.links:
            links = pd.DataFrame(
                {
                    "source_id": list(self.links),
                    "target_id": list(self.links.values()),
                    "key": "",
                    "origin": "auto",
                }
            ).astype("string")
        base = empty_base()
        if self.base:
            base = pd.DataFrame(
                [(sid, field, value) for (sid, field), value in self.base.items()],
                columns=["source_id", "field", "value"],
            ).astype("string")
        return plan_changes(
            self.sync,
            source_frame(self.sync, [{"id": i, **r} for i, r in self.source.items()]),
            target_frame(self.sync, [{"id": i, **r} for i, r in self.target.items()]),
            links,
            base,
        )

    def apply(self, changes: pd.DataFrame) -> None:
        """What apply does: write each row, link matches, and record the written value as base."""
        for row in changes.itertuples():
            if row.kind == "link":
                self.links[row.source_id] = row.target_id
            elif row.kind == "create":
                target_id = f"new-{row.source_id}"
                self.target.setdefault(target_id, {"email": self.source[row.source_id]["email"]})
                self.target[target_id][row.field] = json.loads(row.after)
                self.links[row.source_id] = target_id
            elif row.kind == "update" and row.direction == "to_target":
                self.target[row.target_id][row.field] = json.loads(row.after)
            elif row.kind == "update":
                self.source[row.source_id][row.field] = json.loads(row.after)
        for kind, source_id, field, after in changes[["kind", "source_id", "field", "after"]].itertuples(
            index=False
        ):
            if kind in ("create", "update"):
                self.base[(source_id, field)] = after

    def link_all_by_email(self) -> None:
        by_email = {r["email"]: i for i, r in self.target.items()}
        for source_id, record in self.source.items():
            if record["email"] in by_email:
                target_id = by_email[record["email"]]
                self.links[source_id] = target_id
                for field in FIELDS:
                    self.base[(source_id, field)] = json.dumps(record[field])


def same(a: Any, b: Any) -> bool:
    return bool(values_equal(pd.Series([a], dtype=object), pd.Series([b], dtype=object))[0])


@given(records("s"))
@settings(max_examples=30)
def test_plan_of_a_side_against_itself_is_empty(source: Records) -> None:
    world = World(definition(), source, {f"t{i}": dict(r) for i, r in source.items()})
    world.link_all_by_email()
    assert world.plan().empty


@given(records("s"))
@settings(max_examples=30)
def test_unlinked_equal_records_only_link(source: Records) -> None:
    world = World(definition(), source, {f"t{i}": dict(r) for i, r in source.items()})
    changes = world.plan()
    assert set(changes["kind"]) <= {"link"}
    assert len(changes) == len(source)


@given(records("s"), records("t"))
@settings(max_examples=40)
def test_applying_a_one_way_plan_makes_the_target_equal_and_the_next_plan_empty(
    source: Records, target: Records
) -> None:
    world = World(definition("source"), source, target)
    world.apply(world.plan())
    for source_id, record in world.source.items():
        linked = world.target[world.links[source_id]]
        for field in FIELDS:
            assert same(record[field], linked.get(field)), (source_id, field)
    assert world.plan().empty


@given(records("s"), st.data())
@settings(max_examples=40)
def test_two_way_edits_merge_and_do_not_echo(source: Records, data: st.DataObject) -> None:
    policy = data.draw(st.sampled_from(["source_wins", "target_wins", "hold"]))
    world = World(definition("both", policy), source, {f"t{i}": dict(r) for i, r in source.items()})
    world.link_all_by_email()
    original = {i: dict(r) for i, r in source.items()}
    for source_id, record in world.source.items():
        target = world.target[world.links[source_id]]
        for field in FIELDS:
            record[field] = data.draw(st.one_of(st.just(record[field]), VALUES))
            target[field] = data.draw(st.one_of(st.just(target[field]), VALUES))
    before = {i: (dict(world.source[i]), dict(world.target[world.links[i]])) for i in world.source}

    changes = world.plan()
    world.apply(changes)

    for source_id, (source_before, target_before) in before.items():
        for field in FIELDS:
            base = original[source_id][field]
            s, t = source_before[field], target_before[field]
            s_changed, t_changed = not same(s, base), not same(t, base)
            now_s, now_t = world.source[source_id][field], world.target[world.links[source_id]][field]
            if s_changed and t_changed and not same(s, t):
                if policy == "hold":
                    assert (now_s, now_t) == (s, t)
                    held = changes[(changes["kind"] == "conflict") & (changes["source_id"] == source_id)]
                    assert field in set(held["field"])
                    continue
                winner = s if policy == "source_wins" else t
            else:
                winner = s if s_changed else t
            assert same(now_s, winner) and same(now_t, winner), (source_id, field, s, t, base)
    assert set(world.plan()["kind"]) <= ({"conflict"} if policy == "hold" else set())


@given(st.sampled_from(EMAILS), st.sampled_from(["", " ", "  \t"]), st.booleans())
def test_keys_differing_by_case_or_whitespace_match(email: str, padding: str, upper: bool) -> None:
    shown = padding + (email.upper() if upper else email.title()) + padding
    world = World(definition(), {"s1": {"email": shown, "department": "x"}}, {"t1": {"email": email}})
    changes = world.plan()
    assert list(changes.loc[changes["kind"] == "link", "target_id"]) == ["t1"]
    assert "create" not in set(changes["kind"])
