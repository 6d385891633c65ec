"""Apply against an in-memory remote: batches, outcomes, pending retries, links and base, dry runs."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import ClassVar

import pandas as pd
import pytest
from tests.engine import state_fixtures
from tests.engine.state_fixtures import InMemoryRemote, InMemoryWriter, change_set

from jirasync.engine.apply import ApplyError, WriteOutcome, WriteRecord, apply_changes, merge_pending
from jirasync.engine.shards import Shard
from jirasync.engine.store import BatchOutcome, JournalEntry, StateStore, SyncLockedError, utc_now

postgres_url = state_fixtures.postgres_url
store_location = state_fixtures.store_location
state_store = state_fixtures.state_store

SYNC = "crm-contacts"


def creates(*keys: str) -> list[dict[str, str]]:
    return [
        row
        for key in keys
        for row in (
            {
                "kind": "create",
                "key": key,
                "source_id": f"S-{key}",
                "field": "email",
                "after": json.dumps(key),
            },
            {"kind": "create", "key": key, "source_id": f"S-{key}", "field": "title", "after": '"Engineer"'},
        )
    ]


def with_direction(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"direction": "to_target", **row} for row in rows]


def test_creates_are_written_in_batches_of_the_writer_size(state_store: StateStore) -> None:
    remote = InMemoryRemote()
    keys = ["a@x.io", "b@x.io", "c@x.io", "d@x.io", "e@x.io"]
    summary = apply_changes(
        change_set(with_direction(creates(*keys))),
        store=state_store,
        sync_id=SYNC,
        writer=InMemoryWriter(remote, batch_size=2),
    )
    assert remote.batches == [
        ("create", "to_target", 2),
        ("create", "to_target", 2),
        ("create", "to_target", 1),
    ]
    assert summary.created == 5
    assert summary.failed == 0
    assert remote.values()["c@x.io"] == {"email": "c@x.io", "title": "Engineer"}


class _ConcurrentWriter(InMemoryWriter):
    """Several batches in its hands at once, one at a time into the remote."""

    def __init__(
        self, remote: InMemoryRemote, batch_size: int, concurrency: int, records_per_call: int
    ) -> None:
        super().__init__(remote, batch_size)
        self.concurrency = concurrency
        self.records_per_call = records_per_call
        self._lock = threading.Lock()

    def write(self, kind: str, direction: str, records: Sequence[WriteRecord]) -> list[WriteOutcome]:
        with self._lock:
            return super().write(kind, direction, records)


@pytest.mark.parametrize(
    ("records_per_call", "batches"),
    [(1, [("create", "to_target", 2)] * 6), (10, [("create", "to_target", 10), ("create", "to_target", 2)])],
    ids=["one record a call: its batch shared by the threads", "a batch a call: batches kept full"],
)
def test_writes_at_once_share_the_writers_batch_but_never_split_a_batch_call(
    state_store: StateStore, records_per_call: int, batches: list[tuple[str, str, int]]
) -> None:
    """Twelve creates, batches of ten, four writer threads: a writer that makes one call per record
    gets batches of two (ten shared by four), so a kill leaves no more writes unsettled than one
    batch of ten would; one that writes a batch in one call keeps its batches full, as smaller ones
    would cost calls."""
    remote = InMemoryRemote()
    writer = _ConcurrentWriter(remote, batch_size=10, concurrency=4, records_per_call=records_per_call)
    keys = [f"{n}@x.io" for n in range(12)]
    summary = apply_changes(
        change_set(with_direction(creates(*keys))), store=state_store, sync_id=SYNC, writer=writer
    )
    assert sorted(remote.batches, key=lambda batch: -batch[2]) == batches
    assert summary.created == 12
    assert set(remote.values()) == set(keys)


def test_a_create_links_the_new_record_and_sets_the_base(state_store: StateStore) -> None:
    remote = InMemoryRemote()
    summary = apply_changes(
        change_set(with_direction(creates("a@x.io"))),
        store=state_store,
        sync_id=SYNC,
        writer=InMemoryWriter(remote, batch_size=10),
    )
    [target_id] = remote.records
    links = state_store.links(SYNC)
    assert links.values.tolist() == [["S-a@x.io", target_id, "a@x.io", "auto"]]
    base = state_store.base(SYNC).sort_values("field")
    assert base[["field", "value"]].values.tolist() == [["email", '"a@x.io"'], ["title", '"Engineer"']]
    ledger = state_store.ledger(summary.run_id)
    assert ledger["target_id"].tolist() == [target_id, target_id]
    assert ledger["outcome"].tolist() == ["ok", "ok"]
    assert state_store.run(summary.run_id)["status"] == "success"


def test_an_update_moves_the_base_to_the_written_value(state_store: StateStore) -> None:
    remote = InMemoryRemote()
    remote.records["T9"] = {"_key": "a@x.io", "title": "Engineer"}
    state_store.save_links(
        SYNC, pd.DataFrame({"source_id": ["S1"], "target_id": ["T9"], "key": ["a@x.io"], "origin": ["auto"]})
    )
    state_store.save_base(
        SYNC, pd.DataFrame({"source_id": ["S1"], "field": ["title"], "value": ['"Engineer"']})
    )
    update = {"kind": "update", "key": "a@x.io", "source_id": "S1", "target_id": "T9", "field": "title"}
    update |= {"before": '"Engineer"', "after": '"CTO"', "direction": "to_target"}
    summary = apply_changes(
        change_set([update]), store=state_store, sync_id=SYNC, writer=InMemoryWriter(remote, batch_size=10)
    )
    assert summary.updated == 1
    assert remote.records["T9"]["title"] == "CTO"
    assert state_store.base(SYNC)["value"].tolist() == ['"CTO"']


def test_failed_records_wait_in_pending_and_are_retried_on_the_next_run(state_store: StateStore) -> None:
    remote = InMemoryRemote()
    writer = InMemoryWriter(remote, batch_size=2)
    remote.rejecting["c@x.io"] = "HTTP 503 Service Unavailable"
    first = apply_changes(
        change_set(with_direction(creates("a@x.io", "b@x.io", "c@x.io"))),
        store=state_store,
        sync_id=SYNC,
        writer=writer,
    )
    assert (first.created, first.failed) == (2, 1)
    [failure] = first.failures
    assert (failure.key, failure.kind, failure.error) == ("c@x.io", "create", "HTTP 503 Service Unavailable")
    assert "next run" in failure.action
    assert state_store.run(first.run_id)["status"] == "partial"
    pending = state_store.pending(SYNC)
    assert set(pending["key"]) == {"c@x.io"}
    assert "c@x.io" not in remote.values()

    remote.rejecting.clear()
    nothing_new = change_set([])
    retry = merge_pending(nothing_new, state_store.pending(SYNC), state_store.links(SYNC))
    second = apply_changes(retry, store=state_store, sync_id=SYNC, writer=writer)
    assert (second.created, second.failed) == (1, 0)
    assert sorted(remote.values()) == ["a@x.io", "b@x.io", "c@x.io"]
    assert state_store.pending(SYNC).empty
    assert len(state_store.links(SYNC)) == 3


def test_a_failure_in_one_direction_stays_pending_when_the_other_succeeds(state_store: StateStore) -> None:
    remote = InMemoryRemote()
    remote.records["T1"] = {"_key": "a@x.io", "title": "Engineer"}
    remote.rejecting["a@x.io"] = "HTTP 409 conflicting update"
    state_store.save_links(
        SYNC, pd.DataFrame({"source_id": ["S1"], "target_id": ["T1"], "key": ["a@x.io"], "origin": ["auto"]})
    )
    common = {"kind": "update", "key": "a@x.io", "source_id": "S1", "target_id": "T1"}

    class SourceAccepts(InMemoryWriter):
        def write(self, kind: str, direction: str, records: Sequence[WriteRecord]) -> list[WriteOutcome]:
            if direction == "to_source":
                return [WriteOutcome(record_id=record.source_id) for record in records]
            return super().write(kind, direction, records)

    summary = apply_changes(
        change_set(
            [
                common | {"field": "title", "after": '"CTO"', "direction": "to_target"},
                common | {"field": "phone", "after": '"123"', "direction": "to_source"},
            ]
        ),
        store=state_store,
        sync_id=SYNC,
        writer=SourceAccepts(remote, batch_size=5),
    )
    assert (summary.updated, summary.failed) == (1, 1)
    pending = state_store.pending(SYNC)
    assert pending[["field", "direction"]].values.tolist() == [["title", "to_target"]]


def test_applying_the_same_change_set_again_creates_nothing_twice(state_store: StateStore) -> None:
    remote = InMemoryRemote()
    writer = InMemoryWriter(remote, batch_size=2)
    changes = change_set(with_direction(creates("a@x.io", "b@x.io")))
    apply_changes(changes, store=state_store, sync_id=SYNC, writer=writer)
    again = apply_changes(changes, store=state_store, sync_id=SYNC, writer=writer)
    assert (again.created, again.skipped) == (0, 2)
    assert len(remote.records) == 2


def mixed_change_set(remote: InMemoryRemote, store: StateStore) -> pd.DataFrame:
    """Every kind of row, against a remote and store that already hold two linked records."""
    remote.records |= {"T1": {"_key": "old@x.io", "title": "A"}, "T2": {"_key": "gone@x.io", "title": "B"}}
    remote.records["T3"] = {"_key": "match@x.io", "title": "C"}
    store.save_links(
        SYNC,
        pd.DataFrame(
            {
                "source_id": ["S1", "S2"],
                "target_id": ["T1", "T2"],
                "key": ["old@x.io", "gone@x.io"],
                "origin": "auto",
            }
        ),
    )
    return change_set(
        [
            *with_direction(creates("new@x.io", "new2@x.io")),
            {"kind": "update", "key": "old@x.io", "source_id": "S1", "target_id": "T1", "field": "title"}
            | {"before": '"A"', "after": '"A2"', "direction": "to_target"},
            {
                "kind": "link",
                "key": "match@x.io",
                "source_id": "S3",
                "target_id": "T3",
                "reason": "matched by key",
            },
            {"kind": "update", "key": "match@x.io", "source_id": "S3", "target_id": "T3", "field": "title"}
            | {"before": '"C"', "after": '"C2"', "direction": "to_target"},
            {
                "kind": "delete",
                "key": "gone@x.io",
                "source_id": "S2",
                "target_id": "T2",
                "direction": "to_target",
            }
            | {"reason": "the source record no longer exists"},
            {"kind": "skip", "key": "dup@x.io", "source_id": "S8", "reason": "duplicate key in source"},
            {"kind": "conflict", "key": "old@x.io", "source_id": "S1", "target_id": "T1", "field": "phone"}
            | {"before": '"1"', "after": '"2"', "reason": "both sides changed"},
        ]
    )


COUNTS = ["created", "updated", "linked", "unlinked", "deleted", "cleared", "failed", "skipped", "conflicts"]


def test_a_dry_run_writes_nothing_and_predicts_the_real_run(state_store: StateStore) -> None:
    remote = InMemoryRemote()
    changes = mixed_change_set(remote, state_store)
    remote_before = json.dumps(remote.records, sort_keys=True)
    links_before = state_store.links(SYNC)
    writer = InMemoryWriter(remote, batch_size=3)

    dry = apply_changes(changes, store=state_store, sync_id=SYNC, writer=writer, dry_run=True)
    assert json.dumps(remote.records, sort_keys=True) == remote_before
    assert remote.batches == []
    pd.testing.assert_frame_equal(state_store.links(SYNC), links_before)
    assert state_store.ledger(dry.run_id).empty
    assert state_store.run(dry.run_id)["dry_run"] is True

    real = apply_changes(changes, store=state_store, sync_id=SYNC, writer=writer)
    assert {name: getattr(dry, name) for name in COUNTS} == {name: getattr(real, name) for name in COUNTS}
    assert (real.created, real.updated, real.linked, real.deleted) == (2, 2, 1, 1)
    assert (real.skipped, real.conflicts) == (1, 1)
    assert "T2" not in remote.records
    assert remote.values()["old@x.io"]["title"] == "A2"
    assert remote.values()["match@x.io"]["title"] == "C2"
    assert set(state_store.links(SYNC)["source_id"]) == {"S1", "S3", "S-new@x.io", "S-new2@x.io"}
    ledger = state_store.ledger(real.run_id)
    assert set(ledger["outcome"]) == {"ok", "skipped", "held"}


def test_a_run_of_a_locked_sync_fails_before_writing(store_location: str) -> None:
    remote = InMemoryRemote()
    holder, second = StateStore(store_location), StateStore(store_location)
    with holder.lock(SYNC, "scheduled__1"), pytest.raises(SyncLockedError, match="scheduled__1"):
        apply_changes(
            change_set(with_direction(creates("a@x.io"))),
            store=second,
            sync_id=SYNC,
            writer=InMemoryWriter(remote, batch_size=1),
        )
    assert remote.records == {}
    holder.close()
    second.close()


def test_a_write_row_without_direction_is_refused_naming_the_record(state_store: StateStore) -> None:
    update = {"kind": "update", "key": "a@x.io", "source_id": "S1", "target_id": "T1", "field": "title"}
    with pytest.raises(ApplyError, match=r"record 'a@x.io'.*needs a direction"):
        apply_changes(
            change_set([update]),
            store=state_store,
            sync_id=SYNC,
            writer=InMemoryWriter(InMemoryRemote(), batch_size=1),
        )


def test_merge_pending_prefers_the_fresh_plan_and_drops_creates_made_since() -> None:
    fresh = change_set(
        [
            {
                "kind": "update",
                "key": "a",
                "source_id": "S1",
                "target_id": "T1",
                "field": "title",
                "after": '"new"',
            }
        ]
    )
    pending = change_set(
        [
            {
                "kind": "update",
                "key": "a",
                "source_id": "S1",
                "target_id": "T1",
                "field": "title",
                "after": '"old"',
            },
            {"kind": "create", "key": "b", "source_id": "S2", "field": "title", "after": '"x"'},
            {"kind": "create", "key": "c", "source_id": "S3", "field": "title", "after": '"y"'},
        ]
    )
    links = pd.DataFrame({"source_id": ["S2"], "target_id": ["T2"], "key": ["b"], "origin": ["auto"]})
    merged = merge_pending(fresh, pending, links)
    assert merged[["key", "after"]].values.tolist() == [["a", '"new"'], ["c", '"y"']]


def test_a_record_another_run_wrote_after_the_plan_is_skipped_as_stale(state_store: StateStore) -> None:
    """Two runs plan at once; the second waits for the first, then must not write its older plan."""
    remote = InMemoryRemote()
    for target_id, key in (("T1", "a@x.io"), ("T2", "b@x.io")):
        remote.records[target_id] = {"_key": key, "title": "Engineer"}
    state_store.save_links(
        SYNC,
        pd.DataFrame(
            {
                "source_id": ["S1", "S2"],
                "target_id": ["T1", "T2"],
                "key": ["a@x.io", "b@x.io"],
                "origin": "auto",
            }
        ),
    )

    def update(key: str, source_id: str, target_id: str, after: str) -> dict[str, str]:
        return {
            "kind": "update",
            "key": key,
            "source_id": source_id,
            "target_id": target_id,
            "field": "title",
            "before": '"Engineer"',
            "after": json.dumps(after),
            "direction": "to_target",
        }

    planned_at = utc_now()  # the waiting run plans: both records get an older title
    older = change_set([update("a@x.io", "S1", "T1", "Old CTO"), update("b@x.io", "S2", "T2", "Old VP")])
    apply_changes(  # meanwhile the running run writes a newer title to a@x.io
        change_set([update("a@x.io", "S1", "T1", "New CTO")]),
        store=state_store,
        sync_id=SYNC,
        writer=InMemoryWriter(remote, batch_size=10),
    )
    summary = apply_changes(
        older,
        store=state_store,
        sync_id=SYNC,
        writer=InMemoryWriter(remote, batch_size=10),
        planned_at=planned_at,
    )
    assert remote.records["T1"]["title"] == "New CTO"  # not overwritten by the older plan
    assert remote.records["T2"]["title"] == "Old VP"  # nobody wrote it since: applied
    assert (summary.updated, summary.skipped) == (1, 1)
    ledger = state_store.ledger(summary.run_id).set_index("key")
    assert ledger.loc["a@x.io", "outcome"] == "skipped" and ledger.loc["a@x.io", "reason"].startswith("stale")


def test_a_record_another_run_only_linked_after_the_plan_is_still_written(state_store: StateStore) -> None:
    """A link is the store's, not a write to the target: the record is not stale for it. A retry of
    a killed apply meets this for every contact its first try matched but had not yet updated."""
    remote = InMemoryRemote()
    remote.records["T1"] = {"_key": "a@x.io", "title": "Engineer"}
    link = {"kind": "link", "key": "a@x.io", "source_id": "S1", "target_id": "T1", "reason": "matched by key"}
    update = {
        "kind": "update",
        "key": "a@x.io",
        "source_id": "S1",
        "target_id": "T1",
        "field": "title",
        "before": '"Engineer"',
        "after": '"CTO"',
        "direction": "to_target",
    }
    planned_at = utc_now()
    writer = InMemoryWriter(remote, batch_size=10)
    apply_changes(change_set([link]), store=state_store, sync_id=SYNC, writer=writer)  # the first try
    summary = apply_changes(
        change_set([link, update]), store=state_store, sync_id=SYNC, writer=writer, planned_at=planned_at
    )
    assert remote.records["T1"]["title"] == "CTO"
    assert (summary.updated, summary.skipped) == (1, 0)


class _NoTransitionWriter(InMemoryWriter):
    """A remote that cannot take one record's write now (a workflow with no way to the status)."""

    def write(self, kind: str, direction: str, records: Sequence[WriteRecord]) -> list[WriteOutcome]:
        return [
            WriteOutcome(skipped="no transition from Done to In Progress")
            if record.key == "b@x.io"
            else WriteOutcome(record_id=record.target_id)
            for record in records
        ]


def test_a_write_the_remote_cannot_take_now_is_skipped_and_reported_not_failed(
    state_store: StateStore,
) -> None:
    state_store.save_links(
        SYNC,
        pd.DataFrame(
            {
                "source_id": ["S1", "S2"],
                "target_id": ["T1", "T2"],
                "key": ["a@x.io", "b@x.io"],
                "origin": "auto",
            }
        ),
    )
    rows = [
        {"kind": "update", "key": key, "source_id": source, "target_id": target, "field": "status",
         "before": '"Done"', "after": '"In Progress"', "direction": "to_target"}
        for key, source, target in (("a@x.io", "S1", "T1"), ("b@x.io", "S2", "T2"))
    ]  # fmt: skip
    summary = apply_changes(
        change_set(rows), store=state_store, sync_id=SYNC, writer=_NoTransitionWriter(InMemoryRemote(), 10)
    )
    assert (summary.updated, summary.skipped, summary.failed, summary.status) == (1, 1, 0, "success")
    ledger = state_store.ledger(summary.run_id).set_index("key")
    assert ledger.loc["b@x.io", "outcome"] == "skipped"
    assert ledger.loc["b@x.io", "reason"] == "no transition from Done to In Progress"
    # Nothing is recorded as written: the base keeps no "In Progress" for it.
    assert state_store.base(SYNC).query("source_id == 'S2'").empty


class _ByHandWriter(InMemoryWriter):
    """Matches pairs by a key a person gave (as an issue names its CRM record)."""

    matched_link_origin = "manual"


@pytest.mark.parametrize(("writer", "matched"), [(InMemoryWriter, "auto"), (_ByHandWriter, "manual")])
def test_a_matched_pair_is_linked_with_the_writers_origin_and_a_create_is_auto(
    state_store: StateStore, writer: type[InMemoryWriter], matched: str
) -> None:
    rows = [
        {"kind": "link", "key": "a@x.io", "source_id": "S1", "target_id": "T1", "reason": "matched by key"},
        *with_direction(creates("b@x.io")),
    ]
    apply_changes(change_set(rows), store=state_store, sync_id=SYNC, writer=writer(InMemoryRemote(), 10))
    origins = dict(state_store.links(SYNC)[["key", "origin"]].values.tolist())
    assert origins == {"a@x.io": matched, "b@x.io": "auto"}


class _TwoApiWriter(InMemoryWriter):
    """Writes the target in batches of 2 and the source in batches of 3."""

    batch_sizes: ClassVar[dict[tuple[str, str], int]] = {("update", "to_source"): 3}


def test_a_writer_over_two_apis_batches_each_direction_its_own_way(state_store: StateStore) -> None:
    keys = [f"{name}@x.io" for name in "abcde"]
    state_store.save_links(
        SYNC, pd.DataFrame({"source_id": keys, "target_id": keys, "key": keys, "origin": "auto"})
    )
    remote = InMemoryRemote()
    remote.records.update({key: {"_key": key} for key in keys})
    rows = [
        {"kind": "update", "key": key, "source_id": key, "target_id": key, "field": "title",
         "after": '"x"', "direction": direction}
        for key in keys
        for direction in ("to_target", "to_source")
    ]  # fmt: skip
    apply_changes(
        change_set(rows), store=state_store, sync_id=SYNC, writer=_TwoApiWriter(remote, batch_size=2)
    )
    assert remote.batches == [
        ("update", "to_target", 2), ("update", "to_target", 2), ("update", "to_target", 1),
        ("update", "to_source", 3), ("update", "to_source", 2),
    ]  # fmt: skip


def test_the_shards_of_a_change_set_write_each_record_once_between_them(state_store: StateStore) -> None:
    """Each shard writes its part, under a lock of its own (both held at once, as by two workers);
    together they write what one apply of the whole change set writes."""
    keys = [f"{n}@x.io" for n in range(40)]
    changes = change_set(with_direction(creates(*keys)))
    remote = InMemoryRemote()
    parts = [Shard(0, 3), Shard(1, 3), Shard(2, 3)]
    # One shard is applied by one task at a time; the shards of a run lock apart.
    with (
        state_store.lock(parts[0].lock_name(SYNC), "run-1"),
        state_store.lock(parts[1].lock_name(SYNC), "run-1"),
        pytest.raises(SyncLockedError),
    ):
        apply_changes(
            changes, store=state_store, sync_id=SYNC, writer=InMemoryWriter(remote, 10), shard=parts[0]
        )
    summaries = [
        apply_changes(
            changes,
            store=state_store,
            sync_id=SYNC,
            writer=InMemoryWriter(remote, 10),
            run_id=f"r{n}",
            shard=part,
        )
        for n, part in enumerate(parts)
    ]
    created = [summary.created for summary in summaries]
    assert sum(created) == len(keys) and all(created), created
    assert sorted(remote.values()) == sorted(keys)
    assert sorted(state_store.links(SYNC)["key"]) == sorted(keys)
    assert [set(state_store.ledger(f"r{n}")["key"]) for n in range(3)] == [
        {key for key in keys if part.holds(key)} for part in parts
    ]


def test_a_batch_back_from_the_writer_is_replaced_before_its_outcome_is_settled(
    state_store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer threads never wait on the store: when the first batch of two in flight comes
    back, a third is already journaled and in the writer's hands before the first is settled."""
    journaled: list[str] = []
    journaled_at_first_settle: list[int] = []
    journal, record_outcome = state_store.journal_intents, state_store.record_outcome

    def journal_intents(sync_id: str, run_id: str, batch_id: str, entries: list[JournalEntry]) -> None:
        journaled.append(batch_id)
        journal(sync_id, run_id, batch_id, entries)

    def settle(outcome: BatchOutcome) -> None:
        if outcome.settled_batches and not journaled_at_first_settle:
            journaled_at_first_settle.append(len(journaled))
        record_outcome(outcome)

    monkeypatch.setattr(state_store, "journal_intents", journal_intents)
    monkeypatch.setattr(state_store, "record_outcome", settle)
    writer = _ConcurrentWriter(InMemoryRemote(), batch_size=2, concurrency=2, records_per_call=2)
    keys = [f"{n}@x.io" for n in range(12)]
    summary = apply_changes(
        change_set(with_direction(creates(*keys))), store=state_store, sync_id=SYNC, writer=writer
    )
    assert summary.created == 12 and len(journaled) == 6
    assert journaled_at_first_settle[0] > writer.concurrency


def test_a_retry_counts_what_its_killed_try_wrote_as_written_and_writes_only_the_rest(
    state_store: StateStore,
) -> None:
    """The retry of a killed apply applies the same plan: the records its first try wrote are done
    (counted as this run's writes, not skipped as another run's), the others are written."""
    remote = InMemoryRemote()
    keys = ["a@x.io", "b@x.io", "c@x.io"]
    planned_at = utc_now()
    plan = change_set(with_direction(creates(*keys)))
    first_try = change_set(with_direction(creates(*keys[:2])))  # what it wrote before the kill
    apply_changes(first_try, store=state_store, sync_id=SYNC, writer=InMemoryWriter(remote, 10), run_id="r:1")
    remote.batches.clear()

    retry = apply_changes(
        plan,
        store=state_store,
        sync_id=SYNC,
        writer=InMemoryWriter(remote, 10),
        run_id="r:2",
        planned_at=planned_at,
        earlier_tries=["r:1"],
    )
    assert (retry.created, retry.skipped) == (3, 0)
    assert remote.batches == [("create", "to_target", 1)]
    assert sorted(remote.values()) == keys
    # Another run's write since the plan still makes a record stale.
    other = apply_changes(
        plan,
        store=state_store,
        sync_id=SYNC,
        writer=InMemoryWriter(remote, 10),
        run_id="s:1",
        planned_at=planned_at,
    )
    assert (other.created, other.skipped) == (0, 3)
