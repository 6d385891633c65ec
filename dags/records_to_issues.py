"""Airflow DAGs of the records to issues family: one DAG per definition in include/syncs/."""

from jirasync.operators.sync_dag import build_sync_dags

globals().update(build_sync_dags("records_to_issues"))
