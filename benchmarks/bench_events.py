"""Issue 18's figures: how soon a change on one side reaches the other through an event-triggered
run, and how many runs a burst of events makes.

A whole Airflow on a sandbox world (``jirasync.live_airflow``: ``airflow standalone``, its
LocalExecutor, PostgreSQL), with ``zoho_deals_to_jira`` listening to events (``events: true``, no
schedule), registered on Jira and Zoho CRM by ``jirasync webhooks register``. After a first run has
linked the deals to issues:

- latency: CHANGES changes, one after the other, by turns: a person comments on a linked issue in
  the sandbox's Jira (measured until the deal has the comment as a Zoho note), or renames a linked
  deal in its Zoho CRM (measured until the issue has the name as its summary). The vendor sends
  its webhook or notification, the receiver records the Asset event, the scheduler starts the run,
  the run writes. Printed: median and p95, in all and by direction. Target: median under 30 s, ten
  times better than the seed's five-minute poll.
- coalescing: EVENTS signed webhooks posted to the receiver over a minute, as a burst of edits in
  Jira sends them: how many runs Airflow made of them.

Run: python -m benchmarks bench_events (PostgreSQL at 127.0.0.1:5432); BENCH_EVENTS_CHANGES and
BENCH_EVENTS_BURST set the numbers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

from jirasync.engine.store import StateStore
from jirasync.events.vendors import receiver_url
from jirasync.live_airflow import PostgresStack, api_session, free_port, fresh_database, live_airflow
from jirasync.local_stack import PROJECT_ROOT
from sandbox.testing import RunningSandbox, running_sandbox

CHANGES = int(os.environ.get("BENCH_EVENTS_CHANGES", "100"))
EVENTS = int(os.environ.get("BENCH_EVENTS_BURST", "1000"))
BURST_SECONDS = 60
SYNC = "zoho_deals_to_jira"
DAG_ID = f"jirasync__{SYNC}"
SECRET = "bench-webhook-secret"
PEOPLE = 200
WAIT_S = 300


def main() -> None:
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with (
        tempfile.TemporaryDirectory(prefix="bench-events-") as workdir,
        running_sandbox(Path(workdir) / "sandbox", seed=7, users=PEOPLE) as sandbox,
        fresh_database("jirasync_bench_events") as database,
    ):
        stack = _stack(Path(workdir), sandbox, database)
        with live_airflow(stack, {}, Path(workdir) / "standalone.log", dags=1) as url:
            api = api_session(url, *stack.login())
            api.patch(f"{url}/api/v2/dags/{DAG_ID}", json={"is_paused": False}, timeout=30).raise_for_status()
            api.post(
                f"{url}/api/v2/dags/{DAG_ID}/dagRuns", json={"logical_date": None}, timeout=30
            ).raise_for_status()
            _wait(lambda: _all_ended(database), "the first run")
            _register(stack, url, Path(workdir))
            pairs = StateStore(stack.state_url).links(SYNC)[["source_id", "target_id"]].values.tolist()
            _latency(sandbox, pairs)
            _wait(lambda: _all_ended(database), "the runs of the changes")
            _coalescing(url, database, [key for _, key in pairs])


def _register(stack: PostgresStack, url: str, workdir: Path) -> None:
    """As an admin registers the sync: ``jirasync webhooks register``, through its connections."""
    connections = workdir / "connections.json"
    connections.write_text(json.dumps(stack.connections()))
    command = ["webhooks", "register", SYNC, "--airflow-url", url, "--folder", str(stack.syncs_dir)]
    done = subprocess.run(
        [sys.executable, "-m", "jirasync.cli", *command, "--connections", str(connections)],
        capture_output=True,
        text=True,
        env={**os.environ, "AIRFLOW_HOME": str(stack.airflow_home)},
    )
    if done.returncode:
        raise RuntimeError(f"jirasync webhooks register failed: {done.stderr}")
    print(done.stdout.strip())


def _latency(sandbox: RunningSandbox, pairs: list[list[str]]) -> None:
    seconds: dict[str, list[float]] = {"Jira comment → Zoho note": [], "Zoho deal → Jira issue": []}
    for number in range(CHANGES):
        deal, issue = pairs[number % len(pairs)]
        started = time.monotonic()
        if number % 2 == 0:
            text = f"Change {number}: the customer called back"
            sandbox.mutate("jira", "comment", issue=issue, text=text)
            _wait(partial(_noted, sandbox, deal, text), f"change {number} in Zoho", pause=0.2)
            seconds["Jira comment → Zoho note"].append(time.monotonic() - started)
        else:
            name = f"Change {number}: «renamed» in Zoho"
            sandbox.edit("zoho", "Deals", deal, Deal_Name=name)
            _wait(partial(_summarised, sandbox, issue, name), f"change {number} in Jira", pause=0.2)
            seconds["Zoho deal → Jira issue"].append(time.monotonic() - started)
    every = [s for direction in seconds.values() for s in direction]
    print(
        f"latency of {CHANGES} changes one after the other: {_figures(every)} "
        "(target: median < 30 s; the seed polls every 300 s)"
    )
    for direction, taken in seconds.items():
        print(f"  {direction} ({len(taken)}): {_figures(taken)}")


def _figures(seconds: list[float]) -> str:
    p95 = statistics.quantiles(seconds, n=20, method="inclusive")[-1] if len(seconds) >= 2 else seconds[0]
    return f"median {statistics.median(seconds):.1f} s, p95 {p95:.1f} s, max {max(seconds):.1f} s"


def _coalescing(url: str, database: str, issues: list[str]) -> None:
    runs_before = _runs(database)
    target = receiver_url(url, SYNC, "jira")
    started = time.monotonic()
    for number in range(EVENTS):
        body = json.dumps(
            {
                "timestamp": int(time.time() * 1000),
                "webhookEvent": "jira:issue_updated",
                "issue": {"key": issues[number % len(issues)]},
            }
        ).encode()
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        requests.post(
            target, data=body, headers={"X-Hub-Signature": signature}, timeout=30
        ).raise_for_status()
        time.sleep(max(0.0, started + BURST_SECONDS * (number + 1) / EVENTS - time.monotonic()))
    sent = time.monotonic() - started
    _wait(lambda: _all_ended(database), "the runs of the burst")
    runs = _runs(database) - runs_before
    print(
        f"{EVENTS} events in {sent:.0f} s made {runs} run(s) of {SYNC} ({EVENTS / max(runs, 1):.0f} events a run)"
    )


def _stack(workdir: Path, sandbox: RunningSandbox, database: str) -> PostgresStack:
    syncs = workdir / "syncs"
    syncs.mkdir()
    shipped = (PROJECT_ROOT / "include" / "syncs" / f"{SYNC}.yaml").read_text().splitlines(keepends=True)
    definition = "".join(line for line in shipped if not line.startswith("schedule:")) + "\nevents: true\n"
    (syncs / f"{SYNC}.yaml").write_text(definition)
    stack = _ListeningStack(
        airflow_home=workdir / "airflow",
        sandbox_port=sandbox.port,
        users=PEOPLE,
        seed=7,
        syncs_dir=syncs,
        api_port=free_port(),
        database_url=database,
    )
    stack.prepare_airflow()
    stack.import_connections()
    return stack


class _ListeningStack(PostgresStack):
    """Its Jira and Zoho connections hold the secret the receiver checks their events with."""

    def connections(self) -> dict[str, dict[str, Any]]:
        connections = super().connections()
        connections["jira_default"]["extra"] = {"webhook_secret": SECRET}
        connections["zoho_crm"]["extra"] = {**connections["zoho_crm"]["extra"], "webhook_secret": SECRET}
        return connections


def _noted(sandbox: RunningSandbox, deal: str, text: str) -> bool:
    return any(
        note["Parent_Id"]["id"] == deal and text in note["Note_Content"]
        for note in sandbox.records("zoho", "Notes")
    )


def _summarised(sandbox: RunningSandbox, key: str, name: str) -> bool:
    return any(
        key in (i["key"], i["id"]) and i["fields"]["summary"] == name
        for i in sandbox.records("jira", "issues")
    )


def _query(database: str, sql: str) -> Any:
    engine = sa.create_engine(database)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(sql), {"dag": DAG_ID}).scalar_one()
    finally:
        engine.dispose()


def _runs(database: str) -> int:
    return _query(database, "SELECT count(*) FROM dag_run WHERE dag_id = :dag")


def _all_ended(database: str) -> bool:
    return (
        _query(
            database,
            "SELECT count(*) FROM dag_run WHERE dag_id = :dag AND state NOT IN ('success', 'failed')",
        )
        == 0
        and _runs(database) > 0
    )


def _wait(done: Callable[[], bool], what: str, pause: float = 1.0) -> None:
    deadline = time.monotonic() + WAIT_S
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting {WAIT_S} s for {what}")
        time.sleep(pause)
