"""The pipeline's steps as Airflow runs them: one function per operator of jirasync.operators.pipeline.

Each step loads the sync's definition, does its part through the family and the engine, and
hands the next steps paths and counts through XCom, which they are given as arguments (``source``,
``target``, ``planned``, ``checked``, ``applied``); frames and change sets travel as Parquet under
the staging location (``JIRASYNC_STAGING_URL``, else ``$AIRFLOW_HOME/jirasync/staging``).

A sync with ``shards`` applies as that many mapped tasks, each its shard of the change set; the
report merges their results into the run's summary, and saves the extracts' cursors only then, so
a run with a shard that failed reads the same changes again.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException, AirflowSkipException
from simple_salesforce.exceptions import SalesforceAuthenticationFailed

from jirasync.connectors.errors import AuthenticationError, FatalApiError, PermissionDeniedError
from jirasync.engine.apply import ApplySummary, apply_changes
from jirasync.engine.checks import GateFailed, check_run
from jirasync.engine.definitions import Endpoint, read_definitions
from jirasync.engine.keys import EMAIL_PATTERN
from jirasync.engine.render import render_plan
from jirasync.engine.revert import RevertError, revert_changes
from jirasync.engine.shards import Shard
from jirasync.engine.staging import read_frame, write_frame
from jirasync.engine.store import CHANGE_COLUMNS, StateStore, utc_now
from jirasync.events.sources import described
from jirasync.hooks.state import state_store_location
from jirasync.operators.callbacks import store_run_id
from jirasync.operators.connectors import api_calls, connector_for
from jirasync.syncs.family import (
    DefinitionMismatch,
    Extract,
    RunOptions,
    SyncRun,
    Window,
    family_for,
    sync_pair_streams,
    target_has_changes_of_its_own,
)
from jirasync.syncs.planning import plan_run

log = logging.getLogger(__name__)

RECORD_KINDS = ("create", "update", "link", "unlink", "delete", "clear", "conflict", "skip")
CHANGE_COUNTS = ("created", "updated", "linked", "unlinked", "deleted", "cleared")
STREAMS = ("comments", "attachments")  # summary keys of the streams of linked pairs (records ↔ issues)
# What the shards of a sharded apply add up to.
SUMMED = (*CHANGE_COUNTS, "failed", "skipped", "conflicts", "recovered", "looked_up", "ideal_calls")
MAX_SKIPPED_SHOWN = 50
Staged = dict[str, Any] | None  # an earlier step's result (paths and counts), as its XCom holds it


class SyncFailed(AirflowFailException):
    """A failure no retry can fix: the task fails at once, and the failure callback says ``action``."""

    def __init__(self, message: str, action: str) -> None:
        super().__init__(message)
        self.action = action


def extract_source(sync_id: str, syncs_dir: str, **context: Any) -> dict[str, Any]:
    run = _sync_run(sync_id, syncs_dir, context)
    _check_trigger_options(run)
    _log_what_this_run_reads(run)
    _log_triggering_events(run, context)
    read_at = utc_now()
    with _fail_at_once_when_unfixable_by_retry(run, run.definition.source, reading=True):
        connector = connector_for(run.definition.source)
        extract = family_for(run.definition).read_source(run, connector)
    return {**_staged(run, context, "source", extract, api_calls(connector)), "read_at": read_at.isoformat()}


def extract_target(sync_id: str, syncs_dir: str, source: Staged, **context: Any) -> dict[str, Any]:
    run = _sync_run(sync_id, syncs_dir, context)
    idle = _idle(run, _result(source, "extract_source"))
    if idle:
        log.info("sync '%s': %s", sync_id, idle)
        nothing = Extract(pd.DataFrame({"_id": pd.Series(dtype="string")}), complete=False)
        return {**_staged(run, context, "target", nothing, {}), "idle": idle}
    source_read = _extract(source, "extract_source")
    read_at = utc_now()
    with _fail_at_once_when_unfixable_by_retry(run, run.definition.target, reading=True):
        connector = connector_for(run.definition.target)
        extract = family_for(run.definition).read_target(run, connector, source_read)
    return {**_staged(run, context, "target", extract, api_calls(connector)), "read_at": read_at.isoformat()}


def plan(sync_id: str, syncs_dir: str, source: Staged, target: Staged, **context: Any) -> dict[str, Any]:
    run = _sync_run(sync_id, syncs_dir, context)
    idle = _result(target, "extract_target").get("idle")
    if idle:  # nothing read, nothing to compare: the check and the apply are skipped
        log.info("sync '%s': %s; nothing planned", sync_id, idle)
        empty = pd.DataFrame(columns=CHANGE_COLUMNS, dtype="string")
        return {"path": write_frame(empty, _staging(context, sync_id, "changes")), "idle": idle}
    planned_at = _read_at(source, target)
    revert_run = str(run.options.extra.get("revert_run") or "").strip()
    if revert_run:
        changes = _revert(run, revert_run)
    else:
        changes = plan_run(run, _extract(source, "extract_source"), _extract(target, "extract_target"))
    # A dry run is read for what it would do: every record, not a sample.
    log.info("%s", render_plan(changes, sync_id=sync_id, sample=None if run.options.dry_run else 5))
    return {
        "path": write_frame(changes, _staging(context, sync_id, "changes")),
        "records": _record_counts(changes),
        # The plan reflects the systems as read: apply leaves out what other runs recorded since,
        # as a read that began before a write was recorded may not have seen it.
        "planned_at": planned_at.isoformat(),
    }


def check(
    sync_id: str, syncs_dir: str, source: Staged, target: Staged, planned: Staged, **context: Any
) -> dict[str, Any]:
    idle = _result(planned, "plan").get("idle")
    if idle:
        raise AirflowSkipException(f"sync '{sync_id}': {idle}; nothing to check")
    run = _sync_run(sync_id, syncs_dir, context)
    changes = read_frame(_result(planned, "plan")["path"])
    source_read = _extract(source, "extract_source")
    target_read = _extract(target, "extract_target")
    result = check_run(
        run.definition,
        source_read.frame,
        target_read.frame,
        changes,
        override=run.options.override_circuit_breaker,
        # An incremental read holds only what changed: measure against what the sync keeps linked.
        # A read of nothing (a sync turned off) leaves nothing to measure against, as before.
        linked=len(run.store.links(sync_id)) if len(target_read.frame) else 0,
    )
    for failure in result.failures:
        log.warning("gate: %s%s", failure, " (overridden for this run)" if result.override else "")
    for skipped in result.skipped:
        log.warning("gate: %s; within the tolerated share, so these records are skipped", skipped)
    if not result.passed:
        # No retry: the data, not the weather, has to change first.
        raise SyncFailed(
            str(GateFailed(result)),
            "read the plan in the log of the plan task; correct the data at its source, or, if the "
            "change is intended, trigger the sync with 'Override the circuit breaker' on",
        )
    return {"failures": len(result.failures), "overridden": bool(result.failures) and result.override}


def apply(
    sync_id: str,
    syncs_dir: str,
    source: Staged,
    target: Staged,
    planned: Staged,
    checked: Staged,
    shard: int | None = None,
    **context: Any,
) -> dict[str, Any]:
    run = _sync_run(sync_id, syncs_dir, context)
    _result(checked, "check")  # the gate passed this plan: nothing is written that it did not see
    planned = _result(planned, "plan")
    part = Shard(shard, run.definition.shards) if shard is not None else None
    changes = read_frame(planned["path"])
    if part is not None:
        changes = part.of(changes)
        log.info("sync '%s': applies %s: %d change rows", sync_id, part, len(changes))
    source_read = _extract(source, "extract_source")
    with _fail_at_once_when_unfixable_by_retry(run, run.definition.target, reading=False):
        connector = connector_for(run.definition.target)
        writer = family_for(run.definition).writer(run, connector, source_read.frame)
        summary = apply_changes(
            changes,
            store=run.store,
            sync_id=sync_id,
            writer=writer,
            run_id=run.run_id,
            dry_run=run.options.dry_run,
            planned_at=datetime.fromisoformat(planned["planned_at"]),
            shard=part,
            # A retry after a killed try applies the same plan: what that try wrote is done.
            earlier_tries=[store_run_id(sync_id, context, n) for n in range(1, context["ti"].try_number)],
        )
    # Streams of the linked pairs (records ↔ issues: notes ↔ comments, files ↔ attachments), once
    # the links are written.
    with _fail_at_once_when_unfixable_by_retry(run, run.definition.target, reading=False):
        streams = sync_pair_streams(run, connector)
    ideal = _ideal_writes(changes, writer, summary.looked_up)
    # A writer that also writes the source (records ↔ issues) reports those calls itself.
    calls = _added(api_calls(connector), writer.other_calls() if hasattr(writer, "other_calls") else {})
    applied = {**summary.to_dict(), "calls": calls, "ideal_calls": ideal}
    for name, stream in streams.items():
        applied["calls"] = _added(applied["calls"], stream.calls)
        applied["ideal_calls"] += stream.ideal_calls
        applied[name] = stream.to_dict()
        applied["failures"] = [*applied["failures"], *stream.failures]
        applied["failed"] += len(stream.failures)
    return applied


def report(
    sync_id: str, syncs_dir: str, source: Staged, target: Staged, applied: Staged, **context: Any
) -> dict[str, Any]:
    run = _sync_run(sync_id, syncs_dir, context)
    source = _result(source, "extract_source")
    target = _result(target, "extract_target")
    idle = target.get("idle")
    shards = _shard_results(applied)
    if shards:
        applied = _merged(shards)
    elif idle:
        applied = _idle_run(run)
    else:
        applied = _result(None, "apply")  # fails: the apply left no result
    calls: dict[str, int] = {}
    for step in (source, target, applied):
        for endpoint, count in step["calls"].items():
            calls[endpoint] = calls.get(endpoint, 0) + count
    started = context["dag_run"].start_date
    ledger = pd.concat([run.store.ledger(part["run_id"]) for part in shards or [applied]], ignore_index=True)
    summary = {
        "sync": sync_id,
        "dry_run": run.options.dry_run,
        "read_source": source["rows"],
        "read_target": target["rows"],
        **{name: applied[name] for name in (*CHANGE_COUNTS, "failed", "skipped", "conflicts")},
        "api_calls": sum(calls.values()),
        "ideal_api_calls": source["ideal_calls"] + target["ideal_calls"] + applied.get("ideal_calls", 0),
        "calls_by_endpoint": calls,
        "reasons": _applied_reasons(ledger),
        "skipped_records": _skipped_records(ledger),
        # Values changed to fit the target's limits (cut, with '…'): written as such, never a failure.
        "adjusted_values": [*source.get("adjusted", []), *target.get("adjusted", [])],
        **{name: applied[name] for name in STREAMS if name in applied},
        "seconds": round(time.time() - started.timestamp(), 1) if started else None,
        **({"nothing_changed": idle} if idle else {}),
    }
    if len(shards) > 1:
        for index, part in enumerate(shards):
            # Each shard's row counts its own writes (the Sync Center adds rows up) and keeps the run's.
            own = {name: part[name] for name in (*CHANGE_COUNTS, "failed", "skipped", "conflicts")}
            recorded = {**part, **summary, **own, "api_calls": sum(part["calls"].values())}
            status = "partial" if part["failed"] else "success"
            shard = f"{index + 1} of {len(shards)}"
            run.store.finish_run(part["run_id"], status, {**recorded, "shard": shard, "run_summary": summary})
    else:
        run.store.finish_run(
            applied["run_id"], "partial" if applied["failed"] else "success", {**applied, **summary}
        )
    if not run.options.dry_run:
        for side, staged in (("source", source), ("target", target)):
            if staged["cursor"] is not None:
                run.store.save_cursor(sync_id, side, staged["cursor"])
    log.info("sync summary: %s", summary)
    if applied["failed"]:
        failures = "; ".join(f"{f['key']}: {f['error']} ({f['action']})" for f in applied["failures"][:10])
        raise SyncFailed(
            f"sync '{sync_id}': {applied['failed']} record(s), comment(s) or file(s) could not be written; the next "
            f"run tries them again: {failures}",
            "the next run writes them again; those marked 'correct the record or the field mapping' "
            "need that fix first, the others need nothing",
        )
    return summary


def announce_changes(sync_id: str, syncs_dir: str, applied: Staged, **context: Any) -> None:
    """Succeed (and so emit the sync's Asset) only when this run changed the target (an apply
    that failed left no result; of a sharded apply, the shards that ended count)."""
    shards = _shard_results(applied)
    applied = _merged(shards) if shards else {"dry_run": True}
    changed = sum(applied.get(name, 0) for name in CHANGE_COUNTS)
    if applied["dry_run"] or not changed:
        raise AirflowSkipException(f"sync '{sync_id}' changed nothing in this run")


# plumbing


def _idle(run: SyncRun, source: dict[str, Any]) -> str | None:
    """Why this run need not read the target, or None when it must: the source's read since the
    cursor found nothing, nothing waits from earlier runs, the run was not asked to read more, and
    the family says its target brings no changes of its own."""
    options = run.options
    if source["rows"] or source["complete"] or options.full_sync or options.only:
        return None
    if str(options.extra.get("revert_run") or "").strip() or len(read_frame(source["removed_path"])):
        return None
    if run.store.waiting(run.definition.id) or target_has_changes_of_its_own(run):
        return None
    if run.window is not None:
        return f"nothing changed in the data interval {run.window}: target not read"
    saved = run.store.cursor_saved_at(run.definition.id, "source")
    since = f"{saved:%Y-%m-%d %H:%M:%S} UTC" if saved else "the last run"
    return f"nothing changed since {since}: target not read"


def _idle_run(run: SyncRun) -> dict[str, Any]:
    """The apply's result for a run that read no target: the run recorded as applying nothing
    (the report keeps the source's new cursor: a delta link kept unused expires)."""
    sync_id = run.definition.id
    run.store.start_run(sync_id, run.run_id, dry_run=run.options.dry_run)
    nothing = ApplySummary(sync_id=sync_id, run_id=run.run_id, dry_run=run.options.dry_run)
    return {**nothing.to_dict(), "calls": {}, "ideal_calls": 0}


def _shard_results(applied: Any) -> list[dict[str, Any]]:
    """The apply's results: one, or one per shard that ended (a sharded apply's XCom is a sequence,
    empty when its tasks were skipped); none when the apply did not run."""
    if applied is None:
        return []
    if isinstance(applied, dict):
        return [applied]
    return [part for part in applied if part is not None]


def _merged(shards: list[dict[str, Any]]) -> dict[str, Any]:
    """One apply's result from its shards': counts and calls added, failures listed together."""
    merged = {**shards[0], "failures": [], "calls": {}, **dict.fromkeys(SUMMED, 0)}
    for part in shards:
        for name in SUMMED:
            merged[name] += part[name]
        merged["calls"] = _added(merged["calls"], part["calls"])
        merged["failures"] = [*merged["failures"], *part["failures"]]
    return merged


def _sync_run(sync_id: str, syncs_dir: str, context: dict[str, Any]) -> SyncRun:
    params = context["params"]
    options = RunOptions(
        full_sync=bool(params.get("full_sync")),
        dry_run=bool(params.get("dry_run")),
        only=str(params.get("only") or "").strip(),
        override_circuit_breaker=bool(params.get("override_circuit_breaker")),
        extra={k: v for k, v in params.items() if k not in RunOptions.__dataclass_fields__},
    )
    try:
        definition = read_definitions(syncs_dir).find(sync_id)
    except LookupError as error:
        raise AirflowFailException(str(error)) from None
    return SyncRun(
        definition=definition,
        options=options,
        store=StateStore(state_store_location()),
        run_id=store_run_id(sync_id, context),
        window=_backfill_window(context, options),
        connect=connector_for,
    )


def _backfill_window(context: dict[str, Any], options: RunOptions) -> Window | None:
    """A backfilled run's data interval, the window it re-syncs; None for every other run, which
    reads from the cursor (or everything, for a full sync, which a backfill may also ask for)."""
    dag_run = context["dag_run"]
    if dag_run.run_type != "backfill" or options.full_sync or options.only:
        return None
    return Window(context["data_interval_start"], context["data_interval_end"])


def _log_what_this_run_reads(run: SyncRun) -> None:
    """Say at the start of the run which records it reads, so a backfill's log names its window."""
    if run.window is None:
        reads = (
            "every record (full sync)"
            if run.options.full_sync
            else f"the record {run.options.only!r}"
            if run.options.only
            else "what changed since the last run (its cursor)"
        )
        log.info("sync '%s': reads %s", run.definition.id, reads)
        return
    log.info(
        "sync '%s': backfilled run of the data interval %s: re-syncs the records of %s changed in "
        "it (by their modified time, where %s keeps one); the scheduled runs' cursor is left as it is",
        run.definition.id,
        run.window,
        run.definition.source.system,
        run.definition.source.system,
    )


def _log_triggering_events(run: SyncRun, context: dict[str, Any]) -> None:
    """Say which vendor events started a run that they started (``events: true``)."""
    triggering = context.get("triggering_asset_events") or {}
    events = [event for asset in triggering for event in triggering[asset]]
    if events:
        said = [described(e.extra or {}, most=3) for e in events]
        more = f" and {len(said) - MAX_SKIPPED_SHOWN} more" if len(said) > MAX_SKIPPED_SHOWN else ""
        log.info(
            "sync '%s': started by %d event(s) from its vendors: %s%s; it reads what changed since its cursor",
            run.definition.id,
            len(events),
            "; ".join(said[:MAX_SKIPPED_SHOWN]),
            more,
        )


@contextmanager
def _fail_at_once_when_unfixable_by_retry(
    run: SyncRun, endpoint: Endpoint, *, reading: bool
) -> Iterator[None]:
    """Credentials refused, a permission missing, a connection that does not exist, a name the
    vendor lacks, or (when reading) the vendor refusing the definition's own request: retrying in
    a minute would only delay on-call by the retry delays, so the task fails at once naming the
    connection and the fix. Errors a retry can cure (429, 5xx, dropped connections) pass on to
    Airflow's retries."""
    conn = endpoint.conn_id
    where = f"sync '{run.definition.id}': {endpoint.system} through the Airflow connection '{conn}'"
    try:
        yield
    except DefinitionMismatch as error:
        raise SyncFailed(str(error), error.action) from None
    except AirflowNotFoundException:
        raise SyncFailed(
            f"{where}: the connection does not exist",
            f"create the connection '{conn}' in Admin → Connections (or correct {conn!r} in the "
            "definition), then trigger the sync again",
        ) from None
    except (AuthenticationError, SalesforceAuthenticationFailed) as error:
        raise SyncFailed(
            f"{where}: the credentials were refused: {error}",
            f"put valid credentials (a current API token, client secret or refresh token) in the "
            f"connection '{conn}' in Admin → Connections, then trigger the sync again",
        ) from None
    except PermissionDeniedError as error:
        raise SyncFailed(
            f"{where}: the account lacks a permission: {error}",
            f"grant the account of the connection '{conn}' the permission the error names, then trigger "
            "the sync again",
        ) from None
    except FatalApiError as error:
        if not reading:
            raise
        raise SyncFailed(
            f"{where}: the vendor refused to read what the definition asks for: {error}",
            f"correct the definition's {endpoint.system} settings (module, fields, scope) or the "
            f"connection '{conn}', then trigger the sync again",
        ) from None


def _check_trigger_options(run: SyncRun) -> None:
    """Refuse what the trigger form was given wrongly before anything is read, without retries."""
    only = run.options.only
    if only and (any(c.isspace() for c in only) or ("@" in only and not re.fullmatch(EMAIL_PATTERN, only))):
        raise SyncFailed(
            f"sync '{run.definition.id}': 'Only this record' is {only!r}, which is neither an email address "
            "nor a record id",
            "Trigger again with one email address or one id in 'Only this record', or leave it empty",
        )
    revert_run = str(run.options.extra.get("revert_run") or "").strip()
    reverted = run.store.run(revert_run) if revert_run else None
    if revert_run and (reverted is None or reverted["sync_id"] != run.definition.id):
        raise SyncFailed(
            f"sync '{run.definition.id}': cannot revert run {revert_run!r}: it is not a run of this sync",
            "Copy the run id from the summary of the run to undo (its run_id) into 'Revert a run'",
        )


def _revert(run: SyncRun, revert_run: str) -> pd.DataFrame:
    """The change set that undoes an earlier run of this sync; it is checked and applied as any other."""
    try:
        return revert_changes(run.store, revert_run)
    except RevertError as error:
        raise AirflowFailException(f"sync '{run.definition.id}': {error}") from None


def _staging(context: dict[str, Any], sync_id: str, name: str) -> str:
    """Per DAG run and per sync: a DAG of a user's own may run several syncs."""
    root = os.environ.get("JIRASYNC_STAGING_URL") or str(
        Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser() / "jirasync" / "staging"
    )
    ti = context["ti"]
    return f"{root.rstrip('/')}/{ti.dag_id}/{context['run_id']}/{sync_id}/{name}.parquet"


def _staged(
    run: SyncRun, context: dict[str, Any], side: str, extract: Extract, calls: dict[str, int]
) -> dict[str, Any]:
    removed = pd.DataFrame({"_id": pd.Series(extract.removed, dtype="string")})
    if extract.adjusted:
        log.warning(
            "sync '%s': %d value(s) of the %s changed to fit the other side's limits: %s",
            run.definition.id,
            len(extract.adjusted),
            side,
            "; ".join(extract.adjusted[:MAX_SKIPPED_SHOWN]),
        )
    return {
        "path": write_frame(extract.frame, _staging(context, run.definition.id, side)),
        "removed_path": write_frame(removed, _staging(context, run.definition.id, f"{side}-removed")),
        "rows": len(extract.frame),
        "complete": extract.complete,
        "cursor": extract.cursor,
        "calls": _added(calls, extract.calls),
        "ideal_calls": extract.ideal_calls,
        "adjusted": list(extract.adjusted[:MAX_SKIPPED_SHOWN]),
    }


def _extract(result: Staged, step: str) -> Extract:
    staged = _result(result, step)
    return Extract(
        frame=read_frame(staged["path"]),
        complete=staged["complete"],
        removed=tuple(read_frame(staged["removed_path"])["_id"]),
        cursor=staged["cursor"],
        ideal_calls=staged["ideal_calls"],
    )


def _read_at(*reads: Staged) -> datetime:
    """When the earlier of the two reads began (now, for a plan that reads neither side)."""
    moments = [datetime.fromisoformat(read["read_at"]) for read in reads if read and read.get("read_at")]
    return min(moments, default=utc_now())


def _added(calls: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    return {endpoint: calls.get(endpoint, 0) + more.get(endpoint, 0) for endpoint in {*calls, *more}}


def _result(value: Staged, step: str) -> dict[str, Any]:
    """What an earlier step returned; None when its task did not run or left nothing."""
    if value is None:
        raise AirflowFailException(f"step '{step}' left no result; rerun the DAG run from the start")
    return value


def _ideal_writes(changes: pd.DataFrame, writer: Any, looked_up: int) -> int:
    """Write calls if every record is written once, in batches as full as the API allows, and the
    lookups of ``looked_up`` creates an interrupted run left, in batches as full as the writer can."""
    if hasattr(writer, "ideal_calls"):  # records that cost several calls each (records ↔ issues)
        return writer.ideal_calls(looked_up)
    records = changes[changes["direction"].notna()].drop_duplicates(["kind", "key", "direction"])
    groups = records.groupby(["kind", "direction"]).size()
    per_call = getattr(writer, "records_per_call", writer.batch_size)
    calls = int(sum(-(-count // per_call) for count in groups))
    if looked_up:
        calls += writer.lookup_calls(looked_up)
    # Calls a writer needs besides its records' (a token or login before the first write, a folder to
    # file new records in) are part of the ideal too.
    return calls + getattr(writer, "setup_calls", 0) if calls else 0


def _applied_reasons(ledger: pd.DataFrame) -> dict[str, int]:
    """Records written or (un)linked, by the reason their change gave ("re-created: …"), for the summary."""
    applied = ledger[(ledger["outcome"] == "ok") & ledger["reason"].notna()]
    records = applied.drop_duplicates(["kind", "key", "reason"])
    return {
        str(reason): int(count) for reason, count in records["reason"].value_counts().sort_index().items()
    }


def _skipped_records(ledger: pd.DataFrame) -> list[str]:
    """The records this run skipped, each once with its reason ("u7 (a@x.com): no key …"), at most 50."""
    skipped = ledger[ledger["outcome"] == "skipped"].drop_duplicates(["source_id", "target_id", "reason"])
    shown = skipped.head(MAX_SKIPPED_SHOWN)
    records = [
        f"{source_id if pd.notna(source_id) else target_id} ({key if pd.notna(key) and key else 'no key'}): {reason}"
        for source_id, target_id, key, reason in zip(
            shown["source_id"], shown["target_id"], shown["key"], shown["reason"], strict=True
        )
    ]
    more = len(skipped) - len(shown)
    return [*records, f"… and {more} more in the ledger of this run"] if more else records


def _record_counts(changes: pd.DataFrame) -> dict[str, int]:
    records = changes.drop_duplicates(["kind", "key", "direction"])
    counts = records["kind"].value_counts()
    return {kind: int(counts.get(kind, 0)) for kind in RECORD_KINDS}
