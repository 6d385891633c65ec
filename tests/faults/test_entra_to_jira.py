"""The fault matrix (tests/faults/matrix.py) of entra_to_jira: Entra ID users → Jira user properties."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest
from tests.e2e.harness import EndToEnd
from tests.faults.matrix import (
    Baseline,
    FaultMatrix,
    Write,
    connection_extras,
    forked_run,
    settle,
    wait_for_a_struck_fault,
)

from jirasync.connectors.budget import REDIS_URL_VARIABLE

pytestmark = pytest.mark.e2e

CONCURRENCY = 4


class TestEntraToJira(FaultMatrix):
    sync = "entra_to_jira"
    seed = 21
    writes = (Write("jira", "PUT", "/rest/api/3/user/properties/"),)

    def test_a_process_killed_with_concurrent_writes_in_flight_then_a_rerun_end_as_the_fault_free_run(
        self, e2e: EndToEnd, baseline: Baseline, record_property: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The Jira budget in Redis allows four calls at once: the first write is slow, then four are
        held together, and the process running the DAG is killed while they are; the rerun, with
        the same concurrency, ends where the fault-free run does."""
        monkeypatch.setenv(REDIS_URL_VARIABLE, "redis://127.0.0.1:6379/0")
        routes = self.write_routes(e2e)
        # A 10 s timeout: the killed worker's slots come back 40 s on (10 + 10 + the margin), not 90.
        extras = {"rate_limit": 100, "concurrency": CONCURRENCY, "timeout": 10}
        with connection_extras(self.target_conn_id(), extras):
            self.add_faults(e2e, routes, "latency", latency_ms=500, count=1)
            with forked_run(e2e, self.sync) as child:
                wait_for_a_struck_fault(e2e, child)
                e2e.sandbox.clear_faults()
                self.add_faults(e2e, routes, "latency", latency_ms=5000, count=CONCURRENCY)
                wait_for_a_struck_fault(e2e, child)
                assert e2e.sandbox.sandbox.traffic.in_flight >= CONCURRENCY  # held at once, not in turn
                os.kill(child, signal.SIGKILL)
                os.waitpid(child, 0)
            settle(e2e)
            e2e.sandbox.clear_faults()
            killed = self.latest_run(e2e)
            assert len(self.open_intents(e2e)) >= CONCURRENCY, "the writes in flight left no intents"
            self.clean_run_ends_as_the_baseline(
                e2e, baseline, "SIGKILL with concurrent writes", None, record_property
            )
        assert self.run_status(e2e, killed["run_id"]) == "abandoned"
