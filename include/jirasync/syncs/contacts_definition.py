"""What a Jira users → CRM contacts definition must say, checked while Airflow parses the DAG folder.

Kept apart from the family (and free of pandas) so that parsing stays light.
"""

from __future__ import annotations

from jirasync.engine.definitions import DefinitionProblems, SyncDefinition

# What a Jira user offers to map: its fields on /users/search, and its display name split at the
# last space (firstName: all before it, lastName: the last word), for CRMs that want the two parts.
JIRA_USER_ATTRIBUTES = frozenset(
    {"accountId", "accountType", "displayName", "emailAddress", "active", "timeZone", "locale",
     "firstName", "lastName"}
)  # fmt: skip
# The CRM object each target system keeps contacts in, and the field that must be mapped for a
# contact to be created (Zoho's Last_Name is mandatory, as is Salesforce's LastName).
CONTACT_OBJECTS = {"zoho_crm": ("Contacts", "Last_Name"), "salesforce": ("Contact", "LastName")}


def synced_user_field(definition: SyncDefinition) -> str:
    """The CRM field that holds the linked user's accountId ("Synced Jira User")."""
    return next(m.target for m in definition.fields if m.source == "accountId")


def check_contacts_definition(definition: SyncDefinition, where: str) -> None:
    """Refuse what this family cannot do, naming every problem's field and fix."""
    problems = DefinitionProblems(where)
    if definition.source.system != "jira":
        problems.add("source.system", "contacts are synced from Jira users", "set source.system: jira")
    system = definition.target.system
    if system not in CONTACT_OBJECTS:
        problems.add("target.system", f"'{system}' is not a CRM", "use zoho_crm or salesforce")
        problems.raise_if_any()
    if definition.key.source_field != "emailAddress" or definition.key.normalise != "email":
        problems.add(
            "key",
            "contacts are matched with users by email, case-insensitively",
            "set key.source_field: emailAddress and key.normalise: email",
        )
    for index, mapping in enumerate(definition.fields):
        if mapping.source not in JIRA_USER_ATTRIBUTES:
            problems.add(
                f"fields[{index}].source",
                f"a Jira user has no attribute '{mapping.source}'",
                f"map one of: {', '.join(sorted(JIRA_USER_ATTRIBUTES))}",
            )
        if mapping.owner != "source":
            problems.add(
                f"fields[{index}].owner",
                "a linked contact follows its Jira user: edits in the CRM are set back",
                "remove owner, or set it to source",
            )
    targets = {m.target for m in definition.fields}
    required = CONTACT_OBJECTS[system][1]
    if required not in targets:
        problems.add(
            "fields",
            f"{system} needs {required} to create a contact",
            f"map lastName (or displayName) to {required}",
        )
    if sum(m.source == "accountId" for m in definition.fields) != 1:
        problems.add(
            "fields",
            "no field (or more than one) holds the linked user's accountId",
            "map accountId to the CRM's 'Synced Jira User' field once",
        )
    if definition.delete_policy != "unlink":
        problems.add(
            "delete_policy",
            f"'{definition.delete_policy}' does not apply: a deleted Jira user unlinks its contact, "
            "which stays in the CRM",
            "set delete_policy: unlink",
        )
    problems.raise_if_any()
