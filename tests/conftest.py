"""Shared fixtures: one real sandbox server for the whole test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.testing import RunningSandbox, running_sandbox

SANDBOX_SEED = 7
SANDBOX_USERS = 200


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """The sandbox with every vendor, a small world (200 people, seed 7), on a free port."""
    with running_sandbox(
        tmp_path_factory.mktemp("sandbox"), seed=SANDBOX_SEED, users=SANDBOX_USERS
    ) as running:
        yield running


@pytest.fixture
def fresh_sandbox(sandbox: RunningSandbox) -> RunningSandbox:
    """The session sandbox reset to its seeded world, with no faults and zero counters.

    A test may have seeded a world of another size or seed; reset() reseeds the current one, so
    go back to the session's own first.
    """
    if (sandbox.sandbox.seed_value, sandbox.sandbox.users) != (SANDBOX_SEED, SANDBOX_USERS):
        sandbox.seed(SANDBOX_SEED, SANDBOX_USERS)
    sandbox.reset()
    return sandbox
