"""What a connected item's ``options.attachments`` says: which way files go, and how big they may be.

Kept free of pandas, as the rest of the definition, so that parsing stays light.
"""

from __future__ import annotations

from pydantic import Field

from jirasync.syncs.comments_definition import Directed

MAX_BYTES = 10 * 1024 * 1024  # seed 002: attachments sync up to 10 MB each


class AttachmentsOptions(Directed):
    """Files on the CRM record (Zoho attachments, Salesforce Attachments and Files of a Case) ↔ the
    linked issue's attachments; a Jira attachment reaches a Salesforce Case as a File.

    ``direction``: ``both``, ``to_jira`` (the record's files go to the issue) or ``to_crm``.
    ``on_delete``: a file deleted from its side ``keep``s its copy on the other side, or
    ``delete``s it too.
    ``max_bytes``: a bigger file is skipped and listed in the run's summary, never a failure; the
    vendors' own limits are larger (Jira Cloud's default 1 GB, Zoho's 20 MB), so this is the one
    that bites.
    """

    max_bytes: int = Field(default=MAX_BYTES, gt=0)
