"""The Entra ID part of the world: one Graph user per identity person, emails re-cased as Entra has them."""

from __future__ import annotations

import uuid
from typing import Any

from sandbox.vendor import VendorState
from sandbox.vendors.graph.changes import change_log
from sandbox.world import Person, World

USAGE_LOCATIONS = {"de_DE": "DE", "en_GB": "GB", "en_US": "US", "ja_JP": "JP", "en_AU": "AU"}


def seed_graph(world: World, state: VendorState) -> None:
    rng = world.rng("graph")
    people = world.members("identity")
    ids = {p.index: str(uuid.UUID(int=rng.getrandbits(128), version=4)) for p in people}
    users = [graph_user(world, person, ids[person.index], ids.get(person.manager_index)) for person in people]
    state.collection("users").put_many((u["id"], u) for u in users)
    change_log(state).start_over()


def graph_user(world: World, person: Person, user_id: str, manager_id: str | None) -> dict[str, Any]:
    email = world.recase(person)
    return {
        "id": user_id,
        "userPrincipalName": email,
        "mail": email,
        "displayName": person.display_name,
        "givenName": person.given_name,
        "surname": person.family_name,
        "jobTitle": person.title,
        "department": person.department,
        "officeLocation": person.time_zone.split("/")[-1].replace("_", " "),
        "mobilePhone": person.phone,
        "businessPhones": [],
        "preferredLanguage": person.locale.replace("_", "-"),
        "employeeId": person.employee_number,
        "accountEnabled": person.active,
        "companyName": person.company,
        "usageLocation": USAGE_LOCATIONS.get(person.locale),
        "manager": manager_id,
    }
