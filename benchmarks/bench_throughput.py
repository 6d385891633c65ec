"""entra_to_jira's first sync at 10,000 people, Jira answering in 150 ms and limited to 100 calls/s.

The family's steps run in this process as the DAG chains them (extract, plan, refine, apply)
against the sandbox, with a latency fault of 150 ms on every Jira route and the sandbox's Jira
limit set to 100 requests a second (it answers 429 with Retry-After beyond it, as Jira does).
The Jira connector holds a budget in Redis of the same 100 a second and CONCURRENCY calls at once
(at 150 ms a call, 100 a second needs 15 in flight); the apply writes that many user properties
at once. Printed: the writes a second the apply achieved against the limit, and the run's calls
against its ideal (the extract's fewest reads plus one write per changed user): the sandbox
counts the requests it refused too, so calls at ideal means none was.

Run: python -m benchmarks bench_throughput (Redis at JIRASYNC_REDIS_URL, or 127.0.0.1:6379);
BENCH_THROUGHPUT_PEOPLE sets another number of people.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path

from redis import Redis

from benchmarks.bench_identity_connectors import graph_connector
from jirasync.connectors.budget import KEY_PREFIX, REDIS_URL_VARIABLE, VendorBudget
from jirasync.connectors.jira import JiraConnector
from jirasync.engine.apply import apply_changes, merge_pending
from jirasync.engine.definitions import load_definition
from jirasync.engine.plan import plan_changes
from jirasync.engine.store import StateStore
from jirasync.syncs.family import RunOptions, SyncRun
from jirasync.syncs.identity_to_jira import IdentityToJiraProperties
from sandbox.testing import RunningSandbox, running_sandbox

PEOPLE = int(os.environ.get("BENCH_THROUGHPUT_PEOPLE", "10000"))
LATENCY_MS = 150
PER_SECOND = 100
CONCURRENCY = 20
SHIPPED = Path(__file__).resolve().parents[1] / "include" / "syncs" / "entra_to_jira.yaml"


def main() -> None:
    people = PEOPLE
    redis = Redis.from_url(os.environ.get(REDIS_URL_VARIABLE, "redis://127.0.0.1:6379/0"))
    name = f"bench-jira-{uuid.uuid4().hex}"
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as work, running_sandbox(Path(work), seed=1, users=people) as sandbox:
        definition = load_definition(SHIPPED)
        store = StateStore(Path(work) / "state.db")
        budget = VendorBudget(name, PER_SECOND, CONCURRENCY, redis=redis)
        known = sandbox.credentials["jira"]
        jira = JiraConnector.with_api_token(
            sandbox.url("/jira"), known["email"], known["api_token"], budget=budget
        )
        sandbox.add_fault("jira", "latency", latency_ms=LATENCY_MS)
        sandbox.limit("jira", per_second=PER_SECOND)
        sandbox.clear_counters()
        family = IdentityToJiraProperties()
        run = SyncRun(definition, RunOptions(), store, "bench", None, connect=lambda _: jira)

        started = time.perf_counter()
        source = family.read_source(run, graph_connector(sandbox))
        target = family.read_target(run, jira, source)
        links = store.links(definition.id)
        changes = plan_changes(definition, source.frame, target.frame, links, store.base(definition.id))
        changes = family.refine(run, merge_pending(changes, store.pending(definition.id), links))
        extracted = time.perf_counter()
        writer = family.writer(run, jira, source.frame)
        summary = apply_changes(changes, store=store, sync_id=definition.id, writer=writer)
        applied = time.perf_counter()

        writes = summary.updated + summary.created + summary.cleared + summary.failed
        apply_seconds = applied - extracted
        rate = writes / apply_seconds
        ideal = source.ideal_calls + target.ideal_calls + writes
        made = total_calls(sandbox)
        print(
            f"{people:,} people: extract and plan {extracted - started:.1f} s; apply wrote {writes:,} "
            f"user properties ({summary.failed} failed) in {apply_seconds:.1f} s with {CONCURRENCY} at once"
        )
        print(
            f"achieved {rate:.1f} writes/s against the sandbox's limit of {PER_SECOND}/s "
            f"({rate / PER_SECOND:.0%}); one at a time it would be at most {1000 / LATENCY_MS:.1f}/s"
        )
        print(f"calls {made:,}, ideal {ideal:,} ({'at ideal' if made <= ideal else f'{made - ideal} over'})")
        for key in redis.scan_iter(f"{KEY_PREFIX}:{name}*"):
            redis.delete(key)


def total_calls(sandbox: RunningSandbox) -> int:
    return sum(sandbox.counters().values())


if __name__ == "__main__":
    main()
