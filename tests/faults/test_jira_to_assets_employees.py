"""The fault matrix (tests/faults/matrix.py) of jira_to_assets_employees: Jira users → Assets Employee objects."""

from __future__ import annotations

import pytest
from tests.faults.matrix import FaultMatrix, Write

pytestmark = pytest.mark.e2e


class TestJiraToAssetsEmployees(FaultMatrix):
    sync = "jira_to_assets_employees"
    seed = 25
    writes = (
        Write("assets", "POST", "/jsm/assets/workspace/{workspace}/v1/object/create"),
        Write("assets", "PUT", "/jsm/assets/workspace/{workspace}/v1/object/"),
    )
