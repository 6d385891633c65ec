"""The fault matrix (tests/faults/matrix.py) and bad source data (bad_data.py) of jira_to_zoho_contacts: Jira users → Zoho CRM Contacts."""

from __future__ import annotations

import pytest
from tests.faults.bad_data import ContactsBadData, Crm
from tests.faults.matrix import ConcurrentWrites, Write

pytestmark = pytest.mark.e2e


class TestJiraToZohoContacts(ContactsBadData, ConcurrentWrites):
    sync = "jira_to_zoho_contacts"
    crm = Crm("zoho", "Contacts", "Synced_Jira_User", "Last_Name", "4150868099900000")
    batch_size = 5  # the 40 people's contacts in eight batches, four written at once
    numbered_as_created = True
    seed = 23
    writes = (Write("zoho", "POST", "/crm/v8/Contacts"), Write("zoho", "PUT", "/crm/v8/Contacts"))
