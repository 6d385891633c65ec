"""The sandbox with 100,000 people: first start (seeding every vendor into an empty data dir) and
restart from disk each in under 10 s, a page of 1,000 Jira users in under 50 ms, and the
per-record lookups a sync makes (Jira user search by email and by name prefix, Graph and SCIM
filters by email) in requests per second at 10,000 and at 100,000 people: with indexes they
should hardly depend on the size.

Besides wall time the first start prints the CPU time it took (every thread of this process):
on a machine shared with other work, that is the figure that does not depend on the load.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

from sandbox.testing import RunningSandbox, running_sandbox

USERS = 100_000
LOOKUP_SIZES = (10_000, 100_000)
LOOKUPS = 200  # requests per lookup kind and size
PAGE_TARGET_MS = 50
START_TARGET_S = 10


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # ru_maxrss is KiB on Linux


def rss_mib() -> float:
    """The memory this process (sandbox server included: it runs in a thread) holds now."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    start_and_page()
    for users in LOOKUP_SIZES:
        lookups(users)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


def start_and_page() -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        started, cpu_started = time.perf_counter(), cpu_seconds()
        with running_sandbox(Path(data_dir), seed=1, users=USERS):
            seeded_s, seeded_cpu_s = time.perf_counter() - started, cpu_seconds() - cpu_started
            seeded_rss = peak_rss_mib()
        started = time.perf_counter()
        with running_sandbox(Path(data_dir), seed=1, users=USERS) as sandbox:
            cold_s = time.perf_counter() - started
            session = _jira_session(sandbox)
            url = sandbox.url("/jira") + "/rest/api/3/users/search"
            began = time.perf_counter()
            session.get(url, params={"maxResults": 1000}).raise_for_status()
            first_page_s = time.perf_counter() - began  # reads the Jira users from disk
            timings = []
            for start in range(0, 20_000, 1000):
                began = time.perf_counter()
                page = session.get(url, params={"startAt": start, "maxResults": 1000})
                timings.append((time.perf_counter() - began) * 1000)
                assert len(page.json()) == 1000
    print(
        f"first start from an empty data dir, seeding {USERS:,} people into every vendor: {seeded_s:.1f} s "
        f"({seeded_cpu_s:.1f} s of CPU) (target < {START_TARGET_S} s); peak RSS {seeded_rss:.0f} MiB"
    )
    print(f"restart from disk with {USERS:,} people: {cold_s:.1f} s (target < {START_TARGET_S} s)")
    print(f"first page after the restart (loads the Jira users from disk): {first_page_s:.1f} s")
    print(
        f"page of 1,000 users: median {statistics.median(timings):.1f} ms, max {max(timings):.1f} ms "
        f"over {len(timings)} pages (target < {PAGE_TARGET_MS} ms)"
    )


def lookups(users: int) -> None:
    """Requests per second of each lookup a sync makes once per record, on a world of ``users``."""
    with (
        tempfile.TemporaryDirectory() as data_dir,
        running_sandbox(Path(data_dir), seed=1, users=users) as sandbox,
    ):
        jira_users = [u for u in sandbox.records("jira", "users", limit=users) if u.get("emailAddress")]
        emails = [u["emailAddress"] for u in jira_users[:: max(1, len(jira_users) // LOOKUPS)]][:LOOKUPS]
        jira, jira_url = _jira_session(sandbox), sandbox.url("/jira") + "/rest/api/3"
        graph, graph_url = _graph_session(sandbox), sandbox.url("/graph") + "/v1.0/users"
        scim_url = sandbox.url("/scim") + "/v2/Users"
        scim = requests.Session()
        scim.headers["Authorization"] = f"Bearer {sandbox.credentials['scim']['bearer_token']}"
        salesforce, soql_url = (
            _salesforce_session(sandbox),
            sandbox.url("/salesforce") + "/services/data/v59.0/query",
        )
        zoho, zoho_url = _zoho_session(sandbox), sandbox.url("/zoho") + "/crm/v8/Contacts/search"
        assets = requests.Session()
        assets.auth = (sandbox.credentials["assets"]["email"], sandbox.credentials["assets"]["api_token"])
        workspace = sandbox.records("assets", "workspace")[0]["workspaceId"]
        aql_url = sandbox.url("/atlassian") + f"/jsm/assets/workspace/{workspace}/v1/object/aql"
        kinds: dict[str, Callable[[str], requests.Response]] = {
            "jira /user/search?query=<email>": lambda e: jira.get(
                f"{jira_url}/user/search", params={"query": e}
            ),
            "jira /user/search?query=<name prefix>": lambda e: jira.get(
                f"{jira_url}/user/search", params={"query": e[:4], "maxResults": 50}
            ),
            "graph /users?$filter=mail eq": lambda e: graph.get(
                graph_url, params={"$filter": f"mail eq '{e}'"}
            ),
            "scim /Users?filter=userName eq": lambda e: scim.get(
                scim_url, params={"filter": f'userName eq "{e}"'}
            ),
            "salesforce SOQL Contact WHERE Email =": lambda e: salesforce.get(
                soql_url, params={"q": f"SELECT Id FROM Contact WHERE Email = '{e}'"}
            ),
            "zoho /Contacts/search?email=": lambda e: zoho.get(
                zoho_url, params={"email": e, "fields": "Email"}
            ),
            "assets AQL objectType = Employee AND Email =": lambda e: assets.post(
                aql_url, json={"qlQuery": f'objectType = Employee AND Email = "{e}"'}
            ),
        }
        before_indexes = rss_mib()
        for name, call in kinds.items():
            call(emails[0]).raise_for_status()  # the first builds the index: not what a sync's next calls pay
            began = time.perf_counter()
            for email in emails:
                call(email).raise_for_status()
            rate = len(emails) / (time.perf_counter() - began)
            print(f"{users:>7,} people: {name}: {rate:,.0f} requests/s")
        print(
            f"{users:>7,} people: memory before the lookups {before_indexes:,.0f} MiB, after {rss_mib():,.0f} MiB"
        )


def _salesforce_session(sandbox: RunningSandbox) -> requests.Session:
    creds = sandbox.credentials["salesforce"]
    token = requests.post(
        sandbox.url("/salesforce") + "/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": creds["consumer_key"],
            "client_secret": creds["consumer_secret"],
            "username": creds["username"],
            "password": creds["password"] + creds["security_token"],
        },
        timeout=60,
    ).json()["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def _zoho_session(sandbox: RunningSandbox) -> requests.Session:
    token = requests.post(
        sandbox.url("/zoho-accounts") + "/oauth/v2/token",
        data={**sandbox.credentials["zoho"], "grant_type": "refresh_token"},
        timeout=60,
    ).json()["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = f"Zoho-oauthtoken {token}"
    return session


def _jira_session(sandbox: RunningSandbox) -> requests.Session:
    creds = sandbox.credentials["jira"]
    session = requests.Session()
    session.auth = (creds["email"], creds["api_token"])
    return session


def _graph_session(sandbox: RunningSandbox) -> requests.Session:
    creds = sandbox.credentials["entra"]
    token = requests.post(
        sandbox.url("/entra") + f"/{creds['tenant_id']}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "scope": "https://graph.microsoft.com/.default",
        },
        timeout=60,
    ).json()["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


if __name__ == "__main__":
    sys.exit(main())
