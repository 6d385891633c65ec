"""One Airflow DAG per sync definition: extract both sides, plan, check, apply, report.

DAG files call `build_sync_dags` with their family. Parsing reads the YAML definitions and
nothing else: no network, no connection, no pandas. The heavy work happens in the steps
(`jirasync.operators.steps`), imported by the tasks when they run.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Asset, Param

from jirasync.engine.definitions import (
    DefinitionError,
    DefinitionFolder,
    Family,
    Notifier,
    SyncDefinition,
    read_definitions,
)
from jirasync.operators.callbacks import report_failure
from jirasync.syncs.assets_definition import check_assets_definition
from jirasync.syncs.contacts_definition import check_contacts_definition
from jirasync.syncs.identity_attributes import check_identity_definition
from jirasync.syncs.records_definition import check_records_definition

PROJECT_SYNCS_DIR = Path(__file__).resolve().parents[2] / "syncs"

# One pool per vendor API bounds concurrent calls across every DAG (include/airflow/pools.json).
POOLS = {
    "jira": "jira_api",
    "jsm": "jira_api",
    "assets": "assets_api",
    "entra_id": "msgraph_api",
    "scim": "scim_api",
    "zoho_crm": "zoho_crm_api",
    "salesforce": "salesforce_api",
}

# Checks of what only the family knows (which attributes exist), light enough for parse time.
FAMILY_CHECKS = {
    "identity_to_jira_properties": check_identity_definition,
    "users_to_assets": check_assets_definition,
    "users_to_contacts": check_contacts_definition,
    "records_to_issues": check_records_definition,
}

DEFAULT_ARGS = {
    "owner": "jirasync",
    "retries": 3,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=30),
}
# What a notifier sends about a failed task, rendered by Airflow from the failure's context (as
# native objects, the DAG's rendering: the exception is made text to travel as JSON).
FAILURE_FIELDS = {
    "dag_id": "{{ dag.dag_id }}",
    "run_id": "{{ run_id }}",
    "step": "{{ ti.task_id }}",
    "try": "{{ ti.try_number }}",
    "error": "{{ exception | string }}",
}


def syncs_dir() -> Path:
    """Where the definitions live: ``JIRASYNC_SYNCS_DIR``, else the project's include/syncs."""
    return Path(os.environ.get("JIRASYNC_SYNCS_DIR", PROJECT_SYNCS_DIR))


def sync_asset(sync_id: str) -> Asset:
    """The Asset a sync updates when it changed its target, for syncs that depend on it."""
    return Asset(name=f"jirasync.{sync_id}", uri=f"jirasync://{sync_id}")


class UnusableDefinitions(Exception):
    """The definitions that cannot be used, each with every problem found, and what that means."""

    def __init__(self, errors: list[DefinitionError]) -> None:
        self.errors = errors
        listed = "\n".join(str(error) for error in errors)
        super().__init__(
            f"{len(errors)} sync definition(s) cannot be used; their syncs do not run until fixed, the "
            f"other syncs are not affected:\n{listed}"
        )


def checked_definitions(folder: Path | None = None) -> DefinitionFolder:
    """The definitions their family can run, and an error for each file that cannot be used."""
    return read_definitions(folder or syncs_dir(), _check_family)


def _check_family(definition: SyncDefinition, path: Path) -> None:
    check = FAMILY_CHECKS.get(definition.family)
    if check:
        check(definition, str(path))


def build_sync_dags(family: Family) -> dict[str, DAG]:
    """The DAGs of the usable definitions of ``family``, by dag id, for a DAG file's globals().

    A definition that cannot be used makes no DAG here: ``raise_definition_errors`` (the DAG file
    ``definition_errors.py``) reports it, so one broken file never hides the other syncs.
    """
    definitions = [d for d in checked_definitions().definitions if d.family == family]
    return {dag.dag_id: dag for dag in map(build_sync_dag, definitions)}


def raise_definition_errors() -> None:
    """Fail the importing DAG file with every definition that cannot be used, so Airflow lists them
    among its import errors, each naming the file, every problem in it and the fix."""
    errors = checked_definitions().errors
    if errors:
        raise UnusableDefinitions(errors)


def build_sync_dag(definition: SyncDefinition) -> DAG:
    source, target = definition.source, definition.target
    with DAG(
        dag_id=f"jirasync__{definition.id}",
        description=definition.description or f"{source.system} → {target.system}",
        doc_md=_doc(definition),
        schedule=definition.schedule,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        is_paused_upon_creation=True,
        tags=["jirasync", definition.family, source.system, target.system],
        default_args={
            **DEFAULT_ARGS,
            "on_failure_callback": [report_failure, *map(_notifier, definition.notify)],
        },
        params=_trigger_form(definition),
        render_template_as_native_obj=True,
    ) as dag:

        def step(task_id: str, pool: str | None = None, **kwargs: object) -> PythonOperator:
            return PythonOperator(
                task_id=task_id,
                python_callable=_step_callable(task_id, definition.id, str(syncs_dir())),
                pool=pool or "default_pool",
                # A step returns paths and counts for the next one (kilobytes with a report's
                # records); the report logs what on-call reads, so the raw value stays out of the log.
                show_return_value_in_logs=False,
                **kwargs,
            )

        extract_source = step("extract_source", POOLS.get(source.system))
        extract_target = step("extract_target", POOLS.get(target.system))
        plan = step("plan")
        check = step("check", retries=0)
        apply = step("apply", POOLS.get(target.system))
        report = step("report")
        # Runs after a report that failed on unwritten records too: what was written did change the target.
        announce = step("announce_changes", outlets=[sync_asset(definition.id)], trigger_rule="all_done")
        # The target is read after the source, so a run whose source did not change need not read it.
        extract_source >> extract_target >> plan >> check >> apply >> report
        apply >> announce
    return dag


def _notifier(spec: Notifier) -> Any:
    """Airflow's own notifier for ``spec``; imported only for a definition that asks for one."""
    if spec.kind == "webhook":
        from airflow.providers.http.notifications.http import HttpNotifier

        return HttpNotifier(http_conn_id=spec.conn_id, endpoint=spec.endpoint, json=dict(FAILURE_FIELDS))
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    return SmtpNotifier(
        smtp_conn_id=spec.conn_id,
        to=spec.to,
        subject="jirasync: {{ dag.dag_id }} failed at step {{ ti.task_id }}",
        html_content="<br>".join(f"{name}: {value}" for name, value in FAILURE_FIELDS.items()),
    )


def _step_callable(task_id: str, sync_id: str, syncs_dir: str):
    """The step function, imported when the task runs so that parsing stays light.

    The sync id is bound here, not passed as a templated argument: the DAG renders templates as
    native objects, which would turn an id like ``1_000`` into the number 1000.
    """

    def run_step(**context: object) -> object:
        from jirasync.operators import steps

        return getattr(steps, task_id)(sync_id=sync_id, syncs_dir=syncs_dir, **context)

    run_step.__name__ = task_id
    return run_step


def _trigger_form(definition: SyncDefinition) -> dict[str, Param]:
    return {**_common_params(), **FAMILY_PARAMS.get(definition.family, {})}


# The trigger form's sections, in the order Airflow shows them.
WHAT = "What to sync"
SAFETY = "Safety"
ADVANCED = "Advanced"


def _common_params() -> dict[str, Param]:
    """Every field may be left as it is: an optional field's type allows null, or Airflow's form
    treats it as required and keeps the Trigger button disabled."""
    return {
        "full_sync": Param(
            False,
            type="boolean",
            title="Full sync",
            description="Read everything on both sides, not only what changed, and find records gone "
            "from the source.",
            section=WHAT,
        ),
        "only": Param(
            None,
            type=["null", "string"],
            title="Only this record",
            description="Sync one record: an email address or a record id. Empty syncs all in scope.",
            section=WHAT,
        ),
        "dry_run": Param(
            False,
            type="boolean",
            title="Dry run",
            description="Plan and check, print the plan, and write nothing.",
            section=SAFETY,
        ),
        "override_circuit_breaker": Param(
            False,
            type="boolean",
            title="Override the circuit breaker",
            description="Apply even if this run changes more of the target than the definition allows. "
            "Use once, after reading the plan of a dry run.",
            section=SAFETY,
        ),
        "revert_run": Param(
            None,
            type=["null", "string"],
            title="Revert a run",
            description="The run_id from an earlier run's summary: put back what that run changed (fields "
            "to their values before it; records it created are deleted). Checked like any run: try it as a "
            "dry run first.",
            section=ADVANCED,
        ),
    }


FAMILY_PARAMS: dict[str, dict[str, Param]] = {
    "users_to_contacts": {
        "action": Param(
            "sync",
            type="string",
            enum=["sync", "disable"],
            title="Action",
            description="sync: link, create and update contacts. disable: clear 'Synced Jira User' on every "
            "linked contact and drop the links, as turning the sync off does; set enabled: false in the "
            "definition to keep it off.",
            section=ADVANCED,
        ),
    },
    "users_to_assets": {
        "name_prefix": Param(
            None,
            type=["null", "string"],
            title="Name prefix",
            description="Only users whose display name starts with this (case-insensitive). Empty: the "
            "definition's scope.",
            section=WHAT,
        ),
        "groups": Param(
            None,
            type=["null", "array"],
            items={"type": "string"},
            title="Jira groups",
            description="Only members of these Jira groups (names), one per line. Empty: the definition's "
            "scope.",
            section=WHAT,
        ),
    },
    "identity_to_jira_properties": {
        "repair": Param(
            False,
            type="boolean",
            title="Repair properties (with a full sync)",
            description="Read every linked user's property back from Jira and rewrite those changed "
            "outside jirasync. Costs one call per user: use it with a full sync, now and then.",
            section=ADVANCED,
        ),
    },
}


def _doc(definition: SyncDefinition) -> str:
    mapped = "\n".join(f"| `{m.source}` | `{m.target}` | {m.owner} |" for m in definition.fields)
    return (
        f"### {definition.id}\n\n{definition.description}\n\n"
        f"From **{definition.source.system}** (`{definition.source.conn_id}`) "
        f"to **{definition.target.system}** (`{definition.target.conn_id}`), "
        f"matched on `{definition.key.source_field}` = `{definition.key.target_field}` "
        f"({definition.key.normalise}).\n\n"
        f"| source | target | owner |\n|---|---|---|\n{mapped}\n\n"
        f"Delete policy: **{definition.delete_policy}**; conflicts: **{definition.conflict_policy}**; "
        f"circuit breaker: {definition.circuit_breaker.model_dump()}.\n\n"
        "Trigger with *Dry run* to see the plan without writing anything."
    )
