"""Sync definitions: valid files load; bad ones name the file, the field and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from jirasync.engine.definitions import DefinitionError, load_definition, read_definitions

FIXTURE = Path(__file__).parent / "fixtures" / "entra_to_jira.yaml"


def write(tmp_path: Path, change: str, name: str = "sync.yaml") -> Path:
    document = yaml.safe_load(FIXTURE.read_text())
    document.update(yaml.safe_load(change))
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document))
    return path


def test_a_valid_definition_loads_with_its_id_from_the_file_name() -> None:
    sync = load_definition(FIXTURE)
    assert sync.id == "entra_to_jira"
    assert sync.target.conn_id == "jira_default"
    assert sync.mapping("phone").owner == "both"
    assert sync.mapping("groups").set is True
    assert sync.mapping("title").transform[0].name == "strip"
    assert (sync.delete_policy, sync.conflict_policy, sync.circuit_breaker.max_update_share) == (
        "clear",
        "hold",
        0.3,
    )


@pytest.mark.parametrize(
    ("change", "field", "fix"),
    [
        (
            "fields: [{source: a, target: b, owner: nobody}]",
            "fields[0].owner",
            "use one of 'source', 'target' or 'both'",
        ),
        ("delet_policy: delete", "delet_policy", "did you mean 'delete_policy'?"),
        (
            "conflict_policy: newest",
            "conflict_policy",
            "use one of 'source_wins', 'target_wins', 'newest_wins'",
        ),
        (
            "fields: [{source: a, target: b, transform: [lowr]}]",
            "fields[0].transform[0]",
            "use one of: date, default",
        ),
        (
            "fields: [{source: a, target: b, transform: [{split: {sep: ','}}]}]",
            "fields[0].transform[0]",
            "separator",
        ),
        ("fields: [{source: a, target: _b}]", "fields[0].target", "rename it, e.g. 'b'"),
        (
            "fields: [{source: a, target: b}, {source: c, target: b}]",
            "fields",
            "keep one mapping per target field",
        ),
        ("fields: []", "fields", "list at least one mapping"),
        ("key: {source_field: mail}", "key.target_field", "add 'key.target_field'"),
        (
            "circuit_breaker: {max_update_share: 2}",
            "circuit_breaker.max_update_share",
            "less than or equal to 1",
        ),
        ("batch_size: 0", "batch_size", "make it greater than 0"),
        ("id: 'a b'", "id", "use only letters, digits"),
        ("deadline: half an hour", "deadline", "e.g. deadline: 30m, 2h or 1h30m"),
        ("deadline: 0m", "deadline", "give a run some time"),
        ("shards: 33", "shards", "less than or equal to 32"),
    ],
)
def test_errors_name_the_file_the_field_and_the_fix(
    tmp_path: Path, change: str, field: str, fix: str
) -> None:
    path = write(tmp_path, change)
    with pytest.raises(DefinitionError) as raised:
        load_definition(path)
    assert raised.value.path == str(path)
    assert raised.value.field == field
    assert fix in raised.value.fix
    assert str(raised.value).startswith(f"{path}: field '{field}': ")


@pytest.mark.parametrize(
    ("written", "seconds"), [("30m", 1800), ("1h30m", 5400), ("45s", 45), ("1d 2h", 93600)]
)
def test_a_deadline_is_a_duration_in_days_hours_minutes_and_seconds(
    tmp_path: Path, written: str, seconds: int
) -> None:
    assert load_definition(write(tmp_path, f"deadline: {written}")).deadline.total_seconds() == seconds


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("family: users_to_contacts\nsource: [unclosed\n")
    with pytest.raises(DefinitionError, match=r"broken.yaml: field '\(file\)': not valid YAML at line 3"):
        load_definition(path)


def test_a_folder_loads_sorted_and_refuses_the_later_of_two_files_with_one_id(tmp_path: Path) -> None:
    write(tmp_path, "enabled: false", "b.yaml")
    write(tmp_path, "id: a", "zz.yaml")
    assert [sync.id for sync in read_definitions(tmp_path).definitions] == ["a", "b"]
    write(tmp_path, "id: a", "c.yaml")
    found = read_definitions(tmp_path)
    assert [sync.id for sync in found.definitions] == ["a", "b"]
    [error] = found.errors
    assert error.path == str(tmp_path / "zz.yaml") and "give each sync a unique id" in str(error)


def test_a_broken_file_is_an_error_of_its_own_listing_every_problem(tmp_path: Path) -> None:
    write(tmp_path, "enabled: false", "good.yaml")
    broken = write(tmp_path, "delete_policy: wipe\nschedul: '@daily'", "broken.yaml")
    found = read_definitions(tmp_path)
    assert [sync.id for sync in found.definitions] == ["good"]
    [error] = found.errors
    assert error.path == str(broken)
    assert {error.field, *(more.field for more in error.more)} == {"delete_policy", "schedul"}
    assert "did you mean 'schedule'?" in str(error) and "use one of" in str(error)


def test_a_mode_gives_its_owner_to_mappings_that_name_none(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "{mode: two_way, fields: [{source: mail, target: email}, {source: title, target: title, owner: source}]}",
    )
    sync = load_definition(path)
    assert (sync.mapping("email").owner, sync.mapping("title").owner) == ("both", "source")
    custom = load_definition(write(tmp_path, "{mode: custom, fields: [{source: mail, target: email}]}"))
    assert custom.mapping("email").owner == "source"


def test_a_records_to_issues_sync_keeps_its_apply_in_one_task(tmp_path: Path) -> None:
    """Its comments and attachments follow the links the whole apply wrote: shards would split them."""
    shipped = Path(__file__).parents[2] / "include" / "syncs" / "zoho_deals_to_jira.yaml"
    path = tmp_path / "zoho_deals_to_jira.yaml"
    path.write_text(shipped.read_text() + "\nshards: 2\n")
    with pytest.raises(DefinitionError) as raised:
        load_definition(path)
    assert "splits the apply of a records ↔ issues sync" in str(raised.value)
    assert raised.value.fix == "leave shards out (1) for this sync"
    assert load_definition(write(tmp_path, "shards: 4")).shards == 4
