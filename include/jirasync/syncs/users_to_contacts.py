"""Jira users and JSM customers → CRM contacts in Zoho CRM or Salesforce (seed 000).

Sources are the Jira accounts of type ``atlassian`` (users) and ``customer`` (JSM customers),
both read from ``/users/search``: one walk of 1,000 a page returns every account type, while
JSM's customer list is per service desk, 50 a page and experimental, and misses customers who
belong to no desk. A user absent from ``/users/search`` is deleted (its contact is unlinked,
"Synced Jira User" cleared, the contact kept); a deactivated user is still there and keeps its
contact.

The CRM is read in full each run: people edit and delete contacts there, and a linked contact
follows its user (Name, Email, "Synced Jira User"), so edits are set back and deleted contacts
re-created. Contacts are matched by email, case-insensitively; contacts no user matches are
never touched. A user whose email is hidden is found through its link, or by searching Jira
(``/user/search``, which matches a hidden email in full) for the emails of contacts no visible
email matched; one found nowhere is reported, as a contact cannot be made without an email.

Turning the sync off (``enabled: false``, or a run with the action ``disable``) reads nothing,
clears "Synced Jira User" on every linked contact and drops the links.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from jirasync.connectors.errors import ApiError, AuthenticationError, BadRequestError
from jirasync.connectors.jira import USERS_PAGE_SIZE, JiraConnector, JiraUser
from jirasync.connectors.outcome import RecordOutcome
from jirasync.engine.apply import WriteOutcome, WriteRecord
from jirasync.engine.definitions import SyncDefinition, unknown_name
from jirasync.engine.frames import from_json, normalise_key, source_frame, target_frame
from jirasync.engine.keys import email_key
from jirasync.engine.plan import empty_change_set
from jirasync.syncs.contacts_definition import synced_user_field
from jirasync.syncs.contacts_salesforce import SalesforceContacts
from jirasync.syncs.contacts_zoho import ZohoContacts
from jirasync.syncs.family import JIRA_USERS_UNDATED, Extract, SyncRun, say_window_cannot_narrow
from jirasync.syncs.limits import within_limits

ACCOUNT_TYPES = ("atlassian", "customer")
# Users whose email is hidden and who have no link are keyed <accountId>@HIDDEN_DOMAIN: a key no
# contact has, unless the search for a contact's email finds the user (the contact then takes it).
HIDDEN_DOMAIN = "hidden-email.invalid"

RECREATED = "re-created: the linked contact was deleted in the CRM"
SET_BACK = "set back: the contact was edited in the CRM"
USER_CHANGED = "the Jira user changed"
USER_DELETED = "unlinked: the Jira user was deleted; Synced Jira User cleared, the contact kept"
TURNED_OFF = "unlinked: the sync is turned off; Synced Jira User cleared, the contact kept"
HIDDEN_UNMATCHED = (
    "the Jira user hides its email and no contact's email found it through /user/search; "
    "no contact is created without an email"
)

Contacts = ZohoContacts | SalesforceContacts


def hidden_key(account_id: str) -> str:
    return email_key(f"{account_id}@{HIDDEN_DOMAIN}")


def turned_off(run: SyncRun) -> bool:
    return not run.definition.enabled or run.options.extra.get("action") == "disable"


def contacts_class(definition: SyncDefinition) -> type[Contacts]:
    return ZohoContacts if definition.target.system == "zoho_crm" else SalesforceContacts


def contacts_of(definition: SyncDefinition, crm: Any) -> Contacts:
    return contacts_class(definition)(crm)


class UsersToContacts:
    """The Jira users → CRM contacts family."""

    def read_source(self, run: SyncRun, jira: JiraConnector) -> Extract:
        definition = run.definition
        if turned_off(run):
            return Extract(source_frame(definition, []), complete=False)
        say_window_cannot_narrow(run, JIRA_USERS_UNDATED)
        every_account = list(jira.users())
        # A bare array with no total: only an empty page proves the end.
        ideal = math.ceil(len(every_account) / USERS_PAGE_SIZE) + 1
        users = [u for u in every_account if u.account_type in ACCOUNT_TYPES]
        links = run.store.links(definition.id)
        linked_keys = dict(zip(links["source_id"], links["key"], strict=True))
        # Hidden emails found earlier through a contact: the user is then synced like any other.
        found = json.loads(run.store.cursor(definition.id, "target") or "{}").get("found", {})
        emails = {u.account_id: u.email or found.get(u.account_id) for u in users}
        records = [_attributes(u, emails[u.account_id]) for u in users]
        frame = source_frame(definition, records, id_field="accountId")
        keys = {
            u.account_id: emails[u.account_id] or linked_keys.get(u.account_id) or hidden_key(u.account_id)
            for u in users
        }
        frame["_key"] = normalise_key(frame["_id"].map(keys).astype("string"), "email")
        complete = True
        if run.options.only:
            wanted = normalise_key(pd.Series([run.options.only]), "email").iloc[0]
            frame = frame[(frame["_key"] == wanted) | (frame["_id"] == run.options.only)]
            complete = False
        frame, cut = within_limits(frame.reset_index(drop=True), contacts_class(definition).text_limits)
        return Extract(frame, complete, ideal_calls=ideal, adjusted=tuple(cut))

    def read_target(self, run: SyncRun, crm: Any, source: Extract) -> Extract:
        definition = run.definition
        if turned_off(run):
            return Extract(target_frame(definition, []), complete=False)
        contacts = contacts_of(definition, crm)
        fields = sorted({m.target for m in definition.fields} | {definition.key.target_field})
        try:
            records, ideal = contacts.read(fields)
        except BadRequestError as error:
            raise _with_unknown_fields(error, fields, contacts.field_names()) from None
        frame = target_frame(definition, records, id_field=contacts.id_field)
        search = _HiddenEmailSearch(run, source.frame, frame)
        calls: dict[str, int] = {}
        if search.needed():
            jira = run.connect(definition.source)  # Jira, to search hidden emails while the CRM is read
            try:
                frame = search.search(jira)
                calls = jira.http.calls.by_endpoint()
            finally:
                jira.close()
        return Extract(frame, True, (), search.cursor(), ideal + search.searches, calls)

    def refine(self, run: SyncRun, changes: pd.DataFrame) -> pd.DataFrame:
        """Clear "Synced Jira User" with every unlink; skip what needs an email; say why contacts change."""
        definition = run.definition
        synced = synced_user_field(definition)
        links = run.store.links(definition.id)
        if turned_off(run):
            return _turn_off(links, synced)
        rows = changes.copy()
        unlinks = rows["kind"] == "unlink"
        rows.loc[unlinks, "field"] = synced
        rows.loc[unlinks, "after"] = "null"
        rows.loc[unlinks, "direction"] = "to_target"
        rows.loc[unlinks, "reason"] = USER_DELETED
        rows.loc[(rows["kind"] == "create") & rows["reason"].notna(), "reason"] = RECREATED
        # A hidden email is not a missing one: the contact keeps the email it has.
        hidden_email = (rows["kind"] == "update") & (rows["field"] == definition.key.target_field)
        rows = rows[~(hidden_email & (rows["after"] == "null"))]
        rows = _explain_updates(rows, links, run.store.base(definition.id))
        hidden = (rows["kind"] == "create") & rows["key"].str.endswith("@" + HIDDEN_DOMAIN).fillna(False)
        skips = (
            rows[hidden]
            .drop_duplicates("key")
            .assign(field=pd.NA, before=pd.NA, after=pd.NA, direction=pd.NA, reason=HIDDEN_UNMATCHED)
            .assign(kind="skip")
        )
        return pd.concat([rows[~hidden], skips], ignore_index=True).astype("string")

    def writer(self, run: SyncRun, crm: Any, source: pd.DataFrame) -> ContactWriter:
        definition = run.definition
        contacts = contacts_of(definition, crm)
        return ContactWriter(
            contacts,
            definition.key.target_field,
            definition.batch_size or contacts.batch_size,
            concurrency=contacts.writes_at_once(),
        )


@dataclass
class ContactWriter:
    """Creates and updates contacts in the CRM's largest batches; an unlink clears "Synced Jira User".

    With a budget on the CRM's connection, ``concurrency`` batches are written at once (on apply's
    writer threads; the connector's session and token are shared by them).
    """

    contacts: Contacts
    email_field: str
    batch_size: int
    concurrency: int = 1
    setup_calls: int = 1  # the OAuth token (Zoho) or the login (Salesforce) before the first write

    def write(self, kind: str, direction: str, records: Sequence[WriteRecord]) -> list[WriteOutcome]:
        try:
            if kind == "create":
                answers = self.contacts.create([record.values for record in records])
            elif kind in ("update", "unlink"):
                answers = self.contacts.update(
                    [(record.target_id or "", record.values) for record in records]
                )
            else:
                raise ValueError(f"the contacts family writes no {kind} records")
        except AuthenticationError:
            raise  # the run's credentials, not these records: every other write would fail the same way
        except ApiError as error:
            return [
                WriteOutcome(error=f"{_named(record)}: {error}", retryable=error.retryable)
                for record in records
            ]
        return [self._outcome(kind, record, answer) for record, answer in zip(records, answers, strict=True)]

    def lookup_calls(self, creates: int) -> int:
        """Calls that look ``creates`` interrupted creates up: one per batch of emails."""
        return self.contacts.lookup_calls(creates)

    def reconcile(self, records: Sequence[WriteRecord]) -> list[str | None]:
        """Creates that may have happened: the contact with each one's email, if the CRM has one,
        looked up for the whole batch at once."""
        emails = [str(record.values.get(self.email_field) or "") for record in records]
        found = self.contacts.find_all([email for email in emails if email])
        return [found.get(email_key(email)) if email else None for email in emails]

    def _outcome(self, kind: str, record: WriteRecord, answer: RecordOutcome) -> WriteOutcome:
        if answer.ok:
            return WriteOutcome(record_id=answer.id or record.target_id)
        error = answer.error or "failed"
        if kind == "unlink" and self.contacts.is_gone(error):
            return WriteOutcome(record_id=record.target_id)  # deleted in the CRM: nothing left to clear
        if self.contacts.is_gone(error):
            return WriteOutcome(
                error=f"{_named(record)}: the contact was deleted in the CRM ({error}); the next run re-creates it",
                retryable=True,
            )
        fix = "" if answer.retryable else "; correct the Jira user or the field mapping"
        return WriteOutcome(error=f"{_named(record)}: {error}{fix}", retryable=answer.retryable)


class _HiddenEmailSearch:
    """Finds, among contacts no visible email matched, those of users who hide their email.

    Emails searched without a find are remembered in the cursor with the users they were
    searched for, and searched again only when another such user appears or in a full sync.
    Emails found are remembered too: the next runs read the user with it, so its contact's email
    is set back and a deleted contact re-created like any other.
    """

    def __init__(self, run: SyncRun, source: pd.DataFrame, target: pd.DataFrame) -> None:
        self.run = run
        self.target = target
        links = run.store.links(run.definition.id)
        unlinked = source[~source["_id"].isin(links["source_id"])]
        hidden = unlinked[unlinked["_key"].str.endswith("@" + HIDDEN_DOMAIN).fillna(False)]
        self.hidden_ids = set(hidden["_id"])
        candidates = target[
            target["_key"].notna()
            & ~target["_key"].isin(source["_key"])
            & ~target["_id"].isin(links["target_id"])
        ]
        before = json.loads(run.store.cursor(run.definition.id, "target") or "{}")
        still_valid = not run.options.full_sync and self.hidden_ids <= set(before.get("hidden", []))
        self.known_misses = set(before.get("missed", [])) if still_valid else set()
        self.found: dict[str, str] = dict(before.get("found", {}))
        self.emails = {str(e): i for i, e in zip(candidates["_id"], candidates["_key"], strict=True)}
        self.misses: set[str] = set()
        self.searches = 0

    def needed(self) -> bool:
        return bool(self.hidden_ids) and bool(set(self.emails) - self.known_misses)

    def search(self, jira: JiraConnector) -> pd.DataFrame:
        frame = self.target.copy()
        for email, contact_id in sorted(self.emails.items()):
            if email in self.known_misses:
                continue
            self.searches += 1
            found = [u for u in jira.search_users(query=email) if u.account_id in self.hidden_ids]
            if len(found) == 1:
                frame.loc[frame["_id"] == contact_id, "_key"] = hidden_key(found[0].account_id)
                self.found[found[0].account_id] = email
            else:
                self.misses.add(email)
        return frame

    def cursor(self) -> str:
        missed = (self.misses | self.known_misses) & set(self.emails)
        return json.dumps(
            {
                "hidden": sorted(self.hidden_ids),
                "missed": sorted(missed),
                "found": dict(sorted(self.found.items())),
            }
        )


def _with_unknown_fields(error: BadRequestError, asked: list[str], known: list[str]) -> BadRequestError:
    """The CRM refused the read: name the mapped fields it does not have, and the nearest it has.

    Its metadata is read only here, when a read has failed, so a run that works pays nothing for it.
    """
    unknown = [name for name in asked if name not in known]
    if not unknown:
        return error
    hints = [unknown_name(name, "a field of the CRM's contacts", known) for name in unknown]
    return error.with_detail("; ".join(hints) + "; correct the mapping in the definition")


def _attributes(user: JiraUser, email: str | None) -> dict[str, Any]:
    """A user as the mappings read it (with its email, even a hidden one found through a contact),
    the display name split at its last space as well."""
    name = user.display_name.strip()
    first, _, last = name.rpartition(" ")
    return {
        "accountId": user.account_id,
        "accountType": user.account_type,
        "displayName": name or None,
        "emailAddress": email.strip() if email else email,  # the key is stripped: the value too
        "active": user.active,
        "timeZone": user.time_zone,
        "locale": user.locale,
        "firstName": first.strip() or None,
        # A contact needs a last name: a user without a display name gets its email's local part.
        "lastName": last or (email or "").split("@")[0] or user.account_id,
    }


def _turn_off(links: pd.DataFrame, synced: str) -> pd.DataFrame:
    """Every link becomes an unlink that clears "Synced Jira User"; nothing else is written."""
    if links.empty:
        return empty_change_set()
    rows = pd.DataFrame(
        {
            "kind": "unlink",
            "key": links["key"],
            "source_id": links["source_id"],
            "target_id": links["target_id"],
            "field": synced,
            "before": pd.NA,
            "after": "null",
            "direction": "to_target",
            "reason": TURNED_OFF,
        }
    )
    return rows.astype("string").reset_index(drop=True)


def _explain_updates(rows: pd.DataFrame, links: pd.DataFrame, base: pd.DataFrame) -> pd.DataFrame:
    """Updates of contacts linked before this run: set back (the CRM changed what jirasync wrote), or
    following the user. A field jirasync never had to write has no base, and gets no reason."""
    updates = (rows["kind"] == "update") & rows["target_id"].isin(links["target_id"])
    if not updates.any() or base.empty:
        return rows
    written = dict(
        zip(zip(base["source_id"], base["field"], strict=True), from_json(base["value"]), strict=True)
    )
    reasons = []
    for source_id, field, after in zip(
        rows.loc[updates, "source_id"],
        rows.loc[updates, "field"],
        from_json(rows.loc[updates, "after"]),
        strict=True,
    ):
        if (source_id, field) not in written:
            reasons.append(pd.NA)
        else:
            reasons.append(SET_BACK if written[(source_id, field)] == after else USER_CHANGED)
    rows = rows.copy()
    rows.loc[updates, "reason"] = reasons
    return rows


def _named(record: WriteRecord) -> str:
    return f"contact {record.target_id} ({record.key})" if record.target_id else f"new contact ({record.key})"


FAMILY = UsersToContacts()
