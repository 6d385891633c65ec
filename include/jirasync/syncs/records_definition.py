"""What a CRM records ↔ Jira issues definition ("connected item") must say, checked at parse time.

Kept free of pandas so that parsing stays light. The family's own settings live in the
definition's ``options`` (the record URL, the CRM field that gets the issue key, auto-create, the
conditional status rule, the related lists kept on the issue); the CRM module in
``source.options``, the Jira project and issue type in ``target.options``. The key matches a
record with an issue a person linked by hand: ``source_field`` is the record id, ``target_field``
the Jira field where people put the record's id or URL.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from jirasync.engine.definitions import DefinitionProblems, SyncDefinition, unknown_name
from jirasync.syncs.attachments_definition import AttachmentsOptions
from jirasync.syncs.comments_definition import CommentsOptions

CRM_SYSTEMS = {"zoho_crm": "module", "salesforce": "sobject"}
# The related lists jirasync reads, by Zoho module: each read is one call per record, of at most a page.
ZOHO_RELATED_LISTS = {"Deals": ("Contact_Roles", "Stage_History")}
RELATED_PAGE = 200  # the most rows one related-list call answers
RULE_SOURCE = "status_rule"  # the attribute a record gets: the Jira status its conditional rule names
MAP_SOURCE = "status_map"  # the attribute a record gets: the Jira status its CRM status maps to
Operator = Literal[
    "equals", "not_equals", "contains", "in", "empty", "not_empty", "greater_than", "less_than"
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """One CRM field compared with a value: numbers as numbers, dates and text as text."""

    field: str = Field(min_length=1)
    operator: Operator
    value: Any = None

    def met(self, actual: Any) -> bool:
        if self.operator in ("empty", "not_empty"):
            empty = actual is None or (isinstance(actual, str | list) and not actual)
            return empty == (self.operator == "empty")
        if actual is None:
            return self.operator == "not_equals"
        if self.operator == "equals":
            return _comparable(actual) == _comparable(self.value)
        if self.operator == "not_equals":
            return _comparable(actual) != _comparable(self.value)
        if self.operator == "contains":
            return str(self.value).casefold() in str(actual).casefold()
        if self.operator == "in":
            return _comparable(actual) in {_comparable(v) for v in self.value or []}
        left, right = _comparable(actual), _comparable(self.value)
        if type(left) is not type(right):
            return False
        return left > right if self.operator == "greater_than" else left < right


class StatusRule(Condition):
    """A conditional sync rule: the Jira status of a record that meets the condition, and of one
    that does not; ``create_when_not_met`` lets auto-create make issues for the latter too."""

    met_status: str = Field(min_length=1)
    not_met_status: str = Field(min_length=1)
    create_when_not_met: bool = False

    def status(self, actual: Any) -> str:
        return self.met_status if self.met(actual) else self.not_met_status


class StatusMap(_Strict):
    """A CRM status field and the Jira status of each of its values, used both ways: a Jira status
    goes back as the first CRM value listed for it."""

    field: str = Field(min_length=1)
    values: dict[str, str] = Field(min_length=1)

    def jira_status(self, crm_value: Any) -> str | None:
        return self.values.get(str(crm_value)) if crm_value is not None else None

    def crm_value(self, jira_status: str) -> str | None:
        wanted = jira_status.casefold()
        return next((crm for crm, jira in self.values.items() if jira.casefold() == wanted), None)


class RelatedList(_Strict):
    """A related list of each record (a deal's stage history, its contact roles), kept on the issue
    read-only: ``fields`` of each row, the first ``limit`` rows as the CRM lists them (newest first
    for a history), all of them without one."""

    name: str = Field(min_length=1)
    fields: list[str] = Field(min_length=1)
    limit: int | None = Field(default=None, ge=1, le=RELATED_PAGE)


class RecordsOptions(_Strict):
    record_url: str = Field(min_length=1)
    issue_key_field: str | None = None
    auto_create: bool = False
    status_rule: StatusRule | None = None
    status_map: StatusMap | None = None
    related_lists: list[RelatedList] = Field(default_factory=list)
    comments: CommentsOptions | None = None  # notes ↔ comments (jirasync.syncs.comments)
    attachments: AttachmentsOptions | None = None  # files ↔ files (jirasync.syncs.attachments)

    @field_validator("record_url")
    @classmethod
    def _has_id(cls, value: str) -> str:
        if "{id}" not in value:
            raise ValueError("must contain {id}, where the record's id goes")
        return value


def records_options(definition: SyncDefinition) -> RecordsOptions:
    return RecordsOptions.model_validate(definition.options)


def crm_object(definition: SyncDefinition) -> str:
    """The CRM module (Zoho) or sObject (Salesforce) the records are in."""
    return str(definition.source.options[CRM_SYSTEMS[definition.source.system]])


def record_id_in(text: Any) -> str | None:
    """The record id a person put on an issue: the id itself, or the last id-like part of its URL."""
    if text is None or not str(text).strip():
        return None
    found = re.findall(r"[A-Za-z0-9]{15,}", str(text))
    return found[-1] if found else str(text).strip()


def check_records_definition(definition: SyncDefinition, where: str) -> None:
    """Refuse what this family cannot do, naming every problem's field and fix."""
    problems = DefinitionProblems(where)
    system = definition.source.system
    if system not in CRM_SYSTEMS:
        problems.add("source.system", f"'{system}' is not a CRM", "use zoho_crm or salesforce")
        problems.raise_if_any()
    if CRM_SYSTEMS[system] not in definition.source.options:
        name = CRM_SYSTEMS[system]
        problems.add(
            f"source.options.{name}", "names no CRM object", f"set source.options.{name}, e.g. Deals"
        )
    if definition.target.system != "jira":
        problems.add("target.system", "records are linked to Jira issues", "set target.system: jira")
    for name in ("project", "issue_type"):
        if not definition.target.options.get(name):
            problems.add(
                f"target.options.{name}", "is required", f"set target.options.{name} (e.g. SUP, Task)"
            )
    if definition.mode is None:
        problems.add(
            "mode", "is required for records ↔ issues", "set mode: display, one_way, two_way or custom"
        )
    try:
        options = records_options(definition)
    except ValidationError as error:
        for problem in error.errors():
            location = ".".join(str(part) for part in problem["loc"])
            problems.add(f"options.{location}", problem["msg"], "see the family's documentation")
        problems.raise_if_any()
        raise  # not reached: a ValidationError names at least one problem
    if definition.key.source_field != definition.source.options.get("id_field", _id_field(system)):
        problems.add(
            "key.source_field",
            "issues are linked by hand with the CRM record's id",
            f"set key.source_field: {_id_field(system)}",
        )
    listed = {related.name for related in options.related_lists}
    for index, mapping in enumerate(definition.fields):
        writes_crm = mapping.owner in ("target", "both")
        if writes_crm and "." in mapping.source:
            problems.add(
                f"fields[{index}].owner",
                f"'{mapping.source}' is a field of a related record, which jirasync reads but never writes",
                "set owner: source",
            )
        named = mapping.target.removeprefix("associated.")
        a_list = named in listed and mapping.source == named
        if mapping.target != named and (mapping.owner != "source" or (named.count(".") != 1 and not a_list)):
            problems.add(
                f"fields[{index}]",
                "associated records are read-only context on the issue, named associated.<relationship>.<field> "
                "(or associated.<related list>, for a list of options.related_lists)",
                "write the target as e.g. associated.Account.name, with owner: source",
            )
        if mapping.source == RULE_SOURCE and (mapping.target != "status" or mapping.owner != "source"):
            problems.add(
                f"fields[{index}]",
                "the conditional rule sets the Jira status",
                "map it as {source: status_rule, target: status, owner: source}",
            )
    _check_related_lists(definition, options, problems)
    map_mapped = any(m.source == MAP_SOURCE and m.target == "status" for m in definition.fields)
    if (options.status_map is not None) != map_mapped:
        problems.add(
            "fields",
            "a status map and its mapping go together",
            "add {source: status_map, target: status} with options.status_map, or neither",
        )
    rule_mapped = any(m.source == RULE_SOURCE for m in definition.fields)
    if (options.status_rule is not None) != rule_mapped:
        problems.add(
            "fields",
            "a conditional status rule and its mapping go together",
            "add {source: status_rule, target: status, owner: source} with options.status_rule, or neither",
        )
    if definition.mode == "display" and (
        options.auto_create
        or options.status_rule
        or options.status_map
        or any(m.owner != "source" for m in definition.fields)
    ):
        problems.add(
            "mode",
            "display links by hand and shows the CRM's fields on the issue: it creates, moves and writes nothing",
            "remove auto_create, status_rule, status_map and owners, or choose one_way, two_way or custom",
        )
    if definition.delete_policy not in ("unlink", "ignore"):
        problems.add(
            "delete_policy",
            f"'{definition.delete_policy}' is not built for records ↔ issues yet",
            "set delete_policy: unlink",
        )
    problems.raise_if_any()


def _check_related_lists(
    definition: SyncDefinition, options: RecordsOptions, problems: DefinitionProblems
) -> None:
    """Each related list is one the CRM module has and jirasync reads, and goes with its mapping."""
    if not options.related_lists:
        return
    if definition.source.system != "zoho_crm":
        problems.add(
            "options.related_lists",
            "jirasync reads the related lists of Zoho CRM records only, not Salesforce's child relationships",
            "remove it; map parent relationships (e.g. Contact.Name) to associated.<relationship>.<field> instead",
        )
        return
    module = str(definition.source.options.get("module"))
    known = ZOHO_RELATED_LISTS.get(module, ())
    names = [related.name for related in options.related_lists]
    for index, name in enumerate(names):
        if name not in known:
            problems.add(
                f"options.related_lists[{index}].name",
                unknown_name(name, f"a related list of {module} that jirasync reads", known),
                f"use one of: {', '.join(known)}"
                if known
                else f"remove it: jirasync reads no related list of {module}",
            )
        elif names.index(name) != index:
            problems.add(f"options.related_lists[{index}].name", f"'{name}' is listed twice", "list it once")
        mapping = f"{{source: {name}, target: associated.{name}, owner: source}}"
        if not any(m.source == name and m.target == f"associated.{name}" for m in definition.fields):
            problems.add(
                "fields",
                f"the related list {name} and its mapping go together",
                f"add {mapping}, or remove {name} from options.related_lists",
            )
    for index, mapping in enumerate(definition.fields):
        if mapping.source in names and mapping.target != f"associated.{mapping.source}":
            problems.add(
                f"fields[{index}].target",
                f"the related list {mapping.source} is kept on the issue as associated.{mapping.source}",
                f"set target: associated.{mapping.source}",
            )


def _id_field(system: str) -> str:
    return "id" if system == "zoho_crm" else "Id"


def _comparable(value: Any) -> Any:
    """Numbers (and numeric text) as floats, other values as case-folded text."""
    if isinstance(value, bool):
        return str(value).casefold()
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        return text.casefold()
