"""Writes of the records ↔ issues family: issues in Jira (bulk create, edits, transitions, remote
links) and, for fields Jira owns and the issue key, the linked CRM records.

Every create carries the issue property ``jirasync.record`` (the sync and the record), set in the
same call that makes the issue, so an issue whose create was interrupted before its link was
recorded is found again (``reconcile``) instead of made twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import pandas as pd

from jirasync.connectors.errors import ApiError, AuthenticationError
from jirasync.connectors.jira import (
    BULK_CREATE_LIMIT,
    ISSUE_SEARCH_PAGE_SIZE,
    JiraConnector,
    StatusMove,
    issue_update,
)
from jirasync.connectors.outcome import RecordOutcome
from jirasync.connectors.query_literals import jql_string
from jirasync.engine.apply import WriteOutcome, WriteRecord
from jirasync.engine.definitions import SyncDefinition
from jirasync.engine.frames import from_json, to_json
from jirasync.syncs.family import SyncRun
from jirasync.syncs.records_definition import crm_object, records_options
from jirasync.syncs.records_salesforce import SalesforceRecords
from jirasync.syncs.records_zoho import ZohoRecords

log = logging.getLogger(__name__)

LINK_PROPERTY = "jirasync.record"
SNAPSHOT_PROPERTY = "jirasync.snapshot"  # display mode: the record's mapped fields, on the issue
# Mappings with a target "associated.<relationship>.<field>" fill this property, grouped by
# relationship: the related records' values (account, contact, owner), read-only context; those
# with a target "associated.<related list>" put the list's rows (a deal's stage history) beside them.
ASSOCIATED_PROPERTY = "jirasync.associated"
ASSOCIATED = "associated."
REMOTE_LINK_FIELD = "jirasync.remote_link"  # a change row's field: the issue's remote link to the record
NOT_FIELDS = ("status", REMOTE_LINK_FIELD)  # written otherwise than as an issue field
RECONCILE_WINDOW = "-7d"  # interrupted creates are looked for among the issues created since


CrmRecords = ZohoRecords | SalesforceRecords


def crm_records(definition: SyncDefinition, crm: Any) -> CrmRecords:
    """The CRM side of a definition: the records of its Zoho module or Salesforce sObject."""
    if definition.source.system == "zoho_crm":
        return ZohoRecords(crm, crm_object(definition))
    return SalesforceRecords(crm, crm_object(definition))


class IssueWriter:
    """Creates issues 50 a call; moves a batch's issues through the workflow together (a bulk
    transition for those that move the same way); edits and remote links one issue a call; CRM
    fields in the CRM's batches. Counts the fewest calls its writes could take, for the run summary."""

    batch_size = BULK_CREATE_LIMIT
    matched_link_origin = "manual"  # an issue is matched to a record by the id a person put on it

    def __init__(
        self, run: SyncRun, jira: JiraConnector, crm: CrmRecords, source: pd.DataFrame | None
    ) -> None:
        self.definition = run.definition
        targets = [m.target for m in run.definition.fields]
        self.snapshots = _values(source, targets) if run.definition.mode == "display" else None
        self.associated = _values(source, [target for target in targets if target.startswith(ASSOCIATED)])
        self.options = records_options(run.definition)
        self.jira = jira
        self.crm = crm
        self.crm_fields = {m.target: m.source for m in run.definition.fields}
        self.ideal = 0
        self.crm_used = False
        # Jira's values go to the CRM in the CRM's batches (100 Zoho, 200 Salesforce), not Jira's 50;
        # so do creates (two or four bulk creates of 50), whose keys then go back to the CRM in one
        # full write, and whose moves to the rule's status go together.
        self.batch_sizes = {
            ("update", "to_source"): crm.batch_size,
            ("create", "to_target"): crm.batch_size,
        }

    def write(self, kind: str, direction: str, records: Sequence[WriteRecord]) -> list[WriteOutcome]:
        if kind == "create":
            return self._create(records)
        if kind == "update" and direction == "to_target":
            return self._update_issues(records)
        if kind == "update":
            return self._update_records(records)
        if kind == "unlink":
            return self._unlink(records)
        raise ValueError(f"the records ↔ issues family writes no {kind} records")

    def reconcile(self, records: Sequence[WriteRecord]) -> list[str | None]:
        """Issues an interrupted run created, found by the property each create carries."""
        project = jql_string(str(self.definition.target.options["project"]))
        found: dict[str, str] = {}
        for issue in self.jira.search_issues(
            f"project = {project} AND created >= {RECONCILE_WINDOW}", ["summary"], properties=[LINK_PROPERTY]
        ):
            mark = issue.properties.get(LINK_PROPERTY) or {}
            if mark.get("sync") == self.definition.id:
                found.setdefault(str(mark.get("record")), issue.key)
        return [found.get(record.source_id or "") for record in records]

    def lookup_calls(self, creates: int) -> int:
        return 1

    def ideal_calls(self, looked_up: int) -> int:
        return self.ideal + (self.crm.setup_calls if self.crm_used else 0) + (1 if looked_up else 0)

    def other_calls(self) -> dict[str, int]:
        """Calls made to the CRM while writing Jira, for the run summary."""
        return self.crm.calls() if self.crm_used else {}

    # ---- creates ----------------------------------------------------------------------------

    def _create(self, records: Sequence[WriteRecord]) -> list[WriteOutcome]:
        target = self.definition.target.options
        bodies = []
        for record in records:
            properties: dict[str, Any] = {
                LINK_PROPERTY: {"sync": self.definition.id, "record": record.source_id}
            }
            if grouped(record.values):
                properties[ASSOCIATED_PROPERTY] = grouped(record.values)
            fields = {"project": {"key": target["project"]}, "issuetype": {"name": target["issue_type"]}}
            bodies.append(issue_update({**fields, **_issue_fields(record.values)}, properties))
        outcomes = self.jira.create_issues(bodies)
        self.ideal += -(-len(bodies) // BULK_CREATE_LIMIT)
        created = [(r, str(o.id)) for r, o in zip(records, outcomes, strict=True) if o.ok]
        if created:
            self._after_create(created)
        return [_outcome(outcome) for outcome in outcomes]

    def _after_create(self, created: list[tuple[WriteRecord, str]]) -> None:
        """The new issues' status, remote link and the key in the CRM. The issue exists and is
        linked whatever happens here; what fails is logged and the next run's plan sets it right."""
        wanted = {key: str(r.values["status"]) for r, key in created if r.values.get("status")}
        if wanted:
            listed = ", ".join(jql_string(key) for key in wanted)
            current = {
                issue.key: str((issue.fields.get("status") or {}).get("name") or "")
                for issue in self.jira.search_issues(f"key in ({listed})", ["status"])
            }
            self.ideal += -(-len(wanted) // ISSUE_SEARCH_PAGE_SIZE)
            moves = [
                StatusMove(key, current.get(key, ""), status)
                for key, status in wanted.items()
                if current.get(key, "").casefold() != status.casefold()
            ]
            for key, outcome in self._move(moves).items():
                if not outcome.ok:
                    log.warning("new issue %s keeps its status: %s", key, outcome.error or outcome.skipped)
        for record, key in created:
            self._remote_link(key, record.source_id or "")
        if self.options.issue_key_field:
            changes = [(r.source_id or "", {self.options.issue_key_field: key}) for r, key in created]
            for outcome, (record_id, _) in zip(self._update_crm(changes), changes, strict=True):
                if not outcome.ok:
                    log.warning(
                        "record %s: the issue key was not written to the CRM: %s", record_id, outcome.error
                    )

    # ---- updates ----------------------------------------------------------------------------

    def _update_issues(self, records: Sequence[WriteRecord]) -> list[WriteOutcome]:
        """Each issue's fields, one issue a call; then the batch's status moves, together."""
        outcomes = [self._update_issue(record) for record in records]
        moves = [
            StatusMove(
                record.target_id or "", str(record.before.get("status") or ""), str(record.values["status"])
            )
            for record, outcome in zip(records, outcomes, strict=True)
            if outcome.ok and record.values.get("status")
        ]
        moved = self._move(moves)
        return [
            moved.get(record.target_id or "", outcome) if outcome.ok else outcome
            for record, outcome in zip(records, outcomes, strict=True)
        ]

    def _update_issue(self, record: WriteRecord) -> WriteOutcome:
        """The issue's fields, properties and remote link; its status is moved with the batch's."""
        key = record.target_id or ""
        fields = _issue_fields(record.values)
        shown = {name for name in fields if name in self.crm_fields} if self.snapshots is not None else set()
        fields = {name: value for name, value in fields.items() if name not in shown}
        try:
            if shown:  # display mode: mapped fields are shown in the snapshot, never written
                self._snapshot(key, record.source_id or "")
            if any(name.startswith(ASSOCIATED) for name in record.values):
                associated = grouped((self.associated or {}).get(record.source_id or "", {}))
                self.jira.put_issue_property(key, ASSOCIATED_PROPERTY, associated)
                self.ideal += 1
            if fields:
                self.jira.edit_issue(key, fields=fields)
                self.ideal += 1
            if REMOTE_LINK_FIELD in record.values:
                self._remote_link(key, record.source_id or "")
        except AuthenticationError:
            raise
        except ApiError as error:
            return WriteOutcome(
                error=f"issue {key} (record {record.source_id}): {error}", retryable=error.retryable
            )
        return WriteOutcome(record_id=key)

    def _move(self, moves: list[StatusMove]) -> dict[str, WriteOutcome]:
        """Move the issues along their workflow, in as few calls as Jira allows; by issue key, what
        became of each: moved, skipped when no transition leads to its status, or failed."""
        if not moves:
            return {}
        done = self.jira.move_issues(moves)
        self.ideal += done.calls
        outcomes: dict[str, WriteOutcome] = {}
        for move in moves:
            if move.issue in done.moved:
                outcomes[move.issue] = WriteOutcome(record_id=move.issue)
            elif move.issue in done.no_transition:
                outcomes[move.issue] = WriteOutcome(
                    skipped=f"no transition from {move.current or 'its status'} to {move.target} "
                    f"for issue {move.issue}; tried again next run"
                )
            else:
                failure = done.failed[move.issue]
                outcomes[move.issue] = WriteOutcome(
                    error=f"issue {move.issue}: {failure.error}", retryable=failure.retryable
                )
        return outcomes

    def _snapshot(self, key: str, record_id: str) -> None:
        """The record's mapped fields, all of them, as the issue's snapshot property."""
        snapshot = {"record": record_id, "url": self.options.record_url.format(id=record_id)}
        fields = {
            name: related_rows(value) if name.startswith(ASSOCIATED) and name.count(".") == 1 else value
            for name, value in self.snapshots[record_id].items()
        }
        self.jira.put_issue_property(key, SNAPSHOT_PROPERTY, {**snapshot, "fields": fields})
        self.ideal += 1

    def _remote_link(self, key: str, record_id: str) -> None:
        self.jira.put_remote_link(
            key,
            global_id=f"jirasync:{self.definition.id}:{record_id}",
            url=self.options.record_url.format(id=record_id),
            title=f"Open in {_crm_name(self.definition)}: {crm_object(self.definition)} {record_id}",
        )
        self.ideal += 1

    def _update_crm(self, changes: list[tuple[str, dict[str, Any]]]) -> list[WriteOutcome]:
        self.crm_used = True
        self.ideal += self.crm.write_calls(len(changes))
        try:
            answers = self.crm.update(changes)
        except AuthenticationError:
            raise
        except ApiError as error:
            return [
                WriteOutcome(error=f"record {record_id}: {error}", retryable=error.retryable)
                for record_id, _ in changes
            ]
        return [
            WriteOutcome(record_id=record_id)
            if a.ok
            else WriteOutcome(error=f"record {record_id}: {a.error}", retryable=a.retryable)
            for (record_id, _), a in zip(changes, answers, strict=True)
        ]

    def _update_records(self, records: Sequence[WriteRecord]) -> list[WriteOutcome]:
        """Jira's values written to the CRM; a Jira status the status map has no CRM value for is skipped."""
        outcomes: dict[int, WriteOutcome] = {}
        changes: list[tuple[int, str, dict[str, Any]]] = []
        for position, record in enumerate(records):
            values = self._crm_values(record.values)
            if values is None:
                status = record.values["status"]
                outcomes[position] = WriteOutcome(
                    skipped=f"Jira status {status} has no CRM value in status_map"
                )
            else:
                changes.append((position, record.source_id or "", values))
        written = (
            self._update_crm([(record_id, values) for _, record_id, values in changes]) if changes else []
        )
        outcomes.update(
            {position: outcome for (position, _, _), outcome in zip(changes, written, strict=True)}
        )
        return [outcomes[position] for position in range(len(records))]

    def _crm_values(self, values: dict[str, Any]) -> dict[str, Any] | None:
        """Values named by their Jira field, renamed to the CRM fields they map to; a Jira status
        turned back into the CRM's through the status map (None when the map has no value for it)."""
        crm_values = {
            self.crm_fields.get(name, name): value for name, value in values.items() if name != "status"
        }
        status_map = self.options.status_map
        if "status" in values and status_map is not None:
            crm_status = status_map.crm_value(str(values["status"]))
            if crm_status is None:
                return None
            crm_values[status_map.field] = crm_status
        return crm_values

    # ---- unlinks ----------------------------------------------------------------------------

    def _unlink(self, records: Sequence[WriteRecord]) -> list[WriteOutcome]:
        """The remote link goes from the issue and, unless the issue was deleted, the issue key from
        the record; both stay."""
        outcomes: list[WriteOutcome] = []
        for record in records:
            try:
                self.jira.delete_remote_link(
                    record.target_id or "", f"jirasync:{self.definition.id}:{record.source_id}"
                )
                self.ideal += 1
                outcomes.append(WriteOutcome(record_id=record.target_id))
            except AuthenticationError:
                raise
            except ApiError as error:
                outcomes.append(
                    WriteOutcome(error=f"issue {record.target_id}: {error}", retryable=error.retryable)
                )
        field = self.options.issue_key_field
        cleared = [(r.source_id or "", {field: None}) for r in records if field and field in r.values]
        if cleared:
            for outcome in self._update_crm(cleared):
                if not outcome.ok:
                    log.warning("%s (the issue key stays in the CRM record)", outcome.error)
        return outcomes


def grouped(values: dict[str, Any]) -> dict[str, Any]:
    """The associated values among ``values``, grouped by relationship: {"Account": {"name": …}};
    a related list's rows under its name: {"Stage_History": [{…}, …]}."""
    groups: dict[str, Any] = {}
    for name, value in values.items():
        if name.startswith(ASSOCIATED):
            relationship, _, field = name.removeprefix(ASSOCIATED).partition(".")
            if field:
                groups.setdefault(relationship, {})[field] = value
            else:
                groups[relationship] = related_rows(value)
    return groups


def related_rows(value: Any) -> Any:
    """A related list's rows: frames and change sets carry them as their JSON text."""
    return json.loads(value) if isinstance(value, str) else value


def _values(source: pd.DataFrame | None, targets: list[str]) -> dict[str, dict[str, Any]]:
    """Each source record's values of ``targets``, as JSON values, by record id."""
    if source is None or source.empty or not targets:
        return {}
    values = {target: from_json(to_json(source[target])) for target in targets}
    return {
        record_id: {target: values[target][row] for target in targets}
        for row, record_id in enumerate(source["_id"])
    }


def _issue_fields(values: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value
        for name, value in values.items()
        if name not in NOT_FIELDS and not name.startswith(ASSOCIATED)
    }


def _crm_name(definition: SyncDefinition) -> str:
    return "Zoho CRM" if definition.source.system == "zoho_crm" else "Salesforce"


def _outcome(answer: RecordOutcome) -> WriteOutcome:
    if answer.ok:
        return WriteOutcome(record_id=answer.id)
    return WriteOutcome(error=answer.error or "failed", retryable=answer.retryable)
