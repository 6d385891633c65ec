"""What the streams of linked pairs (notes ↔ comments, files ↔ attachments) share: which runs they
run in, their cursor, and the issues updated since it."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from jirasync.connectors.jira import ISSUE_SEARCH_PAGE_SIZE, JiraConnector
from jirasync.connectors.query_literals import jql_string
from jirasync.syncs.family import SyncRun
from jirasync.syncs.records_definition import crm_object

log = logging.getLogger(__name__)

JIRA_CLOCK_MARGIN = timedelta(minutes=2)  # JQL compares minutes: read a little before the last run
JQL_MINUTE = "%Y-%m-%d %H:%M"  # JQL compares dates to the minute, in the site's time zone (UTC here)


@dataclass
class StreamOutcome:
    """What a stream did in one run, for the run summary (each stream adds its counts)."""

    relinked: int = 0  # mirrors an interrupted run wrote, found on the next run and linked
    ideal_calls: int = 0
    calls: dict[str, int] = field(default_factory=dict)  # the CRM's, for the summary
    planned: list[str] = field(default_factory=list)  # a dry run's writes, by record
    failures: list[dict[str, str]] = field(default_factory=list)


def run_stream(
    run: SyncRun,
    jira: JiraConnector,
    stream: str,
    options: Any,
    crm_side: Callable[[str, Any, str], Any],
    stream_class: Callable[..., Any],
) -> StreamOutcome | None:
    """Run one stream of the linked pairs (its outcome, with the CRM's calls), or None when the
    definition has no ``options`` for it or the run mirrors no stream."""
    if options is None or not runs_streams(run, stream):
        return None
    definition = run.definition
    crm = crm_side(definition.source.system, run.connect(definition.source), crm_object(definition))
    mirrored = stream_class(run, options, jira, crm)
    mirrored.mirror_changed()
    mirrored.outcome.calls = crm.calls()
    for line in mirrored.outcome.planned:
        log.info("dry run: %s", line)
    return mirrored.outcome


def runs_streams(run: SyncRun, stream: str) -> bool:
    """Whether the run mirrors the pairs' streams: scheduled, full and dry runs do; one record, a
    backfill or a revert do not."""
    if run.options.only or run.window is not None or run.options.extra.get("revert_run"):
        log.info("sync '%s': %s are mirrored by scheduled, full and dry runs only", run.definition.id, stream)
        return False
    return True


def stream_cursor(run: SyncRun, stream: str) -> dict[str, str]:
    """Where the stream's last run left off; empty at first, and for a full sync."""
    if run.options.full_sync:
        return {}
    return json.loads(run.store.cursor(run.definition.id, stream) or "{}")


def jira_cursor(started: datetime) -> str:
    """The next run's Jira cursor: this run's start, a little early (JQL compares minutes)."""
    return (started - JIRA_CLOCK_MARGIN).strftime(JQL_MINUTE)


def issues_updated_since(run: SyncRun, jira: JiraConnector, since: str) -> tuple[list[str], int]:
    """The keys of the project's issues updated since ``since``, and the calls taken."""
    project = jql_string(str(run.definition.target.options["project"]))
    jql = f"project = {project} AND updated >= {jql_string(since)} ORDER BY key"
    keys = [issue.key for issue in jira.search_issues(jql, ["updated"])]
    return keys, max(1, math.ceil(len(keys) / ISSUE_SEARCH_PAGE_SIZE))


def deletions_held(run: SyncRun, deleting: int, kept: int, kind: str) -> dict[str, str] | None:
    """The failure that holds a stream's deletions of the mirrors of deleted origins when they are
    more than the circuit breaker's ``max_delete_share`` of the ``kept`` mirrors the stream links (a
    CRM export gone wrong, a project emptied by mistake): then none is deleted, and the next run, or
    one with the override, tries again. None when they may go."""
    breaker = run.definition.circuit_breaker
    share = deleting / kept if kept else 0.0
    too_many = deleting and kept >= breaker.min_target_size and share > breaker.max_delete_share
    if not too_many or run.options.override_circuit_breaker:
        return None
    return {
        "key": f"{deleting} {kind} of deleted origins",
        "error": f"gate: deleting them would remove {share:.0%} of the {kept} {kind} sync "
        f"'{run.definition.id}' keeps, more than max_delete_share {breaker.max_delete_share:.0%}",
        "action": "check why the origins were deleted; if that is intended, trigger the sync "
        "with 'Override the circuit breaker' on",
    }


class PairStream:
    """A stream's run over the sync's linked pairs: the pairs (record id → issue key) and the
    stream's links as the store holds them when the run starts."""

    def __init__(self, run: SyncRun, jira: JiraConnector, stream: str) -> None:
        self.sync_run = run
        self.sync_id = run.definition.id
        self.jira = jira
        self.dry_run = run.options.dry_run
        links = run.store.links(self.sync_id)
        self.issue_of: dict[str, str] = dict(zip(links["source_id"], links["target_id"], strict=True))
        self.links = run.store.stream_links(self.sync_id, stream)
