"""Parse the DAG folder with the network and Airflow connections made unreachable.

Run as a script by test_dags.py; prints one JSON document describing what was parsed. Any
socket use or connection lookup during parsing raises, so it shows up as an import error.
"""

from __future__ import annotations

import json
import socket
import sys


class ParsingTouchedTheOutsideWorld(RuntimeError):
    pass


def _forbid(what: str):
    def refuse(*args: object, **kwargs: object) -> None:
        raise ParsingTouchedTheOutsideWorld(f"DAG parsing must not use {what}")

    return refuse


socket.socket.connect = _forbid("the network")  # type: ignore[method-assign]
socket.socket.connect_ex = _forbid("the network")  # type: ignore[method-assign]
socket.create_connection = _forbid("the network")  # type: ignore[assignment]
socket.getaddrinfo = _forbid("name resolution")  # type: ignore[assignment]

from airflow.dag_processing.dagbag import DagBag  # noqa: E402
from airflow.models.connection import Connection  # noqa: E402
from airflow.sdk import BaseHook  # noqa: E402

BaseHook.get_connection = classmethod(_forbid("an Airflow connection"))  # type: ignore[method-assign,assignment]
Connection.get_connection_from_secrets = classmethod(_forbid("an Airflow connection"))  # type: ignore[method-assign,assignment]

bag = DagBag(dag_folder=sys.argv[1], safe_mode=False)
print(
    json.dumps(
        {
            "import_errors": bag.import_errors,
            "dags": {
                dag_id: {
                    "tags": sorted(dag.tags),
                    "max_active_runs": dag.max_active_runs,
                    "doc_md": bool(dag.doc_md),
                    "tasks": {
                        task.task_id: {
                            "owner": task.owner,
                            "retries": task.retries,
                            "pool": task.pool,
                            # Only Python-callable tasks log what they return; an operator does not.
                            "logs_return_value": getattr(task, "show_return_value_in_logs", False),
                        }
                        for task in dag.tasks
                    },
                }
                for dag_id, dag in bag.dags.items()
            },
        }
    )
)
