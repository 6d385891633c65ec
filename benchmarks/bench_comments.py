"""Notes → comments at 1,000 linked Zoho deals with 5 new notes each: the calls of the run that
mirrors them, against the ideal the run summary counts.

The records ↔ issues steps and the comments stream run in this process as the DAG chains them
(bench_records_to_issues.run). A first run links every deal to a new issue and mirrors the notes
seeded on some deals; then 5 notes are added to each deal, and the next run must post exactly
5,000 Jira comments, one call each, reading each pair's comments once and the changed notes in
as few calls as Zoho's pages allow. A third run posts nothing, but reads the comments of each issue
it wrote to once more: its own comments made those issues "updated" in Jira, and Jira cannot tell
them from a person's comment made while the run was writing. It reads no notes of those deals:
their issues send nothing to the CRM.
"""

from __future__ import annotations

import tempfile
import time

from benchmarks.bench_records_to_issues import connector, deals_world, run
from jirasync.engine.definitions import SyncDefinition
from jirasync.engine.store import StateStore
from jirasync.syncs.comments import CommentsOutcome, sync_comments
from jirasync.syncs.family import RunOptions, SyncRun
from sandbox.testing import RunningSandbox, running_sandbox

DEALS = 1_000
NOTES_EACH = 5


def main() -> None:
    with tempfile.TemporaryDirectory() as work, running_sandbox(work, seed=1, users=50) as sandbox:
        definition, store = deals_world(sandbox, work, DEALS)
        run(sandbox, definition, store)
        streams(sandbox, definition, store)  # the seeded notes

        linked = sorted(store.links(definition.id)["source_id"])
        for deal_id in linked:
            for number in range(NOTES_EACH):
                sandbox.mutate(
                    "zoho",
                    "add_note",
                    module="Deals",
                    record_id=deal_id,
                    content=f"Call {number} about deal {deal_id}: the customer wants a renewal quote.",
                )
        outcome, calls, seconds = streams(sandbox, definition, store)
        posted = calls.get("jira POST /rest/api/3/issue/{issueIdOrKey}/comment", 0)
        made = sum(calls.values())
        print(
            f"{len(linked):,} linked deals, {NOTES_EACH} new notes each: {outcome.posted:,} comments "
            f"mirrored ({posted:,} POSTs, ideal {len(linked) * NOTES_EACH:,}), {len(outcome.failures)} "
            f"failed; {made:,} calls, ideal {outcome.ideal_calls:,}; {seconds:.0f} s"
        )
        again, calls, seconds = streams(sandbox, definition, store)
        print(
            f"next run: {again.posted} posted, {again.updated} updated; {sum(calls.values()):,} calls in {seconds:.0f} s"
        )


def streams(
    sandbox: RunningSandbox, definition: SyncDefinition, store: StateStore
) -> tuple[CommentsOutcome, dict[str, int], float]:
    """One run of the comments stream on the linked pairs; its outcome, the sandbox's calls, seconds."""
    sandbox.clear_counters()
    started = time.perf_counter()
    sync_run = SyncRun(
        definition, RunOptions(), store, "bench", None, connect=lambda e: connector(sandbox, e.system)
    )
    outcome = sync_comments(sync_run, connector(sandbox, "jira"))
    assert outcome is not None, "the definition mirrors no comments"
    return outcome, sandbox.counters(), time.perf_counter() - started


if __name__ == "__main__":
    main()
