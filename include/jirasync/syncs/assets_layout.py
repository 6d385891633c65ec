"""The ids behind the names a users → Assets definition uses, read once per run by the target read.

Assets writes name object types and attributes by id. The target read has to look them up
anyway, so it keeps them (with the folders it found) for the apply step, which runs in another
process: writing then costs no read of its own.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

from jirasync.connectors.assets import (
    AQL_PAGE_SIZE,
    REFERENCE_TYPE,
    SCHEMA_PAGE_SIZE,
    USER_TYPE,
    AssetsConnector,
)
from jirasync.connectors.query_literals import aql_string
from jirasync.engine.definitions import unknown_name
from jirasync.syncs.assets_definition import AssetsTarget, Folder
from jirasync.syncs.family import DefinitionMismatch

LAYOUT_CURSOR = "assets_layout"  # where the store keeps it, beside the sync's cursors


class LayoutError(DefinitionMismatch):
    """The Assets schema does not have what the definition names; `action` says what to change."""

    def __init__(self, sync_id: str, problem: str, action: str) -> None:
        super().__init__(f"sync '{sync_id}': {problem}", action)


@dataclass
class FolderLayout:
    type_id: str
    name_attribute_id: str
    # Set when objects are filed in A–Z folders: the folder type's reference to its parent folder.
    letter_parent_attribute_id: str | None
    parent_key: str  # the object key of the folder new objects go in (or under)
    letters: dict[str, str] = field(default_factory=dict)  # A–Z folder name → object key


@dataclass
class AssetsLayout:
    type_id: str
    attribute_ids: dict[str, str]  # attribute name → id, for the mapped, key and folder attributes
    folder: FolderLayout | None

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AssetsLayout:
        data = json.loads(text)
        folder = FolderLayout(**data["folder"]) if data["folder"] else None
        return cls(data["type_id"], data["attribute_ids"], folder)


def read_layout(
    sync_id: str, assets: AssetsConnector, target: AssetsTarget, attributes: list[str]
) -> tuple[AssetsLayout, int]:
    """The layout of ``target`` with the ids of ``attributes``, and the fewest calls that read it."""
    schemas = assets.object_schemas()
    schema = next((s for s in schemas if s.name.casefold() == target.schema.casefold()), None)
    if schema is None:
        raise LayoutError(
            sync_id,
            f"Assets has no object schema '{target.schema}'",
            f"set target.options.schema to one of {sorted(s.name for s in schemas)}",
        )
    object_type = assets.object_type(schema.id, target.object_type)
    names = [*attributes, *([target.folder.attribute] if target.folder else [])]
    _check_attribute_names(sync_id, assets, object_type.id, target.object_type, names)
    ids = assets.attribute_ids(object_type.id, names)
    by_id = {a.id: a for a in assets.attributes(object_type.id)}
    name = by_id[ids[target.name_attribute]]
    if not name.label:
        raise LayoutError(
            sync_id,
            f"'{target.name_attribute}' is not the label attribute of {target.object_type}",
            "set target.options.name_attribute to the attribute Assets shows as the object's name",
        )
    if by_id[ids[target.user_attribute]].type != USER_TYPE:
        raise LayoutError(
            sync_id,
            f"'{target.user_attribute}' of {target.object_type} is not a User attribute",
            "set key.target_field to the User attribute that holds each person's Jira account",
        )
    calls = math.ceil(len(schemas) / SCHEMA_PAGE_SIZE) + 2  # schemas, object types, attributes
    folder = None
    if target.folder:
        reference = by_id[ids[target.folder.attribute]]
        if reference.type != REFERENCE_TYPE or reference.reference_type_id is None:
            raise LayoutError(
                sync_id,
                f"'{target.folder.attribute}' of {target.object_type} is not an object reference",
                "set target.options.folder.attribute to the attribute that references the folder",
            )
        folder, folder_calls = _read_folders(sync_id, assets, target.folder, reference.reference_type_id)
        calls += folder_calls
    return AssetsLayout(object_type.id, ids, folder), calls


def _check_attribute_names(
    sync_id: str, assets: AssetsConnector, type_id: str, type_name: str, names: list[str]
) -> None:
    """Refuse names the object type lacks, each with the nearest it has (Assets matches names
    whatever their case)."""
    known = [a.name for a in assets.attributes(type_id)]
    folded = {name.casefold() for name in known}
    unknown = [name for name in names if name.casefold() not in folded]
    if unknown:
        what = f"an attribute of the Assets object type '{type_name}'"
        raise LayoutError(
            sync_id,
            "; ".join(unknown_name(name, what, known) for name in unknown),
            "correct the attribute names in the definition (fields[].target, key.target_field, "
            "target.options.folder.attribute), then trigger the sync again",
        )


def _read_folders(
    sync_id: str, assets: AssetsConnector, settings: Folder, type_id: str
) -> tuple[FolderLayout, int]:
    """The parent folder, and the A–Z folders already under it (found by name, never made twice)."""
    folder_attributes = assets.attributes(type_id)
    name = next(a for a in folder_attributes if a.label)
    parent = next(
        (a for a in folder_attributes if a.type == REFERENCE_TYPE and a.reference_type_id == type_id), None
    )
    if settings.alphabetical and parent is None:
        raise LayoutError(
            sync_id,
            "alphabetical folders need a folder type with a reference to its own type (a parent)",
            "add such an attribute to the folder type, or set target.options.folder.alphabetical: false",
        )
    folders = list(assets.search(f"objectTypeId = {aql_string(type_id)}"))
    wanted = settings.parent
    roots = [f for f in folders if f.key == wanted or f.label.casefold() == wanted.casefold()]
    if len(roots) != 1:
        raise LayoutError(
            sync_id,
            f"{'no' if not roots else len(roots)} folder objects are named '{wanted}'",
            "set target.options.folder.parent to the name or object key (e.g. HR-1) of exactly one folder",
        )
    root = roots[0]
    calls = 1 + max(1, math.ceil(len(folders) / AQL_PAGE_SIZE))  # the attributes, the folders
    if not settings.alphabetical or parent is None:
        return FolderLayout(type_id, name.id, None, root.key), calls
    letters = {f.label: f.key for f in folders if f.value(parent.name) == root.key}
    layout = FolderLayout(type_id, name.id, parent.id, root.key, letters)
    return layout, calls
