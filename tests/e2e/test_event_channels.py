"""``jirasync_event_channels``: the daily DAG that keeps Zoho CRM sending a sync's events renews the
channel of each sync that listens to Zoho (before Zoho's week runs out), and fails naming each sync
that has none and the command that registers it, through a real DAG run on the sandbox."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.harness import EndToEnd, end_to_end

from jirasync.engine.definitions import load_definition
from jirasync.events.vendors import receiver_url, register_zoho
from jirasync.operators.connectors import connector_for

SECRET = "a-channel-token-zoho-sends-back"
LISTENING = "deals_listening"
UNREGISTERED = "deals_unregistered"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def e2e(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EndToEnd]:
    with end_to_end(
        tmp_path_factory.mktemp("channels"), users=20, seed=18, definitions=["zoho_deals_to_jira.yaml"]
    ) as e2e:
        connection = json.loads(os.environ["AIRFLOW_CONN_ZOHO_CRM"])
        connection["extra"] = {**connection["extra"], "webhook_secret": SECRET}
        os.environ["AIRFLOW_CONN_ZOHO_CRM"] = json.dumps(connection)
        yield e2e


def listening(e2e: EndToEnd, sync_id: str) -> Path:
    e2e.add_variant(
        "zoho_deals_to_jira.yaml",
        sync_id,
        {"family: records_to_issues": "family: records_to_issues\nevents: true"},
    )
    return e2e.stack.syncs_dir / f"{sync_id}.yaml"


def test_the_channel_of_each_listening_sync_is_renewed_and_one_without_is_named(e2e: EndToEnd) -> None:
    with e2e.fresh():
        definition = load_definition(listening(e2e, LISTENING))
        listening(e2e, UNREGISTERED)
        url = receiver_url("https://airflow.example.com", LISTENING, "zoho")
        five_days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=5)
        register_zoho(connector_for(definition.source), definition, url, SECRET, five_days_ago)
        [before] = e2e.sandbox.records("zoho", "notification_channels")

        result = e2e.run_dag("jirasync_event_channels")

        [after] = e2e.sandbox.records("zoho", "notification_channels")
        left = dt.datetime.fromisoformat(after["channel_expiry"]) - dt.datetime.now(dt.UTC)
        assert dt.datetime.fromisoformat(before["channel_expiry"]) < dt.datetime.now(dt.UTC) + dt.timedelta(
            days=1
        )
        assert dt.timedelta(days=5, hours=23) < left <= dt.timedelta(days=6)
        assert (after["notify_url"], after["token"], after["events"]) == (url, SECRET, ["Deals.all"])
        said = result.log_path.read_text()
        assert not result.succeeded
        assert f"sync '{LISTENING}': its Zoho CRM notification channel is renewed until" in said
        assert f"jirasync webhooks register {UNREGISTERED} --airflow-url" in said
