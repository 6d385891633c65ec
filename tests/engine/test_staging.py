"""Frames and change sets read back from Parquet exactly as written, wherever they are staged."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from upath import UPath

from jirasync.engine.definitions import load_definition
from jirasync.engine.frames import source_frame
from jirasync.engine.plan import empty_base, empty_change_set, empty_links, plan_changes
from jirasync.engine.staging import read_frame, write_frame

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def frame() -> pd.DataFrame:
    sync = load_definition(FIXTURES / "entra_to_jira.yaml")
    return source_frame(
        sync,
        [
            {
                "id": 1,
                "mail": "A@x.com",
                "department": "Eng",
                "jobTitle": " Dev",
                "groups": ["a", "b"],
                "phone": 5,
            },
            {"id": 2, "mail": None, "department": None, "groups": None, "phone": None},
        ],
        modified_field="modified",
    )


@pytest.fixture
def change_set(frame: pd.DataFrame) -> pd.DataFrame:
    sync = load_definition(FIXTURES / "entra_to_jira.yaml")
    target = frame.iloc[:0]
    changes = plan_changes(sync, frame, target, empty_links(), empty_base())
    assert not changes.empty
    return changes


def locations(tmp_path: Path) -> list[object]:
    return [
        str(tmp_path / "runs" / "1" / "frame.parquet"),
        f"file://{tmp_path}/url/frame.parquet",
        "memory://jirasync/runs/1/frame.parquet",
        UPath("memory://jirasync/upath/frame.parquet"),
        tmp_path / "pathlib" / "frame.parquet",
    ]


@pytest.mark.parametrize("which", range(5))
def test_a_frame_reads_back_identical(frame: pd.DataFrame, tmp_path: Path, which: int) -> None:
    location = locations(tmp_path)[which]
    write_frame(frame, location)
    pd.testing.assert_frame_equal(read_frame(location), frame, check_exact=True)


@pytest.mark.parametrize("which", range(5))
def test_a_change_set_reads_back_identical(change_set: pd.DataFrame, tmp_path: Path, which: int) -> None:
    location = locations(tmp_path)[which]
    write_frame(change_set, location)
    pd.testing.assert_frame_equal(read_frame(location), change_set, check_exact=True)


def test_an_empty_change_set_reads_back_with_its_columns(tmp_path: Path) -> None:
    write_frame(empty_change_set(), "memory://jirasync/empty.parquet")
    pd.testing.assert_frame_equal(read_frame("memory://jirasync/empty.parquet"), empty_change_set())


def test_an_unusable_location_is_named() -> None:
    with pytest.raises(TypeError, match="cannot stage to 42"):
        write_frame(empty_change_set(), 42)  # type: ignore[arg-type]
