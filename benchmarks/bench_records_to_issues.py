"""Zoho CRM Deals ↔ Jira issues at 10,000 records: the calls of a first run and of a run with 1% changed.

The family's steps run in this process as the DAG chains them (extract, plan, refine, apply)
against the sandbox. The first run creates the deals' issues in batches of 100, Zoho's write
batch: two bulk creates of 50 each, then the batch moves to the rule's status together (read the
new issues' status, read the transitions they share, one bulk transition, and the polls of its
task), each issue gets its remote link, and the batch's keys go back to Zoho in one write. The second
run, after 1% of the deals changed in the CRM and 1% of the issues in Jira, must write exactly
those: one edit per issue and the deals in batches of 100.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from jirasync.connectors.jira import JiraConnector
from jirasync.connectors.zoho import ZohoAuth, ZohoCrmConnector
from jirasync.engine.apply import ApplySummary, apply_changes, merge_pending
from jirasync.engine.definitions import SyncDefinition, load_definition
from jirasync.engine.plan import plan_changes
from jirasync.engine.store import StateStore
from jirasync.syncs.family import RunOptions, SyncRun
from jirasync.syncs.records_to_issues import RecordsToIssues
from sandbox.testing import RunningSandbox, running_sandbox

DEALS = 10_000
CHANGED = DEALS // 100
SHIPPED = Path(__file__).resolve().parents[1] / "include" / "syncs" / "zoho_deals_to_jira.yaml"


def deals_world(sandbox: RunningSandbox, work: str, deals: int) -> tuple[SyncDefinition, StateStore]:
    """``deals`` Zoho deals in all, the shipped definition made to give each an issue, and a new
    state store in ``work``."""
    present = len(sandbox.records("zoho", "Deals"))
    sandbox.mutate("zoho", "generate_records", module="Deals", count=deals - present)
    # Generated deals are in Qualification: the rule names that stage, so every deal gets an issue.
    text = SHIPPED.read_text().replace("[Proposal, Negotiation]", "[Qualification, Proposal, Negotiation]")
    (Path(work) / "deals.yaml").write_text(text)
    return load_definition(Path(work) / "deals.yaml"), StateStore(Path(work) / "state.db")


def main() -> None:
    with tempfile.TemporaryDirectory() as work, running_sandbox(work, seed=1, users=50) as sandbox:
        definition, store = deals_world(sandbox, work, DEALS)

        first, calls, seconds = run(sandbox, definition, store)
        creates = first.created
        ideal_creates = math.ceil(creates / 50)
        batches = math.ceil(creates / 100)
        print(
            f"first run: {creates:,} issues created, {first.failed} failed, {calls['bulk']} bulk creates "
            f"(ideal {ideal_creates}), {creates:,} moves in {calls['bulk_transitions']} bulk transitions "
            f"(ideal {batches}) with {calls['transition_reads']} reads of their transitions and "
            f"{calls['task_polls']} task polls, {calls['transitions']} single-issue transition calls, "
            f"{calls['remotelink']} remote links, {calls['crm_writes']} CRM writes "
            f"(ideal {batches}), {calls['related_lists']:,} related-list reads (two lists a deal, "
            "one call each: Zoho reads them per record); "
            f"{calls['total']:,} calls in {seconds:.0f} s"
        )

        linked = set(store.links(definition.id)["source_id"])
        deals = sorted(d["id"] for d in sandbox.records("zoho", "Deals") if d["id"] in linked)
        stamp = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        for deal_id in deals[:CHANGED]:
            sandbox.edit("zoho", "Deals", deal_id, Amount=4242.0, Modified_Time=stamp)
        issues = [
            i for i in sandbox.records("jira", "issues") if (i.get("properties") or {}).get("jirasync.record")
        ]
        for issue in sorted(issues, key=lambda i: int(i["id"]))[-CHANGED:]:  # other deals' issues
            sandbox.mutate(
                "jira", "edit_issue", issue=issue["key"], fields={"summary": f"Renamed {issue['key']}"}
            )

        second, calls, seconds = run(sandbox, definition, store)
        print(
            f"second run: {second.updated} records updated (ideal {2 * CHANGED}), {second.failed} failed; "
            f"{calls['edits']} issue edits (ideal {CHANGED}), {calls['crm_writes']} CRM writes "
            f"(ideal {math.ceil(CHANGED / 100)}), {calls['reads']} reads; {calls['total']:,} calls in {seconds:.0f} s"
        )


def run(
    sandbox: RunningSandbox, definition: SyncDefinition, store: StateStore
) -> tuple[ApplySummary, Counter[str], float]:
    """One run of the family's steps; what it wrote and the calls the sandbox answered, by kind."""
    family = RecordsToIssues()
    sandbox.clear_counters()
    started = time.perf_counter()
    run = SyncRun(
        definition, RunOptions(), store, "bench", None, connect=lambda e: connector(sandbox, e.system)
    )
    source = family.read_source(run, connector(sandbox, "zoho_crm"))
    target = family.read_target(run, connector(sandbox, "jira"), source)
    links = store.links(definition.id)
    scoped = links[links["source_id"].isin(source.frame["_id"]) | links["source_id"].isin(source.removed)]
    changes = plan_changes(definition, source.frame, target.frame, scoped, store.base(definition.id))
    changes = family.refine(run, merge_pending(changes, store.pending(definition.id), links))
    writer = family.writer(run, connector(sandbox, "jira"), source.frame)
    summary = apply_changes(changes, store=store, sync_id=definition.id, writer=writer)
    store.save_cursor(definition.id, "source", source.cursor or "")
    seconds = time.perf_counter() - started
    return summary, _calls(sandbox.counters()), seconds


def connector(sandbox: RunningSandbox, system: str) -> Any:
    if system == "jira":
        known = sandbox.credentials["jira"]
        return JiraConnector.with_api_token(sandbox.url("/jira"), known["email"], known["api_token"])
    known = sandbox.credentials["zoho"]
    auth = ZohoAuth(
        sandbox.url("/zoho-accounts"), known["client_id"], known["client_secret"], known["refresh_token"]
    )
    return ZohoCrmConnector(auth)


def _calls(counters: dict[str, int]) -> Counter[str]:
    kinds: Counter[str] = Counter()
    for endpoint, count in counters.items():
        kinds["total"] += count
        if endpoint.endswith("/issue/bulk"):
            kinds["bulk"] += count
        elif endpoint == "jira POST /rest/api/3/bulk/issues/transition":
            kinds["bulk_transitions"] += count
        elif endpoint == "jira GET /rest/api/3/bulk/issues/transition":
            kinds["transition_reads"] += count
        elif "/bulk/queue/" in endpoint:
            kinds["task_polls"] += count
        elif "/transitions" in endpoint:
            kinds["transitions"] += count
        elif endpoint.endswith(("/Stage_History", "/Contact_Roles")):
            kinds["related_lists"] += count
        elif "/remotelink" in endpoint:
            kinds["remotelink"] += count
        elif endpoint.startswith("zoho PUT"):
            kinds["crm_writes"] += count
        elif endpoint.startswith("jira PUT /rest/api/3/issue/"):
            kinds["edits"] += count
        elif " GET " in f" {endpoint.split(' ', 1)[1]}" or "search" in endpoint:
            kinds["reads"] += count
    return kinds


if __name__ == "__main__":
    main()
