"""The Airflow side of a sync: the DAG built from a definition and the steps its tasks run."""
