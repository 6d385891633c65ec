"""Build the change set that undoes an applied run, from its ledger.

Updates and clears go back to their before-values, creates become deletes, links become unlinks
and unlinks links again. A delete cannot be undone (the record is gone), so it becomes a `skip`
row that says so. The result goes through the same check and apply as any change set.
"""

from __future__ import annotations

import pandas as pd

from jirasync.engine.store import CHANGE_COLUMNS, StateStore


class RevertError(ValueError):
    """The run cannot be reverted."""


def revert_changes(store: StateStore, run_id: str) -> pd.DataFrame:
    """The change set that restores what run `run_id` changed; only its successful writes count."""
    run = store.run(run_id)
    if run is None:
        raise RevertError(f"run {run_id!r} is not in the state store; give the run id of an applied run")
    if run["dry_run"]:
        raise RevertError(
            f"run {run_id!r} of sync {run['sync_id']!r} was a dry run; it changed nothing to revert"
        )
    ledger = store.ledger(run_id)
    applied = ledger[ledger["outcome"] == "ok"]
    reason = f"revert of run {run_id}"
    by_kind = {
        kind: applied[applied["kind"] == kind] for kind in ("update", "clear", "create", "link", "unlink")
    }
    parts = [
        _restore_fields(pd.concat([by_kind["update"], by_kind["clear"]]), reason),
        _per_record(by_kind["create"], "delete", f"{reason}, which created it", writes=True),
        _per_record(by_kind["link"], "unlink", f"{reason}, which linked it", writes=False),
        _per_record(by_kind["unlink"], "link", f"{reason}, which unlinked it", writes=False),
        _per_record(
            applied[applied["kind"] == "delete"],
            "skip",
            f"run {run_id} deleted it and a delete cannot be undone; recreate the record by hand if it is needed",
            writes=False,
        ),
    ]
    return pd.concat(parts, ignore_index=True)[CHANGE_COLUMNS].astype("string")


def _restore_fields(rows: pd.DataFrame, reason: str) -> pd.DataFrame:
    return rows.assign(kind="update", before=rows["after"], after=rows["before"], reason=reason)[
        CHANGE_COLUMNS
    ]


def _per_record(rows: pd.DataFrame, kind: str, reason: str, *, writes: bool) -> pd.DataFrame:
    """One row per record (a create was logged per field); only a delete writes, to the same side."""
    records = rows.drop_duplicates(["key", "source_id", "target_id"])
    records = records.assign(kind=kind, field=pd.NA, before=pd.NA, after=pd.NA, reason=reason)
    if not writes:
        records = records.assign(direction=pd.NA)
    return records[CHANGE_COLUMNS]
