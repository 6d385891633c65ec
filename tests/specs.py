"""Where the tests find the vendors' OpenAPI documents: ``<repository>/../shared/specs``.

The documents are the team's shared copies, beside the repository rather than in it. A test that
needs one and cannot find it fails naming the path it looked at: a missing document is a broken
checkout, not a reason to skip the conformance checks quietly.
"""

from __future__ import annotations

from pathlib import Path

SPECS = Path(__file__).resolve().parents[1].parent / "shared" / "specs"


def spec_path(name: str) -> Path:
    """The path of a document (``jira-platform-v3.json``, ``zoho-crm-v8``), which must exist."""
    path = SPECS / name
    if not path.exists():
        raise FileNotFoundError(
            f"vendor OpenAPI document {path} is missing: the tests read the vendor specs from "
            "<repository>/../shared/specs"
        )
    return path
