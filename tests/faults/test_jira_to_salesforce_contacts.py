"""The fault matrix (tests/faults/matrix.py) and bad source data (bad_data.py) of jira_to_salesforce_contacts: Jira users → Salesforce Contacts."""

from __future__ import annotations

import pytest
from tests.faults.bad_data import ContactsBadData, Crm
from tests.faults.matrix import ConcurrentWrites, Write

pytestmark = pytest.mark.e2e


class TestJiraToSalesforceContacts(ContactsBadData, ConcurrentWrites):
    sync = "jira_to_salesforce_contacts"
    crm = Crm("salesforce", "Contact", "Synced_Jira_User__c", "LastName", "003HM0000000000")
    batch_size = 5  # the 40 people's contacts in eight batches, four written at once
    numbered_as_created = True
    seed = 24
    rate_limit_names_no_wait = True
    writes = (
        Write("salesforce", "POST", "/services/data/"),
        Write("salesforce", "PATCH", "/services/data/"),
    )
