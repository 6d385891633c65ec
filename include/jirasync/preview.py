"""A sync's plan from the command line (`jirasync plan`), without Airflow's scheduler or database.

Both sides are read and planned as a run's extract and plan steps do (the same family, engine
and state store), and the linked pairs' notes and files are compared as a dry run's apply does,
and nothing more: nothing is written to any vendor, and no run is recorded. Airflow connections come from ``AIRFLOW_CONN_*`` variables, which Airflow reads
before its database; ``use_connections_file`` turns a JSON file of connections into those.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from jirasync.engine.definitions import Endpoint, SyncDefinition
from jirasync.engine.store import StateStore
from jirasync.operators.connectors import api_calls, connector_for
from jirasync.syncs.family import Extract, RunOptions, SyncRun, family_for, sync_pair_streams
from jirasync.syncs.planning import plan_run


class PreviewFailed(Exception):
    """A side could not be read: the message names the sync, the system, the connection and the fix."""


@dataclass(frozen=True)
class Preview:
    source: Extract
    target: Extract
    changes: pd.DataFrame
    calls: int  # API calls both reads made
    streams: dict[str, list[str]]  # what each stream of the linked pairs would write, by record


def use_connections_file(path: Path) -> list[str]:
    """Make each connection of ``path`` (``{conn_id: {conn_type, host, login, password, extra}}``,
    the format of ``airflow connections export``) an ``AIRFLOW_CONN_*`` variable of this process;
    the connection ids, so that a caller can say which it used (never their values)."""
    try:
        connections = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise PreviewFailed(f"cannot read the connections file {path}: {error}") from None
    if not isinstance(connections, dict):
        raise PreviewFailed(f"{path} holds no connections: expected {{conn_id: {{conn_type, host, ...}}}}")
    for conn_id, connection in connections.items():
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(connection)
    return sorted(connections)


def preview_plan(definition: SyncDefinition, store: StateStore, *, full_sync: bool, only: str) -> Preview:
    """What the next run would do, read and planned now: a dry run that stops at the plan."""
    run = SyncRun(
        definition=definition,
        options=RunOptions(full_sync=full_sync, dry_run=True, only=only),
        store=store,
        run_id=f"{definition.id}:preview",
        window=None,  # as a scheduled run: incremental reads start at the cursor
        connect=connector_for,
    )
    family = family_for(definition)
    with _reading(definition, definition.source):
        source_connector = connector_for(definition.source)
        source = family.read_source(run, source_connector)
    with _reading(definition, definition.target):
        target_connector = connector_for(definition.target)
        target = family.read_target(run, target_connector, source)
    changes = plan_run(run, source, target)
    with _reading(definition, definition.target):
        streams = sync_pair_streams(run, target_connector)
    calls = sum(api_calls(source_connector).values()) + sum(api_calls(target_connector).values())
    calls += sum(source.calls.values()) + sum(target.calls.values())
    calls += sum(sum(stream.calls.values()) for stream in streams.values())
    return Preview(source, target, changes, calls, {name: s.planned for name, s in streams.items()})


@contextmanager
def _reading(definition: SyncDefinition, endpoint: Endpoint) -> Iterator[None]:
    from airflow.sdk.exceptions import AirflowNotFoundException

    conn = endpoint.conn_id
    where = f"sync '{definition.id}': {endpoint.system} through the Airflow connection '{conn}'"
    try:
        yield
    except AirflowNotFoundException:
        raise PreviewFailed(
            f"{where}: the connection is not defined; set AIRFLOW_CONN_{conn.upper()} or pass "
            "--connections with a file that has it"
        ) from None
    except Exception as error:  # the connectors' errors name the call and hide the secrets
        raise PreviewFailed(f"{where}: {type(error).__name__}: {error}") from None
