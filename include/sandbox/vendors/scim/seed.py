"""The SCIM server's part of the world: one User per identity person, with the enterprise extension."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sandbox.vendor import VendorState
from sandbox.vendors.scim.api import CORE_USER, ENTERPRISE_USER
from sandbox.vendors.scim.changes import scim_time, version_of
from sandbox.world import Person, World

# Seeded users were last modified before this instant, so "meta.lastModified gt" filters are stable.
SEED_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def seed_scim(world: World, state: VendorState) -> None:
    rng = world.rng("scim")
    people = world.members("identity")
    ids = {p.index: str(uuid.UUID(int=rng.getrandbits(128), version=4)) for p in people}
    users = []
    for person in people:
        created = SEED_EPOCH - dt.timedelta(days=rng.randrange(30, 1000), seconds=rng.randrange(86400))
        modified = created + (SEED_EPOCH - created) * rng.random()
        manager = ids.get(person.manager_index)
        users.append(scim_user(world, person, ids[person.index], manager, created, modified))
    state.collection("users").put_many((u["id"], u) for u in users)


def scim_user(
    world: World,
    person: Person,
    user_id: str,
    manager_id: str | None,
    created: dt.datetime,
    modified: dt.datetime,
) -> dict[str, Any]:
    email = world.recase(person)
    user: dict[str, Any] = {
        "schemas": [CORE_USER, ENTERPRISE_USER],
        "id": user_id,
        "externalId": person.employee_number,
        "userName": email,
        "name": {
            "givenName": person.given_name,
            "familyName": person.family_name,
            "formatted": person.display_name,
        },
        "displayName": person.display_name,
        "emails": [{"value": email, "type": "work", "primary": True}],
        "phoneNumbers": [{"value": person.phone, "type": "mobile"}],
        "title": person.title,
        "active": person.active,
        "locale": person.locale,
        "timezone": person.time_zone,
        ENTERPRISE_USER: {
            "employeeNumber": person.employee_number,
            "department": person.department,
            "organization": person.company,
            **(
                {"manager": {"value": manager_id, "displayName": _manager_name(world, person)}}
                if manager_id
                else {}
            ),
        },
    }
    meta = {"resourceType": "User", "created": scim_time(created), "lastModified": scim_time(modified)}
    return {**user, "meta": {**meta, "version": version_of(user)}}


def _manager_name(world: World, person: Person) -> str | None:
    return world.people[person.manager_index].display_name if person.manager_index is not None else None
