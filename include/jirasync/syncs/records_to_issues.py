"""CRM records (Zoho CRM modules, Salesforce objects) ↔ Jira issues: connected items (seeds 001, 002).

A record is linked to at most one issue. Links are made by auto-create (origin ``auto``: the
issue carries the issue property ``jirasync.record`` naming the record) or by hand (origin
``manual``): a person puts the record's id or URL in the Jira field the definition's
``key.target_field`` names, and the plan matches it by key. Clearing that field unlinks a manual
link; an auto-created link cannot be undone by hand. Every linked issue gets a remote link to
the record (one per issue, found by its ``globalId``) and the record gets the issue key in the
definition's ``options.issue_key_field``.

Reads are incremental. The CRM side reads the records modified since its watermark, and the
records of the issues changed in Jira since the Jira watermark (one JQL search of the project
for the changed issues' link field), so a change on either side brings both halves of its pair
into the plan; the Jira side then reads exactly the issues of those records. A run in which
nothing changed reads two empty pages and writes nothing.

In ``display`` mode no field is written: the mapped CRM fields are kept on the issue as the issue
property ``jirasync.snapshot`` (readable in Jira while the CRM is down), named by each mapping's
``target``, and refreshed when the record changes.

The conditional status rule gives each record the attribute ``status_rule`` (the status its
condition names), mapped to Jira's ``status``; the writer moves issues there through workflow
transitions, and reports a record whose issue has no transition to it, to try again next run.

Associated records are read-only context in the issue property ``jirasync.associated``: the
values of related records (``associated.<relationship>.<field>``) and the rows of the related
lists in ``options.related_lists`` (``associated.<list>``: a deal's stage history, its contact
roles). A list is read, one call per record, for the records a run reads that have an issue or
are about to get one, and its rows are compared with what the issue's property holds.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from jirasync.connectors.jira import JiraConnector
from jirasync.connectors.query_literals import jql_string
from jirasync.engine.frames import source_frame, target_frame, to_json
from jirasync.syncs.attachments import sync_attachments
from jirasync.syncs.comments import sync_comments
from jirasync.syncs.family import Extract, SyncRun
from jirasync.syncs.issues_writer import (
    ASSOCIATED,
    ASSOCIATED_PROPERTY,
    LINK_PROPERTY,
    REMOTE_LINK_FIELD,
    SNAPSHOT_PROPERTY,
    IssueWriter,
    crm_records,
)
from jirasync.syncs.limits import within_limits
from jirasync.syncs.records_definition import (
    MAP_SOURCE,
    RULE_SOURCE,
    RecordsOptions,
    StatusMap,
    crm_object,
    record_id_in,
    records_options,
)
from jirasync.syncs.streams import JQL_MINUTE, StreamOutcome, jira_cursor

SUMMARY_LIMIT = 255  # Jira refuses a longer summary
KEYS_PER_SEARCH = 100  # issue keys one "key in (…)" lists, and the issues one search page returns
ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9_]+-\d+")

UNLINKED = "unlinked: the CRM record is gone or the issue no longer names it"
ISSUE_DELETED = "unlinked: the linked Jira issue was deleted; the CRM record stays"


class RecordsToIssues:
    """The CRM records ↔ Jira issues family."""

    def read_source(self, run: SyncRun, crm: Any) -> Extract:
        definition = run.definition
        options = records_options(definition)
        records_side = crm_records(definition, crm)
        if run.options.only:
            return _read_one(run, records_side)
        cursor = (
            {} if run.options.full_sync else json.loads(run.store.cursor(definition.id, "source") or "{}")
        )
        started = datetime.now(UTC)
        fields = _crm_fields(run)
        since = datetime.fromisoformat(cursor["crm"]) if cursor.get("crm") else None
        issues_since, until = cursor.get("jira"), None
        if run.window is not None:  # a backfilled run: what changed in its data interval, on each side
            since, until = run.window.start, run.window.end
            issues_since = since.strftime(JQL_MINUTE)
        records, ideal = records_side.read(fields, since, until)
        deleted: list[str] = []
        if since is not None:  # a full read finds deleted records by their absence
            deleted, deleted_calls = records_side.deleted(since)
            ideal += deleted_calls
        if options.status_rule is not None and since is None:
            ideal += _check_rule_value(run, records_side)

        jira = run.connect(definition.target)
        try:
            changed, searches = _changed_issues(run, jira, issues_since, until)
            calls = jira.http.calls.by_endpoint()
        finally:
            jira.close()
        links = run.store.links(definition.id)
        linked_record = dict(zip(links["target_id"], links["source_id"], strict=True))
        origin = dict(zip(links["target_id"], links["origin"], strict=True))
        removed = [record for record in deleted if record in set(links["source_id"])]
        referenced: dict[str, str] = {}  # record id → the issue that names it by hand
        for key, reference in changed.items():
            record = linked_record.get(key)
            if record is not None and origin.get(key) == "manual" and reference != record:
                removed.append(record)  # the person cleared or changed the link: unlink
            if reference and reference not in linked_record.values():
                referenced[reference] = key
        wanted = {linked_record[key] for key in changed if key in linked_record} | set(referenced)
        missing = sorted(wanted - {str(r[records_side.id_field]) for r in records} - set(removed))
        if missing:
            more, more_calls = records_side.read_ids(missing, fields)
            records += more
            ideal += more_calls
        records = [r for r in records if str(r[records_side.id_field]) not in removed]
        if options.issue_key_field:
            records = _without_foreign_issues(
                records, records_side.id_field, options.issue_key_field, links, referenced
            )
        with_issue = set(links["source_id"]) | set(referenced)
        records, related_calls = _with_related_lists(
            run,
            records_side,
            _with_synced_lists(run, records, records_side.id_field, referenced),
            lambda r: str(r[records_side.id_field]) in with_issue or _may_be_created(options, r),
        )
        ideal += related_calls
        newest = max((str(r.get(records_side.modified_field) or "") for r in records), default="")
        next_cursor = {
            "crm": _later(cursor.get("crm"), newest),
            "jira": jira_cursor(started),
        }
        frame, notes = _source_frame(run, records, records_side.id_field, referenced)
        return Extract(
            frame,
            since is None,
            removed=tuple(removed),
            # A backfilled run leaves the scheduled runs' cursor where it was.
            cursor=None if run.window is not None else json.dumps(next_cursor),
            ideal_calls=records_side.setup_calls + ideal + searches,
            calls=calls,
            adjusted=notes,
        )

    def read_target(self, run: SyncRun, jira: JiraConnector, source: Extract) -> Extract:
        definition = run.definition
        options = records_options(definition)
        project = str(definition.target.options["project"])
        links = run.store.links(definition.id)
        ids = source.frame["_id"]
        # The issues of the records read, of those to unlink (so the plan sees the pair), and
        # those that name a record by hand.
        paired = links["source_id"].isin(ids) | links["source_id"].isin(source.removed)
        keys = set(links.loc[paired, "target_id"]) | set(source.frame["_issue"].dropna())
        ideal = 0
        if options.auto_create and (~ids.isin(links["source_id"])).any():
            _check_required_fields(run, jira)
            ideal += 2
        display = definition.mode == "display"
        fields = [definition.key.target_field]
        if not display:
            fields += [
                m.target
                for m in definition.fields
                if m.target != "status" and not m.target.startswith(ASSOCIATED)
            ]
            fields += ["status"]
        properties = [LINK_PROPERTY, SNAPSHOT_PROPERTY if display else ASSOCIATED_PROPERTY]
        issues = []
        for start in range(0, len(keys), KEYS_PER_SEARCH):
            listed = ", ".join(jql_string(k) for k in sorted(keys)[start : start + KEYS_PER_SEARCH])
            issues += list(
                jira.search_issues(
                    f"project = {jql_string(project)} AND key in ({listed})",
                    sorted(set(fields)),
                    properties=properties,
                )
            )
            ideal += 1
        records = [_issue_record(definition, issue) for issue in issues]
        named = dict(zip(source.frame["_issue"], source.frame["_id"], strict=True))
        for record in records:  # an issue linked from the trigger form names its record from now on
            if not record.get(definition.key.target_field) and record["key"] in named:
                record[definition.key.target_field] = named[record["key"]]
        if display:  # the issue's fields are its own: the plan compares the snapshot
            records = [
                {**record, **(issue.properties.get(SNAPSHOT_PROPERTY) or {}).get("fields", {})}
                for record, issue in zip(records, issues, strict=True)
            ]
        # Complete for the records in scope: every issue they are linked to was asked for, so one
        # that did not come back was deleted in Jira.
        return Extract(target_frame(definition, records, id_field="key"), complete=True, ideal_calls=ideal)

    def refine(self, run: SyncRun, changes: pd.DataFrame) -> pd.DataFrame:
        """Creates only for eligible records; every new manual link gets its remote link and CRM
        field; every unlink removes them."""
        definition = run.definition
        options = records_options(definition)
        rows = changes.copy()
        creates = rows["kind"] == "create"
        if not options.auto_create:
            rows = rows[~creates]
        elif options.status_rule is not None and not options.status_rule.create_when_not_met:
            not_met = json.dumps(options.status_rule.not_met_status)
            held = rows.loc[creates & (rows["field"] == "status") & (rows["after"] == not_met), "key"]
            rows = rows[~(creates & rows["key"].isin(held))]
        # A CRM status the map lacks (or none) leaves the issue's status as it is, and Jira's
        # status is not written over it.
        unmapped = (rows["after"] == "null") | (
            (rows["direction"] == "to_source") & (rows["before"] == "null")
        )
        rows = rows[~((rows["field"] == "status") & unmapped).fillna(False)]
        unlinks = rows["kind"] == "unlink"
        rows.loc[unlinks, "direction"] = "to_target"
        rows.loc[unlinks, "reason"] = UNLINKED
        if options.issue_key_field:  # the record no longer names the issue
            rows.loc[unlinks, "field"] = options.issue_key_field
            rows.loc[unlinks, "after"] = "null"
        rows = _issue_deletions(definition, rows)
        return pd.concat([rows, _link_writes(run, rows[rows["kind"] == "link"])], ignore_index=True).astype(
            "string"
        )

    def writer(self, run: SyncRun, jira: JiraConnector, source: pd.DataFrame) -> IssueWriter:
        return IssueWriter(run, jira, crm_records(run.definition, run.connect(run.definition.source)), source)

    def sync_streams(self, run: SyncRun, jira: JiraConnector) -> dict[str, StreamOutcome]:
        """After the records: the linked pairs' notes ↔ comments and files ↔ attachments, those the
        definition asks for, by the run summary's key."""
        outcomes = {"comments": sync_comments(run, jira), "attachments": sync_attachments(run, jira)}
        return {name: outcome for name, outcome in outcomes.items() if outcome is not None}


def _read_one(run: SyncRun, records_side: Any) -> Extract:
    """The trigger form's ``only``: a record id or an issue key syncs that pair (the "Refresh");
    ``KEY:id`` links the issue to the record by hand first, writing the id in its link field."""
    definition = run.definition
    key, _, record = run.options.only.rpartition(":")
    if not key and ISSUE_KEY.fullmatch(record):
        key, record = record, ""
    jira = run.connect(definition.target)
    try:
        searches = 0
        if key and not record:  # the issue's record: its link, or the record it names
            links = run.store.links(definition.id)
            record = dict(zip(links["target_id"], links["source_id"], strict=True)).get(key) or ""
            if not record:
                field = definition.key.target_field
                issue = next(
                    iter(jira.search_issues(f"key = {jql_string(key)}", [field], properties=[LINK_PROPERTY])),
                    None,
                )
                searches = 1
                record = (
                    _issue_reference(definition, issue.fields.get(field), issue.properties) if issue else None
                ) or ""
        calls = jira.http.calls.by_endpoint()
    finally:
        jira.close()
    if not record:
        raise ValueError(
            f"sync '{definition.id}': 'Only this record' names issue {key}, which is linked to no record "
            "and names none; give KEY:record-id to link it"
        )
    records, ideal = records_side.read_ids([record], _crm_fields(run))
    records, related_calls = _with_related_lists(run, records_side, records, lambda _: True)
    ideal += related_calls
    frame, notes = _source_frame(run, records, records_side.id_field, {record: key} if key else {})
    return Extract(
        frame, False, ideal_calls=records_side.setup_calls + ideal + searches, calls=calls, adjusted=notes
    )


def _source_frame(
    run: SyncRun, records: list[dict[str, Any]], id_field: str, referenced: dict[str, str]
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The records as the plan compares them, with their rule or mapped status and the summary cut
    to Jira's limit; ``_issue`` names the issue that names a record by hand. And what was adjusted."""
    options = records_options(run.definition)
    if options.status_rule is not None:
        rule = options.status_rule
        records = [{**r, RULE_SOURCE: rule.status(_value(r, rule.field))} for r in records]
    unmapped: list[str] = []
    if options.status_map is not None:
        records, unmapped = _mapped_statuses(records, options.status_map, id_field)
    frame = source_frame(run.definition, records, id_field=id_field)
    frame["_issue"] = frame["_id"].map(referenced).astype("string")
    frame, cut = within_limits(frame, {"summary": SUMMARY_LIMIT} if "summary" in frame else {})
    return frame, (*(f"{note} (summary longer than Jira takes)" for note in cut), *unmapped)


def _with_related_lists(
    run: SyncRun, records_side: Any, records: list[dict[str, Any]], wanted: Callable[[dict[str, Any]], bool]
) -> tuple[list[dict[str, Any]], int]:
    """The records with the rows of each related list the definition keeps on issues, under the
    list's name: read for the ``wanted`` records only (those with an issue, or about to get one)
    that do not hold them already, since each costs a call per list. And the calls that took."""
    lists = records_options(run.definition).related_lists
    if not lists:
        return records, 0
    ids = [
        str(r[records_side.id_field])
        for r in records
        if wanted(r) and not all(related.name in r for related in lists)
    ]
    rows, calls = records_side.related(ids, lists)
    return [{**r, **rows.get(str(r[records_side.id_field]), {})} for r in records], calls


def _with_synced_lists(
    run: SyncRun, records: list[dict[str, Any]], id_field: str, referenced: dict[str, str]
) -> list[dict[str, Any]]:
    """Records whose synced fields are as the last run left them carry that run's related-list rows
    (from the base), so the lists are not read again: such a record was read only because a write
    touched it, most often jirasync's own (the issue key after a create). A list changes with its
    record's fields (a stage change adds a stage history row), so a changed record reads its lists,
    and so does one whose lists were never synced (a list added to the definition later)."""
    lists = records_options(run.definition).related_lists
    if not lists or not records:
        return records
    frame, _ = _source_frame(run, records, id_field, referenced)
    base = run.store.base(run.definition.id)
    base = base[base["source_id"].isin(frame["_id"])]
    held = {(row.source_id, row.field): row.value for row in base.itertuples(index=False)}
    list_targets = {f"{ASSOCIATED}{related.name}" for related in lists}
    compared = [m.target for m in run.definition.fields if m.target not in list_targets]
    texts = {target: to_json(frame[target]).tolist() for target in compared}
    synced: dict[str, dict[str, Any]] = {}
    for row, record_id in enumerate(frame["_id"]):
        rows = [held.get((record_id, target)) for target in sorted(list_targets)]
        if None not in rows and all(held.get((record_id, t)) == texts[t][row] for t in compared):
            synced[record_id] = {
                target.removeprefix(ASSOCIATED): json.loads(text)
                for target, text in zip(sorted(list_targets), rows, strict=True)
            }
    return [{**r, **synced.get(str(r[id_field]), {})} for r in records]


def _may_be_created(options: RecordsOptions, record: dict[str, Any]) -> bool:
    """Whether auto-create makes an issue for this record if it has none (``refine`` decides)."""
    rule = options.status_rule
    if rule is None or rule.create_when_not_met:
        return options.auto_create
    return options.auto_create and rule.met(_value(record, rule.field))


def _crm_fields(run: SyncRun) -> list[str]:
    definition = run.definition
    options = records_options(definition)
    kept_apart = {RULE_SOURCE, MAP_SOURCE} | {related.name for related in options.related_lists}
    fields = {m.source for m in definition.fields if m.source not in kept_apart}
    if options.status_rule is not None:
        fields.add(options.status_rule.field)
    if options.status_map is not None:
        fields.add(options.status_map.field)
    if options.issue_key_field:
        fields.add(options.issue_key_field)
    return sorted(fields)


def _check_rule_value(run: SyncRun, records_side: Any) -> int:
    """A rule on a picklist must name values the picklist has: checked on a first or full run,
    with the one call to the CRM's field metadata it takes."""
    rule = records_options(run.definition).status_rule
    assert rule is not None
    allowed = records_side.picklist(rule.field)
    if allowed is None or rule.operator in ("empty", "not_empty"):
        return 1
    values = rule.value if isinstance(rule.value, list) else [rule.value]
    for value in values:
        if str(value) not in allowed:
            nearest = difflib.get_close_matches(str(value), allowed, n=1)
            hint = f"did you mean {nearest[0]!r}?" if nearest else f"use one of: {', '.join(allowed)}"
            raise ValueError(
                f"sync '{run.definition.id}': options.status_rule.value {value!r} is not a value of the "
                f"picklist {crm_object(run.definition)}.{rule.field}; {hint}"
            )
    return 1


def _changed_issues(
    run: SyncRun, jira: JiraConnector, since: str | None, until: datetime | None = None
) -> tuple[dict[str, str | None], int]:
    """The project's issues changed since ``since`` (all of them without it; before ``until`` too,
    when given), each with the record id it is linked to by hand or by jirasync's property; and the
    searches that took."""
    definition = run.definition
    project = jql_string(str(definition.target.options["project"]))
    jql = f"project = {project}" + (f" AND updated >= {jql_string(since)}" if since else "")
    if until is not None:
        jql += f" AND updated < {jql_string(until.strftime(JQL_MINUTE))}"
    field = definition.key.target_field
    changed: dict[str, str | None] = {}
    for issue in jira.search_issues(jql + " ORDER BY key", [field], properties=[LINK_PROPERTY]):
        changed[issue.key] = _issue_reference(definition, issue.fields.get(field), issue.properties)
    return changed, max(1, -(-len(changed) // KEYS_PER_SEARCH))


def _issue_reference(definition: Any, field_value: Any, properties: dict[str, Any]) -> str | None:
    """The record an issue names: by hand in the link field, else by the property auto-create set."""
    by_hand = record_id_in(field_value)
    if by_hand:
        return by_hand
    mark = properties.get(LINK_PROPERTY) or {}
    return str(mark["record"]) if mark.get("sync") == definition.id and mark.get("record") else None


def _issue_record(definition: Any, issue: Any) -> dict[str, Any]:
    record = {"key": issue.key, **issue.fields}
    for relationship, values in (issue.properties.get(ASSOCIATED_PROPERTY) or {}).items():
        if isinstance(values, list):  # a related list's rows
            record[f"{ASSOCIATED}{relationship}"] = values
        else:
            record.update({f"{ASSOCIATED}{relationship}.{field}": value for field, value in values.items()})
    status = issue.fields.get("status")
    record["status"] = status.get("name") if isinstance(status, dict) else status
    record[definition.key.target_field] = _issue_reference(
        definition, issue.fields.get(definition.key.target_field), issue.properties
    )
    return record


def _check_required_fields(run: SyncRun, jira: JiraConnector) -> None:
    """Fields Jira requires on create that the mappings do not fill: the run stops, naming them."""
    definition = run.definition
    target = definition.target.options
    mapped = {m.target for m in definition.fields} | {"project", "issuetype"}
    meta = jira.create_fields(str(target["project"]), str(target["issue_type"]))
    missing = [
        f"{f['name']} ({f['fieldId']})"
        for f in meta
        if f.get("required") and not f.get("hasDefaultValue") and f["fieldId"] not in mapped
    ]
    if missing:
        raise ValueError(
            f"sync '{definition.id}': Jira requires {', '.join(missing)} to create a "
            f"{target['issue_type']} in {target['project']}, and no mapping fills it; map a CRM field to "
            "it in the definition, or make it optional in Jira"
        )


def _mapped_statuses(
    records: list[dict[str, Any]], status_map: StatusMap, id_field: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """Each record with the Jira status its CRM status maps to, and a note per value the map lacks
    (such a record's issue keeps its status)."""
    mapped, notes = [], []
    for record in records:
        value = _value(record, status_map.field)
        status = status_map.jira_status(value)
        if status is None and value is not None:
            notes.append(f"{record[id_field]}: {status_map.field} {value!r} has no Jira status in status_map")
        mapped.append({**record, MAP_SOURCE: status})
    return mapped, notes


def _without_foreign_issues(
    records: list[dict[str, Any]],
    id_field: str,
    key_field: str,
    links: pd.DataFrame,
    referenced: dict[str, str],
) -> list[dict[str, Any]]:
    """Records that name an issue they are not linked to are left alone: their issue was deleted in
    Jira (the unlink keeps its key there, so no second issue is made), or another tool links them.
    One a person links by hand is kept."""
    linked = set(links["source_id"])
    return [
        r
        for r in records
        if not r.get(key_field) or str(r[id_field]) in linked or str(r[id_field]) in referenced
    ]


def _issue_deletions(definition: Any, rows: pd.DataFrame) -> pd.DataFrame:
    """A linked issue deleted in Jira is never re-created: the delete policy unlinks (or ignores) it,
    and the record keeps the issue's key, so auto-create leaves it alone."""
    recreates = (rows["kind"] == "create") & rows["target_id"].notna()
    if not recreates.any():
        return rows
    gone = rows[recreates].drop_duplicates("key")
    kept = rows[~recreates]
    if definition.delete_policy == "ignore":
        return kept
    unlinks = gone.assign(kind="unlink", field=pd.NA, before=pd.NA, after=pd.NA, direction="to_target")
    return pd.concat([kept, unlinks.assign(reason=ISSUE_DELETED)], ignore_index=True)


def _link_writes(run: SyncRun, links: pd.DataFrame) -> pd.DataFrame:
    """For each new manual link: the remote link on the issue and the issue key in the CRM field."""
    definition = run.definition
    options = records_options(definition)
    if links.empty:
        return links
    parts = [
        links.assign(
            kind="update",
            field=REMOTE_LINK_FIELD,
            before="null",
            after=links["source_id"].map(lambda i: json.dumps(options.record_url.format(id=i))),
            direction="to_target",
            reason="linked by hand: remote link to the CRM record",
        )
    ]
    if ":" in run.options.only:  # linked from the trigger form: the issue names the record by hand
        parts.append(
            links.assign(
                kind="update",
                field=definition.key.target_field,
                before="null",
                after=links["source_id"].map(json.dumps),
                direction="to_target",
                reason="linked from the trigger form: the record id in the issue's link field",
            )
        )
    if options.issue_key_field:
        parts.append(
            links.assign(
                kind="update",
                field=options.issue_key_field,
                before="null",
                after=links["target_id"].map(json.dumps),
                direction="to_source",
                reason="linked by hand: the issue key in the CRM record",
            )
        )
    return pd.concat(parts, ignore_index=True)


def _value(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _later(before: str | None, seen: str) -> str | None:
    """The later of two CRM times (ISO 8601 with an offset), as the next read's start."""
    if not seen:
        return before
    if not before:
        return seen
    return max(before, seen, key=lambda text: datetime.fromisoformat(text))


FAMILY = RecordsToIssues()
