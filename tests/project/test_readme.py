"""The README and the user docs stand alone: every path they name is in the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.name)
def test_no_path_points_outside_the_repository(doc: Path) -> None:
    text = doc.read_text()
    assert "../" not in text, f"{doc.name} points outside the repository"
    for path in re.findall(r"`((?:docs|include|dags|plugins|tests|benchmarks)/[^`\s]*)`", text):
        assert (ROOT / path.rstrip("/")).exists() or "<" in path or "*" in path, f"{doc.name} names {path}"
