"""The fault matrix (tests/faults/matrix.py) of jira_to_zoho_contacts: Jira users → Zoho CRM Contacts."""

from __future__ import annotations

import pytest
from tests.faults.matrix import FaultMatrix, Write

pytestmark = pytest.mark.e2e


class TestJiraToZohoContacts(FaultMatrix):
    sync = "jira_to_zoho_contacts"
    seed = 23
    writes = (Write("zoho", "POST", "/crm/v8/Contacts"), Write("zoho", "PUT", "/crm/v8/Contacts"))
