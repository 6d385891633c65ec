"""`jirasync links` and `jirasync ledger`: a sync's state, from a state store a real sync filled."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import SANDBOX_SEED, SANDBOX_USERS
from tests.project.cli_runs import jirasync, sync_once

from jirasync.engine.store import StateStore
from sandbox.testing import RunningSandbox

SYNC = "jira_to_zoho_contacts"


@pytest.fixture(scope="module")
def state(sandbox: RunningSandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A state store after one real run of the sync on the seeded sandbox."""
    sandbox.seed(SANDBOX_SEED, SANDBOX_USERS)
    path = tmp_path_factory.mktemp("state") / "state.db"
    sync_once(SYNC, path, sandbox, run_id="run-1")
    yield path


def show(state: Path, *args: str) -> tuple[int, str, str]:
    result = jirasync(*args, "--state", str(state), home=state.parent)
    return result.returncode, result.stdout, result.stderr


def test_links_lists_each_link_of_the_sync(state: Path) -> None:
    store = StateStore(state)
    links = store.links(SYNC)
    store.close()
    code, out, _ = show(state, "links", SYNC, "--limit", "1000")
    assert code == 0
    lines = out.splitlines()
    assert lines[-1] == f"{len(links)} link(s) of {SYNC}"
    first = links.sort_values("key").iloc[0]
    assert lines[0] == f"{first.key}  source {first.source_id} = target {first.target_id}  (auto)"
    assert len(lines) == len(links) + 1


def test_links_search_finds_a_record_by_any_part_of_its_key_or_ids_whatever_the_case(state: Path) -> None:
    store = StateStore(state)
    link = store.links(SYNC).sort_values("key").iloc[-1]
    store.close()
    code, out, _ = show(state, "links", SYNC, "--search", link.key.upper())
    assert code == 0
    assert out.splitlines() == [
        f"{link.key}  source {link.source_id} = target {link.target_id}  (auto)",
        f"1 link(s) of {SYNC} matching {link.key.upper()!r}",
    ]
    code, out, _ = show(state, "links", SYNC, "--search", link.target_id)
    assert f"= target {link.target_id}" in out


def test_ledger_shows_the_latest_run_change_by_change(state: Path) -> None:
    store = StateStore(state)
    ledger = store.ledger("run-1")
    store.close()
    code, out, _ = show(state, "ledger", SYNC, "--limit", "100000")
    assert code == 0
    lines = out.splitlines()
    assert re.fullmatch(rf"run run-1 of {SYNC}: success, started \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d", lines[0])
    assert lines[-1] == f"{len(ledger)} change(s) recorded"
    created = ledger[(ledger["kind"] == "create") & (ledger["field"] == "Last_Name")].iloc[0]
    assert f"  ok       create {created.key} Last_Name: null → {created.after}" in lines


def test_ledger_of_a_run_that_is_not_the_syncs_lists_its_runs(state: Path) -> None:
    code, out, err = show(state, "ledger", SYNC, "--run", "run-0")
    assert code == 1 and out == ""
    assert f"jirasync ledger: sync '{SYNC}' has no run 'run-0'; runs: ['run-1']" in err


def test_a_limit_shows_the_first_changes_and_says_how_many_more(state: Path) -> None:
    code, out, _ = show(state, "ledger", SYNC, "--run", "run-1", "--limit", "3")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 1 + 3 + 1
    assert re.fullmatch(r"\d+ change\(s\) recorded, \d+ more not shown \(--limit\)", lines[-1])
