"""Airflow DAGs of the users to assets family: one DAG per definition in include/syncs/."""

from jirasync.operators.sync_dag import build_sync_dags

globals().update(build_sync_dags("users_to_assets"))
