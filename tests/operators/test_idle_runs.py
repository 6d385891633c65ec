"""A run whose source changed nothing: when the steps may skip the target, the check and the apply,
and what its report says (through Airflow: tests/e2e/test_identity_to_jira.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from airflow.sdk.exceptions import AirflowSkipException

from jirasync.engine.staging import read_frame, write_frame
from jirasync.engine.store import BatchOutcome, JournalEntry, StateStore
from jirasync.operators import steps

SHIPPED = Path(__file__).parents[2] / "include" / "syncs"
SYNC = "entra_to_jira"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StateStore:
    location = str(tmp_path / "state.db")
    monkeypatch.setattr(steps, "state_store_location", lambda: location)
    monkeypatch.setenv("JIRASYNC_STAGING_URL", str(tmp_path / "staging"))

    def no_connection(endpoint: Any) -> Any:
        raise AssertionError(f"an idle run connected to {endpoint.system}")

    monkeypatch.setattr(steps, "connector_for", no_connection)
    return StateStore(location)


def context(**params: Any) -> dict[str, Any]:
    return {
        "params": params,
        "ti": SimpleNamespace(try_number=1, dag_id=f"jirasync__{SYNC}"),
        "run_id": "manual__1",
        "dag_run": SimpleNamespace(run_type="manual", start_date=datetime.now(UTC)),
    }


def read_nothing(
    tmp_path: Path, *, rows: int = 0, complete: bool = False, removed: tuple[str, ...] = ()
) -> dict[str, Any]:
    """extract_source's result for a read of ``rows`` records (a delta that found nothing, by default)."""
    gone = pd.DataFrame({"_id": pd.Series(removed, dtype="string")})
    return {
        "path": write_frame(
            pd.DataFrame({"_id": pd.Series([f"u{n}" for n in range(rows)], dtype="string")}),
            tmp_path / "source.parquet",
        ),
        "removed_path": write_frame(gone, tmp_path / "removed.parquet"),
        "rows": rows,
        "complete": complete,
        "cursor": "delta-2",
        "calls": {"GET /v1.0/users/delta": 1, "POST /{tenant}/oauth2/v2.0/token": 1},
        "ideal_calls": 2,
        "adjusted": [],
        "read_at": datetime.now(UTC).isoformat(),
    }


def idle_reason(sync_id: str, source: dict[str, Any], **params: Any) -> str | None:
    run = steps._sync_run(sync_id, str(SHIPPED), context(**params))
    return steps._idle(run, source)


def test_a_read_that_found_nothing_new_makes_the_run_idle_since_its_cursor_was_saved(
    store: StateStore, tmp_path: Path
) -> None:
    assert idle_reason(SYNC, read_nothing(tmp_path)) == "nothing changed since the last run: target not read"
    store.save_cursor(SYNC, "source", "delta-1")
    saved = store.cursor_saved_at(SYNC, "source")
    assert saved is not None
    assert idle_reason(SYNC, read_nothing(tmp_path)) == (
        f"nothing changed since {saved:%Y-%m-%d %H:%M:%S} UTC: target not read"
    )


@pytest.mark.parametrize(
    ("read", "params"),
    [
        ({"rows": 1}, {}),
        ({"complete": True}, {}),  # a full read of nobody: everyone linked is gone
        ({"removed": ("u7",)}, {}),
        ({}, {"full_sync": True}),
        ({}, {"only": "ann@example.com"}),
        ({}, {"revert_run": "entra_to_jira:manual__0:1"}),
    ],
    ids=["a-change", "complete-read", "a-removal", "full-sync", "only", "revert"],
)
def test_a_run_that_read_a_change_or_was_asked_for_more_reads_the_target(
    store: StateStore, tmp_path: Path, read: dict[str, Any], params: dict[str, Any]
) -> None:
    assert idle_reason(SYNC, read_nothing(tmp_path, **read), **params) is None


def test_records_waiting_from_an_earlier_run_make_it_read_the_target(
    store: StateStore, tmp_path: Path
) -> None:
    failure = {"key": "k1", "changes": [{"kind": "update", "key": "k1"}], "error": "HTTP 503"}
    store.record_outcome(BatchOutcome(SYNC, "run-1", failed=[failure]))
    assert idle_reason(SYNC, read_nothing(tmp_path)) is None
    store.record_outcome(BatchOutcome(SYNC, "run-2", succeeded_keys=["k1"]))
    entry = JournalEntry("b1", "run-2", {"kind": "update", "key": "k2"}, [{"kind": "update", "key": "k2"}])
    store.journal_intents(SYNC, "run-2", "b1", [entry])  # a crash left this write's outcome unknown
    assert idle_reason(SYNC, read_nothing(tmp_path)) is None


def test_a_family_whose_target_brings_changes_of_its_own_reads_it(store: StateStore, tmp_path: Path) -> None:
    """Records ↔ issues reads Jira's edits even when the CRM changed nothing."""
    assert idle_reason("zoho_deals_to_jira", read_nothing(tmp_path)) is None


def test_an_idle_run_reads_and_plans_nothing_skips_the_check_and_reports_why(
    store: StateStore, tmp_path: Path
) -> None:
    source = read_nothing(tmp_path)
    sync = {"sync_id": SYNC, "syncs_dir": str(SHIPPED), **context()}
    target = steps.extract_target(source=source, **sync)
    assert target["rows"] == 0 and target["calls"] == {} and target["idle"].endswith("target not read")
    planned = steps.plan(source=source, target=target, **sync)
    assert read_frame(planned["path"]).empty and planned["idle"] == target["idle"]
    with pytest.raises(AirflowSkipException, match="nothing to check"):
        steps.check(source=source, target=target, planned=planned, **sync)

    summary = steps.report(source=source, target=target, applied=None, **sync)
    assert summary["nothing_changed"] == target["idle"]
    assert summary["api_calls"] == summary["ideal_api_calls"] == 2
    assert summary["updated"] == summary["failed"] == summary["read_target"] == 0
    recorded = store.runs(SYNC, 1)[0]
    assert recorded["status"] == "success" and recorded["summary"]["nothing_changed"] == target["idle"]
    # The new delta link is kept, as an apply would have kept it: one left unused expires.
    assert store.cursor(SYNC, "source") == "delta-2"


def test_an_idle_dry_run_keeps_the_cursor_where_it_was(store: StateStore, tmp_path: Path) -> None:
    store.save_cursor(SYNC, "source", "delta-1")
    source = read_nothing(tmp_path)
    sync = {"sync_id": SYNC, "syncs_dir": str(SHIPPED), **context(dry_run=True)}
    target = steps.extract_target(source=source, **sync)
    summary = steps.report(source=source, target=target, applied=None, **sync)
    assert summary["dry_run"] and "nothing_changed" in summary
    assert store.cursor(SYNC, "source") == "delta-1"
