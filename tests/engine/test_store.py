"""The state store on SQLite and PostgreSQL: schema from migrations, set-based links and base, the lock."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from tests.engine import state_fixtures

from jirasync.engine.store import (
    VERSION_TABLE,
    BatchOutcome,
    JournalEntry,
    StateStore,
    SyncLockedError,
    journal_table,
    locks_table,
    metadata,
    utc_now,
)

postgres_url = state_fixtures.postgres_url
store_location = state_fixtures.store_location
state_store = state_fixtures.state_store

TABLES = {
    "links",
    "base",
    "cursors",
    "runs",
    "ledger",
    "pending",
    "journal",
    "locks",
    "decisions",
    "stream_links",
}


def test_migrations_bring_an_empty_database_to_head(state_store: StateStore) -> None:
    inspector = sa.inspect(state_store.engine)
    assert TABLES | {VERSION_TABLE} <= set(inspector.get_table_names())
    with state_store.engine.connect() as connection:
        version = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one()
    assert version == "0003"


def test_migrated_schema_matches_the_tables_the_store_queries(state_store: StateStore) -> None:
    with state_store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_opening_again_keeps_the_data(store_location: str) -> None:
    first = StateStore(store_location)
    first.save_cursor("entra-users", "graph", "https://graph/delta?token=1")
    first.close()
    second = StateStore(store_location)
    assert second.cursor("entra-users", "graph") == "https://graph/delta?token=1"
    second.close()


def test_links_and_base_round_trip_as_contract_frames(state_store: StateStore) -> None:
    links = pd.DataFrame(
        {
            "source_id": ["s1", "s2"],
            "target_id": ["t1", "t2"],
            "key": ["ann@example.com", "bob@example.com"],
            "origin": ["auto", "manual"],
        }
    )
    base = pd.DataFrame({"source_id": ["s1", "s1"], "field": ["title", "dept"], "value": ['"CTO"', None]})
    state_store.save_links("crm", links)
    state_store.save_base("crm", base)

    read = state_store.links("crm").sort_values("source_id").reset_index(drop=True)
    assert list(read.columns) == ["source_id", "target_id", "key", "origin"]
    assert all(str(dtype) == "string" for dtype in read.dtypes)
    pd.testing.assert_frame_equal(read, links.astype("string"))

    read_base = state_store.base("crm").sort_values("field").reset_index(drop=True)
    assert list(read_base.columns) == ["source_id", "field", "value"]
    assert read_base["value"].tolist() == [pd.NA, '"CTO"']
    assert state_store.links("other").empty


def test_saving_links_and_base_again_replaces_them(state_store: StateStore) -> None:
    state_store.save_links(
        "crm", pd.DataFrame({"source_id": ["s1"], "target_id": ["t1"], "key": ["k"], "origin": ["auto"]})
    )
    state_store.save_base("crm", pd.DataFrame({"source_id": ["s1"], "field": ["title"], "value": ['"a"']}))
    state_store.save_links(
        "crm", pd.DataFrame({"source_id": ["s1"], "target_id": ["t9"], "key": ["k"], "origin": ["manual"]})
    )
    state_store.save_base("crm", pd.DataFrame({"source_id": ["s1"], "field": ["title"], "value": ['"b"']}))
    assert state_store.links("crm")[["target_id", "origin"]].values.tolist() == [["t9", "manual"]]
    assert state_store.base("crm")["value"].tolist() == ['"b"']


def test_many_links_are_saved_and_read_in_bulk(state_store: StateStore) -> None:
    count = 5_000
    ids = [f"s{number}" for number in range(count)]
    links = pd.DataFrame({"source_id": ids, "target_id": ids, "key": ids, "origin": "auto"})
    base = pd.DataFrame({"source_id": ids, "field": "email", "value": '"x@example.com"'})
    state_store.save_links("big", links)
    state_store.save_base("big", base)
    assert len(state_store.links("big")) == count
    assert len(state_store.base("big")) == count


def test_the_base_of_a_few_records_is_read_by_their_ids_across_queries(state_store: StateStore) -> None:
    ids = [f"s{number}" for number in range(1_200)]  # more ids than one query takes
    state_store.save_base("big", pd.DataFrame({"source_id": ids, "field": "title", "value": '"x"'}))
    state_store.save_base("other", pd.DataFrame({"source_id": ["s1"], "field": "title", "value": '"y"'}))
    wanted = [*ids[::2], "s1", "s1", "gone"]  # repeated and unknown ids are harmless
    read = state_store.base("big", wanted)
    assert sorted(read["source_id"]) == sorted([*ids[::2], "s1"])
    assert set(read["value"]) == {'"x"'} and list(read.columns) == ["source_id", "field", "value"]
    assert state_store.base("big", []).empty


def test_records_wait_for_the_next_run_while_a_failure_is_pending_or_an_intent_open(
    state_store: StateStore,
) -> None:
    assert not state_store.waiting("crm")
    failure = {"key": "k1", "changes": [{"kind": "update", "key": "k1"}], "error": "HTTP 503"}
    state_store.record_outcome(BatchOutcome("crm", "run-1", failed=[failure]))
    assert state_store.waiting("crm") and not state_store.waiting("other")
    state_store.record_outcome(BatchOutcome("crm", "run-2", succeeded_keys=["k1"]))
    assert not state_store.waiting("crm")

    entry = JournalEntry("b1", "run-3", {"kind": "create", "key": "k2"}, [{"kind": "create", "key": "k2"}])
    state_store.journal_intents("crm", "run-3", "b1", [entry])
    assert state_store.waiting("crm")
    state_store.record_outcome(BatchOutcome("crm", "run-3", settled_batches=["b1"]))
    assert not state_store.waiting("crm")


def test_a_cursor_says_when_it_was_saved(state_store: StateStore) -> None:
    assert state_store.cursor_saved_at("crm", "source") is None
    before = utc_now()
    state_store.save_cursor("crm", "source", "delta-1")
    saved = state_store.cursor_saved_at("crm", "source")
    assert saved is not None and before <= saved <= utc_now()
    assert state_store.cursor_saved_at("crm", "target") is None


def test_removing_links_forgets_their_base(state_store: StateStore) -> None:
    state_store.save_links(
        "crm",
        pd.DataFrame(
            {"source_id": ["s1", "s2"], "target_id": ["t1", "t2"], "key": ["a", "b"], "origin": "auto"}
        ),
    )
    state_store.save_base("crm", pd.DataFrame({"source_id": ["s1", "s2"], "field": "title", "value": '"x"'}))
    state_store.remove_links("crm", ["s1"])
    assert state_store.links("crm")["source_id"].tolist() == ["s2"]
    assert state_store.base("crm")["source_id"].tolist() == ["s2"]


def test_runs_keep_status_and_summary(state_store: StateStore) -> None:
    state_store.start_run("crm", "run-1", dry_run=True)
    assert state_store.run("run-1")["status"] == "running"
    state_store.finish_run("run-1", "success", {"created": 3})
    run = state_store.run("run-1")
    assert run["status"] == "success"
    assert run["dry_run"] is True
    assert run["summary"] == {"created": 3}
    assert run["ended_at"] is not None
    assert state_store.run("missing") is None


def test_runs_are_a_syncs_latest_runs_newest_first(
    state_store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    moments = iter(pd.date_range("2026-03-01", periods=5, freq="h", tz="UTC").to_pydatetime())
    monkeypatch.setattr("jirasync.engine.store.utc_now", lambda: next(moments))
    for sync_id, run_id in (("crm", "run-1"), ("crm", "run-2"), ("other", "run-3"), ("crm", "run-4")):
        state_store.start_run(sync_id, run_id, dry_run=False)
    state_store.finish_run("run-2", "partial", {"failed": 1})
    runs = state_store.runs("crm", 2)
    assert [run["run_id"] for run in runs] == ["run-4", "run-2"]
    assert runs[1]["summary"] == {"failed": 1} and runs[0]["summary"] is None
    assert state_store.runs("nobody", 5) == []


def test_failures_wait_in_pending_counting_attempts_until_a_success(state_store: StateStore) -> None:
    change = {"kind": "update", "key": "k1", "source_id": "s1", "target_id": "t1", "field": "title"}
    change |= {"before": '"a"', "after": '"b"', "direction": "to_target", "reason": None}
    failure = {"key": "k1", "changes": [change], "error": "HTTP 503"}
    state_store.record_outcome(BatchOutcome("crm", "run-1", failed=[failure]))
    state_store.record_outcome(BatchOutcome("crm", "run-2", failed=[failure]))
    pending = state_store.pending("crm")
    assert pending[["key", "field", "after"]].values.tolist() == [["k1", "title", '"b"']]
    assert pending["attempts"].tolist() == [2]
    assert pending["reason"].isna().all()

    state_store.record_outcome(BatchOutcome("crm", "run-3", succeeded_keys=["k1"]))
    assert state_store.pending("crm").empty


def test_journal_intents_stay_open_until_their_batch_is_settled_and_then_leave_the_journal(
    state_store: StateStore,
) -> None:
    entry = JournalEntry("b1", "run-1", {"kind": "create", "key": "k1"}, [{"kind": "create", "key": "k1"}])
    state_store.journal_intents("crm", "run-1", "b1", [entry])
    assert state_store.open_intents("crm") == [entry]
    assert state_store.open_intents("other") == []
    state_store.record_outcome(BatchOutcome("crm", "run-2", settled_batches=["b1"]))
    assert state_store.open_intents("crm") == []
    with state_store.engine.connect() as connection:  # the ledger keeps the audit, not the journal
        assert connection.execute(sa.select(sa.func.count()).select_from(journal_table)).scalar() == 0


def test_ledger_rows_come_back_in_recorded_order(state_store: StateStore) -> None:
    rows = [
        {"kind": "update", "key": f"k{number}", "source_id": "s", "target_id": "t", "field": "title"}
        | {"before": '"a"', "after": '"b"', "direction": "to_target", "reason": None}
        | {"outcome": "ok", "error": None}
        for number in range(3)
    ]
    state_store.record_outcome(BatchOutcome("crm", "run-1", ledger=rows))
    ledger = state_store.ledger("run-1")
    assert ledger["key"].tolist() == ["k0", "k1", "k2"]
    assert ledger["outcome"].tolist() == ["ok"] * 3


def test_a_second_holder_of_the_lock_fails_naming_the_sync_and_run(store_location: str) -> None:
    first, second = StateStore(store_location), StateStore(store_location)
    with first.lock("crm", "scheduled__2025-01-01"):
        with pytest.raises(SyncLockedError) as raised, second.lock("crm", "manual__full"):
            pass
        message = str(raised.value)
        assert "'crm'" in message
        assert "scheduled__2025-01-01" in message
        with second.lock("other-sync", "manual__full"):
            pass
    with second.lock("crm", "manual__full"):
        pass
    first.close()
    second.close()


def test_a_waiting_holder_gets_the_lock_when_the_first_releases_it(store_location: str) -> None:
    first, second = StateStore(store_location), StateStore(store_location)
    order: list[str] = []

    def wait_for_lock() -> None:
        with second.lock("crm", "run-2", wait=60):
            order.append("second acquired")

    with first.lock("crm", "run-1"):
        waiter = threading.Thread(target=wait_for_lock)
        waiter.start()
        time.sleep(0.5)
        order.append("first releases")
    waiter.join()
    assert order == ["first releases", "second acquired"]
    first.close()
    second.close()


def test_a_lock_left_by_a_dead_process_is_taken_over(state_store: StateStore) -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead_pid = int(finished.stdout)
    now = utc_now()
    state_store.start_run("crm", "crashed", dry_run=False)
    written = {"kind": "update", "key": "a@x.com", "source_id": "s1", "target_id": "t1", "field": "name"}
    state_store.record_outcome(
        BatchOutcome(
            "crm",
            "crashed",
            ledger=[
                {
                    **written,
                    "before": '"A"',
                    "after": '"B"',
                    "direction": "to_target",
                    "reason": None,
                    "outcome": "ok",
                    "error": None,
                }
            ],
        )
    )
    with state_store.engine.begin() as connection:
        connection.execute(
            sa.insert(locks_table),
            [
                {
                    "sync_id": "crm",
                    "run_id": "crashed",
                    "holder": f"{socket.gethostname()}:{dead_pid}",
                    "acquired_at": now,
                    "heartbeat_at": now,
                }
            ],
        )
    with state_store.lock("crm", "next"):
        with state_store.engine.connect() as connection:
            holder = connection.execute(sa.select(locks_table.c.run_id)).scalar_one()
        assert holder == "next"
    crashed = state_store.run("crashed")
    assert crashed is not None and crashed["status"] == "abandoned" and crashed["ended_at"] is not None
    assert "run next took the lock over" in crashed["summary"]["abandoned"]
    assert crashed["summary"]["applied_by_kind"] == {"update": 1}


def test_a_database_password_is_not_shown(postgres_url: str) -> None:
    store = StateStore(postgres_url.replace("postgres@", "postgres:hunter2@"))
    assert "hunter2" not in repr(store)
    store.close()


def test_a_postgresql_url_without_a_driver_as_the_airflow_connection_gives_it_saves_links(
    postgres_url: str,
) -> None:
    store = StateStore("postgresql://" + postgres_url.split("://", 1)[1])
    try:
        store.save_links(
            "bare", pd.DataFrame({"source_id": ["s1"], "target_id": ["t1"], "key": ["k"], "origin": ["auto"]})
        )
        assert store.links("bare")["target_id"].tolist() == ["t1"]
    finally:
        store.close()


def test_a_sqlite_path_gets_its_folder(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "airflow" / "jirasync" / "state.db")
    store.save_cursor("s", "src", json.dumps({"watermark": "2025-01-01"}))
    assert (tmp_path / "airflow" / "jirasync" / "state.db").exists()
    store.close()


def test_a_decision_is_kept_with_the_values_it_settles_and_replaced_by_a_later_one(
    state_store: StateStore,
) -> None:
    held = {"source_id": "s1", "field": "phone", "before": '"222"', "after": '"111"'}
    state_store.decide("crm", held, "source", "admin")
    state_store.decide("crm", held, "target", "oncall")
    decisions = state_store.decisions("crm")
    assert decisions.to_dict("records") == [{**held, "take": "target"}]
    assert state_store.decisions("other").empty
    with pytest.raises(ValueError, match="takes 'source' or 'target'"):
        state_store.decide("crm", held, "both", "admin")


def test_a_failed_run_is_kept_failed_with_its_error_whether_or_not_apply_started(
    state_store: StateStore,
) -> None:
    state_store.start_run("crm", "crm:manual__1:1", dry_run=False)
    state_store.finish_run("crm:manual__1:1", "partial", {"updated": 2})
    state_store.record_failure("crm", "crm:manual__1:1", "report", "2 record(s) could not be written")
    state_store.record_failure("crm", "crm:manual__2:1", "extract_source", "Jira refused the credentials")
    applied, early = state_store.run("crm:manual__1:1"), state_store.run("crm:manual__2:1")
    assert applied is not None and early is not None
    assert applied["status"] == "failed" and applied["summary"]["updated"] == 2
    assert applied["summary"]["error"] == "2 record(s) could not be written"
    assert early["status"] == "failed" and early["summary"]["failed_step"] == "extract_source"


def test_a_mirrors_link_is_kept_per_stream_replaced_and_removed(state_store: StateStore) -> None:
    link = {
        "origin_side": "source",
        "origin_id": "note-1",
        "mirror_id": "10001",
        "record_id": "deal-1",
        "issue_key": "SUP-1",
        "digest": "a" * 64,
    }
    state_store.save_stream_link("deals", "comments", link)
    state_store.save_stream_link("deals", "comments", {**link, "digest": "b" * 64})
    assert state_store.stream_links("deals", "comments").to_dict("records") == [{**link, "digest": "b" * 64}]
    assert state_store.stream_links("deals", "attachments").empty
    state_store.remove_stream_link("deals", "comments", "source", "note-1")
    assert state_store.stream_links("deals", "comments").empty
