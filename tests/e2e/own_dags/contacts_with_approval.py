"""A DAG of a user's own: one sync step by step, under task ids of its own, with a task of its
own between the gate and the write (docs/operators.md shows it as an example)."""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, Param, get_current_context, task

from jirasync.operators.callbacks import report_failure
from jirasync.operators.pipeline import (
    ApplyChangesOperator,
    CheckChangesOperator,
    ExtractSourceOperator,
    ExtractTargetOperator,
    PlanChangesOperator,
    ReportRunOperator,
)

SYNC = "jira_to_zoho_contacts"

with DAG(
    "contacts_with_approval",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    params={"max_creates": Param(1000, type="integer", minimum=0)},
    default_args={"on_failure_callback": report_failure},
):

    @task
    def approve(planned: dict[str, Any]) -> None:
        """Refuse a plan that creates more contacts than this run allows."""
        allowed = get_current_context()["params"]["max_creates"]
        creates = planned["records"]["create"]
        if creates > allowed:
            raise ValueError(f"the plan creates {creates} contacts; this run allows {allowed}")

    jira = ExtractSourceOperator(task_id="read_jira_users", sync_id=SYNC)
    zoho = ExtractTargetOperator(task_id="read_zoho_contacts", sync_id=SYNC, source=jira.output)
    planned = PlanChangesOperator(
        task_id="plan_contacts", sync_id=SYNC, source=jira.output, target=zoho.output
    )
    checked = CheckChangesOperator(
        task_id="gate", sync_id=SYNC, source=jira.output, target=zoho.output, planned=planned.output
    )
    written = ApplyChangesOperator(
        task_id="write_contacts",
        sync_id=SYNC,
        source=jira.output,
        target=zoho.output,
        planned=planned.output,
        checked=checked.output,
    )
    checked >> approve(planned.output) >> written
    ReportRunOperator(
        task_id="summary", sync_id=SYNC, source=jira.output, target=zoho.output, applied=written.output
    )
