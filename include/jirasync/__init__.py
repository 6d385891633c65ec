"""jirasync: keep Jira Cloud in sync with the systems around it, on Apache Airflow 3."""

__version__ = "0.1.0"
