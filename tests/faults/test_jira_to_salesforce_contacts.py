"""The fault matrix (tests/faults/matrix.py) of jira_to_salesforce_contacts: Jira users → Salesforce Contacts."""

from __future__ import annotations

import pytest
from tests.faults.matrix import FaultMatrix, Write

pytestmark = pytest.mark.e2e


class TestJiraToSalesforceContacts(FaultMatrix):
    sync = "jira_to_salesforce_contacts"
    seed = 24
    writes = (
        Write("salesforce", "POST", "/services/data/"),
        Write("salesforce", "PATCH", "/services/data/"),
    )
