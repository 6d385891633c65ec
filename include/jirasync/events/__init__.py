"""Vendors' change notifications, received inside Airflow and turned into runs of the affected sync."""
