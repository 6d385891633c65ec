"""Typed frames and every clause of the rule of equality."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from jirasync.engine.definitions import SyncDefinition, TransformSpec, load_definition
from jirasync.engine.frames import RecordError, source_frame, typed_column, values_equal

SYNC = load_definition(Path(__file__).parent / "fixtures" / "entra_to_jira.yaml")
PLUS_TWO = dt.timezone(dt.timedelta(hours=2))


def equal(a: object, b: object, as_set: bool = False) -> bool:
    left = typed_column([a], as_set=as_set)
    right = typed_column([b], as_set=as_set)
    return bool(values_equal(left, right, as_set=as_set)[0])


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (None, float("nan")),
        (None, ""),
        ("", "   "),
        (" Alice ", "Alice"),
        ("Ann@Example.COM", "ann@example.com"),
        (5, "5"),
        (5, " 5.0 "),
        (1.5, "1.50"),
        ("007", 7),
        (dt.datetime(2024, 1, 1, 10, tzinfo=PLUS_TWO), "2024-01-01T08:00:00Z"),
        ("2024-01-01T10:00:00+02:00", "2024-01-01 08:00:00+00:00"),
        (dt.datetime(2024, 1, 1, 8), dt.datetime(2024, 1, 1, 10, tzinfo=PLUS_TWO)),
        (True, True),
    ],
)
def test_values_the_rule_calls_equal(a: object, b: object) -> None:
    assert equal(a, b) and equal(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Alice", "alice"),
        ("a b", "ab"),
        (None, "x"),
        (5, 6),
        ("5", "5a"),
        (dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC), "2024-01-01T10:00:00+02:00"),
        (True, False),
    ],
)
def test_values_the_rule_calls_different(a: object, b: object) -> None:
    assert not equal(a, b) and not equal(b, a)


def test_set_fields_compare_as_sets_and_lists_in_order() -> None:
    assert equal(["b", "a", "a"], ["a", "b"], as_set=True)
    assert equal([], None, as_set=True)
    assert equal("x", ["x"], as_set=True)
    assert not equal(["a"], ["a", "b"], as_set=True)
    assert not equal(["b", "a"], ["a", "b"])


def test_a_source_frame_is_typed_keyed_and_transformed() -> None:
    frame = source_frame(
        SYNC,
        [
            {
                "id": 1,
                "mail": "  Ann@X.com ",
                "department": "Eng",
                "jobTitle": " Dev ",
                "groups": ["a"],
                "phone": 5,
            },
            {"id": 2, "mail": "", "groups": None},
        ],
    )
    assert list(frame.columns) == ["_id", "_key", "department", "title", "groups", "phone"]
    assert frame["_id"].tolist() == ["1", "2"]
    assert frame["_key"].iloc[0] == "ann@x.com" and pd.isna(frame["_key"].iloc[1])
    assert frame["title"].iloc[0] == "Dev"
    assert str(frame["phone"].dtype) == "Int64"
    assert str(frame["_id"].dtype) == "string"


def test_a_value_a_transform_cannot_use_names_the_record_and_field() -> None:
    sync = SYNC.model_copy(
        update={
            "fields": [
                SYNC.fields[0].model_copy(
                    update={"transform": [SYNC.fields[1].transform[0].model_copy(update={"name": "integer"})]}
                )
            ]
        }
    )
    with pytest.raises(
        RecordError, match="record '7': field 'department': transform 'integer' cannot use 'Eng'"
    ):
        source_frame(sync, [{"id": 7, "mail": "a@x.com", "department": "Eng"}])


def date_sync(transform: object) -> SyncDefinition:
    """The fixture sync with one field, `department`, read through a date transform."""
    mapping = SYNC.fields[0].model_copy(update={"transform": [TransformSpec.model_validate(transform)]})
    return SYNC.model_copy(update={"fields": [mapping]})


def transformed_department(transform: object, value: object) -> object:
    frame = source_frame(date_sync(transform), [{"id": 7, "mail": "a@x.com", "department": value}])
    return frame["department"].iloc[0]


@pytest.mark.parametrize(
    ("value", "transform", "expected"),
    [
        (dt.date(2024, 3, 1), "date", "2024-03-01"),
        (dt.datetime(2024, 3, 1, 23, 30), "date", "2024-03-01"),
        (dt.datetime(2024, 3, 1, 1, 30, tzinfo=PLUS_TWO), "date", "2024-02-29"),
        ("2024-03-01T01:30:00+02:00", "date", "2024-02-29"),
        ("2024-03-01T23:30:00Z", {"date": {"format": "%d/%m/%Y %H:%M"}}, "01/03/2024 23:30"),
        (" 2024-03-01 ", {"date": {"format": "%d.%m.%Y"}}, "01.03.2024"),
    ],
)
def test_the_date_transform_writes_the_day_in_utc_with_its_format(
    value: object, transform: object, expected: str
) -> None:
    assert transformed_department(transform, value) == expected


@pytest.mark.parametrize("value", [None, "", "  "])
def test_the_date_transform_leaves_no_value_missing(value: object) -> None:
    assert pd.isna(transformed_department("date", value))


@pytest.mark.parametrize(("value", "shown"), [("next Tuesday", "'next Tuesday'"), (20240301, "20240301")])
def test_a_date_the_transform_cannot_read_names_record_field_value_and_fix(value: object, shown: str) -> None:
    with pytest.raises(
        RecordError,
        match=f"record '7': field 'department': transform 'date' cannot use {shown} .*; "
        "correct the value at the source or change the transform",
    ):
        transformed_department("date", value)
