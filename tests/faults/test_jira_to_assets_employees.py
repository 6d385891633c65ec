"""The fault matrix (tests/faults/matrix.py) of jira_to_assets_employees: Jira users → Assets Employee objects."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from tests.e2e.harness import EndToEnd
from tests.faults.matrix import FaultMatrix, Write, comparable

from sandbox.vendors.assets.seed import ATTRIBUTE_IDS, EMPLOYEE_TYPE_ID, FOLDER_TYPE_ID

pytestmark = pytest.mark.e2e

NAME = {type_id: ATTRIBUTE_IDS[(type_id, "Name")] for type_id in (FOLDER_TYPE_ID, EMPLOYEE_TYPE_ID)}
PARENT = str(ATTRIBUTE_IDS[(FOLDER_TYPE_ID, "Parent")])
FOLDER = str(ATTRIBUTE_IDS[(EMPLOYEE_TYPE_ID, "Folder")])
JIRA_USER = str(ATTRIBUTE_IDS[(EMPLOYEE_TYPE_ID, "Jira User")])


class TestJiraToAssetsEmployees(FaultMatrix):
    sync = "jira_to_assets_employees"
    seed = 25
    writes = (
        Write("assets", "POST", "/jsm/assets/workspace/{workspace}/v1/object/create"),
        Write("assets", "PUT", "/jsm/assets/workspace/{workspace}/v1/object/"),
    )

    @classmethod
    def snapshot(cls, e2e: EndToEnd) -> dict[str, dict[str, Any]]:
        """Objects keyed by what they are (a folder by its path, an employee by its Jira user), their
        references by the path of the folder they name: Assets numbers objects in the order they
        are made, and a write retried later takes a later number without being another object."""
        data = comparable(e2e.sandbox.export())
        data["assets/objects"] = by_what_they_are(data["assets/objects"])
        data.pop("assets/sequences", None)  # the numbers handed out: a write refused still takes none
        return data


def by_what_they_are(objects: dict[str, dict[str, Any]]) -> dict[str, Any]:
    def path(object_id: str) -> str:
        folder = objects[object_id]
        name = (folder["values"].get(str(NAME[FOLDER_TYPE_ID])) or ["?"])[0]
        parent = (folder["values"].get(PARENT) or [None])[0]
        return f"{path(parent)}/{name}" if parent else name

    keyed: dict[str, Any] = {}
    seen: Counter[str] = Counter()
    for object_id, record in objects.items():
        values = dict(record["values"])
        if record["objectTypeId"] == FOLDER_TYPE_ID:
            key = f"folder {path(object_id)}"
            values[PARENT] = [path(v) for v in values.get(PARENT, [])]
        elif record["objectTypeId"] == EMPLOYEE_TYPE_ID and values.get(JIRA_USER):
            key = f"employee {values[JIRA_USER][0]}"
            values[FOLDER] = [path(v) for v in values.get(FOLDER, [])]
        else:
            key = f"object {object_id}"
        seen[key] += 1
        keyed[key if seen[key] == 1 else f"{key} (#{seen[key]})"] = values
    return keyed
