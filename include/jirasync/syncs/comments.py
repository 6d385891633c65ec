"""Notes ↔ comments of a connected item: CRM notes (Zoho) or case comments (Salesforce) of a linked
record mirrored as comments on its issue, and back, exactly once (issue 15).

Each mirror is linked to its origin in the state store (``stream_links``, stream ``comments``),
saved right after the write, and carries a marker of its origin: a Jira mirror the comment
property ``jirasync.origin``, set in the call that creates it (with JSM's internal flag: a CRM
note never reaches the customer); a CRM mirror a last line
``[jirasync:jira:<comment id>]``. So a run interrupted between a write and its link finds the
mirror by its marker and links it instead of posting a second one, and a mirror is never taken
for an origin (no echo). An edited origin updates its mirror (the store keeps a digest of what was
mirrored); a deleted origin keeps its mirror or deletes it, as ``options.comments.on_delete`` says.

Only the pairs whose comments changed are read: the CRM's notes changed since the cursor (Zoho's
``If-Modified-Since`` on notes; one SOQL on ``CaseComment.SystemModstamp``), and the project's
issues ``updated`` since the Jira cursor; a first run reads every linked pair. A pair whose only
change is on the Jira side has its CRM notes read only when a comment is to go out.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from jirasync.connectors.errors import ApiError, AuthenticationError
from jirasync.connectors.jira import JiraConnector
from jirasync.connectors.outcome import RecordOutcome
from jirasync.syncs.comments_crm import CrmNotes, Note, crm_notes, newest_stamp
from jirasync.syncs.comments_definition import CommentsOptions
from jirasync.syncs.comments_format import adf_to_text, text_to_adf
from jirasync.syncs.family import SyncRun
from jirasync.syncs.records_definition import records_options
from jirasync.syncs.streams import (
    JIRA_CLOCK_MARGIN,
    PairStream,
    StreamOutcome,
    deletions_held,
    issues_updated_since,
    jira_cursor,
    run_stream,
    stream_cursor,
)

log = logging.getLogger(__name__)

STREAM = "comments"
ORIGIN_PROPERTY = "jirasync.origin"  # on a Jira mirror: the sync and the CRM note it mirrors
# A CRM note is the company's own: its Jira mirror is a JSM internal comment, never a reply that
# would reach the customer (the property is inert on projects that are not service desks).
INTERNAL = {"sd.public.comment": {"internal": True}}
CRM_MARKER = re.compile(r"\n*\[jirasync:jira:(?P<id>\d+)\]\s*$")
JIRA_LIMIT = 32_767  # characters Jira keeps in a comment
COMMENTS_PAGE = 100
SHOWN = 60  # characters of a comment a dry run's line shows
PAIRS_AT_ONCE = 200  # pairs whose comments are held together: one SOQL of case comments


@dataclass
class CommentsOutcome(StreamOutcome):
    """What the stream did in one run; ``relinked``: mirrors found by their marker."""

    posted: int = 0
    updated: int = 0
    deleted: int = 0
    truncated: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "posted": self.posted,
            "updated": self.updated,
            "deleted": self.deleted,
            "relinked": self.relinked,
            "would_write": self.planned,
            "truncated": self.truncated,
            "failed": len(self.failures),
        }


@dataclass(frozen=True)
class JiraComment:
    id: str
    text: str
    author: str
    created: datetime
    public: bool
    origin: str | None  # the CRM note a mirror's property names


@dataclass(frozen=True)
class Pair:
    record_id: str
    issue_key: str


@dataclass(frozen=True)
class Origin:
    """A note or comment to mirror: where it lives ("source": the CRM, "target": Jira), what its
    mirror says, and the digest of its content, which changes when it is edited."""

    side: str
    id: str
    mirror_body: str
    digest: str


@dataclass(frozen=True)
class Mirrors:
    """What one side of a pair holds of the mirrors of the other side's origins."""

    linked: dict[str, tuple[str, str]]  # origin id → (mirror id, digest), as the store links them
    marked: dict[str, tuple[str, str]]  # origin id → (mirror id, its text), found by their marker
    present: set[str]  # every note or comment the side holds now

    def mirror_ids(self) -> set[str]:
        return {mirror for mirror, _ in self.linked.values()} | {mirror for mirror, _ in self.marked.values()}


def sync_comments(run: SyncRun, jira: JiraConnector) -> CommentsOutcome | None:
    """Mirror the changed notes and comments of the sync's linked pairs; None when the definition
    mirrors none, or the run is one that syncs no comments (one record, a backfill, a revert)."""
    options = records_options(run.definition).comments
    return run_stream(run, jira, STREAM, options, crm_notes, _CommentsStream)


class _CommentsStream(PairStream):
    def __init__(self, run: SyncRun, options: CommentsOptions, jira: JiraConnector, crm: CrmNotes) -> None:
        super().__init__(run, jira, STREAM)
        self.options = options
        self.crm = crm
        self.outcome = CommentsOutcome(ideal_calls=crm.setup_calls)
        self.record_of = {issue: record for record, issue in self.issue_of.items()}
        # Mirrors of deleted origins, deleted together once every pair is read: the gate's circuit
        # breaker holds a run that would delete too large a share of them.
        self.deletions: list[tuple[Pair, str, str, str]] = []

    def mirror_changed(self) -> None:
        cursor = stream_cursor(self.sync_run, STREAM)
        started = datetime.now(UTC)
        pairs, changed_notes = self._changed_pairs(cursor)
        # Records whose notes a person changed: the notes jirasync wrote (they carry its marker)
        # changed nothing to mirror.
        noted = {n.record_id for n in changed_notes if not _marker(n.text)}
        notes: list[Note] = []
        ordered = sorted(pairs, key=lambda p: p.issue_key)
        for start in range(0, len(ordered), PAIRS_AT_ONCE):
            chunk = ordered[start : start + PAIRS_AT_ONCE]
            comments = {pair: self._issue_comments(pair.issue_key) for pair in chunk}
            wanted = [
                p for p in chunk if not cursor or p.record_id in noted or self._asks_crm(p, comments[p])
            ]
            read, calls = self.crm.notes_of([p.record_id for p in wanted]) if wanted else ([], 0)
            self.outcome.ideal_calls += calls
            notes += read
            by_record: dict[str, list[Note]] = {}
            for note in read:
                by_record.setdefault(note.record_id, []).append(note)
            for pair in wanted:
                self._sync_pair(pair, comments[pair], by_record.get(pair.record_id, []))
        self._delete_mirrors()
        if not self.dry_run and not self.outcome.failures:  # a failed pair is read again next run
            next_cursor = {
                # No note seen yet: from this run's start on.
                "crm": newest_stamp([*changed_notes, *notes], cursor.get("crm"))
                or (started - JIRA_CLOCK_MARGIN).isoformat(timespec="seconds"),
                "jira": jira_cursor(started),
            }
            self.sync_run.store.save_cursor(self.sync_id, STREAM, json.dumps(next_cursor))

    # ---- what to read --------------------------------------------------------------------

    def _changed_pairs(self, cursor: dict[str, str]) -> tuple[set[Pair], list[Note]]:
        """The linked pairs whose notes or issue changed since the cursor (all of them at first)."""
        if not cursor:
            return {Pair(r, i) for r, i in self.issue_of.items()}, []
        notes, calls = self.crm.changed(datetime.fromisoformat(cursor["crm"]))
        self.outcome.ideal_calls += calls
        records = {n.record_id for n in notes if n.record_id in self.issue_of}
        keys, calls = issues_updated_since(self.sync_run, self.jira, cursor["jira"])
        self.outcome.ideal_calls += calls
        records |= {self.record_of[key] for key in keys if key in self.record_of}
        return {Pair(r, self.issue_of[r]) for r in records}, notes

    def _asks_crm(self, pair: Pair, comments: list[JiraComment]) -> bool:
        """Whether an issue whose notes did not change has a comment to send to the CRM: new,
        edited, or deleted with ``on_delete: delete``. An issue jirasync itself commented on last
        run is read again (its ``updated`` cannot tell that write from a person's comment made
        while the run was at it), but its notes are not, when it asks nothing of the CRM."""
        if not self.options.to_crm:
            return False
        links = self.links[self.links["record_id"] == pair.record_id]
        sent = _linked(links, "target")
        mirrors = {mirror for mirror, _ in _linked(links, "source").values()} | {
            c.id for c in comments if c.origin
        }
        for comment in comments:
            if comment.id in mirrors or not self._goes_out(comment):
                continue
            if sent.get(comment.id, ("", ""))[1] != _digest(self._unmarked(comment.text), comment.author):
                return True
        present = {c.id for c in comments}
        return self.options.on_delete == "delete" and any(origin not in present for origin in sent)

    def _issue_comments(self, key: str) -> list[JiraComment]:
        found = list(self.jira.comments(key, with_properties=True))
        self.outcome.ideal_calls += max(1, math.ceil(len(found) / COMMENTS_PAGE))
        return [self._jira_comment(c) for c in found]

    def _jira_comment(self, comment: dict[str, Any]) -> JiraComment:
        properties = {p["key"]: p.get("value") for p in comment.get("properties") or []}
        mark = properties.get(ORIGIN_PROPERTY) or {}
        return JiraComment(
            id=str(comment["id"]),
            text=adf_to_text(comment.get("body")),
            author=str((comment.get("author") or {}).get("displayName") or "someone"),
            created=datetime.fromisoformat(str(comment["created"]).replace("Z", "+00:00")),
            public=comment.get("jsdPublic", True) is not False,
            origin=str(mark["id"]) if mark.get("sync") == self.sync_id and mark.get("id") else None,
        )

    # ---- one pair ------------------------------------------------------------------------

    def _sync_pair(self, pair: Pair, comments: list[JiraComment], notes: list[Note]) -> None:
        links = self.links[self.links["record_id"] == pair.record_id]
        in_jira = Mirrors(
            _linked(links, "source"),
            {c.origin: (c.id, c.text) for c in comments if c.origin},
            {c.id for c in comments},
        )
        in_crm = Mirrors(
            _linked(links, "target"),
            {_marker(n.text) or "": (n.id, n.text) for n in notes if _marker(n.text)},
            {n.id for n in notes},
        )
        if self.options.to_jira:
            for note in notes:
                if note.id not in in_crm.mirror_ids():
                    origin = Origin("source", note.id, self._jira_text(note), _digest(note.text, note.author))
                    self._mirror(pair, origin, in_jira)
            self._follow_deletions(pair, "source", in_jira, {n.id for n in notes})
        if self.options.to_crm:
            for comment in comments:
                if comment.id not in in_jira.mirror_ids() and self._goes_out(comment):
                    text = self._unmarked(comment.text)
                    origin = Origin(
                        "target", comment.id, self._crm_text(comment, text), _digest(text, comment.author)
                    )
                    self._mirror(pair, origin, in_crm)
            self._follow_deletions(pair, "target", in_crm, {c.id for c in comments})

    def _goes_out(self, comment: JiraComment) -> bool:
        """A Jira comment the definition sends to the CRM: public (or internal ones allowed), and
        marked when only marked ones go."""
        if not comment.public and not self.options.internal:
            return False
        return self.options.push == "automatic" or comment.text.lstrip().startswith(self.options.marker)

    def _unmarked(self, text: str) -> str:
        if self.options.push == "marked":
            return text.lstrip().removeprefix(self.options.marker).lstrip()
        return text

    def _mirror(self, pair: Pair, origin: Origin, mirrors: Mirrors) -> None:
        """Post the origin's mirror, or update it when the origin changed; a mirror found by its
        marker (an interrupted run wrote it) is linked, not posted again."""
        linked = mirrors.linked.get(origin.id)
        if linked is None and origin.id in mirrors.marked:
            mirror_id, text = mirrors.marked[origin.id]
            digest = origin.digest if _says_the_same(text, origin.mirror_body) else ""
            self._link(pair, origin.side, origin.id, mirror_id, digest, relinked=True)
            linked = (mirror_id, digest)
        if linked is None:
            self._write(pair, origin.side, "post", origin.id, None, origin.mirror_body, origin.digest)
        elif linked[1] != origin.digest and linked[0] in mirrors.present:
            self._write(pair, origin.side, "update", origin.id, linked[0], origin.mirror_body, origin.digest)

    def _follow_deletions(self, pair: Pair, side: str, mirrors: Mirrors, origin_ids: set[str]) -> None:
        """Mirrors of deleted origins: kept, or deleted with ``on_delete: delete``."""
        if self.options.on_delete != "delete":
            return
        for origin_id, (mirror_id, _) in mirrors.linked.items():
            if origin_id not in origin_ids and mirror_id in mirrors.present:
                self.deletions.append((pair, side, origin_id, mirror_id))

    def _delete_mirrors(self) -> None:
        """Delete the mirrors of deleted origins, unless the gate's circuit breaker holds them all."""
        held = deletions_held(self.sync_run, len(self.deletions), len(self.links), "mirrored comment(s)")
        if held is not None:
            self.outcome.failures.append(held)
            return
        for pair, side, origin_id, mirror_id in self.deletions:
            self._write(pair, side, "delete", origin_id, mirror_id, "", "")

    # ---- writes --------------------------------------------------------------------------

    def _write(
        self,
        pair: Pair,
        side: str,
        action: str,
        origin_id: str,
        mirror_id: str | None,
        body: str,
        digest: str,
    ) -> None:
        origin = (
            f"note {origin_id} → Jira"
            if side == "source"
            else f"Jira comment {origin_id} → {self.crm.system}"
        )
        what = f"{action} the mirror of {origin}"
        where = f"record {pair.record_id} (issue {pair.issue_key})"
        if self.dry_run:
            shown = CRM_MARKER.sub("", body.split("\n\n", 1)[-1]).replace("\n", " ")[:SHOWN]
            self.outcome.planned.append(f"{where}: would {what}" + (f": {shown!r}" if body else ""))
            return
        try:
            written = self._send(pair, side, action, origin_id, mirror_id, body)
        except AuthenticationError:
            raise
        except ApiError as error:
            self._failed(f"{where}: {what}", str(error))
            return
        if not written.ok:
            self._failed(f"{where}: {what}", written.error or "failed")
            return
        self.outcome.ideal_calls += 1
        if action == "delete":
            self.sync_run.store.remove_stream_link(self.sync_id, STREAM, side, origin_id)
            self.outcome.deleted += 1
            return
        self._link(pair, side, origin_id, str(written.id), digest)
        if action == "post":
            self.outcome.posted += 1
        else:
            self.outcome.updated += 1

    def _send(
        self, pair: Pair, side: str, action: str, origin_id: str, mirror_id: str | None, body: str
    ) -> RecordOutcome:
        """One write to the mirror's side: to Jira for a CRM origin, to the CRM for a Jira one."""
        if side == "target":
            sends: dict[str, Callable[[], RecordOutcome]] = {
                "post": lambda: self.crm.post(pair.record_id, body),
                "update": lambda: self.crm.update(mirror_id or "", body),
                "delete": lambda: self.crm.delete(mirror_id or ""),
            }
            answer = sends[action]()
            return RecordOutcome.success(answer.id or mirror_id) if answer.ok else answer
        if action == "post":
            mark = {"sync": self.sync_id, "record": pair.record_id, "id": origin_id}
            created = self.jira.add_comment(
                pair.issue_key, text_to_adf(body), properties={ORIGIN_PROPERTY: mark, **INTERNAL}
            )
            return RecordOutcome.success(str(created["id"]))
        if action == "update":
            self.jira.update_comment(pair.issue_key, mirror_id or "", text_to_adf(body))
        else:
            self.jira.delete_comment(pair.issue_key, mirror_id or "")
        return RecordOutcome.success(mirror_id)

    def _link(
        self, pair: Pair, side: str, origin_id: str, mirror_id: str, digest: str, *, relinked: bool = False
    ) -> None:
        link = {
            "origin_side": side,
            "origin_id": origin_id,
            "mirror_id": mirror_id,
            "record_id": pair.record_id,
            "issue_key": pair.issue_key,
            "digest": digest,
        }
        self.sync_run.store.save_stream_link(self.sync_id, STREAM, link)
        if relinked:
            self.outcome.relinked += 1
            log.info(
                "sync '%s': found the mirror %s of %s by its marker and linked it",
                self.sync_id,
                mirror_id,
                origin_id,
            )

    def _failed(self, what: str, error: str) -> None:
        self.outcome.failures.append(
            {
                "key": what,
                "error": error,
                "action": "the next run writes it again, finding what was written by its marker",
            }
        )

    # ---- bodies --------------------------------------------------------------------------

    def _jira_text(self, note: Note) -> str:
        """A CRM note as its Jira mirror says it: who wrote it, where and when, then its text."""
        header = f"{note.author} in {self.crm.system}, {note.created.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        return self._within(f"{header}\n\n", note.text, "", JIRA_LIMIT, f"note {note.id}")

    def _crm_text(self, comment: JiraComment, text: str) -> str:
        header = f"{comment.author} in Jira, {comment.created.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        return self._within(
            f"{header}\n\n",
            text,
            f"\n\n[jirasync:jira:{comment.id}]",
            self.crm.limit,
            f"comment {comment.id}",
        )

    def _within(self, header: str, text: str, trailer: str, limit: int, what: str) -> str:
        body, kept = mirror_text(header, text, trailer, limit)
        if kept < len(text):
            self.outcome.truncated.append(f"{what}: {len(text)} characters cut to {kept}")
        return body


def mirror_text(header: str, text: str, trailer: str, limit: int) -> tuple[str, int]:
    """A mirror's text within ``limit`` characters: the origin's text, cut and saying so when the
    whole would not fit; and how many characters of the origin's text it keeps."""
    if len(header) + len(text) + len(trailer) <= limit:
        return header + text + trailer, len(text)
    cut = f"\n\n[… cut by jirasync: {len(text)} characters, more than the {limit} a mirror keeps]"
    kept = max(0, limit - len(header) - len(trailer) - len(cut))
    return header + text[:kept] + cut + trailer, kept


def _digest(text: str, author: str) -> str:
    return hashlib.sha256(f"{author}\n{text}".encode()).hexdigest()


def _linked(links: pd.DataFrame, side: str) -> dict[str, tuple[str, str]]:
    mine = links[links["origin_side"] == side]
    return {o: (m, d) for o, m, d in zip(mine["origin_id"], mine["mirror_id"], mine["digest"], strict=True)}


def _marker(text: str) -> str | None:
    """The Jira comment a CRM mirror's last line names."""
    found = CRM_MARKER.search(text)
    return found["id"] if found else None


def _says_the_same(mirror_text: str, expected: str) -> bool:
    """Whether a mirror an interrupted run wrote says what its origin says now."""
    return (
        CRM_MARKER.sub("", mirror_text).strip()
        == CRM_MARKER.sub("", adf_to_text(text_to_adf(expected))).strip()
    )
