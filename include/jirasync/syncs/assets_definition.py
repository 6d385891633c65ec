"""What a users → Assets definition must say, read into typed settings and checked at parse time.

Kept apart from the family (and free of pandas) because the DAG factory checks definitions
while Airflow parses the DAG folder; the family reads its settings through the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jirasync.engine.definitions import DefinitionProblems, SyncDefinition

# What /users/search gives of a Jira user, by the names a mapping's `source` may use.
JIRA_USER_FIELDS = frozenset(
    {"accountId", "accountType", "displayName", "emailAddress", "active", "timeZone", "locale"}
)
DELETE_POLICIES = {
    "ignore": "keep the object as it is",
    "clear": "mark the object inactive: set the attributes of target.options.mark_removed",
    "delete": "delete the object",
}


@dataclass(frozen=True)
class Folder:
    """Where new objects are filed: a reference attribute to a folder object, maybe an A–Z folder."""

    attribute: str  # the object type's reference attribute to its folder
    parent: str  # the folder's name or object key
    alphabetical: bool


@dataclass(frozen=True)
class AssetsTarget:
    schema: str
    object_type: str
    name_attribute: str
    user_attribute: str  # the User attribute holding the accountId: the key's target field
    folder: Folder | None
    mark_removed: dict[str, str]  # attribute → value set on objects of users removed from Jira


@dataclass(frozen=True)
class Scope:
    """Which Jira users a run covers: display names starting with a prefix, members of groups."""

    name_prefix: str = ""
    groups: tuple[str, ...] = ()

    @property
    def narrowed(self) -> bool:
        return bool(self.name_prefix or self.groups)


def assets_target(definition: SyncDefinition) -> AssetsTarget:
    """The target settings of a definition that `check_assets_definition` accepted."""
    options = definition.target.options
    folder = options.get("folder")
    return AssetsTarget(
        schema=options["schema"],
        object_type=options["object_type"],
        name_attribute=options.get("name_attribute", "Name"),
        user_attribute=definition.key.target_field,
        folder=Folder(folder["attribute"], folder["parent"], bool(folder.get("alphabetical")))
        if folder
        else None,
        mark_removed={str(k): str(v) for k, v in (options.get("mark_removed") or {}).items()},
    )


def definition_scope(definition: SyncDefinition) -> Scope:
    return scope_from(definition.scope.get("name_prefix"), definition.scope.get("groups"))


def scope_from(name_prefix: Any, groups: Any) -> Scope:
    return Scope(
        str(name_prefix or "").strip(), tuple(str(g).strip() for g in groups or () if str(g).strip())
    )


def check_assets_definition(definition: SyncDefinition, where: str) -> None:
    """Refuse what this family cannot do, naming every problem's field and fix."""
    problems = DefinitionProblems(where)
    _check_systems(definition, problems)
    problems.raise_if_any()
    options = definition.target.options
    for name, example in (("schema", "Human Resources"), ("object_type", "Employee")):
        if not isinstance(options.get(name), str) or not options[name].strip():
            problems.add(f"target.options.{name}", "is required", f"name the Assets {name}, e.g. {example}")
    name_attribute = options.get("name_attribute", "Name")
    targets = [m.target for m in definition.fields]
    if name_attribute not in targets:
        problems.add(
            "fields",
            f"no mapping writes the object's name attribute '{name_attribute}', which every object needs",
            f"add a mapping such as {{source: displayName, target: {name_attribute}}} (or set "
            "target.options.name_attribute to the label attribute of the object type)",
        )
    for index, mapping in enumerate(definition.fields):
        if mapping.source not in JIRA_USER_FIELDS:
            problems.add(
                f"fields[{index}].source",
                f"a Jira user has no field '{mapping.source}'",
                f"map one of {', '.join(sorted(JIRA_USER_FIELDS))}",
            )
        if mapping.owner != "source":
            problems.add(
                f"fields[{index}].owner",
                "user assets are written from Jira only",
                "remove owner, or set it to source",
            )
        if mapping.target == definition.key.target_field:
            problems.add(
                f"fields[{index}].target",
                f"'{mapping.target}' is the key attribute: jirasync writes the accountId there itself",
                "remove this mapping",
            )
    _check_folder(options.get("folder"), problems)
    _check_removal(definition, targets, problems)
    _check_scope(definition.scope, problems)
    problems.raise_if_any()


def _check_systems(definition: SyncDefinition, problems: DefinitionProblems) -> None:
    if definition.source.system != "jira":
        problems.add("source.system", "user assets are made from Jira users", "set it to jira")
    if definition.target.system != "assets":
        problems.add("target.system", "user assets are objects in JSM Assets", "set it to assets")
    key = definition.key
    if key.source_field != "accountId" or key.normalise != "none":
        problems.add(
            "key",
            "a Jira user is matched with its object by accountId, exactly",
            "set key.source_field: accountId and key.normalise: none",
        )


def _check_folder(folder: Any, problems: DefinitionProblems) -> None:
    if folder is None:
        return
    if not isinstance(folder, dict) or set(folder) - {"attribute", "parent", "alphabetical"}:
        problems.add(
            "target.options.folder",
            "takes attribute, parent and alphabetical only",
            "write e.g. {attribute: Folder, parent: Employees, alphabetical: true}",
        )
        if not isinstance(folder, dict):
            return
    for name, example in (("attribute", "Folder"), ("parent", "Employees")):
        if not isinstance(folder.get(name), str) or not folder[name].strip():
            problems.add(
                f"target.options.folder.{name}",
                "is required",
                f"set it, e.g. {name}: {example}",
            )
    if not isinstance(folder.get("alphabetical", False), bool):
        problems.add("target.options.folder.alphabetical", "is not true or false", "write true or false")


def _check_removal(definition: SyncDefinition, targets: list[str], problems: DefinitionProblems) -> None:
    policies = "; ".join(f"{name}: {effect}" for name, effect in DELETE_POLICIES.items())
    if definition.delete_policy not in DELETE_POLICIES:
        problems.add(
            "delete_policy",
            f"'{definition.delete_policy}' does not apply to user assets",
            f"use one of {policies}",
        )
    mark = definition.target.options.get("mark_removed")
    if definition.delete_policy != "clear":
        if mark is not None:
            problems.add(
                "target.options.mark_removed",
                f"only applies with delete_policy: clear, not {definition.delete_policy}",
                "remove it, or set delete_policy: clear",
            )
        return
    if not isinstance(mark, dict) or not mark:
        problems.add(
            "target.options.mark_removed",
            "delete_policy: clear marks objects inactive, and needs the attributes that say so",
            "set e.g. mark_removed: {Status: Inactive}",
        )
        return
    for attribute in mark:
        if attribute not in targets:
            problems.add(
                f"target.options.mark_removed.{attribute}",
                "is not a mapped attribute, so a run cannot tell whether the object is marked already",
                f"map it too, e.g. {{source: active, target: {attribute}, transform: [...]}}",
            )


def _check_scope(scope: dict[str, Any], problems: DefinitionProblems) -> None:
    for unknown in sorted(set(scope) - {"name_prefix", "groups"}):
        problems.add(f"scope.{unknown}", "is not a scope of user assets", "use name_prefix or groups")
    if not isinstance(scope.get("name_prefix", ""), str):
        problems.add("scope.name_prefix", "is not text", "write the prefix, e.g. name_prefix: A")
    groups = scope.get("groups", [])
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        problems.add(
            "scope.groups",
            "is not a list of Jira group names",
            "write e.g. groups: [jira-software-users]",
        )
