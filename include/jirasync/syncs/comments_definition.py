"""What a connected item's ``options.comments`` says: which comments are mirrored, and how.

Kept free of pandas, as the rest of the definition, so that parsing stays light.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Directed(BaseModel):
    """A stream of a connected item (comments, attachments): the way it goes, ``both``,
    ``to_jira`` (from the CRM record to its issue) or ``to_crm``; and what a deleted origin does to
    its mirror, ``on_delete``: ``keep`` it (a person may have deleted the origin by mistake; the
    default) or ``delete`` it too."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    direction: Literal["both", "to_jira", "to_crm"] = "both"
    on_delete: Literal["keep", "delete"] = "keep"

    @property
    def to_jira(self) -> bool:
        return self.direction in ("both", "to_jira")

    @property
    def to_crm(self) -> bool:
        return self.direction in ("both", "to_crm")


class CommentsOptions(Directed):
    """CRM notes (Zoho) or case comments (Salesforce) ↔ comments on the linked Jira issue.

    ``direction``: ``both``, ``to_jira`` (CRM notes become Jira comments) or ``to_crm``.
    ``push``: ``automatic`` sends every Jira comment to the CRM; ``marked`` only those that start
    with ``marker`` (a person chooses, comment by comment; the marker is left out of the note).
    ``internal``: JSM internal comments (``jsdPublic: false``) go to the CRM too; off by default,
    as they are not meant for the customer's record.
    ``on_delete``: when an origin is deleted, ``keep`` its mirror or ``delete`` it too.
    """

    push: Literal["automatic", "marked"] = "automatic"
    marker: str = Field(default="#crm", min_length=1)
    internal: bool = False

    @model_validator(mode="after")
    def _push_needs_jira_comments_going_out(self) -> Self:
        if self.push == "marked" and self.direction == "to_jira":
            raise ValueError(
                "push: marked chooses which Jira comments go to the CRM, and direction: to_jira sends none; "
                "set direction: both or to_crm, or push: automatic"
            )
        return self
