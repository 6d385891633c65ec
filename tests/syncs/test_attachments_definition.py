"""options.attachments of a connected item: checked when Airflow parses the definition, with the fix named."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.syncs.test_records_to_issues import SHIPPED, SYNCS, refusal, variant

from jirasync.engine.definitions import load_definition
from jirasync.syncs.attachments_definition import AttachmentsOptions
from jirasync.syncs.records_definition import records_options

SHIPPED_ATTACHMENTS = "  attachments: {direction: both, max_bytes: 10485760, on_delete: keep}\n"


def test_the_shipped_definitions_move_files_both_ways_up_to_10_mb() -> None:
    for name in SHIPPED:
        options = records_options(load_definition(SYNCS / name)).attachments
        assert options == AttachmentsOptions()
        assert options is not None and options.to_jira and options.to_crm


def test_a_deleted_file_keeps_its_copy_unless_the_definition_says_delete() -> None:
    assert AttachmentsOptions().on_delete == "keep"
    assert AttachmentsOptions(on_delete="delete").on_delete == "delete"


def test_the_limit_is_10_mb_unless_the_definition_says_otherwise() -> None:
    assert AttachmentsOptions().max_bytes == 10 * 1024 * 1024 == 10_485_760
    assert AttachmentsOptions(direction="to_crm").max_bytes == 10_485_760


@pytest.mark.parametrize(
    ("attachments", "field", "says"),
    [
        ("{direction: sideways}", "options.attachments.direction", "'both', 'to_jira' or 'to_crm'"),
        ("{max_bytes: 0}", "options.attachments.max_bytes", "greater than 0"),
        ("{max_bytes: ten}", "options.attachments.max_bytes", "valid integer"),
        ("{max_size: 10}", "options.attachments.max_size", "Extra inputs are not permitted"),
        ("{on_delete: purge}", "options.attachments.on_delete", "'keep' or 'delete'"),
    ],
)
def test_a_wrong_attachments_option_is_refused_naming_it(
    tmp_path: Path, attachments: str, field: str, says: str
) -> None:
    error = refusal(variant(tmp_path, {SHIPPED_ATTACHMENTS: f"  attachments: {attachments}\n"}))
    assert field in str(error) and says in str(error)


def test_without_the_option_no_file_is_moved(tmp_path: Path) -> None:
    definition = load_definition(variant(tmp_path, {SHIPPED_ATTACHMENTS: ""}))
    assert records_options(definition).attachments is None
