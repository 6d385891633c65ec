"""A change set as text a person reads before it is applied, in the manner of `terraform plan`."""

from __future__ import annotations

from typing import Any

import pandas as pd

from jirasync.engine.plan import KINDS

_SYMBOLS = {
    "create": "+",
    "update": "~",
    "link": "=",
    "unlink": "/",
    "delete": "-",
    "clear": "-",
    "conflict": "!",
    "skip": "?",
}
_MAX_VALUE = 60


def render_plan(changes: pd.DataFrame, *, sync_id: str, sample: int | None = 5) -> str:
    """Counts of records per kind, then up to ``sample`` records of each kind (all with None) with
    their fields."""
    if changes.empty:
        return f"Plan for {sync_id}: no changes. Both sides agree."
    lines = [f"Plan for {sync_id}:"]
    identity = ["kind", "key", "source_id", "target_id"]
    records = changes.drop_duplicates(identity)
    counts = records["kind"].value_counts()
    summary = ", ".join(f"{counts[kind]} to {kind}" for kind in KINDS if kind in counts)
    lines.append(f"  {summary} (records)")
    # Field rows by record, grouped once: a dry run lists thousands of records.
    with_field = changes[changes["field"].notna()]
    fields = {
        record: rows
        for record, rows in with_field.groupby(with_field[identity].fillna("").apply(tuple, axis=1))
    }
    for kind in KINDS:
        if kind not in counts:
            continue
        lines.append("")
        lines.append(f"{kind} ({counts[kind]}):")
        of_kind = records[records["kind"] == kind]
        shown = of_kind if sample is None else of_kind.head(sample)
        for record in shown.itertuples(index=False):
            lines.append(f"  {_SYMBOLS[kind]} {_record_label(record)}")
            if pd.notna(record.reason):
                lines.append(f"      reason: {record.reason}")
            identified = (kind, _text(record.key), _text(record.source_id), _text(record.target_id))
            rows = fields.get(identified)
            for row in () if rows is None else rows.itertuples(index=False):
                lines.append(f"      {row.field}: {_field_change(row)}")
        if counts[kind] > len(shown):
            lines.append(f"  ... and {counts[kind] - len(shown)} more")
    return "\n".join(lines)


def _record_label(record: Any) -> str:
    key = record.key
    ids = " -> ".join(
        f"{side} {value}"
        for side, value in (("source", record.source_id), ("target", record.target_id))
        if pd.notna(value)
    )
    return f"{key if pd.notna(key) else '(no key)'} [{ids}]"


def _field_change(row: Any) -> str:
    before, after, direction = row.before, row.after, row.direction
    if row.kind == "conflict":
        return f"source {shortened(after)} vs target {shortened(before)}"
    arrow = {"to_target": "-> target", "to_source": "-> source"}.get(
        direction if pd.notna(direction) else "", ""
    )
    change = shortened(after) if pd.isna(before) else f"{shortened(before)} => {shortened(after)}"
    return f"{change} {arrow}".rstrip()


def shortened(value: object) -> str:
    """A value as one short line: "null" for a missing one, cut with "..." past 60 characters."""
    text = str(value) if pd.notna(value) else "null"
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 3] + "..."


def _text(value: object) -> str:
    return "" if pd.isna(value) else str(value)
