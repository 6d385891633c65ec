"""The gate: each failing expectation is reported with counts and examples; the breaker trips."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from jirasync.engine.checks import GateFailed, check_run
from jirasync.engine.definitions import SyncDefinition, load_definition
from jirasync.engine.frames import source_frame, target_frame
from jirasync.engine.plan import empty_base, empty_links, plan_changes

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def sync() -> SyncDefinition:
    return load_definition(FIXTURES / "entra_to_jira.yaml")


def users(count: int, department: str = "Eng") -> list[dict[str, object]]:
    return [{"id": f"u{n}", "mail": f"user{n}@example.com", "department": department} for n in range(count)]


def linked(sync: SyncDefinition, count: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    target = target_frame(
        sync,
        [{"id": f"t{n}", "emailAddress": f"user{n}@example.com", "department": "Eng"} for n in range(count)],
    )
    links = pd.DataFrame(
        {"source_id": [f"u{n}" for n in range(count)], "target_id": target["_id"], "key": target["_key"]}
    ).assign(origin="auto")
    return target, links.astype("string")


def test_clean_frames_pass(sync: SyncDefinition) -> None:
    source = source_frame(sync, users(30))
    target, links = linked(sync, 30)
    changes = plan_changes(sync, source, target, links, empty_base())
    result = check_run(sync, source, target, changes)
    assert result.passed and result.failures == []
    result.enforce()


def test_missing_duplicate_and_malformed_keys_are_each_reported(sync: SyncDefinition) -> None:
    records = [
        *users(3),
        {"id": "dup", "mail": "USER1@example.com"},
        {"id": "nokey", "mail": " "},
        {"id": "bad", "mail": "not-an-email"},
    ]
    source = source_frame(sync, records)
    target = target_frame(sync, [])
    result = check_run(sync, source, target, plan_changes(sync, source, target, empty_links(), empty_base()))
    by_type = {failure.expectation: failure for failure in result.failures}
    assert set(by_type) == {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_unique",
        "expect_column_values_to_match_regex",
    }
    assert by_type["expect_column_values_to_not_be_null"].count == 1
    assert by_type["expect_column_values_to_not_be_null"].examples == ["nokey (no key)"]
    assert by_type["expect_column_values_to_be_unique"].count == 2
    assert sorted(by_type["expect_column_values_to_be_unique"].examples) == [
        "dup (user1@example.com)",
        "u1 (user1@example.com)",
    ]
    assert by_type["expect_column_values_to_match_regex"].examples == ["bad (not-an-email)"]
    assert all(failure.frame == "source" for failure in result.failures)
    assert not result.passed


def test_a_few_bad_keys_are_skipped_by_the_plan_and_reported_while_the_rest_goes_on(
    sync: SyncDefinition,
) -> None:
    records = [
        *users(97),
        {"id": "dup", "mail": "User1@Example.com"},
        {"id": "nokey"},
        {"id": "bad", "mail": "not-an-email"},
    ]
    source = source_frame(sync, records)
    target = target_frame(sync, [])
    changes = plan_changes(sync, source, target, empty_links(), empty_base())
    result = check_run(sync, source, target, changes)
    assert result.passed and result.failures == []
    assert {skipped.expectation: skipped.count for skipped in result.skipped} == {
        "expect_column_values_to_not_be_null": 1,
        "expect_column_values_to_be_unique": 2,
        "expect_column_values_to_match_regex": 1,
    }
    skipped = changes[changes["kind"] == "skip"]
    assert set(skipped["source_id"]) == {"dup", "u1", "nokey", "bad"}
    assert "not an email address" in skipped.set_index("source_id").loc["bad", "reason"]
    assert set(changes.loc[changes["kind"] == "create", "source_id"]) == {f"u{n}" for n in range(97)} - {"u1"}


def test_bad_keys_past_the_tolerated_share_stop_the_run(sync: SyncDefinition) -> None:
    strict = sync.model_copy(
        update={"circuit_breaker": sync.circuit_breaker.model_copy(update={"max_bad_key_share": 0.01})}
    )
    source = source_frame(strict, [*users(97), {"id": "n1"}, {"id": "n2"}, {"id": "n3"}])
    target = target_frame(strict, [])
    result = check_run(
        strict, source, target, plan_changes(strict, source, target, empty_links(), empty_base())
    )
    [failure] = result.failures
    assert failure.expectation == "expect_column_values_to_not_be_null" and failure.count == 3
    assert not result.passed


def test_the_breaker_trips_on_mass_updates_and_names_the_share(sync: SyncDefinition) -> None:
    source = source_frame(sync, users(40, department="Sales"))
    target, links = linked(sync, 40)
    changes = plan_changes(sync, source, target, links, empty_base())
    result = check_run(sync, source, target, changes)
    [failure] = result.failures
    assert failure.expectation == "expect_column_pair_values_a_to_be_greater_than_b"
    assert failure.count == 40
    assert "update share (100% of 40 targets, limit 30%)" in failure.column
    assert len(failure.examples) == 5 and set(failure.examples) <= set(target["_id"])
    with pytest.raises(GateFailed, match="sync 'entra_to_jira': the gate stopped the run") as raised:
        result.enforce()
    assert "40" in str(raised.value) and "override" in str(raised.value)


def test_the_breaker_measures_an_incremental_read_against_every_linked_target(sync: SyncDefinition) -> None:
    source = source_frame(sync, users(40, department="Sales"))
    target, links = linked(sync, 40)
    changes = plan_changes(sync, source, target, links, empty_base())
    # The 40 records read are what changed since the last run, of 1,000 the sync keeps linked.
    assert check_run(sync, source, target, changes, linked=1000).passed
    assert not check_run(sync, source, target, changes, linked=100).passed


def test_the_breaker_ignores_updates_that_fill_empty_target_fields(sync: SyncDefinition) -> None:
    source = source_frame(sync, users(40, department="Sales"))
    target, links = linked(sync, 40)
    empty_target = target.assign(department=pd.Series([None] * 40, dtype="string"))
    changes = plan_changes(sync, source, empty_target, links, empty_base())
    assert (changes["kind"] == "update").sum() == 40
    assert check_run(sync, source, empty_target, changes).passed


def test_the_breaker_trips_on_deletes(sync: SyncDefinition) -> None:
    source = source_frame(sync, users(25))
    target, links = linked(sync, 40)
    changes = plan_changes(
        sync.model_copy(update={"delete_policy": "delete"}), source, target, links, empty_base()
    )
    [failure] = check_run(sync, source, target, changes).failures
    assert failure.column.startswith("delete share (38% of 40 targets, limit 10%)")
    assert failure.count == 15


def test_the_breaker_stays_quiet_below_its_limit_and_on_small_targets(sync: SyncDefinition) -> None:
    source = source_frame(sync, [*users(39), {"id": "u39", "mail": "user39@example.com", "department": "X"}])
    target, links = linked(sync, 40)
    assert check_run(sync, source, target, plan_changes(sync, source, target, links, empty_base())).passed
    small_source = source_frame(sync, users(5, department="Sales"))
    small_target, small_links = linked(sync, 5)
    changes = plan_changes(sync, small_source, small_target, small_links, empty_base())
    assert check_run(sync, small_source, small_target, changes).passed


def test_an_override_lets_a_failed_gate_pass_but_keeps_the_failures(sync: SyncDefinition) -> None:
    source = source_frame(sync, users(40, department="Sales"))
    target, links = linked(sync, 40)
    changes = plan_changes(sync, source, target, links, empty_base())
    result = check_run(sync, source, target, changes, override=True)
    assert result.passed and len(result.failures) == 1
    result.enforce()


def test_the_gate_logs_no_noise_of_great_expectations_at_info() -> None:
    """The import of Great Expectations happens once per process: look at a fresh one's log."""
    code = (
        "import logging, sys; logging.basicConfig(level=logging.INFO, stream=sys.stdout)\n"
        "from pathlib import Path\n"
        "from jirasync.engine.checks import check_run\n"
        "from jirasync.engine.definitions import load_definition\n"
        "from jirasync.engine.frames import source_frame, target_frame\n"
        "from jirasync.engine.plan import empty_base, empty_links, plan_changes\n"
        f"sync = load_definition({str(FIXTURES / 'entra_to_jira.yaml')!r})\n"
        "source = source_frame(sync, [{'id': 'u1', 'mail': 'a@example.com'}])\n"
        "target = target_frame(sync, [])\n"
        "print(check_run(sync, source, target, plan_changes(sync, source, target, empty_links(), empty_base())).passed)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().endswith("True")
    assert "Skipping registering function" not in result.stdout + result.stderr


def test_an_empty_plan_passes_without_loading_great_expectations() -> None:
    """A run that changes nothing (most scheduled runs) spends no seconds importing the gate."""
    code = (
        "import sys\n"
        "from jirasync.engine.checks import check_run\n"
        "from jirasync.engine.definitions import load_definition\n"
        "from jirasync.engine.frames import source_frame, target_frame\n"
        "from jirasync.engine.plan import empty_change_set\n"
        f"sync = load_definition({str(FIXTURES / 'entra_to_jira.yaml')!r})\n"
        "frame = source_frame(sync, [])\n"
        "print(check_run(sync, frame, target_frame(sync, []), empty_change_set()).passed)\n"
        "print('great_expectations' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["True", "False"]
