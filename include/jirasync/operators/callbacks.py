"""What on-call reads when a sync task fails: the sync, the step, the records, what to do."""

from __future__ import annotations

import logging
from typing import Any

from jirasync.engine.definitions import Notifier

log = logging.getLogger(__name__)

MAX_RECORDS_SHOWN = 10


def failure_message(context: dict[str, Any]) -> str:
    """One paragraph naming the sync, the step and the records, from a task's failure context."""
    task_instance = context["task_instance"]
    # A DAG of a user's own may run several syncs: the failed operator knows which one it ran.
    sync_id = getattr(context.get("task"), "sync_id", None) or task_instance.dag_id.removeprefix("jirasync__")
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


def notifier(spec: Notifier, fields: dict[str, str], subject: str) -> Any:
    """Airflow's own notifier for ``spec``, sending ``fields`` (a webhook's JSON body, an email's lines);
    the provider is imported only for a sync that asks for one."""
    if spec.kind in ("webhook", "slack"):
        from airflow.providers.http.notifications.http import HttpNotifier

        # Slack's incoming webhooks take one message in "text" (mrkdwn), not fields of our own.
        lines = "\n".join(f"*{name}*: {value}" for name, value in fields.items())
        body = {"text": f"{subject}\n{lines}"} if spec.kind == "slack" else dict(fields)
        return HttpNotifier(http_conn_id=spec.conn_id, endpoint=spec.endpoint, json=body)
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    return SmtpNotifier(
        smtp_conn_id=spec.conn_id,
        to=spec.to,
        subject=subject,
        html_content="<br>".join(f"{name}: {value}" for name, value in fields.items()),
    )


def report_deadline_missed(
    sync_id: str, deadline: str, notify: list[dict[str, Any]], context: dict[str, Any]
) -> None:
    """Airflow's DeadlineAlert callback: a run of the sync is still going past its definition's
    ``deadline``. It says so in the log and to the sync's notifiers; the run itself goes on."""
    run = context.get("dag_run") or {}  # the scheduler sends the run as the REST API shows it
    fields = {
        "dag_id": f"jirasync__{sync_id}",
        "run_id": str(run.get("dag_run_id")),
        "state": str(run.get("state")),
        "alert": f"the run has not finished {deadline} after it was queued ({run.get('queued_at')})",
        "what_to_do": "open the run in the Airflow UI: a task waiting for a pool slot or for another run "
        "of this sync, or a slow vendor API; the run goes on unless you stop it",
    }
    log.warning("jirasync sync '%s': %s", sync_id, "; ".join(f"{k}: {v}" for k, v in fields.items()))
    subject = f"jirasync: {sync_id} is past its deadline of {deadline}"
    for spec in notify:
        notifier(Notifier.model_validate(spec), fields, subject).notify(context)


def store_run_id(sync_id: str, context: dict[str, Any], try_number: int | None = None) -> str:
    """A task's run in the state store: the DAG run's id, then the shard of a sharded apply, then the
    try (each try is a run of its own there: ``sync:airflow_run[:shard-N]:try``); of another try
    of the task with ``try_number``."""
    task_instance = context["ti"]
    map_index = getattr(task_instance, "map_index", -1)
    shard = f":shard-{map_index + 1}" if map_index is not None and map_index >= 0 else ""
    return f"{sync_id}:{context.get('run_id')}{shard}:{try_number or task_instance.try_number}"


def _record_failure(context: dict[str, Any]) -> None:
    """Keep the failure in the state store, where the Sync Center shows it as the sync's health."""
    # Imported here: the DAG files import this module, and must parse without the store's weight.
    from jirasync.engine.store import StateStore
    from jirasync.hooks.state import state_store_location

    task_instance = context["task_instance"]
    sync_id = task_instance.dag_id.removeprefix("jirasync__")
    run_id = store_run_id(sync_id, context)
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
