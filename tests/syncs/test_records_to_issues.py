"""Records ↔ issues: the definition check, the conditional rule, and the writer's crash safety on the sandbox."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.syncs.test_users_to_contacts import crm, jira

from jirasync.engine.apply import WriteRecord
from jirasync.engine.definitions import DefinitionError, load_definition
from jirasync.engine.store import StateStore
from jirasync.syncs.family import RunOptions, SyncRun
from jirasync.syncs.issues_writer import grouped
from jirasync.syncs.records_definition import Condition, StatusMap, check_records_definition, record_id_in
from jirasync.syncs.records_to_issues import RecordsToIssues
from sandbox.testing import RunningSandbox

SYNCS = Path(__file__).resolve().parents[2] / "include" / "syncs"
SHIPPED = ["zoho_deals_to_jira.yaml", "salesforce_cases_to_jira.yaml"]


def variant(tmp_path: Path, edits: dict[str, str], shipped: str = SHIPPED[0]) -> Path:
    text = (SYNCS / shipped).read_text()
    for old, new in edits.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / shipped
    path.write_text(text)
    return path


def refusal(path: Path) -> DefinitionError:
    with pytest.raises(DefinitionError) as refused:
        check_records_definition(load_definition(path), str(path))
    return refused.value


@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_definitions_pass_the_family_check(name: str) -> None:
    check_records_definition(load_definition(SYNCS / name), name)


def test_a_rule_without_its_status_mapping_is_refused(tmp_path: Path) -> None:
    error = refusal(variant(tmp_path, {"  - {source: status_rule, target: status, owner: source}\n": ""}))
    assert error.field == "fields" and "status_rule" in error.fix


def test_a_related_records_field_cannot_be_written_back(tmp_path: Path) -> None:
    error = refusal(variant(tmp_path, {"{source: Account_Name.name, target: customfield_10105, owner: source}": (
        "{source: Account_Name.name, target: customfield_10105}"
    )}))  # fmt: skip
    assert error.field == "fields[4].owner" and error.fix == "set owner: source"


def test_a_connected_item_needs_a_mode_and_a_project(tmp_path: Path) -> None:
    assert refusal(variant(tmp_path, {"mode: two_way\n": ""})).field == "mode"
    assert refusal(variant(tmp_path, {"    project: SUP\n": ""})).field == "target.options.project"


def test_every_problem_of_a_connected_item_is_listed_at_once(tmp_path: Path) -> None:
    error = refusal(variant(tmp_path, {"mode: two_way\n": "", "    project: SUP\n": ""}))
    assert [error.field, *(more.field for more in error.more)] == ["target.options.project", "mode"]


@pytest.mark.parametrize(
    ("operator", "value", "actual", "met"),
    [
        ("equals", "Proposal", "proposal", True),
        ("not_equals", "Proposal", "Closed Won", True),
        ("in", ["Proposal", "Negotiation"], "Negotiation", True),
        ("contains", "renewal", "Acme Renewal 1234", True),
        ("greater_than", 50000, 75000.0, True),
        ("greater_than", 50000, "9000", False),  # numeric text compares as a number
        ("less_than", "2025-06-01", "2025-05-31", True),  # ISO dates compare as text, in order
        ("empty", None, "", True),
        ("not_empty", None, None, False),
        ("equals", "Proposal", None, False),
    ],
)
def test_a_condition_compares_numbers_as_numbers_and_text_without_case(
    operator: str, value: object, actual: object, met: bool
) -> None:
    assert Condition(field="Stage", operator=operator, value=value).met(actual) is met


def test_a_record_is_found_by_its_id_or_its_url() -> None:
    assert record_id_in("4150868000001234567") == "4150868000001234567"
    assert (
        record_id_in("https://crm.zoho.com/crm/tab/Potentials/4150868000001234567") == "4150868000001234567"
    )
    assert record_id_in("  ") is None


def test_a_picklist_value_the_crm_lacks_stops_the_first_run_with_a_suggestion(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    definition = load_definition(variant(tmp_path, {"[Proposal, Negotiation]": "[Proposal, Negotation]"}))
    store = StateStore(tmp_path / "state.db")
    run = SyncRun(definition, RunOptions(), store, "run", None, connect=lambda _: jira(fresh_sandbox))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "'Negotation' is not a value of the picklist Deals.Stage; did you mean 'Negotiation'"
        ),
    ):
        RecordsToIssues().read_source(run, crm(fresh_sandbox, "zoho_crm"))


def test_an_interrupted_create_is_found_by_its_property_not_made_twice(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    definition = load_definition(SYNCS / SHIPPED[0])
    run = SyncRun(definition, RunOptions(), StateStore(tmp_path / "state.db"), "run", None)
    writer = RecordsToIssues().writer(
        SyncRun(
            definition, RunOptions(), run.store, "run", None, connect=lambda _: crm(fresh_sandbox, "zoho_crm")
        ),
        jira(fresh_sandbox),
        None,
    )
    made = WriteRecord("create", "D1", "D1", None, {"summary": "Deal one"}, {})
    never = WriteRecord("create", "D2", "D2", None, {"summary": "Deal two"}, {})
    [created] = writer.write("create", "to_target", [made])
    assert created.ok
    fresh_sandbox.clear_counters()
    assert writer.reconcile([made, never]) == [created.record_id, None]
    assert sum(fresh_sandbox.counters().values()) == writer.lookup_calls(2) == 1


def test_a_status_map_goes_both_ways_through_its_first_crm_value() -> None:
    stages = StatusMap(
        field="Stage", values={"Qualification": "To Do", "Needs Analysis": "To Do", "Closed Won": "Done"}
    )
    assert (stages.jira_status("Needs Analysis"), stages.jira_status("Closed Lost")) == ("To Do", None)
    assert (stages.crm_value("to do"), stages.crm_value("In Progress")) == ("Qualification", None)


def test_a_status_map_without_its_mapping_is_refused(tmp_path: Path) -> None:
    path = variant(
        tmp_path,
        {
            "  auto_create: true\n": "  auto_create: true\n  status_map: {field: Stage, values: {Proposal: In Progress}}\n"
        },
    )
    error = refusal(path)
    assert error.field == "fields" and "status_map" in error.fix


def test_display_mode_refuses_what_writes(tmp_path: Path) -> None:
    error = refusal(variant(tmp_path, {"mode: two_way": "mode: display"}))
    assert error.field == "mode" and "auto_create" in error.fix


def test_associated_records_are_read_only_and_grouped_by_relationship(tmp_path: Path) -> None:
    path = variant(
        tmp_path,
        {"target: associated.Owner.email, owner: source}": "target: associated.email, owner: source}"},
    )
    assert refusal(path).fix == "write the target as e.g. associated.Account.name, with owner: source"
    flat = {"associated.Owner.name": "Ada", "associated.Owner.email": "ada@x.example", "summary": "S"}
    assert grouped(flat) == {"Owner": {"name": "Ada", "email": "ada@x.example"}}
    rows = '[{"Amount": 10.0, "Stage": "Proposal"}]'  # a related list travels as its JSON text
    assert grouped({**flat, "associated.Stage_History": rows})["Stage_History"] == [
        {"Amount": 10.0, "Stage": "Proposal"}
    ]


def problems(error: DefinitionError) -> dict[str, str]:
    """Each problem's field and sentence."""
    return {e.field: e.problem for e in (error, *error.more)}


def fixes(error: DefinitionError) -> dict[str, str]:
    return {e.field: e.fix for e in (error, *error.more)}


def test_a_related_list_the_module_lacks_is_refused_naming_the_nearest(tmp_path: Path) -> None:
    error = refusal(
        variant(
            tmp_path,
            {
                "{name: Stage_History,": "{name: Stage_Histroy,",
                "{source: Stage_History, target: associated.Stage_History,": (
                    "{source: Stage_Histroy, target: associated.Stage_Histroy,"
                ),
            },
        )
    )
    assert problems(error) == {
        "options.related_lists[0].name": (
            "'Stage_Histroy' is not a related list of Deals that jirasync reads (nearest: Stage_History)"
        )
    }
    assert error.fix == "use one of: Contact_Roles, Stage_History"


def test_a_related_list_and_its_mapping_go_together(tmp_path: Path) -> None:
    without_mapping = refusal(
        variant(
            tmp_path, {"  - {source: Contact_Roles, target: associated.Contact_Roles, owner: source}\n": ""}
        )
    )
    assert (without_mapping.field, without_mapping.fix) == (
        "fields",
        "add {source: Contact_Roles, target: associated.Contact_Roles, owner: source}, or remove "
        "Contact_Roles from options.related_lists",
    )
    elsewhere = refusal(
        variant(
            tmp_path, {"target: associated.Contact_Roles, owner: source}": "target: labels, owner: source}"}
        )
    )
    assert fixes(elsewhere)["fields[10].target"] == "set target: associated.Contact_Roles"
    without_option = refusal(
        variant(tmp_path, {"    - {name: Contact_Roles, fields: [Full_Name, Email, Contact_Role]}\n": ""})
    )
    assert "fields[10]" in problems(without_option)  # associated.Contact_Roles names no related list


def test_a_related_list_reads_at_most_a_page_of_rows(tmp_path: Path) -> None:
    error = refusal(variant(tmp_path, {"limit: 5}": "limit: 500}"}))
    assert error.field == "options.related_lists.0.limit"


def test_salesforce_related_lists_are_refused_with_what_to_do_instead(tmp_path: Path) -> None:
    path = variant(
        tmp_path,
        {"\noptions:\n": "\noptions:\n  related_lists: [{name: CaseComments, fields: [CommentBody]}]\n"},
        SHIPPED[1],
    )
    error = refusal(path)
    assert error.field == "options.related_lists"
    assert "Zoho CRM records only" in error.problem and "associated.<relationship>.<field>" in error.fix
