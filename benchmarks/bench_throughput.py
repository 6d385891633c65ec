"""entra_to_jira's first sync, Jira answering in 150 ms and limited to 100 calls a second.

Every Jira route answers after LATENCY_MS, and the sandbox's Jira limit is PER_SECOND requests a
second (beyond it, 429 with Retry-After, as Jira does). The Jira connection carries a budget in
Redis of the same PER_SECOND and CONCURRENCY calls at once (at 150 ms a call, 100 a second needs 15
in flight), so the apply writes that many user properties at once. The steps run as the DAG chains
them, each in its own process (``benchmarks.pipeline``).

Two first syncs from the seeded world. The first runs clean: printed are the writes a second its
apply achieved against the limit, and the run's calls against its ideal (the extract's fewest
reads plus one write per changed user): the sandbox counts the requests it refused too, so calls
at ideal means none was. In the second, the apply's process is killed (SIGKILL) once half the
writes were answered, and Airflow's retry runs it again; then a full sync with repair, which reads
every linked user's property back from Jira (without the latency and the limit, to spare the
wait), must find nothing to write: nothing was lost. A user property cannot be duplicated; the
writes made twice are the calls beyond the ideal, those in flight at the kill.

Run: python -m benchmarks bench_throughput (Redis at JIRASYNC_REDIS_URL, or 127.0.0.1:6379);
BENCH_THROUGHPUT_PEOPLE sets another number of people (issue 17's figure: 100000).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.pipeline import budget_in_redis, calls_against_ideal, run_steps, sync_environment
from sandbox.testing import RunningSandbox

PEOPLE = int(os.environ.get("BENCH_THROUGHPUT_PEOPLE", "10000"))
SYNC = "entra_to_jira"
CONN_ID = "jira_default"
LATENCY_MS = 150
PER_SECOND = 100
CONCURRENCY = 20
WRITES = "jira PUT /rest/api/3/user/properties"  # the sandbox's counter of property writes


def main() -> None:
    logging.disable(logging.INFO)  # the steps' logs would bury the figures
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with _limited_world() as (syncs, sandbox):
        run = run_steps(syncs, SYNC, "first")
        summary = run["summary"]
        writes = summary["updated"] + summary["created"] + summary["cleared"] + summary["failed"]
        apply_seconds = run["seconds"]["apply"]
        rate = writes / apply_seconds
        extract = run["seconds"]["extract_source"] + run["seconds"]["extract_target"]
        print(
            f"{PEOPLE:,} people: extract {extract:.1f} s, plan {run['seconds']['plan']:.1f} s; apply wrote "
            f"{writes:,} user properties ({summary['failed']} failed) in {apply_seconds:.1f} s, "
            f"{CONCURRENCY} at once"
        )
        print(
            f"  achieved {rate:.1f} writes/s against the sandbox's limit of {PER_SECOND}/s "
            f"({rate / PER_SECOND:.0%}); one at a time it would be at most {1000 / LATENCY_MS:.1f}/s"
        )
        print(f"  {calls_against_ideal(sandbox, summary['ideal_api_calls'])}")

    with _limited_world() as (syncs, sandbox):
        half = PEOPLE * 45 // 100  # about half the writes: some nine people in ten have a Jira account
        run = run_steps(syncs, SYNC, "killed", kill_apply_when=lambda: _writes(sandbox) >= half)
        made = calls_against_ideal(sandbox, run["summary"]["ideal_api_calls"])
        sandbox.clear_faults()
        sandbox.limit("jira")
        os.environ[_variable()] = json.dumps(_without_budget(json.loads(os.environ[_variable()])))
        repair = run_steps(syncs, SYNC, "repair", params={"full_sync": True, "repair": True})["summary"]
        lost = repair["updated"] + repair["created"]
        print(
            f"  killed mid-apply after {run['killed_after']:.1f} s ({half:,} writes answered), then retried: "
            f"{lost} lost (a full sync with repair wrote {lost}); {made}"
        )


@contextmanager
def _limited_world() -> Iterator[tuple[Path, RunningSandbox]]:
    """The seeded world, Jira slow and limited to PER_SECOND, and the connection's budget in Redis
    (taken away after)."""
    with (
        tempfile.TemporaryDirectory() as work,
        sync_environment(Path(work), PEOPLE, SYNC, seed=1) as (syncs, sandbox),
        budget_in_redis(CONN_ID, PER_SECOND, CONCURRENCY),
    ):
        sandbox.add_fault("jira", "latency", latency_ms=LATENCY_MS)
        sandbox.limit("jira", per_second=PER_SECOND)
        sandbox.clear_counters()
        yield syncs, sandbox


def _variable() -> str:
    return f"AIRFLOW_CONN_{CONN_ID.upper()}"


def _without_budget(connection: dict) -> dict:
    extra = {k: v for k, v in connection.get("extra", {}).items() if k not in ("rate_limit", "concurrency")}
    return {**connection, "extra": extra}


def _writes(sandbox: RunningSandbox) -> int:
    return sum(count for endpoint, count in sandbox.counters().items() if endpoint.startswith(WRITES))


if __name__ == "__main__":
    main()
