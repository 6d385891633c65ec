"""The users → Assets parse-time check: a definition it cannot run is refused, naming the field and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.project.test_dags import parse_dag_folder

from jirasync.engine.definitions import DefinitionError, SyncDefinition, load_definition
from jirasync.local_stack import PROJECT_ROOT
from jirasync.syncs.assets_definition import check_assets_definition

SHIPPED = PROJECT_ROOT / "include" / "syncs" / "jira_to_assets_employees.yaml"
NAME_MAPPING = "  - {source: displayName, target: Name}\n"


def edited(tmp_path: Path, old: str, new: str) -> SyncDefinition:
    text = SHIPPED.read_text()
    assert old in text
    path = tmp_path / SHIPPED.name
    path.write_text(text.replace(old, new))
    return load_definition(path)


def refusal(definition: SyncDefinition) -> DefinitionError:
    with pytest.raises(DefinitionError) as raised:
        check_assets_definition(definition, "employees.yaml")
    return raised.value


def test_the_shipped_definition_is_accepted() -> None:
    check_assets_definition(load_definition(SHIPPED), str(SHIPPED))


def test_a_definition_without_the_name_mapping_is_refused_naming_the_field_and_the_fix(
    tmp_path: Path,
) -> None:
    error = refusal(edited(tmp_path, NAME_MAPPING, ""))
    assert error.field == "fields"
    assert "'Name'" in error.problem
    assert "{source: displayName, target: Name}" in error.fix


def test_airflow_shows_the_refusal_as_an_import_error(tmp_path: Path) -> None:
    syncs = tmp_path / "syncs"
    syncs.mkdir()
    (syncs / SHIPPED.name).write_text(SHIPPED.read_text().replace(NAME_MAPPING, ""))
    errors = parse_dag_folder(syncs, tmp_path)["import_errors"]
    (message,) = [text for path, text in errors.items() if path.endswith("definition_errors.py")]
    assert "field 'fields'" in message and "target: Name" in message


@pytest.mark.parametrize(
    ("old", "new", "field", "fix"),
    [
        ("delete_policy: clear", "delete_policy: unlink", "delete_policy", "mark the object inactive"),
        ("    mark_removed: {Status: Inactive}\n", "", "target.options.mark_removed", "Status: Inactive"),
        ("mark_removed: {Status: Inactive}", "mark_removed: {Department: Gone}", "target.options.mark_removed.Department", "map it"),
        ("source: emailAddress", "source: mail", "fields[1].source", "emailAddress"),
        ("normalise: none", "normalise: email", "key", "normalise: none"),
        ("groups: []", "groups: support-team", "scope.groups", "groups: [jira-software-users]"),
        ("{attribute: Folder, parent: Employees, alphabetical: true}", "{attribute: Folder}", "target.options.folder.parent", "parent: Employees"),
    ],
)  # fmt: skip
def test_what_the_family_cannot_do_is_refused(
    tmp_path: Path, old: str, new: str, field: str, fix: str
) -> None:
    error = refusal(edited(tmp_path, old, new))
    assert error.field == field
    assert fix in error.fix


def test_every_problem_of_a_file_is_listed_at_once(tmp_path: Path) -> None:
    definition = edited(tmp_path, NAME_MAPPING + "  - {source: emailAddress", "  - {source: mail")
    error = refusal(definition)
    assert [error.field, *(more.field for more in error.more)] == ["fields", "fields[0].source"]
    assert "field 'fields[0].source'" in str(error)
