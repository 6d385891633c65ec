"""Where a new user asset is filed: the configured folder, or its A–Z subfolder (seed 004).

A–Z folders are made the first time a name needs one, under the configured folder, and kept in
the layout at once, so a retried apply finds them and the next run's target read finds them by
name: each is made once.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from jirasync.connectors.assets import AssetsConnector, ObjectIn
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

    def folder_for(self, name: str | None) -> str:
        """The object key of the folder an object named ``name`` goes in."""
        parent_attribute_id = self.layout.letter_parent_attribute_id
        if parent_attribute_id is None:
            return self.layout.parent_key
        letter = initial(name)
        if letter not in self.layout.letters:
            body = ObjectIn(
                self.layout.type_id,
                {self.layout.name_attribute_id: [letter], parent_attribute_id: [self.layout.parent_key]},
            )
            self.layout.letters[letter] = self.assets.create_object(body).key
            self.created += 1
            self.on_created()
        return self.layout.letters[letter]


def initial(name: str | None) -> str:
    """A name's folder: its first letter without accents, upper case (Émile → E), or '#'."""
    first = unicodedata.normalize("NFKD", (name or "").strip()[:1])[:1].upper()
    return first if "A" <= first <= "Z" else OTHER_INITIALS
