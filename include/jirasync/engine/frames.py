"""Records become typed DataFrames, and the one rule of equality between two values lives here.

Every frame has `_id` (the record id on its system, text), `_key` (the normalised match key,
text, may be missing), one column per mapped field named by the mapping's target name, and
optionally `_modified` (UTC) for the newest-wins conflict policy.

The rule of equality (see README.md) is applied by turning each value into a comparison
token: two values are equal when their tokens are equal or both missing. Tokens are only
computed for rows whose raw values differ, so comparing two large, mostly equal frames
costs one vectorised `==` per field.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from jirasync.engine.definitions import FieldMapping, KeyNormalisation, SyncDefinition, TransformSpec
from jirasync.engine.keys import email_keys

TEXT = pd.StringDtype()
UTC_TIME = pd.DatetimeTZDtype("us", "UTC")
TEXT_SET = pd.ArrowDtype(pa.list_(pa.string()))

_EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_DATETIME = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
_SET_SEPARATOR = "\x1f"
_LIST_MARK = "\x1e"


class RecordError(ValueError):
    """A record whose value a mapping cannot use; names the record, the field and the fix."""


def source_frame(
    definition: SyncDefinition,
    records: Iterable[Mapping[str, Any]],
    *,
    id_field: str = "id",
    modified_field: str | None = None,
) -> pd.DataFrame:
    """Source records, read by each mapping's `source` name and transformed into target terms."""
    return _frame(
        records,
        id_field=id_field,
        key_field=definition.key.source_field,
        normalise=definition.key.normalise,
        columns=[(m.source, m) for m in definition.fields],
        modified_field=modified_field,
        apply_transforms=True,
    )


def target_frame(
    definition: SyncDefinition,
    records: Iterable[Mapping[str, Any]],
    *,
    id_field: str = "id",
    modified_field: str | None = None,
) -> pd.DataFrame:
    """Target records, read by each mapping's `target` name, untransformed."""
    return _frame(
        records,
        id_field=id_field,
        key_field=definition.key.target_field,
        normalise=definition.key.normalise,
        columns=[(m.target, m) for m in definition.fields],
        modified_field=modified_field,
        apply_transforms=False,
    )


def empty_frame(definition: SyncDefinition) -> pd.DataFrame:
    """A frame with no records, e.g. for a target that has none yet."""
    return target_frame(definition, [])


def _frame(
    records: Iterable[Mapping[str, Any]],
    *,
    id_field: str,
    key_field: str,
    normalise: KeyNormalisation,
    columns: Sequence[tuple[str, FieldMapping]],
    modified_field: str | None,
    apply_transforms: bool,
) -> pd.DataFrame:
    ids: list[Any] = []
    keys: list[Any] = []
    modified: list[Any] = []
    values: list[list[Any]] = [[] for _ in columns]
    for record in records:
        record_id = _lookup(record, id_field)
        if _is_missing(record_id):
            raise RecordError(f"a record has no id in field '{id_field}': check the extract's id field")
        ids.append(str(record_id))
        keys.append(_lookup(record, key_field))
        if modified_field:
            modified.append(_lookup(record, modified_field))
        for column, (name, mapping) in zip(values, columns, strict=True):
            value = _lookup(record, name)
            if apply_transforms:
                value = _transformed(value, mapping, record_id)
            column.append(value)
    frame = pd.DataFrame(
        {
            "_id": pd.Series(ids, dtype=TEXT),
            "_key": normalise_key(pd.Series(keys, dtype=object), normalise),
        }
    )
    for column, (_, mapping) in zip(values, columns, strict=True):
        frame[mapping.target] = typed_column(column, as_set=mapping.set)
    if modified_field:
        frame["_modified"] = pd.to_datetime(pd.Series(modified, dtype=object), utc=True, format="ISO8601")
        frame["_modified"] = frame["_modified"].astype(UTC_TIME)
    return frame


def _lookup(record: Mapping[str, Any], path: str) -> Any:
    """A field by name, or a nested one by dotted path (`manager.mail`)."""
    if path in record:
        return record[path]
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def normalise_key(values: pd.Series, normalise: KeyNormalisation) -> pd.Series:
    """The match key: text, NFC and stripped (unless `none`), emails as `keys.email_key`, "" as missing."""
    keys = values.map(lambda v: None if _is_missing(v) else _scalar_text(v)).astype(TEXT)
    if normalise == "strip":
        keys = keys.str.normalize("NFC").str.strip()
    if normalise == "email":
        keys = email_keys(keys)
    return keys.mask(keys == "")


# --- transforms -----------------------------------------------------------------------------


def _transformed(value: Any, mapping: FieldMapping, record_id: Any) -> Any:
    for spec in mapping.transform:
        try:
            value = _apply_transform(value, spec)
        except (TypeError, ValueError) as error:
            raise RecordError(
                f"record '{record_id}': field '{mapping.source}': transform '{spec.name}' cannot use "
                f"{_preview(value)} ({error}); correct the value at the source or change the transform"
            ) from None
    return value


def _apply_transform(value: Any, spec: TransformSpec) -> Any:
    if spec.name == "default":
        return spec.args.get("value") if _is_missing(value) else value
    if _is_missing(value):
        return None
    match spec.name:
        case "strip":
            return value.strip() if isinstance(value, str) else value
        case "lower":
            return value.lower() if isinstance(value, str) else value
        case "upper":
            return value.upper() if isinstance(value, str) else value
        case "text":
            return _scalar_text(value)
        case "integer":
            return int(float(value)) if isinstance(value, str) else int(value)
        case "number":
            return float(value)
        case "split":
            parts = str(value).split(spec.args.get("separator", ","))
            return [part.strip() for part in parts if part.strip()]
        case "join":
            items = value if isinstance(value, list | tuple | set) else [value]
            return spec.args.get("separator", ", ").join(_scalar_text(item) for item in items)
        case "map":
            table = spec.args.get("values", {})
            return table.get(value, spec.args.get("default", value))
        case "date":
            return _date_text(value, spec.args.get("format", "%Y-%m-%d"))
    raise ValueError(f"unknown transform '{spec.name}'")


def _date_text(value: Any, pattern: str) -> str | None:
    """A datetime, date or ISO 8601 text written with a strftime pattern.

    Aware values are converted to UTC first, so that two systems in different zones agree on the
    day; naive ones are taken as UTC already, as everywhere in the frames. Blank text is no value.
    """
    if isinstance(value, str):
        if not value.strip():
            return None
        value = dt.datetime.fromisoformat(value.strip())
    if not isinstance(value, dt.date):
        raise TypeError(f"expected a date, a datetime or ISO 8601 text, not {type(value).__name__}")
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime(pattern)


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# --- typed columns --------------------------------------------------------------------------


def typed_column(values: Sequence[Any], *, as_set: bool = False) -> pd.Series:
    """One field's values as a typed column.

    Booleans, integers, numbers, texts and datetimes get their own dtype (datetimes in UTC,
    naive ones taken as UTC); set fields are lists of text; a column mixing kinds of value is
    stored as text, since the equality rule compares numbers with numeric text anyway.
    """
    if as_set:
        return pd.Series([_as_text_list(v) for v in values], dtype=TEXT_SET)
    present = [v for v in values if not _is_missing(v)]
    cleaned = [None if _is_missing(v) else v for v in values]
    if present and all(isinstance(v, bool | np.bool_) for v in present):
        return pd.Series(cleaned, dtype="boolean")
    if present and all(_is_integer(v) for v in present):
        return pd.Series(cleaned, dtype="Int64")
    if present and all(_is_integer(v) or isinstance(v, float | np.floating) for v in present):
        return pd.Series(cleaned, dtype="Float64")
    if present and all(isinstance(v, dt.datetime) for v in present):
        return pd.to_datetime(pd.Series(cleaned, dtype=object), utc=True).astype(UTC_TIME)
    return pd.Series([None if v is None else _scalar_text(v) for v in cleaned], dtype=TEXT)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _as_text_list(value: Any) -> list[str] | None:
    if _is_missing(value):
        return None
    items = value if isinstance(value, list | tuple | set | frozenset | np.ndarray) else [value]
    return [_scalar_text(item) for item in items if not _is_missing(item)]


def _scalar_text(value: Any) -> str:
    """Text of a single value, the way the equality rule would read it back."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if _is_integer(value):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return _number_text(float(value))
    if isinstance(value, dt.datetime):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return json.dumps(value, sort_keys=True, default=str)


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def _is_missing(value: Any) -> bool:
    """None, NaN, NaT and pd.NA are all 'no value'."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and np.isnan(value)


# --- the rule of equality -------------------------------------------------------------------


def values_equal(left: pd.Series, right: pd.Series, *, as_set: bool = False) -> np.ndarray:
    """Whether each pair of aligned values is equal under the rule of equality."""
    left = left.reset_index(drop=True)
    right = right.reset_index(drop=True)
    equal = values_identical(left, right, as_set=as_set)
    candidates = np.flatnonzero(~equal)
    if len(candidates):
        left_tokens = comparison_tokens(left.iloc[candidates], as_set=as_set)
        right_tokens = comparison_tokens(right.iloc[candidates], as_set=as_set)
        same = (left_tokens == right_tokens).fillna(False).to_numpy(dtype=bool)
        equal[candidates] = same | (left_tokens.isna().to_numpy() & right_tokens.isna().to_numpy())
    return equal


def values_identical(left: pd.Series, right: pd.Series, *, as_set: bool = False) -> np.ndarray:
    """Whether each pair of aligned values is stored alike, or both are missing.

    Identical values are always equal under the rule; the others need their tokens compared.
    The test is one vectorised `==`, so a plan can afford it on every pair of a large frame.
    """
    both_missing = left.isna().to_numpy() & right.isna().to_numpy()
    if as_set or left.dtype != right.dtype or left.dtype == object:
        return both_missing
    same = (left.reset_index(drop=True) == right.reset_index(drop=True)).fillna(False)
    return same.to_numpy(dtype=bool) | both_missing


def comparison_tokens(values: pd.Series, *, as_set: bool = False) -> pd.Series:
    """Each value as the text the rule of equality compares; missing for 'no value'."""
    if as_set or isinstance(values.dtype, pd.ArrowDtype) or values.dtype == object:
        return _collection_tokens(values, as_set=as_set)
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.map({True: "true", False: "false"}).astype(TEXT)
    if pd.api.types.is_numeric_dtype(values.dtype):
        return _number_tokens(values.astype("Float64"))
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(values.dtype):
        return _datetime_tokens(pd.to_datetime(values, utc=True))
    return _text_tokens(values.astype(TEXT))


def _text_tokens(values: pd.Series) -> pd.Series:
    tokens = values.str.strip()
    tokens = tokens.mask(tokens == "")
    emails = tokens.str.fullmatch(_EMAIL).fillna(False).astype(bool)
    tokens = tokens.mask(emails, email_keys(tokens))
    numbers = tokens.str.fullmatch(_NUMBER).fillna(False).astype(bool)
    if numbers.any():
        parsed = pd.to_numeric(tokens[numbers], errors="coerce").astype("Float64")
        tokens = tokens.mask(numbers, _number_tokens(parsed))
    datetimes = tokens.str.fullmatch(_DATETIME).fillna(False).astype(bool)
    if datetimes.any():
        parsed = pd.to_datetime(tokens[datetimes], utc=True, format="ISO8601", errors="coerce")
        tokens = tokens.mask(datetimes, _datetime_tokens(parsed))
    return tokens


def _number_tokens(values: pd.Series) -> pd.Series:
    whole = (values == values.round()).fillna(False).to_numpy(dtype=bool) & (values.abs() < 2**53).fillna(
        False
    ).to_numpy(dtype=bool)
    tokens = values.astype(TEXT)
    if whole.any():
        tokens[whole] = values[whole].astype("Int64").astype(TEXT)
    return tokens


def _datetime_tokens(values: pd.Series) -> pd.Series:
    return values.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ").astype(TEXT)


def _collection_tokens(values: pd.Series, *, as_set: bool) -> pd.Series:
    """Lists (and mixed object columns) value by value: sets sorted and deduplicated."""
    tokens: list[str | None] = []
    for value in values.astype(object):
        if isinstance(value, list | tuple | set | frozenset | np.ndarray):
            items = [_scalar_token(item) for item in value]
            present = [item for item in items if item is not None]
            if as_set:
                tokens.append(_SET_SEPARATOR.join(sorted(set(present))) or None)
            else:
                tokens.append(_LIST_MARK + _SET_SEPARATOR.join(present))
        else:
            tokens.append(_scalar_token(value))
    return pd.Series(tokens, index=values.index, dtype=TEXT)


def _scalar_token(value: Any) -> str | None:
    if _is_missing(value):
        return None
    token = comparison_tokens(typed_column([value])).iloc[0]
    return None if token is pd.NA else token


# --- JSON values in change sets and the base ------------------------------------------------


def to_json(values: pd.Series) -> pd.Series:
    """Each value as JSON text, "null" for missing: the form of `before`, `after` and the base."""
    return pd.Series([_json_text(v) for v in values.astype(object)], index=values.index, dtype=TEXT)


def from_json(texts: pd.Series) -> list[Any]:
    """Decoded JSON values; a missing text decodes to None."""
    return [None if _is_missing(t) else json.loads(t) for t in texts.astype(object)]


def _json_text(value: Any) -> str:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, list | tuple | set | frozenset | dict) and _is_missing(value):
        return "null"
    if isinstance(value, np.bool_):
        value = bool(value)
    elif isinstance(value, np.integer):
        value = int(value)
    elif isinstance(value, np.floating):
        value = float(value)
    elif isinstance(value, dt.datetime):
        value = pd.Timestamp(value).isoformat()
    elif isinstance(value, set | frozenset | tuple):
        value = list(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
