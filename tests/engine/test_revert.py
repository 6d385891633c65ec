"""Revert: apply a run, revert it through the same apply, and the remote is back where it was."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from tests.engine import state_fixtures
from tests.engine.state_fixtures import InMemoryRemote, InMemoryWriter, change_set

from jirasync.engine.apply import apply_changes
from jirasync.engine.revert import RevertError, revert_changes
from jirasync.engine.store import StateStore

postgres_url = state_fixtures.postgres_url
store_location = state_fixtures.store_location
state_store = state_fixtures.state_store

SYNC = "entra-to-jira"


def linked_remote(store: StateStore) -> InMemoryRemote:
    remote = InMemoryRemote()
    remote.records |= {
        "T1": {"_key": "ann@x.io", "title": "Engineer", "dept": "R&D"},
        "T2": {"_key": "bob@x.io", "title": "Sales", "dept": None},
        "T3": {"_key": "cid@x.io", "title": "Ops", "dept": "IT"},
    }
    store.save_links(
        SYNC,
        pd.DataFrame(
            {
                "source_id": ["S1", "S2", "S3"],
                "target_id": ["T1", "T2", "T3"],
                "key": ["ann@x.io", "bob@x.io", "cid@x.io"],
                "origin": "auto",
            }
        ),
    )
    return remote


def a_run(remote: InMemoryRemote, store: StateStore) -> str:
    """Updates two fields, fills an empty one, creates a record and deletes another."""
    ann = {"key": "ann@x.io", "source_id": "S1", "target_id": "T1", "direction": "to_target"}
    bob = {"key": "bob@x.io", "source_id": "S2", "target_id": "T2", "direction": "to_target"}
    changes = change_set(
        [
            ann | {"kind": "update", "field": "title", "before": '"Engineer"', "after": '"CTO"'},
            ann | {"kind": "update", "field": "dept", "before": '"R&D"', "after": '"Board"'},
            bob | {"kind": "update", "field": "dept", "after": '"EMEA"'},
            {"kind": "create", "key": "dee@x.io", "source_id": "S4", "field": "title", "after": '"Intern"'}
            | {"direction": "to_target"},
            {
                "kind": "delete",
                "key": "cid@x.io",
                "source_id": "S3",
                "target_id": "T3",
                "direction": "to_target",
            },
        ]
    )
    summary = apply_changes(changes, store=store, sync_id=SYNC, writer=InMemoryWriter(remote, batch_size=10))
    assert (summary.updated, summary.created, summary.deleted, summary.failed) == (2, 1, 1, 0)
    return summary.run_id


def test_reverting_a_run_restores_the_before_values(state_store: StateStore) -> None:
    remote = linked_remote(state_store)
    run_id = a_run(remote, state_store)
    assert remote.values()["ann@x.io"] == {"title": "CTO", "dept": "Board"}

    revert = revert_changes(state_store, run_id)
    summary = apply_changes(
        revert, store=state_store, sync_id=SYNC, writer=InMemoryWriter(remote, batch_size=10)
    )

    assert remote.values() == {
        "ann@x.io": {"title": "Engineer", "dept": "R&D"},
        "bob@x.io": {"title": "Sales", "dept": None},
    }
    assert (summary.updated, summary.deleted, summary.skipped, summary.failed) == (2, 1, 1, 0)
    assert "dee@x.io" not in set(state_store.links(SYNC)["key"])
    base = state_store.base(SYNC).set_index(["source_id", "field"])["value"]
    assert json.loads(base[("S1", "title")]) == "Engineer"


def test_a_delete_cannot_be_reverted_and_says_why(state_store: StateStore) -> None:
    remote = linked_remote(state_store)
    run_id = a_run(remote, state_store)
    revert = revert_changes(state_store, run_id)
    [skip] = revert[revert["kind"] == "skip"].to_dict("records")
    assert skip["key"] == "cid@x.io"
    assert "cannot be undone" in skip["reason"]
    assert list(revert.columns) == [
        *("kind", "key", "source_id", "target_id", "field"),
        *("before", "after", "direction", "reason"),
    ]
    assert all(str(dtype) == "string" for dtype in revert.dtypes)
    [delete] = revert[revert["kind"] == "delete"].to_dict("records")
    assert delete["target_id"] == state_store.ledger(run_id).query("kind == 'create'")["target_id"].iloc[0]


def test_only_applied_runs_can_be_reverted(state_store: StateStore) -> None:
    remote = linked_remote(state_store)
    dry = apply_changes(
        change_set([]),
        store=state_store,
        sync_id=SYNC,
        writer=InMemoryWriter(remote, batch_size=1),
        dry_run=True,
    )
    with pytest.raises(RevertError, match="dry run"):
        revert_changes(state_store, dry.run_id)
    with pytest.raises(RevertError, match="'no-such-run' is not in the state store"):
        revert_changes(state_store, "no-such-run")
