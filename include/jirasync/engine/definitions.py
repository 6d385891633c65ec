"""Sync definitions: one YAML file per configured sync, validated into typed models.

A definition is written by hand, so every error must tell its author which file, which
field and what to write instead; `DefinitionError` carries exactly that.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

Family = Literal["identity_to_jira_properties", "users_to_contacts", "users_to_assets", "records_to_issues"]
# More mapped apply tasks than this only wait for pool slots and vendor budget.
MAX_SHARDS = 32
Owner = Literal["source", "target", "both"]
KeyNormalisation = Literal["email", "strip", "none"]
DeletePolicy = Literal["ignore", "unlink", "delete", "clear"]
ConflictPolicy = Literal["source_wins", "target_wins", "newest_wins", "hold"]
SyncMode = Literal["display", "one_way", "two_way", "custom"]
# A mode is a preset of the mappings' owners: it gives each mapping that names no owner its owner.
# ``display`` syncs no field (its values are shown, not written back), ``custom`` leaves each
# mapping its own owner (``source`` unless it says otherwise).
MODE_OWNERS: dict[str, str] = {"display": "source", "one_way": "source", "two_way": "both"}

# Transforms a mapping may apply to a source value before it is compared with the target.
# Each entry says which arguments the transform takes.
TRANSFORMS: dict[str, frozenset[str]] = {
    "strip": frozenset(),
    "lower": frozenset(),
    "upper": frozenset(),
    "text": frozenset(),
    "integer": frozenset(),
    "number": frozenset(),
    "split": frozenset({"separator"}),
    "join": frozenset({"separator"}),
    "map": frozenset({"values", "default"}),
    "default": frozenset({"value"}),
    "date": frozenset({"format"}),
}

_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+$")


class DefinitionError(ValueError):
    """A sync definition that cannot be used, with the file, the field and the fix.

    ``more`` are further problems found in the same file, so its author fixes them in one go;
    the first problem's field, problem and fix are the attributes.
    """

    def __init__(
        self, path: Path | str, field: str, problem: str, fix: str, more: Sequence[DefinitionError] = ()
    ) -> None:
        self.path = str(path)
        self.field = field
        self.problem = problem
        self.fix = fix
        self.more = tuple(more)
        first = f"{self.path}: field '{field}': {problem}. Fix: {fix}"
        others = "".join(f"\n  field '{e.field}': {e.problem}. Fix: {e.fix}" for e in self.more)
        super().__init__(f"{first}{others}")


class DefinitionProblems:
    """The problems a family's checks find in one definition, raised as one `DefinitionError` so
    the file's author sees every problem at once instead of one per attempt."""

    def __init__(self, where: Path | str) -> None:
        self.where = where
        self.found: list[DefinitionError] = []

    def add(self, field: str, problem: str, fix: str) -> None:
        self.found.append(DefinitionError(self.where, field, problem, fix))

    def raise_if_any(self) -> None:
        """Stop here when the checks after this point would only repeat what is wrong already."""
        if self.found:
            first, *others = self.found
            raise DefinitionError(self.where, first.field, first.problem, first.fix, more=others)


@dataclass(frozen=True)
class DefinitionFolder:
    """A folder of definitions as found: the usable ones, sorted by id, and an error for each other file."""

    definitions: list[SyncDefinition]
    errors: list[DefinitionError]
    folder: Path

    def find(self, sync_id: str) -> SyncDefinition:
        """The definition of ``sync_id``; a LookupError saying why there is none that can be used."""
        definition = next((d for d in self.definitions if d.id == sync_id), None)
        if definition is not None:
            return definition
        own = [str(e) for e in self.errors if Path(e.path).stem == sync_id]
        raise LookupError(
            f"sync '{sync_id}': its definition cannot be used: {own[0]}"
            if own
            else f"sync '{sync_id}': no definition of that id in {self.folder}"
        )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Endpoint(_Strict):
    """One side of a sync: which system, and which Airflow connection reaches it."""

    system: str = Field(min_length=1)
    conn_id: str = Field(min_length=1)
    options: dict[str, Any] = Field(default_factory=dict)


class KeySpec(_Strict):
    """How a source record is matched with a target record that is not linked yet."""

    source_field: str = Field(min_length=1)
    target_field: str = Field(min_length=1)
    normalise: KeyNormalisation = "email"


class TransformSpec(_Strict):
    """One step of a mapping's transform; written in YAML as `lower` or `{split: {separator: ","}}`."""

    name: str
    args: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"name": value}
        if isinstance(value, dict) and len(value) == 1 and "name" not in value:
            ((name, args),) = value.items()
            return {"name": name, "args": args or {}}
        return value

    @model_validator(mode="after")
    def _known(self) -> TransformSpec:
        if self.name not in TRANSFORMS:
            raise _invalid(f"unknown transform '{self.name}'", f"use one of: {', '.join(sorted(TRANSFORMS))}")
        unknown = set(self.args) - TRANSFORMS[self.name]
        if unknown:
            allowed = ", ".join(sorted(TRANSFORMS[self.name])) or "no arguments"
            raise _invalid(
                f"transform '{self.name}' takes no argument {sorted(unknown)}", f"give it: {allowed}"
            )
        return self


class FieldMapping(_Strict):
    """A source field written to a target field; `owner` says which side may change it."""

    source: str = Field(min_length=1)
    target: str = Field(min_length=1)
    transform: list[TransformSpec] = Field(default_factory=list)
    owner: Owner = "source"
    set: bool = False

    @field_validator("target")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value.startswith("_"):
            raise _invalid(
                f"target name '{value}' starts with '_', which frames reserve for their own columns",
                f"rename it, e.g. '{value.lstrip('_')}'",
            )
        return value


class CircuitBreaker(_Strict):
    """The largest share of the target one run may change before the gate stops it."""

    max_update_share: float = Field(default=0.5, ge=0, le=1)
    max_delete_share: float = Field(default=0.1, ge=0, le=1)
    max_unlink_share: float = Field(default=0.1, ge=0, le=1)
    min_target_size: int = Field(default=20, ge=0)
    # Records without a key, or with a duplicate or malformed one, are skipped one by one and
    # reported; only when more than this share of a side is such does the gate stop the run.
    max_bad_key_share: float = Field(default=0.05, ge=0, le=1)


class Notifier(_Strict):
    """Where a failure of the sync is sent besides the task log: an HTTP endpoint (an incident tool)
    through an Airflow HTTP connection, a Slack channel through its incoming webhook (an HTTP
    connection whose host is the webhook's secret URL, kept out of the definition), or email through
    the SMTP connection."""

    kind: Literal["webhook", "slack", "email"]
    conn_id: str = Field(min_length=1)
    endpoint: str = ""  # webhook, slack: the path under the connection's base URL
    to: list[str] = Field(default_factory=list)  # email: the recipients

    @model_validator(mode="after")
    def _has_recipients(self) -> Notifier:
        if self.kind == "email" and not self.to:
            raise _invalid("an email notifier has no recipients", "list them: to: [oncall@example.com]")
        return self


class SyncDefinition(_Strict):
    """Everything one sync needs to know: what to read, how to match, what to write."""

    id: str
    family: Family
    description: str = ""
    enabled: bool = True
    source: Endpoint
    target: Endpoint
    key: KeySpec
    fields: list[FieldMapping]
    delete_policy: DeletePolicy = "ignore"
    conflict_policy: ConflictPolicy = "hold"
    scope: dict[str, Any] = Field(default_factory=dict)
    schedule: str | None = None
    circuit_breaker: CircuitBreaker = Field(default_factory=CircuitBreaker)
    batch_size: int | None = Field(default=None, gt=0)
    # The apply split into this many Airflow tasks by record key, which the executor spreads over
    # its workers (jirasync.engine.shards).
    shards: int = Field(default=1, ge=1, le=MAX_SHARDS)
    # Runs also on the vendors' change notifications (jirasync.events), besides the schedule.
    events: bool = False
    options: dict[str, Any] = Field(default_factory=dict)
    notify: list[Notifier] = Field(default_factory=list)
    # How long a run may take from being queued; past it, an alert goes to the log and the notifiers.
    deadline: timedelta | None = None

    @field_validator("deadline", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if value is None or isinstance(value, timedelta):
            return value
        match = _DURATION_PATTERN.fullmatch(str(value).strip())
        if not match or not any(match.groups()):
            raise _invalid(
                f"deadline {value!r} is not a duration",
                "write it in days, hours, minutes and seconds, e.g. deadline: 30m, 2h or 1h30m",
            )
        days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
        if not (days or hours or minutes or seconds):
            raise _invalid("deadline is zero", "give a run some time, e.g. deadline: 30m")
        return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)

    mode: SyncMode | None = None

    @model_validator(mode="before")
    @classmethod
    def _owners_from_mode(cls, value: Any) -> Any:
        """Each mapping without an owner takes the mode's; one that names its owner keeps it."""
        if not isinstance(value, dict) or value.get("mode") not in MODE_OWNERS:
            return value
        fields = value.get("fields")
        if not isinstance(fields, list):
            return value
        owner = MODE_OWNERS[value["mode"]]
        return {**value, "fields": [{"owner": owner, **f} if isinstance(f, dict) else f for f in fields]}

    @field_validator("id")
    @classmethod
    def _usable_as_dag_id(cls, value: str) -> str:
        if not _ID_PATTERN.match(value):
            raise _invalid(
                f"'{value}' is not a usable id",
                "use only letters, digits, '_', '.' and '-' (it names the DAG)",
            )
        return value

    @field_validator("fields")
    @classmethod
    def _unique_targets(cls, value: list[FieldMapping]) -> list[FieldMapping]:
        if not value:
            raise _invalid("no field is mapped", "list at least one mapping: {source: ..., target: ...}")
        seen: set[str] = set()
        for mapping in value:
            if mapping.target in seen:
                raise _invalid(
                    f"target field '{mapping.target}' is mapped twice", "keep one mapping per target field"
                )
            seen.add(mapping.target)
        return value

    @model_validator(mode="after")
    def _shards_keep_streams_whole(self) -> SyncDefinition:
        if self.shards > 1 and self.family == "records_to_issues":
            raise _invalid(
                f"shards: {self.shards} splits the apply of a records ↔ issues sync, whose comments and "
                "attachments are synced after all of its links are written, in one task",
                "leave shards out (1) for this sync",
            )
        return self

    def mapping(self, target: str) -> FieldMapping:
        """The mapping that writes `target`."""
        return next(m for m in self.fields if m.target == target)


# libyaml's loader when PyYAML has it (its wheels do): ten times faster than the pure-Python one,
# and the folder is read every time Airflow parses the DAG file, by every task process too.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DURATION_PATTERN = re.compile(r"(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?")


def _invalid(problem: str, fix: str) -> PydanticCustomError:
    """A validation error that carries its own fix through pydantic to `DefinitionError`."""
    return PydanticCustomError("invalid_definition", "{problem}", {"problem": problem, "fix": fix})


def load_definition(path: Path | str) -> SyncDefinition:
    """Read and validate one YAML definition; its id defaults to the file name."""
    path = Path(path)
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise DefinitionError(
            path, "(file)", f"not valid YAML at {where}", "correct the YAML syntax"
        ) from None
    except OSError as error:
        raise DefinitionError(
            path, "(file)", f"cannot be read ({error.strerror})", "check the path"
        ) from None
    if not isinstance(document, dict):
        raise DefinitionError(
            path,
            "(file)",
            "does not hold a mapping of fields",
            "write the definition as 'field: value' lines",
        )
    document.setdefault("id", path.stem)
    try:
        return SyncDefinition.model_validate(document)
    except ValidationError as error:
        raise _definition_error(path, error) from None


def read_definitions(
    folder: Path | str, check: Callable[[SyncDefinition, Path], None] | None = None
) -> DefinitionFolder:
    """Every `*.yaml`/`*.yml` definition in `folder`, sorted by id, and the error of each file that
    cannot be used, so one broken file stops only its own sync. ``check`` adds the checks of a
    definition's family, raising `DefinitionError`. Of two files with one id, the later is refused."""
    paths = sorted([*Path(folder).glob("*.yaml"), *Path(folder).glob("*.yml")])
    definitions: dict[str, tuple[Path, SyncDefinition]] = {}
    errors: list[DefinitionError] = []
    for path in paths:
        try:
            definition = load_definition(path)
            if check is not None:
                check(definition, path)
        except DefinitionError as error:
            errors.append(error)
            continue
        if definition.id in definitions:
            other = definitions[definition.id][0]
            errors.append(
                DefinitionError(
                    path, "id", f"'{definition.id}' is also the id of {other}", "give each sync a unique id"
                )
            )
            continue
        definitions[definition.id] = (path, definition)
    return DefinitionFolder([definitions[key][1] for key in sorted(definitions)], errors, Path(folder))


def unknown_name(name: str, what: str, known: Iterable[str]) -> str:
    """The hint every family gives for a mapped name the vendor lacks, whether its metadata is read
    or known: "'First_Nmae' is not a field of the CRM's contacts (nearest: First_Name)"."""
    nearest = difflib.get_close_matches(name, list(known), n=3)
    return f"{name!r} is not {what}" + (f" (nearest: {', '.join(nearest)})" if nearest else "")


def _definition_error(path: Path, error: ValidationError) -> DefinitionError:
    """Every problem pydantic found, each as one sentence an author can act on."""
    first, *more = (_problem(path, problem) for problem in error.errors())
    return DefinitionError(path, first.field, first.problem, first.fix, more)


def _problem(path: Path, error: Any) -> DefinitionError:
    """One of pydantic's errors as the field, the problem and the fix."""
    location = _location(error["loc"])
    kind = error["type"]
    context = error.get("ctx") or {}
    if kind == "missing":
        return DefinitionError(path, location, "is required", f"add '{location}' to the definition")
    if kind == "extra_forbidden":
        name = str(error["loc"][-1])
        known = _known_names(error["loc"][:-1])
        close = difflib.get_close_matches(name, known, n=1)
        fix = f"did you mean '{close[0]}'?" if close else f"remove it; known fields are: {', '.join(known)}"
        return DefinitionError(path, location, "is not a known field", fix)
    if kind == "literal_error":
        got = error.get("input")
        return DefinitionError(path, location, f"'{got}' is not allowed", f"use one of {context['expected']}")
    if kind == "invalid_definition":
        return DefinitionError(path, location, context["problem"], context["fix"])
    message = str(error["msg"])
    requirement = message.removeprefix("Input should be ").split(",")[0]
    if requirement != message:
        return DefinitionError(
            path, location, f"{error.get('input')!r} is not valid", f"make it {requirement}"
        )
    return DefinitionError(path, location, message, f"change '{location}' so that: {message.lower()}")


def _location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1] = f"{parts[-1]}[{part}]" if parts else f"[{part}]"
        elif not str(part).startswith("function-"):
            parts.append(str(part))
    return ".".join(parts)


def _known_names(parent: tuple[int | str, ...]) -> list[str]:
    """Field names allowed at `parent`, for the 'did you mean' hint."""
    model: type[BaseModel] = SyncDefinition
    for part in parent:
        if isinstance(part, int):
            continue
        annotation = model.model_fields[str(part)].annotation
        inner = getattr(annotation, "__args__", (annotation,))
        nested = next((a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if nested is None:
            return []
        model = nested
    return list(model.model_fields)
