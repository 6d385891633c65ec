"""Reading 100,000 Jira users through ``JiraConnector`` takes the fewest calls the API allows.

The ideal: ``/users/search`` returns at most 1,000 users per call as a bare array,
with no total and no ``isLast``, and Jira may return a short page before the end
(it drops users it does not show after paging). So a short page proves nothing and
only an empty page proves the end: reading N users needs ceil(N / 1000) pages plus
that one empty page. (Were a short last page trusted, a count that is not a multiple
of 1,000 would save the empty page; with exactly 100,000 users the last page is full
and both readings give 101.)

The sandbox is seeded with a world of people, then trimmed or topped up through its
admin API to exactly ``TARGET_USERS`` Jira users.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

from jirasync.connectors.jira import USERS_PAGE_SIZE, JiraConnector
from sandbox.testing import RunningSandbox, running_sandbox

TARGET_USERS = 100_000
WORLD_PEOPLE = 91_000  # about 90% become Jira users, plus customers (10%) and app accounts


def _exactly(sandbox: RunningSandbox, count: int) -> int:
    users = sandbox.records("jira", "users", limit=10 * count)
    for user in users[count:]:
        sandbox.delete("jira", "users", user["accountId"])
    for number in range(len(users), count):
        account_id = f"712020:bench-{number:06d}"
        sandbox.put(
            "jira",
            "users",
            account_id,
            {
                "accountId": account_id,
                "accountType": "atlassian",
                "emailAddress": f"bench.{number}@northwind.example",
                "emailVisible": True,
                "displayName": f"Bench User {number}",
                "active": True,
                "timeZone": "UTC",
                "locale": "en_US",
            },
        )
    return count


def main() -> None:
    with (
        tempfile.TemporaryDirectory() as data_dir,
        running_sandbox(Path(data_dir), users=WORLD_PEOPLE) as sandbox,
    ):
        users = _exactly(sandbox, TARGET_USERS)
        credentials = sandbox.credentials["jira"]
        jira = JiraConnector.with_api_token(
            sandbox.url("/jira"), credentials["email"], credentials["api_token"]
        )
        started = time.perf_counter()
        read = sum(1 for _ in jira.users())
        elapsed = time.perf_counter() - started
        ideal = math.ceil(users / USERS_PAGE_SIZE) + 1
        calls = jira.http.calls["GET /rest/api/3/users/search"]
        print(f"Jira users in the sandbox: {users:,}; read through the connector: {read:,}")
        print(
            f"calls made: {calls} (GET /rest/api/3/users/search); ideal: {ideal} = ceil({users:,} / 1000) + 1 empty page"
        )
        print(f"calls by endpoint: {jira.http.calls.by_endpoint()}")
        print(f"read time: {elapsed:.1f} s ({read / elapsed:,.0f} users/s)")
        print("OK: exactly the minimum" if calls == ideal and read == users else "NOT the minimum")


if __name__ == "__main__":
    main()
