"""The Airflow DAG that renews the Zoho CRM notification channels of the syncs listening to events."""

from jirasync.operators.event_channels import build_event_channels_dag

dag = build_event_channels_dag()
