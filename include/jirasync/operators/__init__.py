"""The Airflow side of a sync: its steps as operators (which users place in DAGs of their own
too), the DAGs built from the definitions, and the step functions the operators run."""
