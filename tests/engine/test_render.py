"""The readable plan: counts per kind first, then a sample of records per kind with their fields."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from jirasync.engine.definitions import load_definition
from jirasync.engine.frames import source_frame, target_frame
from jirasync.engine.plan import empty_base, empty_change_set, plan_changes
from jirasync.engine.render import render_plan

SYNC = load_definition(Path(__file__).parent / "fixtures" / "entra_to_jira.yaml")


def test_counts_come_first_then_samples_with_values_and_reasons() -> None:
    source = source_frame(
        SYNC,
        [{"id": f"s{n}", "mail": f"u{n}@x.com", "department": "Eng"} for n in range(4)]
        + [{"id": "s9", "mail": "a@x.com", "department": "Ops"}],
    )
    target = target_frame(SYNC, [{"id": "t1", "emailAddress": "a@x.com", "department": "Sales"}])
    links = pd.DataFrame({"source_id": ["s9"], "target_id": ["t1"], "key": ["a@x.com"], "origin": ["auto"]})
    text = render_plan(
        plan_changes(SYNC, source, target, links.astype("string"), empty_base()), sync_id="demo", sample=2
    )
    lines = text.splitlines()
    assert lines[:2] == ["Plan for demo:", "  4 to create, 1 to update (records)"]
    assert "  ~ a@x.com [source s9 -> target t1]" in lines
    assert '      department: "Sales" => "Ops" -> target' in lines
    assert "  ... and 2 more" in lines


def test_an_empty_change_set_says_so() -> None:
    assert render_plan(empty_change_set(), sync_id="demo") == "Plan for demo: no changes. Both sides agree."
