"""Airflow hooks: each builds a vendor connector from an Airflow connection (the only Airflow imports)."""
