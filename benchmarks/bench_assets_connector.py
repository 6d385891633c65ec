"""Reading N Assets objects by AQL costs ceil(N / page) calls: the figures against the ideal.

Starts a sandbox with a world big enough for ~N Employee objects, reads them all
with ``AssetsConnector.search`` at several page sizes, and prints the calls made
(counted by the connector and by the sandbox) next to ceil(N / page) and the time
taken. Assets ends paging with ``isLast`` on the last page, so no extra call is
needed to find the end: the target is exactly the ideal.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

from jirasync.connectors.assets import AssetsConnector
from sandbox.testing import running_sandbox

USERS = 2000  # about 30% of the Jira staff are Employee objects: ~540
PAGE_SIZES = (25, 100, 500)
AQL = "objectType = Employee"
SANDBOX_ROUTE = "assets POST /jsm/assets/workspace/{workspaceId}/v1/object/aql"


def main() -> None:
    with (
        tempfile.TemporaryDirectory() as data_dir,
        running_sandbox(Path(data_dir), seed=11, users=USERS) as sandbox,
    ):
        credentials = sandbox.credentials["assets"]
        workspace_id = sandbox.records("assets", "workspace")[0]["workspaceId"]
        print(f"{'page':>6} {'objects':>8} {'calls':>6} {'sandbox':>8} {'ideal':>6} {'seconds':>8}  verdict")
        for page_size in PAGE_SIZES:
            sandbox.clear_counters()
            assets = AssetsConnector.with_api_token(
                sandbox.url("/atlassian"), workspace_id, credentials["email"], credentials["api_token"]
            )
            started = time.perf_counter()
            count = sum(1 for _ in assets.search(AQL, page_size=page_size))
            seconds = time.perf_counter() - started
            calls = assets.http.calls["POST /object/aql"]
            served = sandbox.counters().get(SANDBOX_ROUTE, 0)
            ideal = math.ceil(count / page_size)
            verdict = "ideal" if calls == served == ideal else f"OFF by {calls - ideal}"
            print(f"{page_size:>6} {count:>8} {calls:>6} {served:>8} {ideal:>6} {seconds:>8.2f}  {verdict}")
            assets.close()


if __name__ == "__main__":
    main()
