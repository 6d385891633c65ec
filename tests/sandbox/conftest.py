"""Fixtures of the sandbox vendor tests."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sandbox.testing import RunningSandbox


@pytest.fixture
def scim(fresh_sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    """A plain HTTP client of the SCIM server, with its bearer token, on a freshly seeded sandbox."""
    token = fresh_sandbox.credentials["scim"]["bearer_token"]
    with httpx.Client(
        base_url=f"{fresh_sandbox.url('/scim')}/v2", headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client
