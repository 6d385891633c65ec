"""Where a new user asset is filed: the configured folder, or its A–Z subfolder (seed 004).

A–Z folders are made the first time a name needs one, under the configured folder, and kept in
the layout at once, so a retried apply finds them and the next run's target read finds them by
name: each is made once. A create whose answer was lost (a dropped connection, a timeout) is
looked up by name before anything else: Assets may have made the folder.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from jirasync.connectors.assets import AssetsConnector, ObjectIn
from jirasync.connectors.errors import ConnectionFailedError
from jirasync.connectors.query_literals import aql_string
from jirasync.syncs.assets_layout import FolderLayout

OTHER_INITIALS = "#"  # the folder of names that do not start with a letter A–Z


class FolderFiler:
    def __init__(
        self,
        assets: AssetsConnector,
        layout: FolderLayout,
        on_created: Callable[[], None],
    ) -> None:
        self.assets = assets
        self.layout = layout
        self.on_created = on_created
        self.created = 0  # folders this filer made: calls beyond the records' own
        # Folders whose create was lost and not found: made later, maybe; not made again this run.
        self.unsettled: dict[str, ConnectionFailedError] = {}

    def folder_for(self, name: str | None) -> str:
        """The object key of the folder an object named ``name`` goes in."""
        parent_attribute_id = self.layout.letter_parent_attribute_id
        if parent_attribute_id is None:
            return self.layout.parent_key
        letter = initial(name)
        if letter in self.unsettled:
            raise self.unsettled[letter]
        if letter not in self.layout.letters:
            body = ObjectIn(
                self.layout.type_id,
                {self.layout.name_attribute_id: [letter], parent_attribute_id: [self.layout.parent_key]},
            )
            self.created += 1
            try:
                self.layout.letters[letter] = self.assets.create_object(body).key
            except ConnectionFailedError as lost:
                made = self._made_anyway(letter)
                if made is None:  # its objects wait in pending; the next run reads the folders again
                    self.unsettled[letter] = lost
                    raise
                self.layout.letters[letter] = made
            self.on_created()
        return self.layout.letters[letter]

    def _made_anyway(self, letter: str) -> str | None:
        """The key of folder ``letter`` under the parent, if a create whose answer was lost made it."""
        query = f"objectTypeId = {aql_string(self.layout.type_id)} AND Label = {aql_string(letter)}"
        for folder in self.assets.search(query):
            if any(self.layout.parent_key in values for values in folder.attributes.values()):
                return folder.key
        return None


def initial(name: str | None) -> str:
    """A name's folder: its first letter without accents, upper case (Émile → E), or '#'."""
    first = unicodedata.normalize("NFKD", (name or "").strip()[:1])[:1].upper()
    return first if "A" <= first <= "Z" else OTHER_INITIALS
