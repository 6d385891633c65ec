"""The fault matrix (tests/faults/matrix.py) of entra_to_jira: Entra ID users → Jira user properties."""

from __future__ import annotations

import pytest
from tests.faults.matrix import ConcurrentWrites, FaultMatrix, Write

pytestmark = pytest.mark.e2e


class TestEntraToJira(FaultMatrix, ConcurrentWrites):
    sync = "entra_to_jira"
    seed = 21
    writes = (Write("jira", "PUT", "/rest/api/3/user/properties/"),)
