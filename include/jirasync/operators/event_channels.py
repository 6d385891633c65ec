"""The DAG that keeps Zoho CRM sending events: ``jirasync_event_channels``.

Zoho drops a notification channel a week at most after it was enabled. Every day this DAG enables
again, for another six days, the channel of each records ↔ issues sync that reads Zoho CRM with
``events: true``, at the address it was registered with and with the ``webhook_secret`` its Zoho
connection holds now (so a changed secret reaches Zoho within a day). A sync whose channel is gone
(never registered, or expired while this DAG was off) fails the task, naming the command that
registers it; the others are renewed all the same. Until then, its scheduled runs still catch
every change. The DAG exists only while some sync needs it, and starts unpaused: a paused renewal
would let the channels lapse unnoticed.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pendulum
from airflow.sdk import DAG, BaseHook, BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from jirasync.connectors.errors import ApiError
from jirasync.engine.definitions import SyncDefinition
from jirasync.events.scope import WEBHOOK_SECRET
from jirasync.events.vendors import RegistrationError, renew_zoho
from jirasync.operators.connectors import connector_for
from jirasync.operators.sync_dag import DEFAULT_ARGS
from jirasync.syncs.catalog import checked_definitions

log = logging.getLogger(__name__)

DAG_ID = "jirasync_event_channels"


def zoho_listening(definitions: list[SyncDefinition]) -> list[SyncDefinition]:
    """The syncs whose events come from Zoho CRM notification channels."""
    return [
        d
        for d in definitions
        if d.events and d.family == "records_to_issues" and d.source.system == "zoho_crm"
    ]


class RenewZohoChannelsOperator(BaseOperator):
    """Renew the channel of every sync that listens to Zoho CRM; fail naming those that have none."""

    ui_color = "#e3f2fd"

    def execute(self, context: Any) -> None:
        unfixable, failed = [], []  # a retry cures only the second kind (the API unreachable, busy)
        now = dt.datetime.now(dt.UTC)
        for definition in zoho_listening(checked_definitions().definitions):
            endpoint = definition.source
            secret = BaseHook.get_connection(endpoint.conn_id).extra_dejson.get(WEBHOOK_SECRET)
            try:
                if not secret:
                    raise RegistrationError(
                        f"the connection {endpoint.conn_id!r} has no webhook_secret in its extras: put the "
                        f"secret there, then run `jirasync webhooks register {definition.id} --airflow-url <address>`"
                    )
                until = renew_zoho(connector_for(endpoint), definition, secret, now)
            except (RegistrationError, ApiError) as error:
                log.error(
                    "sync '%s': its Zoho CRM notification channel is not renewed: %s", definition.id, error
                )
                (unfixable if isinstance(error, RegistrationError) else failed).append(definition.id)
                continue
            log.info(
                "sync '%s': its Zoho CRM notification channel is renewed until %s UTC",
                definition.id,
                f"{until:%Y-%m-%d %H:%M}",
            )
        if unfixable or failed:
            said = (
                f"sync(s) {', '.join(unfixable + failed)} get no Zoho CRM events until fixed, as logged above "
                "(their scheduled runs still catch every change)"
            )
            raise RuntimeError(said) if failed else AirflowFailException(said)


def build_event_channels_dag() -> DAG | None:
    """The DAG, or None when no sync listens to Zoho CRM."""
    if not zoho_listening(checked_definitions().definitions):
        return None
    with DAG(
        dag_id=DAG_ID,
        description="Renews the Zoho CRM notification channels of the syncs with events: true",
        doc_md=__doc__,
        schedule="@daily",
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        is_paused_upon_creation=False,
        tags=["jirasync", "events", "zoho_crm"],
        default_args=DEFAULT_ARGS,
    ) as dag:
        RenewZohoChannelsOperator(task_id="renew_zoho_channels")
    return dag
