"""What on-call reads when a sync task fails: the sync, the step, the records, what to do."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

MAX_RECORDS_SHOWN = 10


def failure_message(context: dict[str, Any]) -> str:
    """One paragraph naming the sync, the step and the records, from a task's failure context."""
    task_instance = context["task_instance"]
    sync_id = task_instance.dag_id.removeprefix("jirasync__")
    exception = context.get("exception")
    records = list(getattr(exception, "records", ()))
    shown = ", ".join(map(str, records[:MAX_RECORDS_SHOWN]))
    more = f" and {len(records) - MAX_RECORDS_SHOWN} more" if len(records) > MAX_RECORDS_SHOWN else ""
    lines = [
        f"jirasync sync '{sync_id}' failed at step '{task_instance.task_id}' "
        f"(try {task_instance.try_number}, run {context.get('run_id')}).",
        f"Error: {exception}" if exception else "Error: see the task log.",
    ]
    if records:
        lines.append(f"Records: {shown}{more}.")
    action = getattr(exception, "action", None)
    lines.append(
        f"What to do: {action}"
        if action
        else "What to do: read the task log for the failing call; Airflow retries the task as the DAG "
        "allows, and a later run starts over from what was written."
    )
    return " ".join(lines)


def report_failure(context: dict[str, Any]) -> None:
    log.error(failure_message(context))
    _record_failure(context)


def _record_failure(context: dict[str, Any]) -> None:
    """Keep the failure in the state store, where the Sync Center shows it as the sync's health."""
    # Imported here: the DAG files import this module, and must parse without the store's weight.
    from jirasync.engine.store import StateStore
    from jirasync.hooks.state import state_store_location

    task_instance = context["task_instance"]
    sync_id = task_instance.dag_id.removeprefix("jirasync__")
    run_id = f"{sync_id}:{context.get('run_id')}:{task_instance.try_number}"
    exception = context.get("exception")
    action = getattr(exception, "action", None)
    error = f"{exception or 'see the task log'}" + (f" What to do: {action}" if action else "")
    store = StateStore(state_store_location())
    try:
        store.record_failure(sync_id, run_id, task_instance.task_id, error)
    except Exception:  # the failure is in the log already; a store that is down must not hide it
        log.exception("could not record the failure of %s in the state store", run_id)
    finally:
        store.close()
