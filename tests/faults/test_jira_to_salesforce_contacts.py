"""The fault matrix (tests/faults/matrix.py) and bad source data (bad_data.py) of jira_to_salesforce_contacts: Jira users → Salesforce Contacts."""

from __future__ import annotations

import pytest
from tests.faults.bad_data import ContactsBadData, Crm
from tests.faults.matrix import Write

pytestmark = pytest.mark.e2e


class TestJiraToSalesforceContacts(ContactsBadData):
    sync = "jira_to_salesforce_contacts"
    crm = Crm("salesforce", "Contact", "Synced_Jira_User__c", "LastName", "003HM0000000000")
    seed = 24
    rate_limit_names_no_wait = True
    writes = (
        Write("salesforce", "POST", "/services/data/"),
        Write("salesforce", "PATCH", "/services/data/"),
    )
