"""The Sync Center's access, as Airflow's auth manager grants it.

The page and its API accept the same credentials as Airflow's own REST API (the UI's JWT
cookie, or ``Authorization: Bearer``); a sync shows to those who may see its DAG, and deciding a
conflict needs the right to start runs of the DAG, as triggering it from Airflow does.
"""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from airflow.api_fastapi.core_api.security import get_user

from jirasync.sync_center.app import Access


def may_read(user: Any, dag_id: str) -> bool:
    return get_auth_manager().is_authorized_dag(method="GET", details=DagDetails(id=dag_id), user=user)


def may_run(user: Any, dag_id: str) -> bool:
    return get_auth_manager().is_authorized_dag(
        method="POST", access_entity=DagAccessEntity.RUN, details=DagDetails(id=dag_id), user=user
    )


def airflow_access() -> Access:
    return Access(
        user=get_user,
        may_read=may_read,
        may_run=may_run,
        login_url=lambda next_url: get_auth_manager().get_url_login(next_url=next_url),
        user_name=lambda user: user.get_name(),
    )
