"""The fault matrix (tests/faults/matrix.py) of scim_to_jira: SCIM users → Jira user properties."""

from __future__ import annotations

import pytest
from tests.faults.matrix import FaultMatrix, Write

pytestmark = pytest.mark.e2e


class TestScimToJira(FaultMatrix):
    sync = "scim_to_jira"
    seed = 22
    writes = (Write("jira", "PUT", "/rest/api/3/user/properties/"),)
