"""Plan cases the properties do not reach: duplicates, vanished records, links surviving a key change."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from jirasync.engine.definitions import load_definition
from jirasync.engine.frames import source_frame, target_frame
from jirasync.engine.plan import CHANGE_COLUMNS, empty_base, empty_links, plan_changes

SYNC = load_definition(Path(__file__).parent / "fixtures" / "entra_to_jira.yaml")


def links(*pairs: tuple[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(pairs, columns=["source_id", "target_id"]).assign(key="", origin="auto")
    return frame.astype("string")


def test_duplicate_keys_on_either_side_are_skipped_and_named() -> None:
    source = source_frame(SYNC, [{"id": "s1", "mail": "a@x.com"}, {"id": "s2", "mail": " A@x.com"}])
    target = target_frame(
        SYNC, [{"id": "t1", "emailAddress": "b@x.com"}, {"id": "t2", "emailAddress": "B@x.com"}]
    )
    changes = plan_changes(SYNC, source, target, empty_links(), empty_base())
    assert list(changes.columns) == CHANGE_COLUMNS
    assert set(changes["kind"]) == {"skip"}
    reasons = dict(zip(changes["source_id"].fillna(changes["target_id"]), changes["reason"], strict=True))
    assert reasons == {
        "s1": "duplicate key on the source: records s1, s2 share it",
        "s2": "duplicate key on the source: records s1, s2 share it",
        "t1": "duplicate key on the target: records t1, t2 share it",
        "t2": "duplicate key on the target: records t1, t2 share it",
    }


def test_a_link_survives_a_change_of_email_on_either_side() -> None:
    source = source_frame(SYNC, [{"id": "s1", "mail": "new@x.com", "department": "Eng"}])
    target = target_frame(SYNC, [{"id": "t1", "emailAddress": "old@x.com", "department": "Eng"}])
    assert plan_changes(SYNC, source, target, links(("s1", "t1")), empty_base()).empty


@pytest.mark.parametrize(
    ("policy", "kinds"),
    [("ignore", []), ("unlink", ["unlink"]), ("delete", ["delete"]), ("clear", ["clear"])],
)
def test_a_vanished_source_follows_the_delete_policy(policy: str, kinds: list[str]) -> None:
    sync = SYNC.model_copy(update={"delete_policy": policy})
    source = source_frame(sync, [])
    target = target_frame(sync, [{"id": "t1", "emailAddress": "a@x.com", "department": "Eng"}])
    changes = plan_changes(sync, source, target, links(("s1", "t1")), empty_base())
    assert sorted(set(changes["kind"])) == kinds
    if policy == "clear":
        assert changes[["field", "before", "after"]].values.tolist() == [["department", '"Eng"', "null"]]


def test_a_vanished_linked_target_is_created_again_with_a_reason() -> None:
    source = source_frame(SYNC, [{"id": "s1", "mail": "a@x.com", "department": "Eng"}])
    changes = plan_changes(SYNC, source, target_frame(SYNC, []), links(("s1", "t9")), empty_base())
    assert set(changes["kind"]) == {"create"}
    assert (changes["reason"] == "the linked target record no longer exists; re-creating it").all()


def contested_phone() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A linked pair whose two-way phone changed on both sides since the base: a held conflict."""
    source = source_frame(SYNC, [{"id": "s1", "mail": "a@x.com", "phone": "111"}])
    target = target_frame(SYNC, [{"id": "t1", "emailAddress": "a@x.com", "phone": "222"}])
    base = pd.DataFrame([{"source_id": "s1", "field": "phone", "value": '"000"'}]).astype("string")
    return source, target, links(("s1", "t1")), base


def decision(take: str, before: str = '"222"', after: str = '"111"') -> pd.DataFrame:
    row = {"source_id": "s1", "field": "phone", "take": take, "before": before, "after": after}
    return pd.DataFrame([row]).astype("string")


def test_a_conflict_both_sides_changed_is_held_without_a_decision() -> None:
    changes = plan_changes(SYNC, *contested_phone())
    assert changes[["kind", "field", "before", "after"]].values.tolist() == [
        ["conflict", "phone", '"222"', '"111"']
    ]


@pytest.mark.parametrize(
    ("take", "direction", "before", "after"),
    [("source", "to_target", '"222"', '"111"'), ("target", "to_source", '"111"', '"222"')],
)
def test_a_decided_conflict_becomes_an_update_towards_the_side_not_taken(
    take: str, direction: str, before: str, after: str
) -> None:
    changes = plan_changes(SYNC, *contested_phone(), decision(take))
    assert changes[["kind", "field", "direction", "before", "after"]].values.tolist() == [
        ["update", "phone", direction, before, after]
    ]
    assert changes["reason"].iloc[0] == f"both sides changed; a person took the {take}'s value"


def test_a_decision_made_on_other_values_leaves_a_new_conflict_held() -> None:
    changes = plan_changes(SYNC, *contested_phone(), decision("source", before='"333"'))
    assert changes["kind"].tolist() == ["conflict"]
