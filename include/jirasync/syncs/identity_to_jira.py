"""Identity provider → Jira user properties (seed 003, and the manager it could not do).

Each identity user is matched with a Jira user by email, case-insensitively, and the match is
kept as a link by accountId, so a later change of email on either side keeps it. The mapped
attributes go into one JSON document in one user property: one write per changed user.
Properties are never read back (Jira has no bulk read: it would cost a call per user per run);
the stored base says what each user's property holds, unless a full sync asks for a repair.

Users whose Jira email is hidden are found through an existing link or `/user/search`;
identity users with no Jira account are reported, never created.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pandas as pd

from jirasync.connectors.errors import ApiError, AuthenticationError, NotFoundError
from jirasync.connectors.graph import MAX_PAGE_SIZE as GRAPH_PAGE_SIZE
from jirasync.connectors.graph import odata_equals
from jirasync.connectors.jira import PROPERTY_VALUE_LIMIT, USERS_PAGE_SIZE, JiraConnector, property_text
from jirasync.connectors.scim import scim_equals
from jirasync.engine.apply import WriteOutcome, WriteRecord
from jirasync.engine.frames import from_json, normalise_key, source_frame, typed_column
from jirasync.engine.keys import email_key
from jirasync.engine.store import LINK_COLUMNS, StateStore
from jirasync.syncs.family import Extract, SyncRun, say_window_cannot_narrow
from jirasync.syncs.identity_attributes import GRAPH_MANAGER_ATTRIBUTES

log = logging.getLogger(__name__)

GRAPH_MANAGER_PAGE_SIZE = 100  # Graph caps pages at 100 when the manager is expanded
SCIM_ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
UNMATCHED_CURSOR = "target"  # the identity users searched in Jira and not found, with the email searched


class IdentityToJiraProperties:
    """The identity → Jira user properties family."""

    def read_source(self, run: SyncRun, connector: Any) -> Extract:
        definition = run.definition
        if definition.source.system == "entra_id":
            users, complete, removed, cursor, ideal = _read_graph(run, connector)
        else:
            users, complete, removed, cursor, ideal = _read_scim(run, connector)
        frame = source_frame(definition, users, id_field="id")
        if not complete:
            frame = _keep_unsent_values(frame, users, run)
        frame["_active"] = pd.array([_active(user) for user in users], dtype="boolean")
        gone = set(removed)
        # A delta that removed no one needs no links: most runs read nothing else.
        links = run.store.links(definition.id) if complete or gone else pd.DataFrame(columns=LINK_COLUMNS)
        if complete:
            gone |= set(links["source_id"]) - set(frame["_id"])
        if definition.delete_policy == "clear":
            # Disabled users lose their property like removed ones: drop them, and say they are gone.
            disabled = frame.loc[~frame["_active"].fillna(True), "_id"]
            gone |= set(disabled)
            frame = frame[frame["_active"].fillna(True)]
        else:
            frame = pd.concat(
                [frame, _inactive_rows(run, gone - set(frame["_id"]), links)], ignore_index=True
            )
            gone = set()
        return Extract(frame.drop(columns="_active"), complete, tuple(sorted(gone)), cursor, ideal)

    def read_target(self, run: SyncRun, jira: JiraConnector, source: Extract) -> Extract:
        definition = run.definition
        links = run.store.links(definition.id)
        # The plan compares only the links of the records read (planning's links in scope): after an
        # incremental read, only their base is read and decoded.
        read = None if source.complete else {*source.frame["_id"], *source.removed}
        base = run.store.base(definition.id, read)
        unlinked = source.frame[~source.frame["_id"].isin(links["source_id"])]
        ideal = 0
        if run.options.full_sync or source.complete or len(unlinked):
            every_account = list(jira.users())
            # A bare array with no total: only an empty page proves the end.
            ideal += math.ceil(len(every_account) / USERS_PAGE_SIZE) + 1
            users = [u for u in every_account if u.account_type == "atlassian"]
            complete = True
        else:
            users = []
            complete = False
        rows = {u.account_id: {"_id": u.account_id, "_key": u.email} for u in users}
        for link in links.itertuples():
            rows.setdefault(link.target_id, {"_id": link.target_id, "_key": link.key})
        searched = json.loads(run.store.cursor(definition.id, UNMATCHED_CURSOR) or "{}")
        found, not_found, calls = _search_hidden(run, jira, unlinked, rows, searched)
        ideal += calls
        rows.update(found)
        frame = self._target_frame(run, list(rows.values()), links, base, jira)
        return Extract(frame, complete, (), json.dumps(not_found, sort_keys=True), ideal)

    def _target_frame(
        self,
        run: SyncRun,
        rows: list[dict[str, Any]],
        links: pd.DataFrame,
        base: pd.DataFrame,
        jira: JiraConnector,
    ) -> pd.DataFrame:
        """Jira users with what their property holds: the stored base, or what Jira says on a repair."""
        definition = run.definition
        frame = pd.DataFrame(rows, columns=["_id", "_key"]).astype("string")
        frame["_key"] = normalise_key(frame["_key"], definition.key.normalise)
        held = _values_by_target(base, links)
        if run.options.full_sync and run.options.extra.get("repair"):
            key = definition.target.options["property_key"]
            held = {target: _flatten(jira.user_property(target, key) or {}) for target in held}
        for mapping in definition.fields:
            values = [held.get(target_id, {}).get(mapping.target) for target_id in frame["_id"]]
            frame[mapping.target] = typed_column(values, as_set=mapping.set)
        return frame

    def target_has_changes(self, run: SyncRun) -> bool:
        """Properties are never read back but on a repair (a full sync): Jira brings nothing of its own."""
        return False

    def refine(self, run: SyncRun, changes: pd.DataFrame) -> pd.DataFrame:
        """jirasync never creates Jira users: a create becomes a skip that says why."""
        creates = changes["kind"] == "create"
        if not creates.any():
            return changes
        skips = (
            changes[creates]
            .drop_duplicates("key")
            .assign(
                kind="skip",
                field=pd.NA,
                before=pd.NA,
                after=pd.NA,
                direction=pd.NA,
                reason="no Jira account has this email (hidden emails were looked up with /user/search); "
                "jirasync does not create Jira users",
            )
        )
        return pd.concat([changes[~creates], skips], ignore_index=True).astype("string")

    def writer(self, run: SyncRun, jira: JiraConnector, source: pd.DataFrame) -> UserPropertyWriter:
        budget = jira.http.budget
        return UserPropertyWriter(
            jira,
            run.definition.target.options["property_key"],
            run.store,
            run.definition.id,
            concurrency=budget.concurrency if budget is not None else 1,
        )


@dataclass
class UserPropertyWriter:
    """One PUT of the whole document per changed user; one DELETE per user whose property is cleared.

    What each property holds now (the base) is read per batch for its records only: a run that
    writes a few users does not read every linked user's.
    """

    jira: JiraConnector
    property_key: str
    store: StateStore
    sync_id: str
    batch_size: int = 50
    records_per_call: int = 1
    concurrency: int = 1  # batches written at once: the calls the Jira budget allows at once

    def write(self, kind: str, direction: str, records: Sequence[WriteRecord]) -> list[WriteOutcome]:
        # On one of apply's writer threads when concurrency > 1: the store's engine serves each
        # thread its own connection, and the journal stays on apply's own thread.
        ids = {record.source_id for record in records if record.source_id and kind != "clear"}
        held = _values_by_source(self.store.base(self.sync_id, ids)) if ids else {}
        return [self._write_one(kind, record, held) for record in records]

    def reconcile(self, records: Sequence[WriteRecord]) -> list[str | None]:
        return [None for _ in records]  # this family never creates

    def lookup_calls(self, creates: int) -> int:
        return 0

    def _write_one(self, kind: str, record: WriteRecord, held: dict[str, dict[str, Any]]) -> WriteOutcome:
        try:
            if kind == "clear":
                with contextlib.suppress(NotFoundError):  # already gone: what a clear wants
                    self.jira.delete_user_property(record.target_id, self.property_key)
            else:
                values = {**held.get(record.source_id or "", {}), **record.values}
                values, cut = _fitted(values)
                for field, length in cut:
                    log.warning(
                        "user %s (%s): %s cut from %s characters, to fit Jira's %s-character property",
                        record.target_id,
                        record.key,
                        field,
                        f"{length:,}",
                        f"{PROPERTY_VALUE_LIMIT:,}",
                    )
                self.jira.put_user_property(record.target_id, self.property_key, _document(values))
        except AuthenticationError:
            raise  # the run's credentials, not this record: every other write would fail the same way
        except ApiError as error:
            return WriteOutcome(
                error=f"user {record.target_id} ({record.key}): {error}", retryable=error.retryable
            )
        except ValueError as error:  # the document is over Jira's size limit
            return WriteOutcome(
                error=f"user {record.target_id} ({record.key}): {error}; map fewer or shorter attributes",
                retryable=False,
            )
        return WriteOutcome(record_id=record.target_id)


def _read_graph(run: SyncRun, graph: Any) -> tuple[list[dict[str, Any]], bool, list[str], str | None, int]:
    definition = run.definition
    sources = [definition.key.source_field, *(m.source for m in definition.fields)]
    manager = any(s.startswith("manager.") for s in sources)
    attributes = sorted({s for s in sources if not s.startswith("manager.")} | {"accountEnabled"})
    if run.options.only:
        where = odata_equals(definition.key.source_field, run.options.only)
        users = graph.read_users(attributes, manager=manager, where=where)
        return users, False, [], None, 2  # a token, one page; the delta link stays where it was
    if run.window is not None:
        say_window_cannot_narrow(run, "Microsoft Graph keeps no modified time on users")
        users = graph.read_users(attributes, manager=manager)
        ideal = 1 + max(1, math.ceil(len(users) / (GRAPH_MANAGER_PAGE_SIZE if manager else GRAPH_PAGE_SIZE)))
        return users, True, [], None, ideal
    delta_link = None if run.options.full_sync else run.store.cursor(definition.id, "source")
    changes = graph.read_changes(attributes, manager=manager, delta_link=delta_link)
    page_size = GRAPH_MANAGER_PAGE_SIZE if manager else GRAPH_PAGE_SIZE
    entries = len(changes.users) + len(changes.removed)
    ideal = 1 + max(1, math.ceil(entries / page_size))  # a token, then the fewest pages
    if delta_link is not None and changes.full:
        ideal += 1  # the stored link had expired: the call that said so could not be avoided
    ideal += _resolve_new_managers(graph, changes.users)
    return changes.users, changes.full, [r.id for r in changes.removed], changes.delta_link, ideal


def _resolve_new_managers(graph: Any, users: list[dict[str, Any]]) -> int:
    """A delta names a new manager by id only: read each such manager once. Returns the calls made."""
    managers: dict[str, dict[str, Any]] = {}
    for user in users:
        manager = user.get("manager")
        if isinstance(manager, dict) and set(manager) == {"id"}:
            if manager["id"] not in managers:
                managers[manager["id"]] = graph.read_user(manager["id"], sorted(GRAPH_MANAGER_ATTRIBUTES))
            user["manager"] = managers[manager["id"]]
    return len(managers)


def _read_scim(run: SyncRun, scim: Any) -> tuple[list[dict[str, Any]], bool, list[str], str | None, int]:
    definition = run.definition
    if run.options.only:
        users = scim.find_users(scim_equals(_scim_path(definition.key.source_field), run.options.only))
        return [_scim_user(user) for user in users], False, [], None, 2  # the configuration, one page
    page_size = int((scim.service_provider_config.get("filter") or {}).get("maxResults") or 100)
    if run.window is not None:
        # Not complete: the users modified outside the window are not read, so none is judged gone.
        users = scim.read_users_modified_between(run.window.start, run.window.end)
        ideal = 1 + max(1, math.ceil(len(users) / page_size))
        return [_scim_user(user) for user in users], False, [], None, ideal
    stored = None if run.options.full_sync else run.store.cursor(definition.id, "source")
    since = pd.Timestamp(stored).to_pydatetime() if stored else None
    result = scim.read_users(modified_since=since)
    ideal = 1 + max(1, math.ceil(len(result.users) / page_size))  # the configuration, then the pages
    latest = result.latest_modified.isoformat() if result.latest_modified else stored
    return [_scim_user(user) for user in result.users], result.full, [], latest, ideal


def _scim_path(path: str) -> str:
    """A mapped path (enterprise.department) as SCIM names it (urn:…:enterprise:2.0:User:department)."""
    head, _, rest = path.partition(".")
    return f"{SCIM_ENTERPRISE}:{rest}" if head == "enterprise" else path


def _scim_user(user: dict[str, Any]) -> dict[str, Any]:
    """SCIM's shape made mappable: the enterprise extension as enterprise.*, multi-valued attributes
    as their list of values and by type (emails.work) or primary (emails.primary)."""
    flat = {key: value for key, value in user.items() if key != SCIM_ENTERPRISE}
    flat["enterprise"] = user.get(SCIM_ENTERPRISE) or {}
    for attribute in ("emails", "phoneNumbers"):
        entries = user.get(attribute) or []
        flat[attribute] = [entry.get("value") for entry in entries if entry.get("value")]
        by_type = {entry["type"]: entry.get("value") for entry in entries if entry.get("type")}
        primary = next((entry.get("value") for entry in entries if entry.get("primary")), None)
        flat[f"{attribute}.primary"] = primary or (flat[attribute][0] if flat[attribute] else None)
        for kind, value in by_type.items():
            flat[f"{attribute}.{kind}"] = value
    return flat


def _keep_unsent_values(frame: pd.DataFrame, users: list[dict[str, Any]], run: SyncRun) -> pd.DataFrame:
    """A change feed may leave out what did not change (Graph's delta keeps the manager out unless
    it changed): a mapped attribute absent from a user's entry keeps the value the property holds."""
    roots = {mapping.source.split(".")[0] for mapping in run.definition.fields}
    unsent_ids = {str(user["id"]) for user in users if not roots <= user.keys()}
    held = _values_by_source(run.store.base(run.definition.id, unsent_ids)) if unsent_ids else {}
    for mapping in run.definition.fields:
        root = mapping.source.split(".")[0]
        unsent = [index for index, user in enumerate(users) if root not in user]
        if not unsent:
            continue
        values = [None if pd.api.types.is_scalar(v) and pd.isna(v) else v for v in frame[mapping.target]]
        for index in unsent:
            values[index] = held.get(str(users[index]["id"]), {}).get(mapping.target)
        frame[mapping.target] = typed_column(values, as_set=mapping.set).set_axis(frame.index)
    return frame


def _active(user: dict[str, Any]) -> bool | None:
    value = user.get("accountEnabled", user.get("active"))
    return None if value is None else bool(value)


def _inactive_rows(run: SyncRun, removed: Iterable[str], links: pd.DataFrame) -> pd.DataFrame:
    """Removed users keep their property, said inactive: their last values with active false."""
    definition = run.definition
    linked = links.set_index("source_id")
    gone = [source_id for source_id in removed if source_id in linked.index]
    if not gone or not any(m.target == "active" for m in definition.fields):
        return pd.DataFrame()
    held = _values_by_source(run.store.base(definition.id, gone))
    frame = pd.DataFrame({"_id": pd.Series(gone, dtype="string")})
    frame["_key"] = pd.Series([linked.loc[source_id, "key"] for source_id in gone], dtype="string")
    for mapping in definition.fields:
        values = [False if mapping.target == "active" else held.get(s, {}).get(mapping.target) for s in gone]
        frame[mapping.target] = typed_column(values, as_set=mapping.set)
    return frame


def _search_hidden(
    run: SyncRun,
    jira: JiraConnector,
    unlinked: pd.DataFrame,
    rows: dict[str, dict[str, Any]],
    searched: dict[str, str],
) -> tuple[dict[str, dict[str, Any]], dict[str, str], int]:
    """Look up by email the identity users no visible Jira email matches.

    A user searched before with the same email and not found is not searched again, except in a
    full sync: the answer only changes when a Jira account is added, and a full sync finds it.
    The searches run as many at once as the Jira budget allows calls at once.
    """
    known_keys = {email_key(row["_key"]) for row in rows.values() if row["_key"]}
    found: dict[str, dict[str, Any]] = {}
    not_found: dict[str, str] = {}
    to_search: list[tuple[str, str]] = []
    for source_id, email in zip(unlinked["_id"], unlinked["_key"], strict=True):
        if pd.isna(email) or email in known_keys:
            continue
        if not run.options.full_sync and searched.get(source_id) == email:
            not_found[source_id] = email
            continue
        to_search.append((source_id, email))

    def search(email: str) -> list[str]:
        return [
            u.account_id
            for u in jira.search_users(query=email)
            if u.account_type == "atlassian" and (u.email is None or email_key(u.email) == email)
        ]

    budget = jira.http.budget
    with ThreadPoolExecutor(budget.concurrency if budget is not None else 1) as pool:
        answers = pool.map(search, [email for _, email in to_search])
        for (source_id, email), matches in zip(to_search, answers, strict=True):
            if len(matches) == 1:
                found[matches[0]] = {"_id": matches[0], "_key": email}
            else:
                not_found[source_id] = email
    return found, not_found, len(to_search)


def _values_by_source(base: pd.DataFrame) -> dict[str, dict[str, Any]]:
    held: dict[str, dict[str, Any]] = {}
    for source_id, field, value in zip(
        base["source_id"], base["field"], from_json(base["value"]), strict=True
    ):
        held.setdefault(source_id, {})[field] = value
    return held


def _values_by_target(base: pd.DataFrame, links: pd.DataFrame) -> dict[str, dict[str, Any]]:
    by_source = _values_by_source(base)
    return {
        target: by_source.get(source, {})
        for source, target in zip(links["source_id"], links["target_id"], strict=True)
    }


def _fitted(values: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, int]]]:
    """The values, their longest texts cut (ending in '…') until the property fits Jira's limit,
    and each field cut with its length before. The stored base keeps the values as the source has
    them, so the next run sees nothing to write again: a too-long value is cut once, not refused
    on every run."""
    fitted = dict(values)
    cut: list[tuple[str, int]] = []
    while (size := len(property_text(_document(fitted)))) > PROPERTY_VALUE_LIMIT:
        texts = {path: value for path, value in fitted.items() if isinstance(value, str) and len(value) > 1}
        if not texts:
            break  # lists and numbers only: Jira refuses it, and the failure says so
        path = max(texts, key=lambda name: len(texts[name]))
        keep = max(1, len(texts[path]) - (size - PROPERTY_VALUE_LIMIT) - 1)
        if path not in dict(cut):
            cut.append((path, len(values[path])))
        fitted[path] = texts[path][: keep - 1] + "…"
    return fitted, cut


def _document(values: dict[str, Any]) -> dict[str, Any]:
    """Mapped values by property path (manager.name) as one nested JSON document."""
    document: dict[str, Any] = {}
    for path, value in sorted(values.items()):
        *parents, leaf = path.split(".")
        node = document
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return document


def _flatten(document: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """The inverse of `_document`: a property read back, by path."""
    flat: dict[str, Any] = {}
    for name, value in document.items():
        path = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


FAMILY = IdentityToJiraProperties()
