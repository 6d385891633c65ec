"""A DAG of a user's own: two syncs, one task group each, the second after the first."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from jirasync.operators.pipeline import sync_task_group

with DAG("both_crms", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    sync_task_group("jira_to_zoho_contacts") >> sync_task_group(
        "jira_to_salesforce_contacts", group_id="salesforce"
    )
