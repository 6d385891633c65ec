"""The plan: a vectorised keyed diff of two frames into a change set.

Linked pairs are matched by id through the links frame first, so that a key that changed on
either side keeps its link; only records without a link are matched by key. Fields owned by
one side flow from it; fields owned by both are merged three-way against the stored base.
Work is done per field and per kind with merges and vectorised comparisons, never per row,
except to JSON-encode the values of rows that actually change.

Frames are large (a million records of ten fields) and mostly unchanged since the last run, so
the merges carry only ids, keys and row numbers; a record's field values are taken by row number
only for the few pairs that differ and the records that are created or vanished.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from jirasync.engine.definitions import FieldMapping, SyncDefinition
from jirasync.engine.frames import TEXT, from_json, to_json, typed_column, values_equal, values_identical
from jirasync.engine.keys import EMAIL_PATTERN

CHANGE_COLUMNS = ["kind", "key", "source_id", "target_id", "field", "before", "after", "direction", "reason"]
KINDS = ["create", "update", "link", "unlink", "delete", "clear", "conflict", "skip"]
LINK_COLUMNS = ["source_id", "target_id", "key", "origin"]
BASE_COLUMNS = ["source_id", "field", "value"]

_SOURCE = "s:"
_TARGET = "t:"


def empty_change_set() -> pd.DataFrame:
    """A change set with no changes: the right columns and dtypes, zero rows."""
    return pd.DataFrame({column: pd.Series(dtype=TEXT) for column in CHANGE_COLUMNS})


def empty_links() -> pd.DataFrame:
    """A links frame with no links, for a sync that never ran."""
    return pd.DataFrame({column: pd.Series(dtype=TEXT) for column in LINK_COLUMNS})


def empty_base() -> pd.DataFrame:
    """A base frame with no values, for a sync that never ran."""
    return pd.DataFrame({column: pd.Series(dtype=TEXT) for column in BASE_COLUMNS})


def plan_changes(
    definition: SyncDefinition,
    source: pd.DataFrame,
    target: pd.DataFrame,
    links: pd.DataFrame,
    base: pd.DataFrame,
    decisions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The change set that makes the target (and, for its own fields, the source) agree.

    ``decisions`` (as ``StateStore.decisions`` returns them) settle the held conflicts a person
    decided: the conflict becomes an update towards the side they did not take.
    """
    _require_columns(definition, source, "source")
    _require_columns(definition, target, "target")
    sides = _Sides(definition, source, target)
    links = links[["source_id", "target_id", "key"]].astype(TEXT)
    linked = links.merge(sides.source[["source_id", "s_key", "_s"]], on="source_id", how="left").merge(
        sides.target[["target_id", "t_key", "_t"]], on="target_id", how="left"
    )
    has_source = linked["_s"].notna().to_numpy()
    has_target = linked["_t"].notna().to_numpy()
    linked["key"] = linked["s_key"].fillna(linked["t_key"]).fillna(linked["key"])

    unlinked_source = _unreferenced(sides.source, linked["_s"])
    unlinked_target = _unreferenced(sides.target, linked["_t"])
    matching = _KeyMatching(definition, unlinked_source, unlinked_target, sides.target)

    differing = _differing_pairs(definition, sides, linked[has_source & has_target])
    pairs = pd.concat(
        [sides.with_values(differing).assign(_linked=True), matching.pairs.assign(_linked=False)],
        ignore_index=True,
    )
    recreated = sides.with_values(linked[has_source & ~has_target])
    recreated = recreated.assign(reason="the linked target record no longer exists; re-creating it")
    parts = [
        _creates(definition, matching.creates.assign(reason=pd.NA)),
        _creates(definition, recreated),
        _links(matching.pairs),
        *_field_changes(definition, pairs, base),
        _vanished_sources(definition, sides.with_values(linked[~has_source])),
        *matching.skips,
    ]
    changes = _change_set(parts)
    if decisions is None or decisions.empty or not (changes["kind"] == "conflict").any():
        return changes
    return _change_set([_settled(changes, decisions)])


def _settled(changes: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """Conflicts with a decision made on the very values they hold, turned into updates."""
    matched = ["source_id", "field", "before", "after"]
    sentinel = "\x00none"  # a missing value matches only a missing value
    decided = decisions[[*matched, "take"]].astype(TEXT).fillna(sentinel).drop_duplicates(matched)
    keys = changes[matched].astype(TEXT).fillna(sentinel)
    take = keys.merge(decided, on=matched, how="left")["take"].fillna("").to_numpy()
    conflict = (changes["kind"] == "conflict").to_numpy()
    source = conflict & (take == "source")
    target = conflict & (take == "target")
    settled = changes.copy()
    settled.loc[source | target, "kind"] = "update"
    settled.loc[source, "direction"] = "to_target"
    settled.loc[source, "reason"] = "both sides changed; a person took the source's value"
    # An update to the source writes the target's value over the source's: before and after swap.
    settled.loc[target, ["before", "after"]] = changes.loc[target, ["after", "before"]].to_numpy()
    settled.loc[target, "direction"] = "to_source"
    settled.loc[target, "reason"] = "both sides changed; a person took the target's value"
    return settled


def _require_columns(definition: SyncDefinition, frame: pd.DataFrame, side: str) -> None:
    needed = ["_id", "_key", *(m.target for m in definition.fields)]
    missing = [column for column in needed if column not in frame.columns]
    if missing:
        raise ValueError(
            f"sync '{definition.id}': the {side} frame lacks columns {missing}; "
            "build it with jirasync.engine.frames.source_frame/target_frame"
        )


class _Sides:
    """Both frames with side-prefixed field columns and each record's row number (`_s`, `_t`)."""

    def __init__(self, definition: SyncDefinition, source: pd.DataFrame, target: pd.DataFrame) -> None:
        self.source = self._prefixed(definition, source, _SOURCE, "source_id", "s_key", "s_modified", "_s")
        self.target = self._prefixed(definition, target, _TARGET, "target_id", "t_key", "t_modified", "_t")

    def with_values(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Rows of the links merge with every other column of the records they point at."""
        return pd.concat(
            [rows, _columns_at(self.source, rows, "_s"), _columns_at(self.target, rows, "_t")], axis=1
        )

    @staticmethod
    def _prefixed(
        definition: SyncDefinition,
        frame: pd.DataFrame,
        prefix: str,
        id_name: str,
        key_name: str,
        modified_name: str,
        marker: str,
    ) -> pd.DataFrame:
        columns = {"_id": id_name, "_key": key_name, "_modified": modified_name}
        columns.update({m.target: prefix + m.target for m in definition.fields})
        kept = [c for c in columns if c in frame.columns]
        renamed = frame[kept].rename(columns=columns).reset_index(drop=True)
        renamed[marker] = np.arange(len(renamed))
        return renamed


def _columns_at(frame: pd.DataFrame, rows: pd.DataFrame, row_number: str) -> pd.DataFrame:
    """The columns of `frame` that `rows` lacks, at each row's row number (missing where none)."""
    others = frame.drop(columns=[column for column in frame.columns if column in rows.columns])
    values = others.reindex(rows[row_number].fillna(-1).to_numpy(dtype=np.int64))
    values.index = rows.index
    return values


def _unreferenced(frame: pd.DataFrame, row_numbers: pd.Series) -> pd.DataFrame:
    """The records of `frame` whose row number no link reached."""
    referenced = np.zeros(len(frame), dtype=bool)
    referenced[row_numbers.dropna().to_numpy(dtype=np.int64)] = True
    return frame[~referenced]


def _differing_pairs(definition: SyncDefinition, sides: _Sides, pairs: pd.DataFrame) -> pd.DataFrame:
    """The linked pairs with a field whose values are not identical: only these can change."""
    source_rows = pairs["_s"].to_numpy(dtype=np.int64)
    target_rows = pairs["_t"].to_numpy(dtype=np.int64)
    identical = np.ones(len(pairs), dtype=bool)
    for mapping in definition.fields:
        identical &= values_identical(
            sides.source[_SOURCE + mapping.target].take(source_rows),
            sides.target[_TARGET + mapping.target].take(target_rows),
            as_set=mapping.set,
        )
    return pairs[~identical]


class _KeyMatching:
    """Unlinked records matched by key, with the records that cannot be matched and why."""

    def __init__(
        self,
        definition: SyncDefinition,
        source: pd.DataFrame,
        target: pd.DataFrame,
        all_target: pd.DataFrame,
    ) -> None:
        self.skips: list[pd.DataFrame] = []
        no_key = source["s_key"].isna()
        self.skips.append(
            _record_rows(
                "skip",
                # The ledger needs a key on every row: "" is how frames spell a missing one.
                source[no_key].assign(key="", target_id=pd.NA),
                f"the source record has no key (field '{definition.key.source_field}' is empty)",
            )
        )
        source = source[~no_key]
        if definition.key.normalise == "email":
            malformed = ~source["s_key"].str.fullmatch(EMAIL_PATTERN).fillna(False).to_numpy(dtype=bool)
            self.skips.append(
                _record_rows(
                    "skip",
                    source[malformed].assign(key=lambda rows: rows["s_key"], target_id=pd.NA),
                    f"the source record's key (field '{definition.key.source_field}') is not an email address",
                )
            )
            source = source[~malformed]
        source_duplicates = _duplicated(source["s_key"])
        self.skips.append(_duplicate_skips(source[source_duplicates], "s_key", "source_id", "source"))
        source = source[~source_duplicates]

        target = target[target["t_key"].notna()]
        target_duplicates = _duplicated(target["t_key"])
        self.skips.append(_duplicate_skips(target[target_duplicates], "t_key", "target_id", "target"))
        ambiguous = _member(source["s_key"], target.loc[target_duplicates, "t_key"])
        ambiguous_source = source[ambiguous].assign(key=lambda rows: rows["s_key"], target_id=pd.NA)
        sharing = _ids_by_key(target[target_duplicates], "t_key", "target_id")
        self.skips.append(
            _record_rows(
                "skip",
                ambiguous_source,
                "key matches several target records (" + ambiguous_source["key"].map(sharing) + ")",
            )
        )
        source = source[~ambiguous]
        target = target[~target_duplicates]

        merged = source.merge(target, left_on="s_key", right_on="t_key", how="left")
        merged["key"] = merged["s_key"]
        found = merged["_t"].notna().to_numpy()
        self.pairs = merged[found]
        unmatched = merged[~found]
        holders = all_target[_member(all_target["t_key"], unmatched["key"])]
        taken = unmatched[["source_id", "key"]].merge(
            holders[["target_id", "t_key"]].drop_duplicates("t_key"), left_on="key", right_on="t_key"
        )
        self.skips.append(
            _record_rows(
                "skip",
                taken,
                "key matches target record "
                + taken["target_id"]
                + ", which is linked to another source record",
            )
        )
        self.creates = unmatched[~_member(unmatched["source_id"], taken["source_id"])]


def _member(values: pd.Series, members: pd.Series) -> np.ndarray:
    """`values.isin(members)` through Arrow: pandas loops in Python over Arrow-backed text."""
    found = pc.is_in(pa.array(values.astype(TEXT)), value_set=pa.array(members.astype(TEXT).dropna()))
    return found.to_numpy(zero_copy_only=False).astype(bool)


def _duplicated(keys: pd.Series) -> np.ndarray:
    return (keys.duplicated(keep=False) & keys.notna()).to_numpy()


def _duplicate_skips(rows: pd.DataFrame, key_column: str, id_column: str, side: str) -> pd.DataFrame:
    """One skip per record sharing a key, naming every record that shares it."""
    sharing = _ids_by_key(rows, key_column, id_column)
    reason = f"duplicate key on the {side}: records " + rows[key_column].map(sharing) + " share it"
    other = "target_id" if id_column == "source_id" else "source_id"
    return _record_rows("skip", rows.assign(key=lambda shared: shared[key_column], **{other: pd.NA}), reason)


def _ids_by_key(rows: pd.DataFrame, key_column: str, id_column: str) -> pd.Series:
    return rows.groupby(key_column)[id_column].agg(lambda ids: ", ".join(sorted(ids)))


def _record_rows(
    kind: str, rows: pd.DataFrame, reason: str | pd.Series, direction: str | None = None
) -> pd.DataFrame:
    """Record-level change rows (no field, no values)."""
    return pd.DataFrame(
        {
            "kind": kind,
            "key": rows["key"],
            "source_id": rows["source_id"],
            "target_id": rows["target_id"],
            "reason": reason,
            "direction": direction,
        }
    )


def _links(pairs: pd.DataFrame) -> pd.DataFrame:
    return _record_rows("link", pairs, "matched by key")


def _creates(definition: SyncDefinition, records: pd.DataFrame) -> pd.DataFrame:
    """One row per record and field the target gets: the fields the source owns or shares."""
    rows = []
    for mapping in definition.fields:
        if mapping.owner == "target":
            continue
        rows.append(
            pd.DataFrame(
                {
                    "kind": "create",
                    "key": records["key"],
                    "source_id": records["source_id"],
                    # A re-create names the vanished target it replaces, so apply can tell it from a repeat.
                    "target_id": records.get("target_id", pd.NA),
                    "field": mapping.target,
                    "after": to_json(records[_SOURCE + mapping.target]),
                    "direction": "to_target",
                    "reason": records["reason"],
                }
            )
        )
    return pd.concat(rows, ignore_index=True) if rows else empty_change_set()


def _vanished_sources(definition: SyncDefinition, linked: pd.DataFrame) -> pd.DataFrame:
    """Links whose source record is gone: the delete policy decides what the target gets."""
    policy = definition.delete_policy
    if policy == "ignore" or linked.empty:
        return empty_change_set()
    has_target = linked["_t"].notna().to_numpy()
    # Reasons name no record (the row's ids do), so a run's summary can count records by reason.
    gone = pd.Series("the source record no longer exists", index=linked.index)
    if policy == "unlink":
        return _record_rows("unlink", linked, gone)
    orphan_links = _record_rows(
        "unlink", linked[~has_target], gone[~has_target] + " and neither does its target record"
    )
    present = linked[has_target]
    if policy == "delete":
        return pd.concat([_record_rows("delete", present, gone[has_target], "to_target"), orphan_links])
    rows = [orphan_links]
    for mapping in definition.fields:
        if mapping.owner == "target":
            continue
        values = present[_TARGET + mapping.target]
        filled = present[~values.isna().to_numpy()]
        rows.append(
            _field_rows(
                "clear",
                filled,
                mapping,
                before=filled[_TARGET + mapping.target],
                after=pd.Series(pd.NA, index=filled.index, dtype=object),
                direction="to_target",
                reason="the source record no longer exists",
            )
        )
    return pd.concat(rows, ignore_index=True)


def _field_changes(definition: SyncDefinition, pairs: pd.DataFrame, base: pd.DataFrame) -> list[pd.DataFrame]:
    """Update and conflict rows for every matched pair whose mapped values disagree."""
    parts = []
    for mapping in definition.fields:
        source_values = pairs[_SOURCE + mapping.target]
        target_values = pairs[_TARGET + mapping.target]
        differ = ~values_equal(source_values, target_values, as_set=mapping.set)
        changed = pairs[differ]
        if changed.empty:
            continue
        if mapping.owner == "source":
            parts.append(_updates(changed, mapping, "to_target"))
        elif mapping.owner == "target":
            parts.append(_updates(changed, mapping, "to_source"))
        else:
            parts.extend(_merge_three_way(definition, changed, mapping, base))
    return parts


def _updates(
    pairs: pd.DataFrame, mapping: FieldMapping, direction: str, reason: object = pd.NA
) -> pd.DataFrame:
    writer, reader = (_TARGET, _SOURCE) if direction == "to_target" else (_SOURCE, _TARGET)
    return _field_rows(
        "update",
        pairs,
        mapping,
        before=pairs[writer + mapping.target],
        after=pairs[reader + mapping.target],
        direction=direction,
        reason=reason,
    )


def _merge_three_way(
    definition: SyncDefinition, pairs: pd.DataFrame, mapping: FieldMapping, base: pd.DataFrame
) -> list[pd.DataFrame]:
    """A side changed a field only if it differs from the base; both changed → the policy decides.

    Pairs matched by key have no base yet, so a side with a value counts as changed.
    """
    source_values = pairs[_SOURCE + mapping.target]
    target_values = pairs[_TARGET + mapping.target]
    base_values = _base_values(pairs, mapping, base)
    source_changed = ~values_equal(source_values, base_values, as_set=mapping.set)
    target_changed = ~values_equal(target_values, base_values, as_set=mapping.set)
    both = source_changed & target_changed
    parts = [
        _updates(pairs[source_changed & ~target_changed], mapping, "to_target"),
        _updates(pairs[target_changed & ~source_changed], mapping, "to_source"),
    ]
    contested = pairs[both]
    policy = definition.conflict_policy
    if policy == "source_wins":
        parts.append(_updates(contested, mapping, "to_target", "both sides changed; source wins by policy"))
    elif policy == "target_wins":
        parts.append(_updates(contested, mapping, "to_source", "both sides changed; target wins by policy"))
    elif policy == "newest_wins" and "s_modified" in pairs.columns and "t_modified" in pairs.columns:
        source_time, target_time = contested["s_modified"], contested["t_modified"]
        known = (source_time.notna() & target_time.notna()).to_numpy()
        source_newer = known & (source_time >= target_time).fillna(False).to_numpy()
        target_newer = known & ~source_newer
        parts.append(
            _updates(contested[source_newer], mapping, "to_target", "both sides changed; source is newer")
        )
        parts.append(
            _updates(contested[target_newer], mapping, "to_source", "both sides changed; target is newer")
        )
        parts.append(
            _conflicts(contested[~known], mapping, "both sides changed and a modification time is missing")
        )
    elif policy == "newest_wins":
        parts.append(_conflicts(contested, mapping, "both sides changed and the frames carry no _modified"))
    else:
        parts.append(_conflicts(contested, mapping, "both sides changed; held for review"))
    return parts


def _base_values(pairs: pd.DataFrame, mapping: FieldMapping, base: pd.DataFrame) -> pd.Series:
    """The last-synced value of the field for each linked pair (missing for new pairs)."""
    stored = base[base["field"] == mapping.target].drop_duplicates("source_id", keep="last")
    stored = stored[_member(stored["source_id"], pairs["source_id"])]
    values = pd.Series(stored["value"].to_numpy(), index=stored["source_id"].to_numpy())
    texts = pairs["source_id"].map(values).where(pairs["_linked"].astype(bool))
    return typed_column(from_json(texts), as_set=mapping.set)


def _conflicts(pairs: pd.DataFrame, mapping: FieldMapping, reason: str) -> pd.DataFrame:
    """Conflict rows write nothing: `before` is the target's value, `after` the source's."""
    return _field_rows(
        "conflict",
        pairs,
        mapping,
        before=pairs[_TARGET + mapping.target],
        after=pairs[_SOURCE + mapping.target],
        direction=pd.NA,
        reason=reason,
    )


def _field_rows(
    kind: str,
    pairs: pd.DataFrame,
    mapping: FieldMapping,
    *,
    before: pd.Series,
    after: pd.Series,
    direction: object,
    reason: object,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind": kind,
            "key": pairs["key"],
            "source_id": pairs["source_id"],
            "target_id": pairs["target_id"],
            "field": mapping.target,
            "before": to_json(before),
            "after": to_json(after),
            "direction": direction,
            "reason": reason,
        }
    )


def _change_set(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """All rows in one frame of text columns, grouped by kind, then key, then field."""
    parts = [part for part in parts if not part.empty]
    if not parts:
        return empty_change_set()
    changes = pd.concat(parts, ignore_index=True).reindex(columns=CHANGE_COLUMNS)
    changes = changes.astype(TEXT)
    rank = changes["kind"].map({kind: rank for rank, kind in enumerate(KINDS)})
    order = np.lexsort((changes["field"].fillna("").to_numpy(), changes["key"].fillna("").to_numpy(), rank))
    return changes.iloc[order].reset_index(drop=True)
