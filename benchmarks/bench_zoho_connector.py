"""Calls the Zoho CRM connector makes for a full read and a bulk write, against the sandbox.

Ideal for a read of N records: one token request plus ceil(N / 200) record pages. Pages
1-10 use ``page``; from record 2,001 on the connector follows ``page_token``. Both kinds
carry 200 records, so switching costs no extra call: the count is the same as if
page_token were used from the start. Ideal for a write of M records: ceil(M / 100)
upsert calls (the token is already held).
"""

from __future__ import annotations

import math
import tempfile
import time

from jirasync.connectors.zoho import ZohoAuth, ZohoCrmConnector
from sandbox.testing import running_sandbox

READ_RECORDS = 100_000
WRITE_RECORDS = 10_000


def main() -> None:
    with tempfile.TemporaryDirectory() as data_dir, running_sandbox(data_dir, seed=1, users=50) as sandbox:
        started = time.perf_counter()
        present = len(sandbox.records("zoho", "Leads"))
        sandbox.mutate("zoho", "generate_records", module="Leads", count=READ_RECORDS - present)
        print(f"seeded {READ_RECORDS:,} Leads in {time.perf_counter() - started:.1f} s")

        credentials = sandbox.credentials["zoho"]
        auth = ZohoAuth(
            sandbox.url("/zoho-accounts"),
            credentials["client_id"],
            credentials["client_secret"],
            credentials["refresh_token"],
        )
        connector = ZohoCrmConnector(auth)

        started = time.perf_counter()
        read = sum(1 for _ in connector.records("Leads", ["Last_Name", "Email", "Modified_Time"]))
        elapsed = time.perf_counter() - started
        ideal = 1 + math.ceil(READ_RECORDS / 200)
        print(
            f"read  {read:,} records: {connector.calls} calls, ideal {ideal} "
            f"(1 token + 10 page + {ideal - 11} page_token) in {elapsed:.1f} s"
        )

        before = connector.calls
        records = [
            {"Last_Name": f"Bench {i}", "Email": f"bench.{i}@acme.example"} for i in range(WRITE_RECORDS)
        ]
        started = time.perf_counter()
        outcomes = connector.upsert("Contacts", records, duplicate_check_fields=["Email"])
        elapsed = time.perf_counter() - started
        failed = sum(not o.ok for o in outcomes)
        print(
            f"write {WRITE_RECORDS:,} records: {connector.calls - before} calls, "
            f"ideal {math.ceil(WRITE_RECORDS / 100)}, {failed} failed, in {elapsed:.1f} s"
        )


if __name__ == "__main__":
    main()
