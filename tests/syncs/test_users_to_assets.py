"""The users → Assets family without Airflow, against the sandbox: scope, refine, writes and reconcile."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from jirasync.connectors import VirtualClock
from jirasync.connectors.assets import AssetsConnector
from jirasync.connectors.jira import JiraConnector
from jirasync.engine.apply import WriteRecord
from jirasync.engine.definitions import load_definition
from jirasync.engine.plan import empty_change_set
from jirasync.engine.store import StateStore
from jirasync.local_stack import PROJECT_ROOT
from jirasync.syncs.assets_definition import assets_target
from jirasync.syncs.assets_folders import initial
from jirasync.syncs.assets_layout import LAYOUT_CURSOR
from jirasync.syncs.family import DefinitionMismatch, RunOptions, SyncRun
from jirasync.syncs.users_to_assets import FAMILY, ScopeError
from sandbox.testing import RunningSandbox
from sandbox.vendors.assets.seed import ATTRIBUTE_IDS, EMPLOYEE_TYPE_ID, FOLDER_TYPE_ID

DEFINITION = load_definition(PROJECT_ROOT / "include" / "syncs" / "jira_to_assets_employees.yaml")
JIRA_USER = ATTRIBUTE_IDS[(EMPLOYEE_TYPE_ID, "Jira User")]
FOLDER = ATTRIBUTE_IDS[(EMPLOYEE_TYPE_ID, "Folder")]


def sync_run(tmp_path: Path, **extra: object) -> SyncRun:
    store = StateStore(tmp_path / "state.db")
    return SyncRun(DEFINITION, RunOptions(extra=extra), store, "run-1", None)


def assets(sandbox: RunningSandbox) -> AssetsConnector:
    credentials = sandbox.credentials["assets"]
    workspace = sandbox.record("assets", "workspace", "workspace")["workspaceId"]
    return AssetsConnector.with_api_token(
        sandbox.url("/atlassian"),
        workspace,
        credentials["email"],
        credentials["api_token"],
        clock=VirtualClock(),
    )


def jira(sandbox: RunningSandbox) -> JiraConnector:
    credentials = sandbox.credentials["jira"]
    return JiraConnector.with_api_token(
        sandbox.url("/jira"), credentials["email"], credentials["api_token"], clock=VirtualClock()
    )


def without_object(sandbox: RunningSandbox) -> list[dict[str, object]]:
    """Active Jira users no Employee holds yet."""
    held = {v for o in sandbox.records("assets", "objects") for v in o["values"].get(JIRA_USER, [])}
    return [
        u
        for u in sandbox.records("jira", "users")
        if u["accountType"] == "atlassian" and u["active"] and u["accountId"] not in held
    ]


def create(user: dict[str, object]) -> WriteRecord:
    return WriteRecord(
        "create", str(user["accountId"]), str(user["accountId"]), None, {"Name": user["displayName"]}, {}
    )


def test_a_create_lost_in_a_crash_is_found_by_its_jira_user_and_not_made_again(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    run = sync_run(tmp_path)
    connector = assets(fresh_sandbox)
    FAMILY.read_target(run, connector, None)  # type: ignore[arg-type]  # the source is not read
    made, never = without_object(fresh_sandbox)[:2]
    writer = FAMILY.writer(run, connector, pd.DataFrame())
    (outcome,) = writer.write("create", "to_target", [create(made)])
    assert outcome.ok

    fresh_sandbox.clear_counters()
    assert writer.reconcile([create(made), create(never)]) == [outcome.record_id, None]
    assert fresh_sandbox.counters() == {"assets POST /jsm/assets/workspace/{workspaceId}/v1/object/aql": 1}
    assert writer.lookup_calls(2) == 1


def test_new_objects_go_in_their_letter_folder_which_is_made_once(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    run = sync_run(tmp_path)
    connector = assets(fresh_sandbox)
    FAMILY.read_target(run, connector, None)  # type: ignore[arg-type]
    by_letter = Counter(initial(str(u["displayName"])) for u in without_object(fresh_sandbox))
    letter = by_letter.most_common(1)[0][0]
    first, second, third = [
        u for u in without_object(fresh_sandbox) if initial(str(u["displayName"])) == letter
    ][:3]
    folders_before = folders(fresh_sandbox)

    outcomes = FAMILY.writer(run, connector, pd.DataFrame()).write(
        "create", "to_target", [create(first), create(second)]
    )

    (made,) = [f for f in folders(fresh_sandbox) if f not in folders_before]
    filed_in = {fresh_sandbox.record("assets", "objects", o.record_id)["values"][FOLDER][0] for o in outcomes}
    assert filed_in == {made["id"]}
    # Kept for a retried apply, so the next writer finds it instead of making a second one.
    assert json.loads(run.store.cursor(DEFINITION.id, LAYOUT_CURSOR))["folder"]["letters"] == {
        letter: made["objectKey"]
    }
    (again,) = FAMILY.writer(run, connector, pd.DataFrame()).write("create", "to_target", [create(third)])
    assert len(folders(fresh_sandbox)) == len(folders_before) + 1
    assert fresh_sandbox.record("assets", "objects", again.record_id)["values"][FOLDER] == [made["id"]]


def test_a_folder_made_by_a_create_whose_answer_was_lost_is_found_not_made_again(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    run = sync_run(tmp_path)
    connector = assets(fresh_sandbox)
    FAMILY.read_target(run, connector, None)  # type: ignore[arg-type]
    user = without_object(fresh_sandbox)[0]
    folders_before = folders(fresh_sandbox)
    # The folder's create is the first; Assets makes it, and the connection drops before the answer.
    fresh_sandbox.add_fault("assets", "drop_after_apply", route="/jsm/assets/", method="POST", count=1)

    (outcome,) = FAMILY.writer(run, connector, pd.DataFrame()).write("create", "to_target", [create(user)])

    (made,) = [f for f in folders(fresh_sandbox) if f not in folders_before]
    assert outcome.ok
    assert fresh_sandbox.record("assets", "objects", outcome.record_id)["values"][FOLDER] == [made["id"]]


def folders(sandbox: RunningSandbox) -> list[dict[str, object]]:
    return [o for o in sandbox.records("assets", "objects") if o["objectTypeId"] == FOLDER_TYPE_ID]


@pytest.mark.parametrize(
    ("name", "letter"), [("ada", "A"), ("Émile", "E"), (" zoë", "Z"), ("Øyvind", "#"), ("", "#"), ("42", "#")]
)
def test_the_initial_of_a_name_is_its_first_letter_without_accents(name: str, letter: str) -> None:
    assert initial(name) == letter


def test_clear_marks_removed_users_inactive_and_leaves_marked_ones_alone(tmp_path: Path) -> None:
    rows = [
        ("clear", "gone", "a", "1", "Name", '"Ann"', "null", "to_target", "source record a no longer exists"),
        (
            "clear",
            "gone",
            "a",
            "1",
            "Status",
            '"Active"',
            "null",
            "to_target",
            "source record a no longer exists",
        ),
        (
            "clear",
            "marked",
            "b",
            "2",
            "Name",
            '"Bo"',
            "null",
            "to_target",
            "source record b no longer exists",
        ),
        (
            "clear",
            "marked",
            "b",
            "2",
            "Status",
            '"Inactive"',
            "null",
            "to_target",
            "source record b no longer exists",
        ),
        ("update", "kept", "c", "3", "Name", '"C"', '"Cy"', "to_target", None),
    ]
    changes = pd.DataFrame(rows, columns=empty_change_set().columns).astype("string")

    refined = FAMILY.refine(sync_run(tmp_path), changes)

    assert refined[["kind", "key", "field", "before", "after"]].values.tolist() == [
        ["update", "kept", "Name", '"C"', '"Cy"'],
        ["update", "gone", "Status", '"Active"', '"Inactive"'],
    ]
    assert "marked Status Inactive" in refined["reason"].iloc[1]
    assert assets_target(DEFINITION).mark_removed == {"Status": "Inactive"}


def test_a_scope_naming_an_unknown_group_says_which_groups_exist(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    run = sync_run(tmp_path, groups=["support-team", "no-such-team"])
    with pytest.raises(ScopeError, match="no-such-team") as raised:
        FAMILY.read_source(run, jira(fresh_sandbox))
    assert "support-team" in raised.value.action and "jira-software-users" in raised.value.action


def test_a_mapped_attribute_the_object_type_lacks_is_refused_with_the_nearest_it_has(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    text = (PROJECT_ROOT / "include" / "syncs" / "jira_to_assets_employees.yaml").read_text()
    (tmp_path / "typo.yaml").write_text(text.replace("target: Email}", "target: Emial}"))
    typo = load_definition(tmp_path / "typo.yaml")
    run = SyncRun(typo, RunOptions(), StateStore(tmp_path / "state.db"), "run-1", None)
    with pytest.raises(DefinitionMismatch) as raised:
        FAMILY.read_target(run, assets(fresh_sandbox), None)  # type: ignore[arg-type]  # the source is not read
    assert str(raised.value) == (
        "sync 'typo': 'Emial' is not an attribute of the Assets object type 'Employee' (nearest: Email)"
    )
    assert raised.value.action.startswith("correct the attribute names in the definition (fields[].target")
