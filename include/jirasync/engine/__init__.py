"""The Airflow-free core of jirasync: definitions, frames, plan, checks, staging, state and apply."""
