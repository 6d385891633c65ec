"""jira_to_zoho_contacts and jira_to_salesforce_contacts: a first sync against the CRM's limit on calls at once.

A CRM's batch write is slow (a second for a hundred or two hundred contacts is ordinary), and the
CRMs limit the calls in flight rather than the calls a second: Zoho to its edition's concurrency
(ten for heavy calls, a write of more than ten records among them), Salesforce its long-running
ones. So each CRM's write routes answer here after WRITE_LATENCY_MS, and the sandbox refuses a
call beyond LIMIT at once (Zoho's 429 TOO_MANY_REQUESTS, Salesforce's 403 REQUEST_LIMIT_EXCEEDED);
the CRM's connection carries a budget in Redis of LIMIT calls at once, so the apply writes that
many batches at once. The steps run as the DAG chains them, each in its own process
(``benchmarks.pipeline``).

Two first syncs per CRM, each from the seeded world. The first runs clean: printed are the write
calls a second its apply achieved against the most the limit allows at that latency (LIMIT /
latency), the contacts a second, and the run's calls against its ideal (the sandbox counts refused
calls too: at ideal, none was). In the second, the apply's process is killed (SIGKILL) once half
the contacts' write calls were answered, and Airflow's retry runs it again; then the next
scheduled run, which reads both sides in full, must find nothing to write (nothing lost), and no
email may have more contacts than the seeded world gave it (nothing duplicated). The retry asks
the CRM which creates in flight at the kill arrived (those lookups are in the ideal); its calls
beyond the ideal are its own token or login and the updates in flight at the kill, written again.

Run: python -m benchmarks bench_contacts_throughput (Redis at JIRASYNC_REDIS_URL, or
127.0.0.1:6379); BENCH_CONTACTS_PEOPLE sets another number of people.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.pipeline import budget_in_redis, calls_against_ideal, run_steps, sync_environment
from jirasync.engine.keys import email_key
from sandbox.testing import RunningSandbox

PEOPLE = int(os.environ.get("BENCH_CONTACTS_PEOPLE", "50000"))
WRITE_LATENCY_MS = 1000
LIMIT = 10  # calls at once


@dataclass(frozen=True)
class Crm:
    sync: str
    vendor: str
    conn_id: str
    collection: str  # where the sandbox keeps the contacts
    batch: int  # contacts one write call takes
    writes: tuple[tuple[str, str], ...]  # (method, path start) of the calls that write contacts


CRMS = (
    Crm(
        "jira_to_zoho_contacts",
        "zoho",
        "zoho_crm",
        "Contacts",
        100,
        (("POST", "/crm/v8/Contacts"), ("PUT", "/crm/v8/Contacts")),
    ),
    Crm(
        "jira_to_salesforce_contacts",
        "salesforce",
        "salesforce_default",
        "Contact",
        200,
        (("POST", "/services/data/"), ("PATCH", "/services/data/")),
    ),
)


def main() -> None:
    logging.disable(logging.INFO)  # the steps' logs would bury the figures
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for crm in CRMS:
        with _limited_world(crm) as (syncs, sandbox):
            run = run_steps(syncs, crm.sync, "first")
            summary = run["summary"]
            write_calls = _write_calls(sandbox, crm)
            contacts = summary["created"] + summary["updated"]
            apply_seconds = run["seconds"]["apply"]
            rate = write_calls / apply_seconds
            ceiling = LIMIT / (WRITE_LATENCY_MS / 1000)
            print(
                f"{crm.sync}, {PEOPLE:,} people: apply wrote {contacts:,} contacts in {write_calls:,} calls "
                f"in {apply_seconds:.1f} s ({contacts / apply_seconds:,.0f} contacts/s), {LIMIT} at once"
            )
            print(
                f"  achieved {rate:.1f} write calls/s against the {ceiling:.0f}/s that {LIMIT} calls at once "
                f"of {WRITE_LATENCY_MS} ms allow ({rate / ceiling:.0%}); one at a time it would be at most "
                f"{1000 / WRITE_LATENCY_MS:.0f}/s"
            )
            print(f"  {calls_against_ideal(sandbox, summary['ideal_api_calls'])}")

        _killed_and_retried(crm)


def _killed_and_retried(crm: Crm) -> None:
    """A first sync whose apply is killed once half its write calls were answered, then retried;
    what the next run still had to write (lost) and the contacts made twice (duplicated)."""
    with _limited_world(crm) as (syncs, sandbox):
        seeded = _contacts_by_email(sandbox, crm)
        half = PEOPLE // crm.batch // 2
        run = run_steps(syncs, crm.sync, "killed", kill_apply_when=lambda: _write_calls(sandbox, crm) >= half)
        made = calls_against_ideal(sandbox, run["summary"]["ideal_api_calls"])
        sandbox.clear_counters()
        following = run_steps(syncs, crm.sync, "next")["summary"]
        lost = following["created"] + following["updated"]
        duplicated = sum(
            max(0, count - max(1, seeded.get(email, 0)))
            for email, count in _contacts_by_email(sandbox, crm).items()
        )
        print(
            f"  killed mid-apply after {run['killed_after']:.1f} s ({half} write calls answered), then "
            f"retried: {lost} lost (the next run wrote {lost}), {duplicated} duplicated; {made}"
        )


@contextmanager
def _limited_world(crm: Crm) -> Iterator[tuple[Path, RunningSandbox]]:
    """The seeded world, the CRM's writes slow and limited to LIMIT at once, and its connection's
    budget in Redis (taken away after)."""
    with (
        tempfile.TemporaryDirectory() as work,
        sync_environment(Path(work), PEOPLE, crm.sync) as (syncs, sandbox),
        budget_in_redis(crm.conn_id, 100, LIMIT),
    ):
        for method, route in crm.writes:
            sandbox.add_fault(crm.vendor, "latency", latency_ms=WRITE_LATENCY_MS, route=route, method=method)
        sandbox.limit(crm.vendor, concurrent=LIMIT)
        sandbox.clear_counters()
        yield syncs, sandbox


def _write_calls(sandbox: RunningSandbox, crm: Crm) -> int:
    """The contacts' write calls the sandbox answered since its counters were cleared."""
    return sum(
        any(request["method"] == method and request["path"].startswith(route) for method, route in crm.writes)
        for request in sandbox.request_log(limit=100_000)
    )


def _contacts_by_email(sandbox: RunningSandbox, crm: Crm) -> Counter[str]:
    return Counter(
        email_key(str(contact["Email"]))
        for contact in sandbox.records(crm.vendor, crm.collection, limit=10 * PEOPLE)
        if contact.get("Email")
    )


if __name__ == "__main__":
    main()
