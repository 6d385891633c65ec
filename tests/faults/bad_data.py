"""Bad source data for the contacts syncs, run like a fault: spoil, run (with a dropped write), run clean.

Real Jira sites hold users whose emails differ only in case, contacts typed in decomposed Unicode,
``Straße`` next to ``strasse``, and apostrophes in addresses. Each must be skipped and named, or
matched exactly as the CRM compares addresses, while every other contact ends as the fault-free
run left it; and the apostrophe goes through the CRM's query language when the lookup of a create
interrupted by a dropped connection puts the address into COQL or SOQL.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from tests.e2e.harness import EndToEnd
from tests.faults.matrix import WRITE_TIMES, Baseline, FaultMatrix, settle

DUPLICATE = "duplicate key on the source"


@dataclass(frozen=True)
class Crm:
    vendor: str
    collection: str
    synced: str  # the field that holds the linked Jira account id
    last_name: str
    hand_made_ids: str  # the start of the ids of the contacts the test adds


class ContactsBadData(FaultMatrix):
    crm: ClassVar[Crm]

    def test_bad_source_records_are_skipped_or_matched_exactly_and_a_rerun_writes_nothing(
        self, e2e: EndToEnd, baseline: Baseline, record_property: Any
    ) -> None:
        users = [u for u in e2e.sandbox.records("jira", "users") if u["accountType"] == "atlassian"]
        users = sorted((u for u in users if u["emailVisible"] and u["active"]), key=lambda u: u["accountId"])
        twin, second_twin, composed, eszett, apostrophe = users[:5]
        spoiled_users = (twin, second_twin, composed, eszett, apostrophe)
        nfc = "José.Müller@Example.com"
        # Typed by hand: one in NFD (the user's email is NFC, in another case), one strasse@.
        decomposed_contact = self.add_contact(e2e, 1, unicodedata.normalize("NFD", nfc.lower()))
        strasse_contact = self.add_contact(e2e, 2, "strasse.test@example.com")

        # Two users whose emails differ only in case: both skipped and named.
        e2e.sandbox.edit("jira", "users", second_twin["accountId"], emailAddress=twin["emailAddress"].upper())
        # The NFD contact and the NFC user's email, in another case: one address, linked.
        e2e.sandbox.edit("jira", "users", composed["accountId"], emailAddress=nfc)
        # strasse@ and Straße@ are two mailboxes: the user gets a contact of its own.
        e2e.sandbox.edit("jira", "users", eszett["accountId"], emailAddress="Straße.Test@example.com")
        # An apostrophe goes into COQL/SOQL when the lookup of a lost create runs.
        e2e.sandbox.edit("jira", "users", apostrophe["accountId"], emailAddress="O'Brien.Test@example.com")
        before = self.contacts(e2e)
        for write in self.write_routes(e2e)[:1]:
            e2e.sandbox.add_fault(
                write.vendor, "drop_after_apply", route=write.route, method=write.method, count=1
            )

        faulted = e2e.attempt(self.sync)
        settle(e2e)
        e2e.sandbox.clear_faults()
        clean = e2e.run(self.sync)
        outcome = "succeeded" if faulted.succeeded else "failed"
        record_property("fault_matrix", [self.sync, "bad source data, a create dropped", outcome, "n/a"])

        named = "\n".join(clean["skipped_records"])
        assert f"{twin['accountId']} ({twin['emailAddress'].lower()}): {DUPLICATE}" in named
        assert f"{second_twin['accountId']} ({twin['emailAddress'].lower()}): {DUPLICATE}" in named
        after = self.contacts(e2e)
        synced = {c[self.crm.synced]: c for c in after.values() if c.get(self.crm.synced)}
        assert twin["accountId"] not in synced and second_twin["accountId"] not in synced
        assert synced[composed["accountId"]][self.id_field] == decomposed_contact[self.id_field]
        assert synced[eszett["accountId"]][self.id_field] != strasse_contact[self.id_field]
        assert after[strasse_contact[self.id_field]] == before[strasse_contact[self.id_field]]
        with_apostrophe = [
            c for c in after.values() if (c.get("Email") or "").lower() == "o'brien.test@example.com"
        ]
        assert len(with_apostrophe) == 1 and with_apostrophe[0][self.crm.synced] == apostrophe["accountId"]

        # Every other contact ends as the fault-free run left it.
        expected = baseline.export[f"{self.crm.vendor}/{self.crm.collection}"].values()
        assert self.others(after.values(), spoiled_users) == self.others(expected, spoiled_users)

        again = e2e.run(self.sync)
        assert again["created"] == again["updated"] == again["linked"] == again["failed"] == 0

    def add_contact(self, e2e: EndToEnd, number: int, email: str) -> dict[str, Any]:
        """A contact typed by hand, which no Jira user of the seeded world matches."""
        contact_id = f"{self.crm.hand_made_ids}{number:03d}"
        seeded = e2e.sandbox.records(self.crm.vendor, self.crm.collection, limit=1)[0]
        contact = {**seeded, self.id_field: contact_id, self.crm.last_name: f"Hand-made {number}"}
        contact.update({"Email": email, self.crm.synced: None})
        return e2e.sandbox.put(self.crm.vendor, self.crm.collection, contact_id, contact)

    def others(self, contacts: Iterable[dict[str, Any]], spoiled: tuple[dict[str, Any], ...]) -> list[str]:
        """The contacts neither the spoiled users own (by link or by their seeded email) nor the test
        made, without their ids: a create takes the next free id, which differs between two runs."""
        accounts = {u["accountId"] for u in spoiled}
        emails = {u["emailAddress"].casefold() for u in spoiled}
        kept = (
            c
            for c in contacts
            if c.get(self.crm.synced) not in accounts
            and (c.get("Email") or "").casefold() not in emails
            # The baseline's export holds no ids (FaultMatrix.numbered_as_created), nor hand-made contacts.
            and not c.get(self.id_field, "").startswith(self.crm.hand_made_ids)
        )
        return sorted(
            json.dumps(
                {k: v for k, v in c.items() if k != self.id_field and k not in WRITE_TIMES}, sort_keys=True
            )
            for c in kept
        )

    @property
    def id_field(self) -> str:
        return "Id" if self.crm.vendor == "salesforce" else "id"

    def contacts(self, e2e: EndToEnd) -> dict[str, dict[str, Any]]:
        return {c[self.id_field]: c for c in e2e.sandbox.records(self.crm.vendor, self.crm.collection)}
