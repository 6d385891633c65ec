"""The Assets part of the world: one workspace, an "Human Resources" schema, Folder and Employee types.

Employee is the "user asset" of seed 004: a label "Name", a User attribute "Jira User"
(unique: one asset per person), an "Email", a text "Status" (Active / Inactive),
"Department", "Job Title" and a reference to a "Folder", so users can be filed under
a root folder or its A–Z subfolders (Folder has a "Parent" reference to itself).
About 30% of the staff who are Jira users already have an Employee object, typed by a
person: emails re-cased, some titles out of date.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sandbox.vendor import VendorState
from sandbox.vendors.assets.api import assets_time
from sandbox.world import World

SEED_EPOCH = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
SCHEMA_ID = "1"
SCHEMA_KEY = "HR"
FOLDER_TYPE_ID = "1"
EMPLOYEE_TYPE_ID = "2"
ROOT_FOLDER_NAME = "Employees"

# ObjectTypeAttribute.type: 0 Default, 1 Object reference, 2 User; defaultType ids for type 0.
DEFAULT, REFERENCE, USER = 0, 1, 2
TEXT, DATETIME, EMAIL = 0, 6, 8
DEFAULT_TYPE_NAMES = {0: "Text", 1: "Integer", 2: "Boolean", 3: "Double", 4: "Date", 5: "Time", 6: "DateTime"}
DEFAULT_TYPE_NAMES |= {7: "URL", 8: "Email", 9: "Textarea", 10: "Select", 11: "IP Address"}


def _attribute(
    attribute_id: int, type_id: str, name: str, position: int, kind: int = DEFAULT, **options: Any
) -> tuple[str, dict[str, Any]]:
    record = {
        "id": str(attribute_id),
        "objectTypeId": type_id,
        "name": name,
        "type": kind,
        "defaultTypeId": options.get("default_type", TEXT) if kind == DEFAULT else None,
        "referenceObjectTypeId": options.get("reference"),
        "label": options.get("label", False),
        "system": options.get("system", False),
        "uniqueAttribute": options.get("unique", False),
        "minimumCardinality": options.get("minimum", 0),
        "maximumCardinality": options.get("maximum", 1),
        "description": options.get("description", ""),
        "position": position,
    }
    return record["id"], record


def _system_attributes(first_id: int, type_id: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        _attribute(first_id, type_id, "Key", 0, system=True, description="The object key"),
        _attribute(first_id + 1, type_id, "Name", 1, label=True, minimum=1),
        _attribute(first_id + 2, type_id, "Created", 2, system=True, default_type=DATETIME),
        _attribute(first_id + 3, type_id, "Updated", 3, system=True, default_type=DATETIME),
    ]


ATTRIBUTES: list[tuple[str, dict[str, Any]]] = [
    *_system_attributes(1, FOLDER_TYPE_ID),
    _attribute(5, FOLDER_TYPE_ID, "Parent", 4, REFERENCE, reference=FOLDER_TYPE_ID),
    *_system_attributes(6, EMPLOYEE_TYPE_ID),
    _attribute(
        10, EMPLOYEE_TYPE_ID, "Jira User", 4, USER, unique=True, description="The person's Jira account"
    ),
    _attribute(11, EMPLOYEE_TYPE_ID, "Email", 5, default_type=EMAIL),
    _attribute(12, EMPLOYEE_TYPE_ID, "Status", 6, description="Active or Inactive"),
    _attribute(13, EMPLOYEE_TYPE_ID, "Department", 7),
    _attribute(14, EMPLOYEE_TYPE_ID, "Job Title", 8),
    _attribute(15, EMPLOYEE_TYPE_ID, "Folder", 9, REFERENCE, reference=FOLDER_TYPE_ID),
]
ATTRIBUTE_IDS = {
    (record["objectTypeId"], record["name"]): attribute_id for attribute_id, record in ATTRIBUTES
}


def seed_assets(world: World, state: VendorState) -> None:
    rng = world.rng("assets")
    created = assets_time(SEED_EPOCH)
    state.collection("workspace").put(
        "workspace", {"workspaceId": str(uuid.UUID(int=rng.getrandbits(128), version=4))}
    )
    state.collection("schemas").put(
        SCHEMA_ID,
        {
            "id": SCHEMA_ID,
            "name": "Human Resources",
            "objectSchemaKey": SCHEMA_KEY,
            "description": "People of the company, filed in folders",
            "created": created,
            "updated": created,
        },
    )
    state.collection("objecttypes").put_many(
        [
            (
                FOLDER_TYPE_ID,
                {
                    "id": FOLDER_TYPE_ID,
                    "name": "Folder",
                    "description": "A folder to file objects in, e.g. A–Z",
                    "objectSchemaId": SCHEMA_ID,
                    "position": 0,
                    "created": created,
                    "updated": created,
                },
            ),
            (
                EMPLOYEE_TYPE_ID,
                {
                    "id": EMPLOYEE_TYPE_ID,
                    "name": "Employee",
                    "description": "A person who works for the company",
                    "objectSchemaId": SCHEMA_ID,
                    "position": 1,
                    "created": created,
                    "updated": created,
                },
            ),
        ]
    )
    state.collection("attributes").put_many(ATTRIBUTES)

    root = _object(1, FOLDER_TYPE_ID, created, {ATTRIBUTE_IDS[(FOLDER_TYPE_ID, "Name")]: [ROOT_FOLDER_NAME]})
    objects = [root]
    account_ids = {
        user["personIndex"]: user["accountId"]
        for user in state.collection("users", vendor="jira")
        if user.get("accountType") == "atlassian" and "personIndex" in user
    }
    employee_attribute = {
        name: i for (type_id, name), i in ATTRIBUTE_IDS.items() if type_id == EMPLOYEE_TYPE_ID
    }
    for person in world.members("assets_employee", world.members("jira")):
        values = {
            employee_attribute["Name"]: [person.display_name],
            employee_attribute["Email"]: [world.recase(person)],
            employee_attribute["Status"]: ["Active" if person.active else "Inactive"],
            employee_attribute["Department"]: [person.department or ""],
            employee_attribute["Job Title"]: [person.title if rng.random() > 0.2 else "Associate"],
            employee_attribute["Folder"]: [root["id"]],
        }
        if person.index in account_ids:
            values[employee_attribute["Jira User"]] = [account_ids[person.index]]
        objects.append(_object(len(objects) + 1, EMPLOYEE_TYPE_ID, created, values))
    state.collection("objects").put_many((o["id"], o) for o in objects)
    state.collection("sequences").put("object", {"next": len(objects) + 1})


def _object(number: int, type_id: str, created: str, values: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "id": str(number),
        "objectTypeId": type_id,
        "objectKey": f"{SCHEMA_KEY}-{number}",
        "created": created,
        "updated": created,
        "values": values,
    }
