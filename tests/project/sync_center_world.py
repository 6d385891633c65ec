"""A state store with something in every Sync Center panel, written through the StateStore API
as the runs write it: applied changes, a failed record waiting in pending, a held conflict,
links, and a sync whose last run failed before it applied anything."""

from __future__ import annotations

import pandas as pd

from jirasync.engine.store import BatchOutcome, StateStore

APPLIED_RUN = "manual__2026-11-29T08:00:00+00:00"
FAILED_RUN = "manual__2026-11-29T09:00:00+00:00"
CONFLICT_KEY = "ada@example.com"
FAILED_KEY = "bob@example.com"
UPDATED_KEY = "cy@example.com"
AUTH_ERROR = "Jira refused the credentials of connection 'jira_default' (401)"


def change(
    kind: str, key: str, field: str | None, before: str | None, after: str | None
) -> dict[str, object]:
    source_id = f"src-{key.split('@')[0]}"
    return {
        "kind": kind,
        "key": key,
        "source_id": source_id,
        "target_id": f"tgt-{key.split('@')[0]}",
        "field": field,
        "before": before,
        "after": after,
        "direction": None if kind == "conflict" else "to_target",
        "reason": "both sides changed; held for review" if kind == "conflict" else None,
    }


def seed(store: StateStore, sync_id: str, failing_sync_id: str) -> str:
    """Runs of ``sync_id`` (an earlier success, then a partial run) and a failure of
    ``failing_sync_id``; returns the store's id of the partial run."""
    store.start_run(sync_id, f"{sync_id}:scheduled__2026-11-28T08:00:00+00:00:1", dry_run=False)
    store.finish_run(
        f"{sync_id}:scheduled__2026-11-28T08:00:00+00:00:1", "success", {"created": 3, "linked": 2}
    )
    run_id = f"{sync_id}:{APPLIED_RUN}:1"
    store.start_run(sync_id, run_id, dry_run=False)
    failure = {
        "key": FAILED_KEY,
        "error": "Phone is not a valid phone number",
        "action": "correct the record",
    }
    updated = change("update", UPDATED_KEY, "Phone", '"111"', '"222"')
    rejected = change("update", FAILED_KEY, "Phone", '"333"', '"not a phone"')
    store.record_outcome(
        BatchOutcome(
            sync_id=sync_id,
            run_id=run_id,
            ledger=[
                {**updated, "outcome": "ok", "error": None},
                {**rejected, "outcome": "failed", "error": failure["error"]},
                {
                    **change("conflict", CONFLICT_KEY, "Phone", '"555-0100"', '"555-0199"'),
                    "outcome": "held",
                    "error": None,
                },
            ],
            failed=[{"key": FAILED_KEY, "changes": [rejected], "error": failure["error"]}],
            succeeded_keys=[UPDATED_KEY],
        )
    )
    store.finish_run(run_id, "partial", {"updated": 1, "failed": 1, "conflicts": 1, "failures": [failure]})
    store.save_links(
        sync_id,
        pd.DataFrame(
            {
                "source_id": [f"src-{name}" for name in ("ada", "bob", "cy")],
                "target_id": [f"tgt-{name}" for name in ("ada", "bob", "cy")],
                "key": [CONFLICT_KEY, FAILED_KEY, UPDATED_KEY],
                "origin": ["auto", "auto", "manual"],
            }
        ),
    )
    store.record_failure(failing_sync_id, f"{failing_sync_id}:{FAILED_RUN}:1", "extract_target", AUTH_ERROR)
    return run_id
