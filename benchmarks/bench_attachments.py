"""Files of Zoho deals → Jira attachments: N files of 10 MB moved, and the peak memory it took.

The attachments stream downloads each file in chunks into a temporary file while hashing it, and
uploads it from that file as it is sent: its memory must not grow with the files. The sandbox (which
keeps every file in memory) runs in this process; the stream runs in a fresh process of its own, so
that its peak resident memory (VmHWM, reset before the stream starts) is the stream's alone.
"""

from __future__ import annotations

import base64
import multiprocessing
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from jirasync.connectors.jira import JiraConnector
from jirasync.connectors.zoho import ZohoAuth, ZohoCrmConnector
from jirasync.engine.apply import apply_changes
from jirasync.engine.definitions import SyncDefinition, load_definition
from jirasync.engine.plan import plan_changes
from jirasync.engine.store import StateStore
from jirasync.syncs.attachments import sync_attachments
from jirasync.syncs.family import RunOptions, SyncRun
from jirasync.syncs.records_to_issues import RecordsToIssues
from sandbox.testing import running_sandbox

FILES = 100  # of 10 MB each: about a minute here (the sandbox keeps them in memory, base64)
SIZE = 10 * 1024 * 1024
DEALS = 4  # the files are spread over the first linked deals
SHIPPED = Path(__file__).resolve().parents[1] / "include" / "syncs" / "zoho_deals_to_jira.yaml"


def main() -> None:
    with tempfile.TemporaryDirectory() as work, running_sandbox(Path(work), seed=1, users=50) as sandbox:
        # Generated deals are in Qualification: the rule names that stage, so each gets an issue.
        sandbox.mutate("zoho", "generate_records", module="Deals", count=DEALS)
        stages = "[Qualification, Proposal, Negotiation]"
        (Path(work) / "deals.yaml").write_text(SHIPPED.read_text().replace("[Proposal, Negotiation]", stages))
        definition = Path(work) / "deals.yaml"
        places = {
            "jira": sandbox.url("/jira"),
            "zoho": sandbox.url("/zoho-accounts"),
            "credentials": sandbox.credentials,
            "definition": str(definition),
            "store": str(Path(work) / "state.db"),
        }
        _link_deals(places)
        store = StateStore(Path(places["store"]))
        deals = sorted(store.links(load_definition(definition).id)["source_id"])[:DEALS]
        for number in range(FILES):
            content = os.urandom(SIZE)
            sandbox.mutate(
                "zoho",
                "add_attachment",
                module="Deals",
                record_id=deals[number % DEALS],
                file_name=f"file {number} ✓.bin",
                content=base64.b64encode(content).decode(),
            )
        sandbox.clear_counters()
        spawned = multiprocessing.get_context("spawn")
        with spawned.Pool(1) as pool:
            moved = pool.apply(_move, (places,))
        counters = sandbox.counters()
        uploads = sum(
            c for e, c in counters.items() if e.startswith("jira POST") and e.endswith("/attachments")
        )
        print(
            f"{moved['uploaded']} files of {SIZE // 2**20} MB moved ({FILES} wanted) in {uploads} uploads, "
            f"{moved['failed']} failed, api_calls {moved['api_calls']} = ideal {moved['ideal_calls']}, "
            f"in {moved['seconds']:.1f} s; peak memory growth of the stream's process "
            f"{moved['growth_mb']:.1f} MB (a file is {SIZE / 2**20:.0f} MB, all of them {FILES * SIZE / 2**20:.0f} MB)"
        )


def _link_deals(places: dict[str, Any]) -> None:
    """A first run of the records family, so that the deals have issues (the pairs the files go to)."""
    definition = load_definition(Path(places["definition"]))
    store = StateStore(Path(places["store"]))
    sync_run = _sync_run(places, definition, store)
    family = RecordsToIssues()
    source = family.read_source(sync_run, _connector(places, "zoho_crm"))
    target = family.read_target(sync_run, _connector(places, "jira"), source)
    links, base = store.links(definition.id), store.base(definition.id)
    changes = family.refine(sync_run, plan_changes(definition, source.frame, target.frame, links, base))
    writer = family.writer(sync_run, _connector(places, "jira"), source.frame)
    apply_changes(changes, store=store, sync_id=definition.id, writer=writer)


def _move(places: dict[str, Any]) -> dict[str, Any]:
    """In a fresh process: one run of the attachments stream, and its peak memory growth."""
    definition = load_definition(Path(places["definition"]))
    store = StateStore(Path(places["store"]))
    jira = _connector(places, "jira")
    sync_run = _sync_run(places, definition, store)
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to what is resident now
    before = _status_kb("VmRSS")
    started = time.perf_counter()
    outcome = sync_attachments(sync_run, jira)
    seconds = time.perf_counter() - started
    assert outcome is not None
    jira_calls = sum(jira.http.calls.by_endpoint().values())
    return {
        "uploaded": outcome.uploaded,
        "failed": len(outcome.failures),
        "api_calls": jira_calls + sum(outcome.calls.values()),
        "ideal_calls": outcome.ideal_calls,
        "seconds": seconds,
        "growth_mb": (_status_kb("VmHWM") - before) / 1024,
    }


def _sync_run(places: dict[str, Any], definition: SyncDefinition, store: StateStore) -> SyncRun:
    return SyncRun(
        definition, RunOptions(), store, "bench", None, connect=lambda e: _connector(places, e.system)
    )


def _status_kb(name: str) -> int:
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(name))
    return int(line.split()[1])


def _connector(places: dict[str, Any], system: str) -> Any:
    known = places["credentials"]
    if system == "jira":
        return JiraConnector.with_api_token(
            places["jira"], known["jira"]["email"], known["jira"]["api_token"]
        )
    zoho = known["zoho"]
    return ZohoCrmConnector(
        ZohoAuth(places["zoho"], zoho["client_id"], zoho["client_secret"], zoho["refresh_token"])
    )


if __name__ == "__main__":
    main()
