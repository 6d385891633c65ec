"""Where jirasync keeps its state store, as Airflow knows it.

Production points the ``jirasync_state`` connection at PostgreSQL; without it the store is a
SQLite file under ``AIRFLOW_HOME``, which is what a laptop and the demo want.
"""

from __future__ import annotations

import os
from pathlib import Path

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

STATE_CONN_ID = "jirasync_state"


def state_store_location() -> str:
    """The SQLAlchemy URL of the ``jirasync_state`` connection, or the default SQLite file."""
    try:
        connection = BaseHook.get_connection(STATE_CONN_ID)
    except AirflowNotFoundException:
        airflow_home = Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser()
        return str(airflow_home / "jirasync" / "state.db")
    uri = connection.get_uri()
    # Airflow writes the postgres type as postgres://, which SQLAlchemy 2 no longer accepts.
    return "postgresql://" + uri.removeprefix("postgres://") if uri.startswith("postgres://") else uri
