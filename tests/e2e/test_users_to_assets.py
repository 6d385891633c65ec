"""Jira users → Assets Employee objects, through real Airflow DAG runs against a sandbox of 300 people."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from tests.e2e.harness import EndToEnd, end_to_end

from jirasync.syncs.assets_folders import initial
from sandbox.vendors.assets.seed import ATTRIBUTE_IDS, EMPLOYEE_TYPE_ID, FOLDER_TYPE_ID, ROOT_FOLDER_NAME

PEOPLE = 300
SYNC = "jira_to_assets_employees"  # the shipped definition: marks removed users Inactive, files A–Z
SUPPORT = "support_team_assets"  # scoped by the definition to a Jira group; ignores removed users
DELETING = "assets_delete_removed"  # deletes the objects of removed users
VARIANTS = {
    SUPPORT: {
        "delete_policy: clear": "delete_policy: ignore",
        "    mark_removed: {Status: Inactive}\n": "",
        "groups: []": "groups: [support-team]",
        "alphabetical: true": "alphabetical: false",
    },
    DELETING: {"delete_policy: clear": "delete_policy: delete", "    mark_removed: {Status: Inactive}\n": ""},
}

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EndToEnd]:
    with end_to_end(
        tmp_path_factory.mktemp("assets"), users=PEOPLE, seed=13, definitions=[f"{SYNC}.yaml"]
    ) as e2e:
        for sync_id, edits in VARIANTS.items():
            e2e.add_variant(f"{SYNC}.yaml", sync_id, edits)
        yield e2e


@pytest.fixture
def e2e(world: EndToEnd) -> EndToEnd:
    """The module's world as seeded, with no sync state: each test starts from nothing."""
    world.reset()
    return world


def jira_users(e2e: EndToEnd) -> dict[str, dict[str, Any]]:
    return {
        u["accountId"]: u for u in e2e.sandbox.records("jira", "users") if u["accountType"] == "atlassian"
    }


def objects(e2e: EndToEnd, type_id: str) -> list[dict[str, Any]]:
    """Objects of a type, their values by attribute name (references as the referenced object's id)."""
    names = {attribute_id: name for (owner, name), attribute_id in ATTRIBUTE_IDS.items() if owner == type_id}
    return [
        {"id": o["id"], "key": o["objectKey"], **{names[a]: v[0] for a, v in o["values"].items() if v}}
        for o in e2e.sandbox.records("assets", "objects")
        if o["objectTypeId"] == type_id
    ]


def employees(e2e: EndToEnd) -> dict[str, dict[str, Any]]:
    """Employee objects by the accountId in their Jira User attribute."""
    return {o["Jira User"]: o for o in objects(e2e, EMPLOYEE_TYPE_ID) if "Jira User" in o}


def assets_calls(e2e: EndToEnd, method: str, route: str) -> int:
    """Assets requests of the last run with ``method`` on a route ending in ``route`` (``/object/create``)."""
    return sum(
        count
        for endpoint, count in e2e.sandbox.counters().items()
        if endpoint.startswith(f"assets {method} ") and endpoint.endswith(route)
    )


def writes(e2e: EndToEnd) -> int:
    return sum(
        assets_calls(e2e, method, route)
        for method, route in (
            ("POST", "/object/create"),
            ("PUT", "/object/{objectId}"),
            ("DELETE", "/object/{objectId}"),
        )
    )


def test_first_run_links_or_creates_one_employee_per_user_and_a_second_run_writes_nothing(
    e2e: EndToEnd,
) -> None:
    users = jira_users(e2e)
    existing = set(employees(e2e)) & set(users)
    folders_before = len(objects(e2e, FOLDER_TYPE_ID))
    assert 0 < len(existing) < len(users)

    first = e2e.run(SYNC)

    linked = Counter(o["Jira User"] for o in objects(e2e, EMPLOYEE_TYPE_ID) if "Jira User" in o)
    assert set(linked) >= set(users) and max(linked.values()) == 1
    assert first["linked"] == len(existing)
    assert (
        first["created"]
        == len(users) - len(existing)
        == assets_calls(e2e, "POST", "/object/create") - (len(objects(e2e, FOLDER_TYPE_ID)) - folders_before)
    )
    for account_id, employee in employees(e2e).items():
        user = users[account_id]
        assert employee["Name"] == user["displayName"]
        assert employee["Status"] == ("Active" if user["active"] else "Inactive")
    # The ideal counts the reads, the records' writes (one call each: Assets has no bulk write) and
    # the A–Z folders new objects are filed in, made once each.
    assert len(objects(e2e, FOLDER_TYPE_ID)) > folders_before
    assert first["api_calls"] == first["ideal_api_calls"]

    second = e2e.run(SYNC)
    assert second["created"] == second["updated"] == second["linked"] == 0
    assert writes(e2e) == 0
    assert second["api_calls"] == second["ideal_api_calls"]


def test_new_objects_are_filed_in_a_to_z_folders_made_once_under_the_parent(e2e: EndToEnd) -> None:
    existing = set(employees(e2e))
    e2e.run(SYNC)
    folders = {f["id"]: f for f in objects(e2e, FOLDER_TYPE_ID)}
    root = next(f for f in folders.values() if f["Name"] == ROOT_FOLDER_NAME)
    letters = {f["Name"]: f["id"] for f in folders.values() if f.get("Parent") == root["id"]}
    assert len(letters) == len(folders) - 1  # every folder made is a letter under the root, once
    for account_id, employee in employees(e2e).items():
        if account_id not in existing:
            assert employee["Folder"] == letters[initial(employee["Name"])]

    renamed = sorted(jira_users(e2e))[0]
    e2e.sandbox.edit("jira", "users", renamed, displayName="Zoë Renamed")
    added = e2e.sandbox.mutate(
        "jira", "add_user", email="ada.newcomer@example.com", displayName="Ada Newcomer"
    )
    assert "A" in letters
    run = e2e.run(SYNC)
    assert run["created"] == run["updated"] == 1
    assert assets_calls(e2e, "POST", "/object/create") == 1  # the A folder is found by name, not made again
    assert assets_calls(e2e, "PUT", "/object/{objectId}") == 1
    assert run["api_calls"] == run["ideal_api_calls"]
    assert employees(e2e)[added["accountId"]]["Folder"] == letters["A"]
    assert employees(e2e)[renamed]["Name"] == "Zoë Renamed"


def test_a_run_narrowed_by_the_trigger_form_leaves_the_rest_alone(e2e: EndToEnd) -> None:
    users = jira_users(e2e)
    in_prefix = {a for a, u in users.items() if u["displayName"].casefold().startswith("a")}
    existing = set(employees(e2e))

    narrowed = e2e.run(SYNC, name_prefix="a")
    assert narrowed["read_source"] == len(in_prefix)
    assert narrowed["created"] == len(in_prefix - existing)
    assert set(employees(e2e)) == existing | in_prefix

    e2e.run(SYNC)
    support = e2e.sandbox.record("jira", "groups", "6c1a6e1c-0000-4000-8000-000000000003")["members"]
    # Out of scope is not removed: with delete_policy clear, a complete read would mark them all Inactive.
    for conf in ({"name_prefix": "a"}, {"groups": ["support-team"]}):
        run = e2e.run(SYNC, **conf)
        assert run["updated"] == 0 and writes(e2e) == 0, conf
    assert run["read_source"] == len(set(support) & set(users))
    assert e2e.calls("jira", "/group/member") >= 1


def test_a_scheduled_run_covers_the_scope_of_the_definition(e2e: EndToEnd) -> None:
    users = jira_users(e2e)
    support = set(e2e.sandbox.record("jira", "groups", "6c1a6e1c-0000-4000-8000-000000000003")["members"])
    existing = set(employees(e2e))
    run = e2e.run(SUPPORT)
    assert run["read_source"] == len(support & set(users))
    assert run["created"] == len((support & set(users)) - existing)
    assert set(employees(e2e)) == existing | (support & set(users))
    root = next(f for f in objects(e2e, FOLDER_TYPE_ID) if f["Name"] == ROOT_FOLDER_NAME)
    assert {employees(e2e)[a]["Folder"] for a in support - existing} == {root["id"]}  # not alphabetical


def test_removed_users_are_marked_inactive_once(e2e: EndToEnd) -> None:
    e2e.run(SYNC)
    active = sorted(a for a, u in jira_users(e2e).items() if u["active"])
    removed, deactivated = active[:2], active[2]
    for account_id in removed:
        e2e.sandbox.delete("jira", "users", account_id)
    e2e.sandbox.mutate("jira", "deactivate_user", accountId=deactivated)

    run = e2e.run(SYNC)
    assert run["updated"] == 3 == assets_calls(e2e, "PUT", "/object/{objectId}")
    for account_id in [*removed, deactivated]:
        assert employees(e2e)[account_id]["Status"] == "Inactive"

    again = e2e.run(SYNC)
    assert again["updated"] == 0 and writes(e2e) == 0


def test_removed_users_lose_their_object_or_keep_it_as_the_policy_says(e2e: EndToEnd) -> None:
    e2e.run(DELETING)
    support = set(e2e.sandbox.record("jira", "groups", "6c1a6e1c-0000-4000-8000-000000000003")["members"])
    e2e.run(SUPPORT)
    gone = sorted(support & set(jira_users(e2e)))[0]
    kept = employees(e2e)[gone]
    e2e.sandbox.delete("jira", "users", gone)

    ignoring = e2e.run(SUPPORT)  # its scope is a group: the run still knows who left Jira, and ignores them
    assert writes(e2e) == 0 and ignoring["updated"] == ignoring["deleted"] == 0
    assert employees(e2e)[gone] == kept

    deleting = e2e.run(DELETING)
    assert deleting["deleted"] == 1 == assets_calls(e2e, "DELETE", "/object/{objectId}")
    assert gone not in employees(e2e)


def test_the_circuit_breaker_stops_a_mass_delete_until_overridden(e2e: EndToEnd) -> None:
    e2e.run(DELETING)
    before = employees(e2e)
    gone = sorted(jira_users(e2e))[: PEOPLE // 5]
    for account_id in gone:
        e2e.sandbox.delete("jira", "users", account_id)

    with pytest.raises(AssertionError, match="check"):
        e2e.run(DELETING)
    assert employees(e2e) == before

    run = e2e.run(DELETING, override_circuit_breaker=True)
    assert run["deleted"] == len(gone)
    assert not set(gone) & set(employees(e2e))


def test_a_dry_run_writes_nothing_and_predicts_the_real_run(e2e: EndToEnd) -> None:
    before = e2e.sandbox.records("assets", "objects")
    dry = e2e.run(SYNC, dry_run=True)
    assert writes(e2e) == 0
    assert e2e.sandbox.records("assets", "objects") == before
    real = e2e.run(SYNC)
    assert (dry["created"], dry["updated"], dry["linked"]) == (
        real["created"],
        real["updated"],
        real["linked"],
    )
    assert real["created"] > 0


def test_a_mapped_attribute_the_object_type_lacks_fails_at_once_naming_the_nearest(e2e: EndToEnd) -> None:
    e2e.add_variant(f"{SYNC}.yaml", "assets_typo", {"target: Email}": "target: Emial}"})
    try:
        failed = e2e.run_failing("assets_typo")
    finally:
        (e2e.stack.syncs_dir / "assets_typo.yaml").unlink()
    [message] = failed.failures()
    assert "failed at step 'extract_target' (try 1," in message  # no retry: the definition must change
    assert "'Emial' is not an attribute of the Assets object type 'Employee' (nearest: Email)" in message
    assert "What to do: correct the attribute names in the definition" in message
    assert e2e.calls("assets", "object/create") == e2e.calls("assets", "PUT") == 0


def test_a_name_too_long_for_an_assets_text_attribute_is_cut_to_fit_once(e2e: EndToEnd) -> None:
    account_id = sorted(jira_users(e2e))[0]
    e2e.sandbox.edit("jira", "users", account_id, displayName="Ann " + "Long" * 100)  # 404 characters

    first = e2e.run(SYNC)
    name = employees(e2e)[account_id]["Name"]
    assert first["failed"] == 0 and len(name) == 255 and name.endswith("…")
    assert first["adjusted_values"] == [f"{account_id}: Name cut from 404 to 255 characters"]

    second = e2e.run(SYNC)  # the cut name is what Assets holds: nothing to write again
    assert second["updated"] == second["created"] == second["failed"] == 0
