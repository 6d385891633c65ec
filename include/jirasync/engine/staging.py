"""Frames and change sets as Parquet files between pipeline steps.

A location is a local path, an fsspec URL (`file://`, `s3://`, `memory://`, ...) or a path
object with an fsspec-style `open(mode)`, such as Airflow's `ObjectStoragePath` or a
`UPath`; it is duck-typed so that the engine need not import Airflow. What is read back is
identical to what was written, dtypes included.
"""

from __future__ import annotations

from typing import IO, Any, Protocol, runtime_checkable

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


@runtime_checkable
class OpenablePath(Protocol):
    """What staging needs of a path object: Airflow's ObjectStoragePath and UPath have it."""

    def open(self, mode: str = ...) -> IO[bytes]: ...


Location = str | OpenablePath


def write_frame(frame: pd.DataFrame, location: Location) -> str:
    """Write `frame` as Parquet at `location`, creating folders as needed; returns the location."""
    with _open(location, "wb") as file:
        frame.to_parquet(file, engine="pyarrow")
    return str(location)


def read_frame(location: Location) -> pd.DataFrame:
    """Read a frame written by `write_frame`."""
    with _open(location, "rb") as file:
        table = pq.read_table(file)
    # pandas cannot name Arrow list types from the Parquet metadata alone (set fields).
    return table.to_pandas(types_mapper=_list_columns)


def _list_columns(arrow_type: pa.DataType) -> Any:
    return pd.ArrowDtype(arrow_type) if pa.types.is_list(arrow_type) else None


def _open(location: Location, mode: str) -> Any:
    if isinstance(location, str):
        if "w" in mode:
            filesystem, path = fsspec.core.url_to_fs(location)
            filesystem.makedirs(filesystem._parent(path), exist_ok=True)
        return fsspec.open(location, mode)
    if isinstance(location, OpenablePath):
        if "w" in mode and hasattr(location, "parent"):
            location.parent.mkdir(parents=True, exist_ok=True)
        return location.open(mode)
    raise TypeError(
        f"cannot stage to {location!r}: give a path or fsspec URL as text, or a path object with open(mode)"
    )
