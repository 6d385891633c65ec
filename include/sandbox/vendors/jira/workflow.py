"""The one workflow every sandbox project uses: To Do → In Progress → Done, with the way back."""

from __future__ import annotations

from typing import Any

_CATEGORIES = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
STATUSES: dict[str, dict[str, Any]] = {
    "10000": {"id": "10000", "name": "To Do", "category": "new"},
    "10001": {"id": "10001", "name": "In Progress", "category": "indeterminate"},
    "10002": {"id": "10002", "name": "Done", "category": "done"},
}
INITIAL_STATUS = "10000"
# Transition id → (name, from status ids, to status id).
TRANSITIONS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "11": ("Start Progress", ("10000",), "10001"),
    "21": ("Stop Progress", ("10001",), "10000"),
    "31": ("Done", ("10000", "10001"), "10002"),
    "41": ("Reopen", ("10002",), "10000"),
}


def status_by_name(name: str) -> str | None:
    return next((i for i, s in STATUSES.items() if s["name"].casefold() == name.casefold()), None)


def available_transitions(status_id: str) -> list[str]:
    return [t for t, (_name, sources, _to) in TRANSITIONS.items() if status_id in sources]


def status_json(base_url: str, status_id: str) -> dict[str, Any]:
    status = STATUSES[status_id]
    category = _CATEGORIES[status["category"]]
    return {
        "self": f"{base_url}/rest/api/3/status/{status_id}",
        "description": "",
        "iconUrl": f"{base_url}/images/icons/statuses/generic.png",
        "name": status["name"],
        "id": status_id,
        "statusCategory": {"self": f"{base_url}/rest/api/3/statuscategory/{category['id']}", **category},
    }


def transition_json(base_url: str, transition_id: str) -> dict[str, Any]:
    name, _sources, to = TRANSITIONS[transition_id]
    return {
        "id": transition_id,
        "name": name,
        "to": status_json(base_url, to),
        "hasScreen": False,
        "isGlobal": False,
        "isInitial": False,
        "isAvailable": True,
        "isConditional": False,
        "isLooped": False,
    }
