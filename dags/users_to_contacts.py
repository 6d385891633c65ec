"""Airflow DAGs of the users to contacts family: one DAG per definition in include/syncs/."""

from jirasync.operators.sync_dag import build_sync_dags

globals().update(build_sync_dags("users_to_contacts"))
