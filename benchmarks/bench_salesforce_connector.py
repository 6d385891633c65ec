"""Calls the Salesforce connector makes for a full read and a bulk write, against the sandbox.

Ideal for a read of N records: one login plus ceil(N / 2,000) query batches (the first
``query`` call, then ``nextRecordsUrl`` to the end). Ideal for a write of M records:
ceil(M / 200) sObject Collections calls (the session is already held).
"""

from __future__ import annotations

import math
import tempfile
import time

from jirasync.connectors.salesforce import SalesforceConnector, password_login
from sandbox.testing import running_sandbox

READ_RECORDS = 100_000
WRITE_RECORDS = 10_000


def main() -> None:
    with tempfile.TemporaryDirectory() as data_dir, running_sandbox(data_dir, seed=1, users=50) as sandbox:
        started = time.perf_counter()
        present = len(sandbox.records("salesforce", "Contact"))
        sandbox.mutate("salesforce", "add_contacts", count=READ_RECORDS - present)
        print(f"seeded {READ_RECORDS:,} Contacts in {time.perf_counter() - started:.1f} s")

        credentials = sandbox.credentials["salesforce"]
        login = password_login(
            credentials["username"], credentials["password"], credentials["security_token"]
        )
        connector = SalesforceConnector(login, redirect_to=sandbox.base_url)

        started = time.perf_counter()
        read = sum(
            1 for _ in connector.query("SELECT Id, FirstName, LastName, Email, SystemModstamp FROM Contact")
        )
        elapsed = time.perf_counter() - started
        ideal = 1 + math.ceil(READ_RECORDS / 2000)
        print(
            f"read  {read:,} records: {connector.calls.total} calls, ideal {ideal} "
            f"(1 login + {ideal - 1} batches of 2,000) in {elapsed:.1f} s"
        )

        before = connector.calls.total
        records = [
            {"LastName": f"Bench {i}", "Email": f"bench.{i}@acme.example"} for i in range(WRITE_RECORDS)
        ]
        started = time.perf_counter()
        outcomes = connector.create("Contact", records)
        elapsed = time.perf_counter() - started
        failed = sum(not o.ok for o in outcomes)
        print(
            f"write {WRITE_RECORDS:,} records: {connector.calls.total - before} calls, "
            f"ideal {math.ceil(WRITE_RECORDS / 200)}, {failed} failed, in {elapsed:.1f} s"
        )
        connector.close()
