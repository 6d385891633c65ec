"""The attributes an identity provider has, so a definition that maps one it lacks fails at parse time.

Kept apart from the family (and free of pandas) because the DAG factory checks definitions
while Airflow parses the DAG folder.
"""

from __future__ import annotations

from jirasync.engine.definitions import DefinitionProblems, SyncDefinition, unknown_name

GRAPH_USER_ATTRIBUTES = frozenset(
    {
        "id", "accountEnabled", "businessPhones", "city", "companyName", "country", "createdDateTime",
        "department", "displayName", "employeeHireDate", "employeeId", "employeeType", "faxNumber",
        "givenName", "jobTitle", "mail", "mailNickname", "mobilePhone", "officeLocation",
        "onPremisesSamAccountName", "postalCode", "preferredLanguage", "state", "streetAddress",
        "surname", "usageLocation", "userPrincipalName", "userType",
    }
)  # fmt: skip
# What the Graph connector asks of a user's manager through $expand.
GRAPH_MANAGER_ATTRIBUTES = frozenset({"id", "displayName", "userPrincipalName", "mail"})

SCIM_USER_ATTRIBUTES = frozenset(
    {
        "id", "externalId", "userName", "displayName", "nickName", "profileUrl", "title", "userType",
        "preferredLanguage", "locale", "timezone", "active", "name.formatted", "name.familyName",
        "name.givenName", "name.middleName", "name.honorificPrefix", "name.honorificSuffix",
        "emails", "phoneNumbers", "meta.created", "meta.lastModified",
    }
)  # fmt: skip
# Multi-valued SCIM attributes: the list of values, or one value by type (emails.work) or primary.
SCIM_MULTI_VALUED = frozenset({"emails", "phoneNumbers"})
# The enterprise extension (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User), as enterprise.*.
SCIM_ENTERPRISE_ATTRIBUTES = frozenset(
    {"employeeNumber", "costCenter", "organization", "division", "department", "manager.value",
     "manager.displayName"}
)  # fmt: skip


def is_known_attribute(system: str, path: str) -> bool:
    if system == "entra_id":
        head, _, rest = path.partition(".")
        if head == "manager":
            return rest in GRAPH_MANAGER_ATTRIBUTES
        return path in GRAPH_USER_ATTRIBUTES
    head, _, rest = path.partition(".")
    if head in SCIM_MULTI_VALUED:
        return True  # the list, or one value by any type name or "primary"
    if head == "enterprise":
        return rest in SCIM_ENTERPRISE_ATTRIBUTES
    return path in SCIM_USER_ATTRIBUTES


def known_attributes(system: str) -> list[str]:
    """Every attribute path a definition may map from ``system``, for the nearest-name hint."""
    if system == "entra_id":
        return sorted(GRAPH_USER_ATTRIBUTES | {f"manager.{name}" for name in GRAPH_MANAGER_ATTRIBUTES})
    enterprise = {f"enterprise.{name}" for name in SCIM_ENTERPRISE_ATTRIBUTES}
    return sorted(SCIM_USER_ATTRIBUTES | SCIM_MULTI_VALUED | enterprise)


def check_identity_definition(definition: SyncDefinition, where: str) -> None:
    """Refuse what this family cannot do, naming every problem's field and fix."""
    problems = DefinitionProblems(where)
    system = definition.source.system
    if system not in ("entra_id", "scim"):
        problems.add("source.system", f"'{system}' is not an identity provider", "use entra_id or scim")
        problems.raise_if_any()
    if definition.target.system != "jira":
        problems.add("target.system", "identity attributes go to Jira", "set target.system: jira")
    property_key = definition.target.options.get("property_key")
    if not isinstance(property_key, str) or not 0 < len(property_key) <= 255:
        problems.add(
            "target.options.property_key",
            "names no Jira user property (a text of 1 to 255 characters)",
            "set target.options.property_key, e.g. jirasync.identity",
        )
    if definition.delete_policy not in ("clear", "ignore"):
        problems.add(
            "delete_policy",
            f"'{definition.delete_policy}' does not apply to user properties",
            "use clear (delete the property of disabled and removed users) or ignore (keep it; "
            "a mapping to 'active' then says false)",
        )
    attributes = [("key.source_field", definition.key.source_field)] + [
        (f"fields[{index}].source", mapping.source) for index, mapping in enumerate(definition.fields)
    ]
    for field, attribute in attributes:
        if not is_known_attribute(system, attribute):
            problems.add(
                field,
                unknown_name(
                    attribute, f"an attribute of the {system} identity provider", known_attributes(system)
                ),
                "map an attribute it has (see jirasync.syncs.identity_attributes)",
            )
    for index, mapping in enumerate(definition.fields):
        if mapping.owner != "source":
            problems.add(
                f"fields[{index}].owner",
                "Jira user properties are written from the identity provider only",
                "remove owner, or set it to source",
            )
    problems.raise_if_any()
