"""A run's change set from both sides' reads: the plan step's work, for the DAGs and `jirasync plan`."""

from __future__ import annotations

import pandas as pd

from jirasync.engine.apply import merge_pending
from jirasync.engine.plan import plan_changes
from jirasync.syncs.family import Extract, SyncRun, family_for


def plan_run(run: SyncRun, source: Extract, target: Extract) -> pd.DataFrame:
    """The engine's plan against the store's links, base and people's decisions on held conflicts,
    with the records waiting in pending and what the family knows better than the engine."""
    sync_id = run.definition.id
    links = run.store.links(sync_id)
    in_scope = _links_in_scope(links, source, target)
    # The plan compares only the links in scope with their base: an incremental read's few records
    # need only theirs read and decoded, not every linked record's.
    base = run.store.base(sync_id, None if len(in_scope) == len(links) else in_scope["source_id"])
    changes = plan_changes(
        run.definition, source.frame, target.frame, in_scope, base, run.store.decisions(sync_id)
    )
    changes = merge_pending(changes, run.store.pending(sync_id), links)
    return family_for(run.definition).refine(run, changes)


def _links_in_scope(links: pd.DataFrame, source: Extract, target: Extract) -> pd.DataFrame:
    """The links this run can judge: an incomplete read says nothing of the records it did not read."""
    in_scope = pd.Series(True, index=links.index)
    if not source.complete:
        known = pd.concat([source.frame["_id"], pd.Series(source.removed, dtype="string")])
        in_scope &= links["source_id"].isin(known)
    if not target.complete:
        in_scope &= links["target_id"].isin(target.frame["_id"])
    return links[in_scope]
