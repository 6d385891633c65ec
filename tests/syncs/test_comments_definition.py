"""options.comments of a connected item: checked when Airflow parses the definition, with the fix named."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.syncs.test_records_to_issues import SHIPPED, SYNCS, refusal, variant

from jirasync.engine.definitions import load_definition
from jirasync.syncs.comments_definition import CommentsOptions
from jirasync.syncs.records_definition import records_options

SHIPPED_COMMENTS = "  comments: {direction: both, push: automatic, internal: false, on_delete: keep}\n"


def test_the_shipped_definitions_mirror_comments_both_ways_keeping_internal_ones_in() -> None:
    zoho, salesforce = (records_options(load_definition(SYNCS / name)).comments for name in SHIPPED)
    assert zoho == CommentsOptions()
    assert salesforce == CommentsOptions(push="marked", marker="#crm")
    assert zoho is not None and zoho.to_jira and zoho.to_crm and not zoho.internal


@pytest.mark.parametrize(
    ("comments", "field", "says"),
    [
        ("{direction: sideways}", "options.comments.direction", "'both', 'to_jira' or 'to_crm'"),
        ("{on_delete: purge}", "options.comments.on_delete", "'keep' or 'delete'"),
        ("{push: marked, marker: ''}", "options.comments.marker", "at least 1 character"),
        ("{internal: sometimes}", "options.comments.internal", "boolean"),
        ("{pushh: marked}", "options.comments.pushh", "Extra inputs are not permitted"),
        ("{direction: to_jira, push: marked}", "options.comments", "direction: to_jira sends none"),
    ],
)
def test_a_wrong_comments_option_is_refused_naming_it(
    tmp_path: Path, comments: str, field: str, says: str
) -> None:
    error = refusal(variant(tmp_path, {SHIPPED_COMMENTS: f"  comments: {comments}\n"}))
    assert field in str(error) and says in str(error)


def test_without_the_option_no_comment_is_mirrored(tmp_path: Path) -> None:
    definition = load_definition(variant(tmp_path, {SHIPPED_COMMENTS: ""}))
    assert records_options(definition).comments is None
