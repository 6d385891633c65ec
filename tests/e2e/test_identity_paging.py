"""Graph's pages of 999 (its most, asked for when the manager is not read), through real Airflow DAG
runs against a sandbox of 1,100 people (about 1,050 in Graph): the one rule that needs more than
a page of 999, so the one test on a world this size."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from tests.e2e.harness import EndToEnd, end_to_end

WITHOUT_MANAGER = "entra_to_jira_without_manager"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def e2e(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EndToEnd]:
    with end_to_end(
        tmp_path_factory.mktemp("identity-paging"), users=1_100, seed=5, definitions=["entra_to_jira.yaml"]
    ) as e2e:
        e2e.add_variant(
            "entra_to_jira.yaml",
            WITHOUT_MANAGER,
            {
                "  - {source: manager.displayName, target: manager.name}\n": "",
                "  - {source: manager.mail, target: manager.email, transform: [lower]}\n": "",
            },
        )
        yield e2e


def test_a_full_read_without_the_manager_takes_pages_of_999(e2e: EndToEnd) -> None:
    e2e.run(WITHOUT_MANAGER)
    full = e2e.run(WITHOUT_MANAGER, full_sync=True)
    assert full["updated"] == 0
    graph_users = e2e.sandbox.records("graph", "users")
    assert e2e.calls("graph", "/users/delta") == math.ceil(len(graph_users) / 999) > 1
