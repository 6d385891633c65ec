"""Zoho CRM's Notifications API in the sandbox: channels enabled, listed, renewed and disabled as
Zoho keeps them, and notified, with their token, when a watched module's records are written
through the API or by a person; with the delivery faults the admin API sets."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.sandbox.pushes import Received, delivered, receiving
from tests.sandbox.test_zoho_openapi import zoho_client

from sandbox.testing import RunningSandbox

TOKEN = "the-channel-token"
WATCH = "/crm/v8/actions/watch"


@pytest.fixture
def zoho(fresh_sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with zoho_client(fresh_sandbox) as client:
        yield client


@pytest.fixture
def received() -> Iterator[tuple[str, Received]]:
    with receiving() as server:
        yield server


def enable(zoho: httpx.Client, url: str, events: list[str], **more: Any) -> httpx.Response:
    entry = {"channel_id": 1000000068001, "events": events, "token": TOKEN, "notify_url": url, **more}
    return zoho.post(WATCH, json={"watch": [entry]})


def notifications(got: Received) -> list[dict[str, Any]]:
    return [json.loads(delivery.body) for delivery in got.deliveries]


def in_hours(hours: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)).replace(microsecond=0).isoformat()


def expiry_hours(entry: dict[str, Any]) -> float:
    expiry = dt.datetime.fromisoformat(entry["channel_expiry"])
    return (expiry - dt.datetime.now(dt.UTC)) / dt.timedelta(hours=1)


def test_a_channel_is_enabled_listed_renewed_and_disabled(zoho: httpx.Client) -> None:
    url = "https://airflow.example.com/jirasync-events/deals/zoho"
    enabled = enable(zoho, url, ["Deals.all"])
    assert enabled.status_code == 200, enabled.text
    answer = enabled.json()["watch"][0]
    assert answer["status"] == "success" and answer["details"]["events"][0]["resource_name"] == "Deals"
    listed = zoho.get(WATCH).json()["watch"]
    assert [(e["channel_id"], e["events"], e["notify_url"]) for e in listed] == [
        ("1000000068001", ["Deals.all"], url)
    ]
    assert 0.9 < expiry_hours(listed[0]) <= 1, "no channel_expiry: an hour"
    # Enabling again renews it; beyond a week is refused back to an hour, as Zoho does.
    enable(zoho, url, ["Deals.all"], channel_expiry=in_hours(6 * 24))
    assert 6 * 24 - 0.1 < expiry_hours(zoho.get(WATCH).json()["watch"][0]) <= 6 * 24
    enable(zoho, url, ["Deals.all"], channel_expiry=in_hours(8 * 24))
    assert expiry_hours(zoho.get(WATCH).json()["watch"][0]) <= 1
    patched = zoho.patch(
        WATCH, json={"watch": [{"channel_id": 1000000068001, "channel_expiry": in_hours(48)}]}
    )
    assert patched.status_code == 200, patched.text
    assert 47.9 < expiry_hours(zoho.get(WATCH).json()["watch"][0]) <= 48
    assert len(zoho.get(WATCH).json()["watch"]) == 1, "renewing makes no second channel"
    gone = zoho.delete(WATCH, params={"channel_ids": "1000000068001"})
    assert gone.status_code == 200 and gone.json()["watch"][0]["status"] == "success"
    assert zoho.get(WATCH).status_code == 204


def test_a_patch_changes_every_module_of_the_channel_and_keeps_their_events(zoho: httpx.Client) -> None:
    enable(zoho, "https://airflow.example.com/hook", ["Deals.all", "Leads.create"])
    zoho.patch(WATCH, json={"watch": [{"channel_id": 1000000068001, "channel_expiry": in_hours(48)}]})
    listed = zoho.get(WATCH).json()["watch"]
    assert [(e["resource_name"], e["events"]) for e in listed] == [
        ("Deals", ["Deals.all"]),
        ("Leads", ["Leads.create"]),
    ]
    assert all(47.9 < expiry_hours(e) <= 48 for e in listed)


def test_bad_channels_are_refused_as_zoho_refuses_them(zoho: httpx.Client) -> None:
    url = "https://airflow.example.com/hook"
    unknown_module = enable(zoho, url, ["Unicorns.all"])
    too_long = enable(zoho, url, ["Deals.all"], token="x" * 51)
    no_url = zoho.post(WATCH, json={"watch": [{"channel_id": 1, "events": ["Deals.all"]}]})
    unknown_channel = zoho.delete(WATCH, params={"channel_ids": "42"})
    for answer, field in ((unknown_module, "events"), (too_long, "token"), (no_url, "notify_url")):
        assert answer.status_code == 400 and answer.json()["details"]["api_name"] == field, answer.text
    assert unknown_channel.status_code == 400 and unknown_channel.json()["code"] == "INVALID_DATA"


def test_records_written_through_the_api_notify_the_channels_watching_them(
    zoho: httpx.Client, received: tuple[str, Received]
) -> None:
    url, got = received
    enable(zoho, url, ["Deals.all"])
    deal_id = zoho.post(
        "/crm/v8/Deals", json={"data": [{"Deal_Name": "Ünïcode deal", "Stage": "Qualification"}]}
    )
    deal_id = deal_id.json()["data"][0]["details"]["id"]
    zoho.put(f"/crm/v8/Deals/{deal_id}", json={"data": [{"Stage": "Negotiation/Review"}]})
    zoho.post("/crm/v8/Leads", json={"data": [{"Last_Name": "Okafor", "Company": "Acme"}]})  # not watched
    zoho.delete("/crm/v8/Deals", params={"ids": deal_id})
    delivered()
    sent = notifications(got)
    assert [(n["operation"], n["ids"]) for n in sent] == [
        ("insert", [deal_id]),
        ("update", [deal_id]),
        ("delete", [deal_id]),
    ]
    update = sent[1]
    assert (
        update["module"] == "Deals" and update["channel_id"] == "1000000068001" and update["token"] == TOKEN
    )
    assert "Stage" in update["affected_fields"][0][deal_id]
    assert {"server_time", "resource_uri", "query_params"} <= set(update)


def test_a_person_s_edit_notifies_and_a_channel_hears_only_its_events(
    fresh_sandbox: RunningSandbox, zoho: httpx.Client, received: tuple[str, Received]
) -> None:
    url, got = received
    enable(zoho, url, ["Deals.edit"])
    deal = fresh_sandbox.records("zoho", "Deals")[0]
    fresh_sandbox.edit("zoho", "Deals", deal["id"], Deal_Name="Renamed by a person")
    zoho.post("/crm/v8/Deals", json={"data": [{"Deal_Name": "New", "Stage": "Qualification"}]})  # a create
    delivered()
    assert [(n["operation"], n["ids"]) for n in notifications(got)] == [("update", [deal["id"]])]


def test_the_delivery_faults_apply_to_notifications(
    fresh_sandbox: RunningSandbox, zoho: httpx.Client, received: tuple[str, Received]
) -> None:
    url, got = received
    enable(zoho, url, ["Deals.all"])
    fresh_sandbox.mutate("zoho", "webhook_deliveries", duplicate=1.0)
    deal = fresh_sandbox.records("zoho", "Deals")[0]
    fresh_sandbox.edit("zoho", "Deals", deal["id"], Deal_Name="Twice")
    delivered()
    assert [n["ids"] for n in notifications(got)] == [[deal["id"]], [deal["id"]]]
