"""Airflow DAGs of the identity to jira properties family: one DAG per definition in include/syncs/."""

from jirasync.operators.sync_dag import build_sync_dags

globals().update(build_sync_dags("identity_to_jira_properties"))
