"""Airflow import errors of the sync definitions that cannot be used, and nothing else: no DAG.

Each family's DAG file builds the DAGs of the definitions that load and leaves the others out;
this file fails to import when there are such definitions, listing each file with every problem
found in it, so Airflow shows them while every other sync goes on being scheduled.
"""

from jirasync.operators.sync_dag import raise_definition_errors

raise_definition_errors()
