"""The pipeline's steps as Airflow operators, for the shipped DAGs and for users' own DAGs.

Each operator runs one step of one sync and returns paths and counts for the steps after it.
A step is given the results of the steps before it as arguments, usually another operator's
``.output``, which also orders the tasks; the gate cannot be left out, because the apply step
takes the check's result. ``sync_task_group`` wires a whole sync into a task group, and the
shipped DAGs are made by ``add_sync_tasks``, the same wiring without a group.

The work itself is in ``jirasync.operators.steps``, imported when a task runs, so that a DAG
file using these operators parses without pandas, Great Expectations or the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from airflow.sdk import Asset, BaseOperator, TaskGroup

from jirasync.engine.definitions import SyncDefinition, read_definitions
from jirasync.syncs.catalog import syncs_dir

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


def sync_asset(sync_id: str) -> Asset:
    """The Asset a sync updates when it changed its target, for syncs that depend on it."""
    return Asset(name=f"jirasync.{sync_id}", uri=f"jirasync://{sync_id}")


def events_asset(sync_id: str) -> Asset:
    """The Asset whose events are the vendors' change notifications for a sync (``events: true``),
    recorded by ``jirasync.events``: the sync's DAG runs on them."""
    return Asset(name=f"jirasync.events.{sync_id}", uri=f"jirasync-events://{sync_id}")


class SyncStepOperator(BaseOperator):
    """One step of the sync ``sync_id``, whose definition is in ``folder`` (by default the
    folder the shipped DAGs read: ``JIRASYNC_SYNCS_DIR``, else include/syncs).

    ``sync_id`` is not templated: the shipped DAGs render templates as native objects, which
    would turn an id like ``1_000`` into the number 1000. ``folder`` and the results of the
    earlier steps (``inputs``) are.
    """

    step: ClassVar[str]
    inputs: ClassVar[tuple[str, ...]] = ()
    template_fields: Sequence[str] = ("folder",)
    ui_color = "#dbe9f6"

    def __init__(self, *, sync_id: str, folder: str | Path | None = None, **kwargs: Any) -> None:
        missing = [name for name in self.inputs if name not in kwargs]
        if missing:
            raise TypeError(
                f"{type(self).__name__} of sync '{sync_id}' needs {', '.join(missing)}: the results of the "
                f"earlier steps, e.g. {missing[0]}=<the task that made it>.output"
            )
        given = {name: kwargs.pop(name) for name in self.inputs}
        super().__init__(**kwargs)
        self.sync_id = sync_id
        self.folder = str(folder or syncs_dir())
        for name, value in given.items():
            setattr(self, name, value)

    def execute(self, context: Any) -> Any:
        from jirasync.operators import steps

        # A folder rendered as a native object could be a number ("2026"): the step wants a path.
        return getattr(steps, self.step)(
            sync_id=self.sync_id, syncs_dir=str(self.folder), **self.step_arguments(), **context
        )

    def step_arguments(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.inputs}


class ExtractSourceOperator(SyncStepOperator):
    """Read the sync's source (what changed since the last run where the source can say, or
    everything for a full sync) and stage it; refuses wrong trigger options before reading."""

    step = "extract_source"


class ExtractTargetOperator(SyncStepOperator):
    """Read the sync's target and stage it; ``source`` is the ExtractSourceOperator's result."""

    step = "extract_target"
    inputs = ("source",)
    template_fields = ("folder", *inputs)


class PlanChangesOperator(SyncStepOperator):
    """Compare both sides with the state store into a change set, logged as the plan."""

    step = "plan"
    inputs = ("source", "target")
    template_fields = ("folder", *inputs)


class CheckChangesOperator(SyncStepOperator):
    """The gate: Great Expectations checks and the circuit breaker; fails without retrying."""

    step = "check"
    inputs = ("source", "target", "planned")
    template_fields = ("folder", *inputs)

    def __init__(self, **kwargs: Any) -> None:
        # No retry: the data, not the weather, has to change before the gate passes.
        kwargs.setdefault("retries", 0)
        super().__init__(**kwargs)


class ApplyChangesOperator(SyncStepOperator):
    """Write the planned changes (nothing in a dry run); ``checked`` is the gate's result, so a
    sync never writes what the gate did not pass.

    ``shard`` (from 0, of the definition's ``shards``) writes only that shard's records: the
    shipped DAGs map the apply over the shards, ``.partial(...).expand(shard=range(shards))``.
    """

    step = "apply"
    inputs = ("source", "target", "planned", "checked")
    template_fields = ("folder", *inputs)

    def __init__(
        self,
        *,
        source: Any = None,
        target: Any = None,
        planned: Any = None,
        checked: Any = None,
        shard: int | None = None,
        **kwargs: Any,
    ) -> None:
        # Named here, not only in ``inputs``: ``.partial()`` accepts only the arguments it can see.
        # One left out stays out, for the base class to say which step's result is missing.
        given = {"source": source, "target": target, "planned": planned, "checked": checked}
        super().__init__(**{name: value for name, value in given.items() if value is not None}, **kwargs)
        self.shard = shard

    def step_arguments(self) -> dict[str, Any]:
        return {**super().step_arguments(), "shard": self.shard}


class ReportRunOperator(SyncStepOperator):
    """Write the run's summary to the log, XCom and the state store; fails if records were not written.

    It runs when the apply was skipped (``none_failed``): a run whose source changed nothing skips
    the check and the apply, and its report says so.
    """

    step = "report"
    inputs = ("source", "target", "applied")
    template_fields = ("folder", *inputs)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", "none_failed")
        super().__init__(**kwargs)


class AnnounceChangesOperator(SyncStepOperator):
    """Emit the sync's Asset when the run changed the target, and skip otherwise.

    It runs even when the report failed on unwritten records (``all_done``): what was written did
    change the target.
    """

    step = "announce_changes"
    inputs = ("applied",)
    template_fields = ("folder", *inputs)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("outlets", [sync_asset(kwargs["sync_id"])])
        kwargs.setdefault("trigger_rule", "all_done")
        super().__init__(**kwargs)


def add_sync_tasks(definition: SyncDefinition, folder: str | Path | None = None) -> None:
    """The tasks of one sync, in the DAG or task group being defined, as the shipped DAGs run them:
    vendor calls in the vendor's pool, the target read after the source, so a run whose source did
    not change need not read it, and the apply mapped over the definition's ``shards``, if any."""
    sync = {"sync_id": definition.id, "folder": folder}
    source_pool = POOLS.get(definition.source.system, "default_pool")
    target_pool = POOLS.get(definition.target.system, "default_pool")
    extract_source = ExtractSourceOperator(task_id="extract_source", pool=source_pool, **sync)
    source = extract_source.output
    target = ExtractTargetOperator(task_id="extract_target", pool=target_pool, source=source, **sync).output
    planned = PlanChangesOperator(task_id="plan", source=source, target=target, **sync).output
    checked = CheckChangesOperator(
        task_id="check", source=source, target=target, planned=planned, **sync
    ).output
    writes = {"pool": target_pool, "source": source, "target": target, "planned": planned, "checked": checked}
    if definition.shards > 1:
        apply = ApplyChangesOperator.partial(task_id="apply", **writes, **sync).expand(
            shard=list(range(definition.shards))
        )
    else:
        apply = ApplyChangesOperator(task_id="apply", **writes, **sync)
    ReportRunOperator(task_id="report", source=source, target=target, applied=apply.output, **sync)
    AnnounceChangesOperator(task_id="announce_changes", applied=apply.output, **sync)


def sync_task_group(
    sync_id: str, folder: str | Path | None = None, *, group_id: str | None = None
) -> TaskGroup:
    """A task group (named ``group_id``, else the sync's id) that runs the sync ``sync_id`` of
    ``folder`` (default: the shipped DAGs' folder), for a DAG of the user's own.

    The definition is read now, at parse time, for the vendors' pools; nothing else is.
    """
    where = Path(folder or syncs_dir())
    definition = read_definitions(where).find(sync_id)
    with TaskGroup(group_id or sync_id) as group:
        add_sync_tasks(definition, where)
    return group
