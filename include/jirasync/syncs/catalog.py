"""The sync definitions of the syncs folder, each checked by its family.

What the DAG files build DAGs from and what the ``jirasync`` command reads. No Airflow here:
``jirasync check``, ``links`` and ``ledger`` start in a second, not three.
"""

from __future__ import annotations

import os
from pathlib import Path

from jirasync.engine.definitions import DefinitionFolder, SyncDefinition, read_definitions
from jirasync.syncs.assets_definition import check_assets_definition
from jirasync.syncs.contacts_definition import check_contacts_definition
from jirasync.syncs.identity_attributes import check_identity_definition
from jirasync.syncs.records_definition import check_records_definition

PROJECT_SYNCS_DIR = Path(__file__).resolve().parents[2] / "syncs"

# Checks of what only the family knows (which attributes exist), light enough for parse time.
FAMILY_CHECKS = {
    "identity_to_jira_properties": check_identity_definition,
    "users_to_assets": check_assets_definition,
    "users_to_contacts": check_contacts_definition,
    "records_to_issues": check_records_definition,
}


def syncs_dir() -> Path:
    """Where the definitions live: ``JIRASYNC_SYNCS_DIR``, else the project's include/syncs."""
    return Path(os.environ.get("JIRASYNC_SYNCS_DIR", PROJECT_SYNCS_DIR))


def checked_definitions(folder: Path | None = None) -> DefinitionFolder:
    """The definitions their family can run, and an error for each file that cannot be used."""
    return read_definitions(folder or syncs_dir(), _check_family)


def _check_family(definition: SyncDefinition, path: Path) -> None:
    check = FAMILY_CHECKS.get(definition.family)
    if check:
        check(definition, str(path))
