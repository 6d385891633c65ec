"""Values made to fit the other side's length limits before they are compared."""

from __future__ import annotations

import pandas as pd


def within_limits(frame: pd.DataFrame, limits: dict[str, int]) -> tuple[pd.DataFrame, list[str]]:
    """Values cut to the other side's documented lengths, ending in '…', and a note per record cut.

    Cut before the plan, so the plan compares what the other side can hold: a value it refuses as
    too long would otherwise fail on every run, and one it cuts would be rewritten on every run.
    """
    notes: list[str] = []
    for field, limit in limits.items():
        if field not in frame:
            continue
        values = frame[field].astype("string")
        long = values.str.len().fillna(0) > limit
        for record_id, value in zip(frame.loc[long, "_id"], values[long], strict=True):
            notes.append(f"{record_id}: {field} cut from {len(value)} to {limit} characters")
        frame.loc[long, field] = values[long].str.slice(0, limit - 1) + "…"
    return frame, notes
