"""Files ↔ attachments of a connected item: the files of a linked CRM record (Zoho attachments,
Salesforce Attachments and Files of a Case) copied to its issue, and back, each once (issue 15).

Each copy is linked to its origin in the state store (``stream_links``, stream ``attachments``,
digest the sha256 of the content), saved right after the upload; a file linked either way is never
copied again, so a rerun uploads nothing and a copy never comes back. Before an upload, the other
side is looked at for the same file (same name and size, then the same content): a file the pair
already holds is linked instead of uploaded. That finds the copy an upload whose answer was lost
left behind (it is linked on the next run, not uploaded again), and sends a file attached twice to
a record once. A file bigger than ``options.attachments.max_bytes`` is listed in the run's summary
(``too_large``) and skipped, never a failure.

A file deleted from its side keeps its copy (and its link, so the copy never comes back as a new
file), unless ``options.attachments.on_delete`` is ``delete``: then the copy is deleted too, and
its link, once every pair is read, unless the deletions are more than the gate's circuit breaker
allows (``max_delete_share`` of the copies the sync links). A copy that is still the copy of
another file (one attached twice) stays; the link of a copy someone deleted already is dropped.

Content is streamed: downloaded in chunks into a temporary file while hashed, and uploaded from
that file as it is sent, so memory does not grow with the file.

What a run reads, and what it costs:
- the CRM's files of every linked record, each run: on Zoho one call per record (Zoho keeps no
  listing of the files of many records, nor their change times across records); on Salesforce two
  SOQL per 200 cases (Attachments, and the links to Files);
- the issue's files (one call per pair) only for the pairs whose issue was ``updated`` since the
  cursor (one search, as the comments stream does; adding or deleting an attachment updates its
  issue), whose record holds a file not linked yet, or (with ``on_delete: delete``) lost a linked
  one; a first run, or a full sync, reads every pair;
- one download per file to copy (and per candidate copy to confirm by its content), one upload per
  copy, one call per copy deleted. A dry run downloads nothing: it lists the files it would upload
  and the copies it would delete, by record.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

import pandas as pd
import requests

from jirasync.connectors.errors import ApiError, AuthenticationError
from jirasync.connectors.jira import JiraConnector
from jirasync.connectors.outcome import RecordOutcome
from jirasync.syncs.attachments_crm import OCTET_STREAM, CrmFiles, File, crm_files
from jirasync.syncs.attachments_definition import AttachmentsOptions
from jirasync.syncs.family import SyncRun
from jirasync.syncs.records_definition import records_options
from jirasync.syncs.streams import (
    PairStream,
    StreamOutcome,
    deletions_held,
    issues_updated_since,
    jira_cursor,
    run_stream,
    stream_cursor,
)

log = logging.getLogger(__name__)

STREAM = "attachments"
CHUNK = 1024 * 1024  # bytes read from a download at a time
# What the next run does about a failed write, as the run report says it.
RECOPIED = "the next run copies it again, finding what was uploaded by its name and content"
REDELETED = "the next run deletes it again, or drops its link if it is gone by then"


@dataclass
class AttachmentsOutcome(StreamOutcome):
    """What the stream did in one run; ``relinked``: copies found on the other side by name, size
    and content, and linked."""

    uploaded: int = 0
    deleted: int = 0  # copies of deleted files, with on_delete: delete
    deduplicated: int = 0  # files with the name and content of one already copied: linked to its copy
    too_large: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "uploaded": self.uploaded,
            "deleted": self.deleted,
            "relinked": self.relinked,
            "deduplicated": self.deduplicated,
            "would_write": self.planned,
            "too_large": self.too_large,
            "failed": len(self.failures),
        }


@dataclass(frozen=True)
class Pair:
    record_id: str
    issue_key: str

    def __str__(self) -> str:
        return f"record {self.record_id} (issue {self.issue_key})"


@dataclass(frozen=True)
class Deletion:
    """A copy to delete: its origins (on ``side``) are all gone."""

    pair: Pair
    side: str
    origin_ids: list[str]
    copy: File


@dataclass
class PairFiles:
    """The files of one pair, both sides ("source": the CRM, "target": Jira), and what the store
    links of them: the ids linked on each side, and the digest of each linked file."""

    files: dict[str, list[File]]
    linked: dict[str, set[str]]
    digests: dict[tuple[str, str], str]

    def add_link(self, side: str, origin_id: str, mirror_id: str, digest: str) -> None:
        other = _other(side)
        self.linked[side].add(origin_id)
        self.linked[other].add(mirror_id)
        self.digests[(side, origin_id)] = self.digests[(other, mirror_id)] = digest


def sync_attachments(run: SyncRun, jira: JiraConnector) -> AttachmentsOutcome | None:
    """Copy the files of the sync's linked pairs not copied yet; None when the definition moves no
    files, or the run is one that moves none (one record, a backfill, a revert)."""
    options = records_options(run.definition).attachments
    return run_stream(run, jira, STREAM, options, crm_files, _AttachmentsStream)


class _AttachmentsStream(PairStream):
    def __init__(self, run: SyncRun, options: AttachmentsOptions, jira: JiraConnector, crm: CrmFiles) -> None:
        super().__init__(run, jira, STREAM)
        self.options = options
        self.crm = crm
        self.outcome = AttachmentsOutcome(ideal_calls=crm.setup_calls)
        self.deletions: list[Deletion] = []  # made once every pair is read, as the breaker allows

    def mirror_changed(self) -> None:
        cursor = stream_cursor(self.sync_run, STREAM)
        started = datetime.now(UTC)
        files, calls = self.crm.files_of(sorted(self.issue_of)) if self.issue_of else ([], 0)
        self.outcome.ideal_calls += calls
        by_record: dict[str, list[File]] = {}
        for file in files:
            by_record.setdefault(file.owner, []).append(file)
        changed = self._changed_issues(cursor)
        for record_id, issue_key in sorted(self.issue_of.items(), key=lambda pair: pair[1]):
            pair, crm_side = Pair(record_id, issue_key), by_record.get(record_id, [])
            if changed is None or issue_key in changed or self._to_write(pair, crm_side):
                self._sync_pair(pair, crm_side)
        self._delete_copies()
        if not self.dry_run and not self.outcome.failures:  # a failed pair is read again next run
            next_cursor = {"jira": jira_cursor(started)}
            self.sync_run.store.save_cursor(self.sync_id, STREAM, json.dumps(next_cursor))

    # ---- what to read --------------------------------------------------------------------

    def _changed_issues(self, cursor: dict[str, str]) -> set[str] | None:
        """The project's issues updated since the cursor; None (all of them) at first."""
        if not cursor:
            return None
        keys, calls = issues_updated_since(self.sync_run, self.jira, cursor["jira"])
        self.outcome.ideal_calls += calls
        return set(keys)

    def _to_write(self, pair: Pair, crm_side: list[File]) -> bool:
        """Whether the record holds a file to send to Jira that is not linked yet, or lost a file
        sent there whose copy goes with it."""
        if not self.options.to_jira:
            return False
        links = self.links[self.links["record_id"] == pair.record_id]
        linked = _linked_ids(links)["source"]
        if any(f.id not in linked and f.size <= self.options.max_bytes for f in crm_side):
            return True
        held = {f.id for f in crm_side}
        sent = links.loc[links["origin_side"] == "source", "origin_id"]
        return self.options.on_delete == "delete" and not set(sent) <= held

    def _issue_files(self, key: str) -> list[File]:
        found = self.jira.attachments(key)
        self.outcome.ideal_calls += 1
        return [
            File(
                str(a["id"]), key, str(a["filename"]), int(a["size"]), str(a.get("mimeType") or OCTET_STREAM)
            )
            for a in found
        ]

    # ---- one pair ------------------------------------------------------------------------

    def _sync_pair(self, pair: Pair, crm_side: list[File]) -> None:
        links = self.links[self.links["record_id"] == pair.record_id]
        held = PairFiles(
            {"source": list(crm_side), "target": self._issue_files(pair.issue_key)},
            _linked_ids(links),
            _digests(links),
        )
        sides = [
            side
            for side, wanted in (("source", self.options.to_jira), ("target", self.options.to_crm))
            if wanted
        ]
        if self.options.on_delete == "delete":
            for side in sides:
                self._follow_deletions(pair, side, held, links)
        for side in sides:
            for origin in list(held.files[side]):
                if origin.id not in held.linked[side]:
                    self._copy(pair, side, origin, held)

    def _follow_deletions(self, pair: Pair, side: str, held: PairFiles, links: pd.DataFrame) -> None:
        """The copies of files gone from ``side``, to delete once every pair is read; a copy that
        still is the copy of a file there stays, and the link of a copy already gone is dropped.
        A copy to delete is out of the pair's files, so no new file is linked to it instead of
        uploaded (a file deleted and attached again)."""
        other = _other(side)
        present = {f.id for f in held.files[side]}
        copies = {f.id: f for f in held.files[other]}
        mine = links[links["origin_side"] == side]
        still_copies: set[str] = set()
        gone: dict[str, list[str]] = {}  # copy id → its origins gone
        for origin_id, mirror_id in zip(mine["origin_id"], mine["mirror_id"], strict=True):
            if origin_id in present:
                still_copies.add(mirror_id)
            else:
                gone.setdefault(mirror_id, []).append(origin_id)
        for mirror_id, origin_ids in gone.items():
            if mirror_id in copies and mirror_id not in still_copies:
                self.deletions.append(Deletion(pair, side, origin_ids, copies[mirror_id]))
                held.files[other].remove(copies[mirror_id])
            elif not self.dry_run:
                for origin_id in origin_ids:
                    self.sync_run.store.remove_stream_link(self.sync_id, STREAM, side, origin_id)

    def _copy(self, pair: Pair, side: str, origin: File, held: PairFiles) -> None:
        """Link the origin to the same file on the other side, or upload it there."""
        other = _other(side)
        if origin.size > self.options.max_bytes:
            self.outcome.too_large.append(f"{pair}: {origin.name} ({origin.size} bytes)")
            return
        if self.dry_run:
            to = "Jira" if side == "source" else self.crm.system
            self.outcome.planned.append(f"{pair}: would upload {origin.name!r} ({origin.size} bytes) → {to}")
            return
        what = f"{pair}: copy {origin.name!r} ({origin.size} bytes)"
        try:
            with self._downloaded(side, origin) as (content, digest):
                same = self._same_file(side, origin, digest, held)
                if same is not None:
                    self._link(pair, side, origin.id, same.id, digest, held)
                    return
                written = self._upload(pair, other, origin, content)
        except AuthenticationError:
            raise
        except ApiError as error:
            self._failed(what, str(error), RECOPIED)
            return
        if not written.ok or not written.id:
            self._failed(what, written.error or "failed", RECOPIED)
            return
        owner = pair.record_id if other == "source" else pair.issue_key
        held.files[other].append(File(written.id, owner, origin.name, origin.size, origin.content_type))
        self._link(pair, side, origin.id, written.id, digest, held)
        self.outcome.uploaded += 1

    def _same_file(self, side: str, origin: File, digest: str, held: PairFiles) -> File | None:
        """A file on the other side with the origin's name and content: one already linked (the
        copy of a file attached twice), or one not linked yet (a copy whose answer was lost)."""
        other = _other(side)
        for candidate in held.files[other]:
            if (candidate.name, candidate.size) != (origin.name, origin.size):
                continue
            known = held.digests.get((other, candidate.id))
            if known is not None:
                if known == digest:
                    self.outcome.deduplicated += 1
                    return candidate
                continue
            with self._downloaded(other, candidate) as (_, candidate_digest):
                if candidate_digest == digest:
                    self.outcome.relinked += 1
                    return candidate
        return None

    def _delete_copies(self) -> None:
        """Delete the copies of deleted files, unless the gate's circuit breaker holds them all."""
        held = deletions_held(self.sync_run, len(self.deletions), len(self.links), "copied file(s)")
        if held is not None:
            self.outcome.failures.append(held)
            return
        for deletion in self.deletions:
            self._delete(deletion)

    def _delete(self, deletion: Deletion) -> None:
        copy, side = deletion.copy, _other(deletion.side)
        where, origin = ("Jira", self.crm.system) if side == "target" else (self.crm.system, "Jira")
        named = f"{copy.name!r} ({copy.size} bytes) from {where}"
        if self.dry_run:
            self.outcome.planned.append(
                f"{deletion.pair}: would delete {named}, its origin deleted from {origin}"
            )
            return
        what = f"{deletion.pair}: delete {named}"
        try:
            deleted = self._remove(side, copy)
        except AuthenticationError:
            raise
        except ApiError as error:
            self._failed(what, str(error), REDELETED)
            return
        if not deleted.ok:
            self._failed(what, deleted.error or "failed", REDELETED)
            return
        self.outcome.ideal_calls += 1
        for origin_id in deletion.origin_ids:
            self.sync_run.store.remove_stream_link(self.sync_id, STREAM, deletion.side, origin_id)
        self.outcome.deleted += 1

    def _remove(self, side: str, copy: File) -> RecordOutcome:
        if side == "target":
            self.jira.delete_attachment(copy.id)
            return RecordOutcome.success(copy.id)
        return self.crm.delete(copy)

    # ---- content -------------------------------------------------------------------------

    @contextmanager
    def _downloaded(self, side: str, file: File) -> Iterator[tuple[IO[bytes], str]]:
        """The file's content in a temporary file, read in chunks, and its sha256."""
        opened: Callable[[], requests.Response] = (
            (lambda: self.crm.open(file))
            if side == "source"
            else (lambda: self.jira.open_attachment(file.id))
        )
        digest = hashlib.sha256()
        self.outcome.ideal_calls += 1
        with tempfile.TemporaryFile() as content:
            with opened() as answer:
                for chunk in answer.iter_content(CHUNK):
                    digest.update(chunk)
                    content.write(chunk)
            content.seek(0)
            yield content, digest.hexdigest()

    def _upload(self, pair: Pair, side: str, origin: File, content: IO[bytes]) -> RecordOutcome:
        """Upload the content to ``side``, keeping the origin's name and type."""
        self.outcome.ideal_calls += 1
        if side == "target":
            [created] = self.jira.add_attachment(pair.issue_key, origin.name, content, origin.content_type)
            return RecordOutcome.success(str(created["id"]))
        return self.crm.upload(pair.record_id, origin.name, content, origin.content_type)

    # ---- links ---------------------------------------------------------------------------

    def _link(
        self, pair: Pair, side: str, origin_id: str, mirror_id: str, digest: str, held: PairFiles
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
        held.add_link(side, origin_id, mirror_id, digest)

    def _failed(self, what: str, error: str, action: str) -> None:
        self.outcome.failures.append({"key": what, "error": error, "action": action})


def _other(side: str) -> str:
    return "target" if side == "source" else "source"


def _linked_ids(links: pd.DataFrame) -> dict[str, set[str]]:
    """The ids each side holds that are linked, as an origin or as a copy."""
    linked: dict[str, set[str]] = {"source": set(), "target": set()}
    for side, origin, mirror in zip(
        links["origin_side"], links["origin_id"], links["mirror_id"], strict=True
    ):
        linked[side].add(origin)
        linked[_other(side)].add(mirror)
    return linked


def _digests(links: pd.DataFrame) -> dict[tuple[str, str], str]:
    digests: dict[tuple[str, str], str] = {}
    for side, origin, mirror, digest in zip(
        links["origin_side"], links["origin_id"], links["mirror_id"], links["digest"], strict=True
    ):
        digests[(side, origin)] = digests[(_other(side), mirror)] = digest
    return digests
