"""Changes made to Jira as a person in Jira would make them, for the admin API."""

from __future__ import annotations

from typing import Any

ACTIONS: dict[str, Any] = {}
