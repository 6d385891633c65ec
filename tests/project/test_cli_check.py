"""`jirasync check`: a definition folder validated as Airflow's parse would, from the command line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_SYNCS = Path(__file__).with_name("syncs")


def check(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jirasync.cli", "check", str(folder)], capture_output=True, text=True, cwd=ROOT
    )


def test_a_good_folder_passes_and_lists_each_sync(tmp_path: Path) -> None:
    result = check(EXAMPLE_SYNCS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok      entra_to_jira (identity_to_jira_properties: entra_id → jira)" in result.stdout
    assert result.stdout.strip().endswith("2 definition(s) can run, 0 cannot")


def test_a_broken_file_fails_with_every_problem_and_the_rest_still_listed(tmp_path: Path) -> None:
    syncs = tmp_path / "syncs"
    shutil.copytree(EXAMPLE_SYNCS, syncs)
    text = (EXAMPLE_SYNCS / "entra_to_jira.yaml").read_text().replace("key:", "kee:")
    (syncs / "broken.yaml").write_text(text + "delete_policy: wipe\n")
    result = check(syncs)
    assert result.returncode == 1
    assert f"FAILED  {syncs / 'broken.yaml'}: field " in result.stdout
    assert "did you mean 'key'?" in result.stdout and "field 'delete_policy'" in result.stdout
    assert "2 definition(s) can run, 1 cannot" in result.stdout
