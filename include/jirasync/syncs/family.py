"""What a sync family provides to the pipeline, and what the pipeline gives it.

The pipeline (extract → plan → check → apply → report) is the same for every family; a family
only knows its systems: how to read each side into a frame, how to refine the plan with what
the engine cannot know (e.g. that jirasync never creates Jira users), and how to write.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import pandas as pd

from jirasync.engine.apply import Writer
from jirasync.engine.definitions import Endpoint, Family, SyncDefinition
from jirasync.engine.store import StateStore

log = logging.getLogger(__name__)


class DefinitionMismatch(ValueError):
    """The vendor lacks what the definition names (a field, an attribute, a group): no retry can
    fix that, so the run fails at once; ``action`` says what to change."""

    def __init__(self, message: str, action: str) -> None:
        super().__init__(message)
        self.action = action


@dataclass(frozen=True)
class RunOptions:
    """What the person who triggered the run asked for (the DAG's trigger form)."""

    full_sync: bool = False
    dry_run: bool = False
    only: str = ""
    override_circuit_breaker: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _no_connections(endpoint: Endpoint) -> Any:
    raise RuntimeError(
        f"this run was given no way to connect to {endpoint.system} ({endpoint.conn_id}): pass connect="
    )


@dataclass(frozen=True)
class Window:
    """The data interval of a backfilled run: it re-syncs the records whose source changed in
    [start, end), read by the source's own modified time, instead of what changed since the cursor."""

    start: datetime
    end: datetime

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} → {self.end:%Y-%m-%d %H:%M} UTC"


@dataclass(frozen=True)
class SyncRun:
    """One run of one sync, as every step of the pipeline sees it.

    ``connect`` builds a connector for an endpoint, for a family that needs one side's API while it
    reads the other (the operators pass one that uses Airflow connections).
    """

    definition: SyncDefinition
    options: RunOptions
    store: StateStore
    run_id: str
    window: Window | None  # a backfilled run's data interval; None: incremental reads start at the cursor
    connect: Callable[[Endpoint], Any] = _no_connections


# Why a backfilled run of a family whose source is Jira's user list reads it whole.
JIRA_USERS_UNDATED = "Jira keeps no modified time on users (nor JSM on customers)"


def say_window_cannot_narrow(run: SyncRun, why: str) -> None:
    """For a backfilled run of a source that keeps no modified time (``why``): say in the log that it
    reconciles the whole scope as it is now, so a data engineer knows what its window meant."""
    if run.window is not None:
        log.info(
            "sync '%s': %s, so this backfilled run (%s) reconciles every record in scope as it is now; "
            "the later runs of the backfill find nothing left to write",
            run.definition.id,
            why,
            run.window,
        )


@dataclass(frozen=True)
class Extract:
    """One side, read.

    ``complete`` says the frame holds every record in scope, so a linked record that is absent
    is gone; an incremental read is not complete, and only ``removed`` ids are known to be gone.
    ``cursor`` is where the next incremental read starts; it is saved once the run has applied.
    ``ideal_calls`` is the fewest API calls this read could have made, for the run summary.
    ``calls`` counts, per endpoint, the calls made through a connector the family built itself
    (e.g. the source system, searched while the target is read), so the summary counts them too.
    ``adjusted`` names each value changed to fit the other side's limits, for the run's report.
    """

    frame: pd.DataFrame
    complete: bool
    removed: tuple[str, ...] = ()
    cursor: str | None = None
    ideal_calls: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    adjusted: tuple[str, ...] = ()


class SyncFamily(Protocol):
    def read_source(self, run: SyncRun, connector: Any) -> Extract: ...

    def read_target(self, run: SyncRun, connector: Any, source: Extract) -> Extract: ...

    def refine(self, run: SyncRun, changes: pd.DataFrame) -> pd.DataFrame:
        """The change set with what the family knows better than the engine, e.g. creates it never makes."""
        ...

    def writer(self, run: SyncRun, connector: Any, source: pd.DataFrame) -> Writer: ...


FAMILY_MODULES: dict[Family, str] = {
    "identity_to_jira_properties": "jirasync.syncs.identity_to_jira",
    "users_to_contacts": "jirasync.syncs.users_to_contacts",
    "users_to_assets": "jirasync.syncs.users_to_assets",
    "records_to_issues": "jirasync.syncs.records_to_issues",
}


def family_for(definition: SyncDefinition) -> SyncFamily:
    """The family implementation of a definition."""
    module = importlib.import_module(FAMILY_MODULES[definition.family])
    return module.FAMILY


def target_has_changes_of_its_own(run: SyncRun) -> bool:
    """Whether the target may hold changes this run must bring even when the source changed nothing
    (records ↔ issues reads Jira's edits). A family says so by ``target_has_changes``; one that
    does not say is read, as reading is never wrong, only slower."""
    says = getattr(family_for(run.definition), "target_has_changes", None)
    return True if says is None else says(run)


def sync_pair_streams(run: SyncRun, connector: Any) -> dict[str, Any]:
    """The streams of the linked pairs, once the links are written: records ↔ issues mirrors notes
    ↔ comments and files ↔ attachments (their outcomes by the run summary's key); the other
    families link no pairs that carry streams, and have none."""
    sync_streams = getattr(family_for(run.definition), "sync_streams", None)
    return sync_streams(run, connector) if sync_streams is not None else {}
