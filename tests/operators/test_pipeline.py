"""The operators and the task-group factory, as a DAG file builds them (runs: tests/e2e/test_own_dags.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pendulum
import pytest
from airflow.sdk import DAG, AssetOrTimeSchedule

from jirasync.engine.definitions import load_definition
from jirasync.operators.event_channels import build_event_channels_dag
from jirasync.operators.pipeline import (
    ApplyChangesOperator,
    ExtractSourceOperator,
    events_asset,
    sync_task_group,
)
from jirasync.operators.sync_dag import build_sync_dag

EXAMPLE_SYNCS = Path(__file__).parents[1] / "project" / "syncs"
START = pendulum.datetime(2026, 1, 1, tz="UTC")


def upstream(dag: DAG) -> dict[str, set[str]]:
    return {task.task_id: set(task.upstream_task_ids) for task in dag.tasks}


def test_a_task_group_runs_the_pipeline_in_order_with_the_vendors_pools() -> None:
    with DAG("own", schedule=None, start_date=START) as dag:
        sync_task_group("jira_to_zoho_contacts", EXAMPLE_SYNCS, group_id="contacts")
    tasks = {task.task_id: task for task in dag.tasks}
    assert upstream(dag) == {
        "contacts.extract_source": set(),
        "contacts.extract_target": {"contacts.extract_source"},
        "contacts.plan": {"contacts.extract_source", "contacts.extract_target"},
        "contacts.check": {"contacts.extract_source", "contacts.extract_target", "contacts.plan"},
        "contacts.apply": {
            "contacts.extract_source",
            "contacts.extract_target",
            "contacts.plan",
            "contacts.check",
        },
        "contacts.report": {"contacts.extract_source", "contacts.extract_target", "contacts.apply"},
        "contacts.announce_changes": {"contacts.apply"},
    }
    assert tasks["contacts.extract_source"].pool == "jira_api"
    assert tasks["contacts.extract_target"].pool == tasks["contacts.apply"].pool == "zoho_crm_api"
    assert tasks["contacts.check"].retries == 0
    announce = tasks["contacts.announce_changes"]
    assert announce.trigger_rule == "all_done"
    # A run whose source changed nothing skips the check and the apply, and still reports.
    assert tasks["contacts.report"].trigger_rule == "none_failed"
    assert [outlet.uri for outlet in announce.outlets] == ["jirasync://jira_to_zoho_contacts/"]
    assert {task.folder for task in dag.tasks} == {str(EXAMPLE_SYNCS)}


def test_two_syncs_in_one_dag_are_two_groups_named_by_their_sync() -> None:
    with DAG("own", schedule=None, start_date=START) as dag:
        sync_task_group("jira_to_zoho_contacts", EXAMPLE_SYNCS) >> sync_task_group(
            "entra_to_jira", EXAMPLE_SYNCS
        )
    assert upstream(dag)["entra_to_jira.extract_source"] == {
        "jira_to_zoho_contacts.report",
        "jira_to_zoho_contacts.announce_changes",
    }
    assert {task.sync_id for task in dag.tasks} == {"jira_to_zoho_contacts", "entra_to_jira"}


def test_a_group_of_a_sync_not_defined_says_where_it_looked() -> None:
    with DAG("own", schedule=None, start_date=START), pytest.raises(LookupError) as raised:
        sync_task_group("jira_to_zoho", EXAMPLE_SYNCS)
    assert str(raised.value) == f"sync 'jira_to_zoho': no definition of that id in {EXAMPLE_SYNCS}"


def test_apply_cannot_be_placed_without_the_gates_result() -> None:
    with DAG("own", schedule=None, start_date=START), pytest.raises(TypeError) as raised:
        source = ExtractSourceOperator(task_id="read", sync_id="s")
        ApplyChangesOperator(
            task_id="write", sync_id="s", source=source.output, target=source.output, planned=source.output
        )
    assert "ApplyChangesOperator of sync 's' needs checked: the results of the earlier steps" in str(
        raised.value
    )


def test_the_definitions_folder_defaults_to_the_shipped_dags_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRASYNC_SYNCS_DIR", str(EXAMPLE_SYNCS))
    with DAG("own", schedule=None, start_date=START):
        assert ExtractSourceOperator(task_id="read", sync_id="s").folder == str(EXAMPLE_SYNCS)


def test_the_examples_of_the_operators_guide_build_their_dags(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.delenv("JIRASYNC_SYNCS_DIR", raising=False)  # the examples name shipped definitions
    guide = (Path(__file__).parents[2] / "docs" / "operators.md").read_text()
    examples = re.findall(r"```python\n(.*?)```", guide, re.DOTALL)
    assert len(examples) == 2
    for number, example in enumerate(examples):
        (tmp_path / f"example_{number}.py").write_text(example)
    bag = DagBag(dag_folder=str(tmp_path), safe_mode=False)
    assert bag.import_errors == {}
    grouped = upstream(bag.dags["contacts_after_hr"])
    assert grouped["jira_to_zoho_contacts.extract_source"] == {
        "entra_to_jira.report",
        "entra_to_jira.announce_changes",
    }
    # The second is the DAG tests/e2e/test_own_dags.py runs against the sandbox, word for word.
    assert examples[1] in (Path(__file__).parents[1] / "e2e/own_dags/contacts_with_approval.py").read_text()
    stepwise = upstream(bag.dags["contacts_with_approval"])
    assert stepwise["write_contacts"] == {
        "read_jira_users",
        "read_zoho_contacts",
        "plan_contacts",
        "gate",
        "approve",
    }
    assert stepwise["approve"] == {"plan_contacts", "gate"}


def test_a_sharded_sync_maps_its_apply_over_the_shards_and_reports_once(tmp_path: Path) -> None:
    (tmp_path / "entra_to_jira.yaml").write_text(
        (EXAMPLE_SYNCS / "entra_to_jira.yaml").read_text() + "\nshards: 3\n"
    )
    with DAG("own", schedule=None, start_date=START) as dag:
        sync_task_group("entra_to_jira", tmp_path, group_id="sync")
    apply = dag.get_task("sync.apply")
    assert apply.expand_input.value == {"shard": [0, 1, 2]}
    assert apply.partial_kwargs["pool"] == "jira_api"
    assert upstream(dag)["sync.report"] == {"sync.extract_source", "sync.extract_target", "sync.apply"}


def test_a_sync_with_events_runs_on_its_schedule_and_on_its_events_asset(tmp_path: Path) -> None:
    shipped = EXAMPLE_SYNCS.parents[2] / "include" / "syncs" / "zoho_deals_to_jira.yaml"
    (tmp_path / "zoho_deals_to_jira.yaml").write_text(shipped.read_text() + "\nevents: true\n")
    definition = load_definition(tmp_path / "zoho_deals_to_jira.yaml")
    listening = build_sync_dag(definition).timetable
    assert isinstance(listening, AssetOrTimeSchedule)
    assert listening.asset_condition == events_asset("zoho_deals_to_jira")
    assert listening.timetable == build_sync_dag(definition.model_copy(update={"events": False})).timetable


def test_the_channel_renewal_dag_exists_only_while_a_sync_listens_to_zoho(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = EXAMPLE_SYNCS.parents[2] / "include" / "syncs"
    for name in ("zoho_deals_to_jira.yaml", "salesforce_cases_to_jira.yaml"):
        (tmp_path / name).write_text((shipped / name).read_text())
    monkeypatch.setenv("JIRASYNC_SYNCS_DIR", str(tmp_path))
    assert build_event_channels_dag() is None
    with (tmp_path / "salesforce_cases_to_jira.yaml").open("a") as definition:
        definition.write("\nevents: true\n")
    assert build_event_channels_dag() is None  # Salesforce's outbound messages do not expire
    with (tmp_path / "zoho_deals_to_jira.yaml").open("a") as definition:
        definition.write("\nevents: true\n")
    dag = build_event_channels_dag()
    assert dag is not None and dag.schedule == "@daily" and not dag.is_paused_upon_creation
    assert [task.task_id for task in dag.tasks] == ["renew_zoho_channels"]
