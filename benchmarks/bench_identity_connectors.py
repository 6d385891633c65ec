"""Reading 100,000 identity users through ``GraphConnector`` and ``ScimConnector`` takes the fewest calls.

The ideals:
- Graph full read: one token request plus ceil(N / 999) pages of ``/v1.0/users`` (999 is the
  largest ``$top``; the manager is not mapped here, since ``$expand`` would cap pages at 100).
- SCIM full read: ``/ServiceProviderConfig`` plus ceil(N / 100) pages (the server caps ``count`` at 100).
- Incremental after 1% of the users changed, each by a new connector as a new run would:
  Graph one token plus ceil(changes / 999) delta pages; SCIM ``/ServiceProviderConfig`` plus
  ceil(changes / 100) pages filtered on ``meta.lastModified``.

The world is sized so that about N people are identity users (95% of staff); N is the
count the sandbox actually seeded. ``BENCH_IDENTITY_USERS`` sets another N.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
import time
from pathlib import Path

from jirasync.connectors.graph import MAX_PAGE_SIZE, GraphConnector
from jirasync.connectors.scim import ScimConnector
from sandbox.testing import RunningSandbox, running_sandbox
from sandbox.world import COVERAGE

TARGET_USERS = int(os.environ.get("BENCH_IDENTITY_USERS", "100000"))
CHANGED_SHARE = 0.01
SCIM_PAGE_CAP = 100
SEED_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # seeded SCIM users were modified before it
ATTRIBUTES = ["mail", "displayName", "department", "jobTitle", "employeeId", "accountEnabled"]


def graph_connector(sandbox: RunningSandbox) -> GraphConnector:
    credentials = sandbox.credentials["entra"]
    return GraphConnector(
        sandbox.url("/graph"),
        credentials["tenant_id"],
        credentials["client_id"],
        credentials["client_secret"],
        login_url=sandbox.url("/entra"),
    )


def scim_connector(sandbox: RunningSandbox) -> ScimConnector:
    return ScimConnector(f"{sandbox.url('/scim')}/v2", sandbox.credentials["scim"]["bearer_token"])


def report(label: str, calls: dict[str, int], ideal: int, seconds: float, records: int) -> None:
    made = sum(calls.values())
    verdict = "at ideal" if made <= ideal else f"{made - ideal} over ideal"
    print(f"{label:<34} {records:>7} users  {made:>5} calls, ideal {ideal:>5} ({verdict})  {seconds:6.1f} s")


def main() -> None:
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    people = math.ceil(TARGET_USERS / COVERAGE["identity"][1])
    with tempfile.TemporaryDirectory() as data_dir:
        started = time.perf_counter()
        with running_sandbox(Path(data_dir), seed=1, users=people) as sandbox:
            print(
                f"sandbox with {people} people (every vendor) started in {time.perf_counter() - started:.1f} s"
            )

            graph = graph_connector(sandbox)
            started = time.perf_counter()
            users = graph.read_users(ATTRIBUTES)
            report(
                "Graph full read (/users)",
                graph.calls(),
                1 + math.ceil(len(users) / MAX_PAGE_SIZE),
                time.perf_counter() - started,
                len(users),
            )

            graph = graph_connector(sandbox)
            started = time.perf_counter()
            first = graph.read_changes(ATTRIBUTES)
            report(
                "Graph first delta round",
                graph.calls(),
                1 + math.ceil(len(first.users) / MAX_PAGE_SIZE),
                time.perf_counter() - started,
                len(first.users),
            )

            scim = scim_connector(sandbox)
            started = time.perf_counter()
            scim_users = scim.read_users(["userName", "emails"]).users
            report(
                "SCIM full read",
                scim.calls(),
                1 + math.ceil(len(scim_users) / SCIM_PAGE_CAP),
                time.perf_counter() - started,
                len(scim_users),
            )

            changes = int(len(users) * CHANGED_SHARE)
            started = time.perf_counter()
            for user in users[:changes]:
                sandbox.edit("graph", "users", user["id"], jobTitle="Changed for the benchmark")
            for user in scim_users[:changes]:
                sandbox.edit("scim", "users", user["id"], title="Changed for the benchmark")
            print(f"changed {changes} users in each directory in {time.perf_counter() - started:.1f} s")

            graph = graph_connector(sandbox)
            started = time.perf_counter()
            delta = graph.read_changes(ATTRIBUTES, delta_link=first.delta_link)
            assert len(delta.users) == changes, (
                f"the delta returned {len(delta.users)} users, {changes} changed"
            )
            report(
                "Graph incremental (delta link)",
                graph.calls(),
                1 + math.ceil(changes / MAX_PAGE_SIZE),
                time.perf_counter() - started,
                len(delta.users),
            )

            scim = scim_connector(sandbox)
            started = time.perf_counter()
            since = scim.read_users(["userName", "emails"], modified_since=SEED_EPOCH)
            assert len(since.users) == changes, (
                f"the filter returned {len(since.users)} users, {changes} changed"
            )
            report(
                "SCIM incremental (lastModified)",
                scim.calls(),
                1 + math.ceil(changes / SCIM_PAGE_CAP),
                time.perf_counter() - started,
                len(since.users),
            )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
