"""An identity attribute the provider lacks is refused while the DAG folder is parsed, with the nearest it has.

Jira user properties take any key, so the target side has no such check: only the source's names can be wrong.
"""

from __future__ import annotations

import pytest

from jirasync.engine.definitions import DefinitionError, SyncDefinition
from jirasync.syncs.identity_attributes import check_identity_definition


def definition(system: str, attribute: str) -> SyncDefinition:
    return SyncDefinition.model_validate(
        {
            "id": "people",
            "family": "identity_to_jira_properties",
            "source": {"system": system, "conn_id": system},
            "target": {"system": "jira", "conn_id": "jira_default", "options": {"property_key": "people"}},
            "key": {
                "source_field": "mail" if system == "entra_id" else "userName",
                "target_field": "emailAddress",
            },
            "fields": [{"source": attribute, "target": "anything.at.all"}],
            "delete_policy": "clear",
        }
    )


@pytest.mark.parametrize(
    ("system", "typo", "nearest"),
    [
        ("entra_id", "jobTitel", "jobTitle"),
        ("entra_id", "manager.displayNmae", "manager.displayName"),
        ("scim", "name.givenNmae", "name.givenName"),
        ("scim", "enterprise.costCentre", "enterprise.costCenter"),
    ],
)
def test_an_attribute_the_provider_lacks_names_the_nearest_it_has(
    system: str, typo: str, nearest: str
) -> None:
    with pytest.raises(DefinitionError) as raised:
        check_identity_definition(definition(system, typo), "people.yaml")
    assert raised.value.field == "fields[0].source"
    assert raised.value.problem.startswith(
        f"'{typo}' is not an attribute of the {system} identity provider (nearest: {nearest}"
    )


def test_an_attribute_like_none_it_has_is_refused_without_a_guess() -> None:
    with pytest.raises(DefinitionError) as raised:
        check_identity_definition(definition("entra_id", "zzzzzz"), "people.yaml")
    assert raised.value.problem == "'zzzzzz' is not an attribute of the entra_id identity provider"


def test_any_property_name_is_a_target_jira_takes() -> None:
    check_identity_definition(definition("scim", "title"), "people.yaml")
