"""One Airflow DAG per sync definition: extract both sides, plan, check, apply, report.

DAG files call `build_sync_dags` with their family. Parsing reads the YAML definitions and
nothing else: no network, no connection, no pandas. The tasks are the operators of
`jirasync.operators.pipeline`, which users place in their own DAGs too.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pendulum
from airflow.sdk import (
    DAG,
    Asset,
    AssetOrTimeSchedule,
    CronDataIntervalTimetable,
    DeadlineAlert,
    DeadlineReference,
    Param,
    SyncCallback,
)
from airflow.sdk.configuration import conf

from jirasync.engine.definitions import (
    DefinitionError,
    Family,
    Notifier,
    SyncDefinition,
)
from jirasync.operators.callbacks import notifier, report_deadline_missed, report_failure
from jirasync.operators.pipeline import add_sync_tasks, events_asset
from jirasync.syncs.catalog import checked_definitions

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
FAILURE_SUBJECT = "jirasync: {{ dag.dag_id }} failed at step {{ ti.task_id }}"


class UnusableDefinitions(Exception):
    """The definitions that cannot be used, each with every problem found, and what that means."""

    def __init__(self, errors: list[DefinitionError]) -> None:
        self.errors = errors
        listed = "\n".join(str(error) for error in errors)
        super().__init__(
            f"{len(errors)} sync definition(s) cannot be used; their syncs do not run until fixed, the "
            f"other syncs are not affected:\n{listed}"
        )


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
    notifiers = _notifiers(definition)
    with DAG(
        dag_id=f"jirasync__{definition.id}",
        description=definition.description or f"{source.system} → {target.system}",
        doc_md=_doc(definition),
        schedule=_schedule(definition),
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        is_paused_upon_creation=True,
        tags=["jirasync", definition.family, source.system, target.system],
        default_args={
            **DEFAULT_ARGS,
            "on_failure_callback": [
                report_failure,
                *(notifier(spec, FAILURE_FIELDS, FAILURE_SUBJECT) for spec in notifiers),
            ],
        },
        params=_trigger_form(definition),
        deadline=_deadline_alert(definition, notifiers),
        render_template_as_native_obj=True,
    ) as dag:
        add_sync_tasks(definition)
    return dag


def _notifiers(definition: SyncDefinition) -> list[Notifier]:
    """The definition's notifiers, then those every sync sends to: ``[jirasync] notify`` in Airflow's
    configuration (``AIRFLOW__JIRASYNC__NOTIFY``), a JSON list of entries shaped as ``notify`` ones."""
    configured = conf.get("jirasync", "notify", fallback="") or "[]"
    try:
        entries = json.loads(configured)
        shared = [Notifier.model_validate(entry) for entry in entries]
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"Airflow's configuration [jirasync] notify is not a list of notifiers: {error}. Write it as "
            'JSON, e.g. [{"kind": "webhook", "conn_id": "oncall_webhook", "endpoint": "/hooks/jirasync"}]'
        ) from None
    return [*definition.notify, *shared]


def _deadline_alert(definition: SyncDefinition, notifiers: list[Notifier]) -> DeadlineAlert | None:
    """Airflow's deadline alert for a definition with a ``deadline``: once a run has been queued that
    long without finishing, the scheduler has the alert sent to the log and the notifiers."""
    if definition.deadline is None:
        return None
    kwargs = {
        "sync_id": definition.id,
        "deadline": str(definition.deadline),
        "notify": [spec.model_dump() for spec in notifiers],
    }
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=definition.deadline,
        callback=SyncCallback(report_deadline_missed, kwargs=kwargs),
    )


def _schedule(definition: SyncDefinition) -> CronDataIntervalTimetable | AssetOrTimeSchedule | Asset | None:
    """The definition's schedule, and with ``events: true`` the vendors' change notifications too."""
    timetable = _timetable(definition.schedule)
    if not definition.events:
        return timetable
    events = events_asset(definition.id)
    return AssetOrTimeSchedule(timetable=timetable, assets=events) if timetable else events


def _timetable(schedule: str | None) -> CronDataIntervalTimetable | None:
    """The definition's cron schedule as data intervals: a run's interval runs from the previous tick
    to its own, which is the window a backfilled run re-syncs (a trigger timetable's runs have none)."""
    return CronDataIntervalTimetable(schedule, timezone="UTC") if schedule else None


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


def _backfill_doc(schedule: str | None) -> str:
    if not schedule:
        return "**Backfill**: this sync has no schedule, so no data intervals to backfill."
    return (
        f"**Backfill** (Trigger → Backfill): each run's data interval is one step of `{schedule}`, and a "
        "backfilled run re-syncs the records whose source changed in it (by their modified time where "
        "the source keeps one; else it reconciles the whole scope as it is now), in order, "
        "idempotently; the scheduled runs go on from their cursor. Keep *Max active runs* at 1."
    )


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
        "Trigger with *Dry run* to see the plan without writing anything.\n\n"
        f"{_backfill_doc(definition.schedule)}\n\n"
        "**A run waits** while the DAG is paused (new syncs start paused: switch the toggle on), while "
        "another run of this sync is running (one at a time), or for a slot in its vendor's pool "
        "(Admin → Pools)."
    )
