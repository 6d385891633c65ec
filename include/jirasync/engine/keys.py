"""The one spelling of an email address under which two systems' copies of it match.

Systems spell one address differently: in another case, with surrounding spaces, composed (NFC)
or decomposed (NFD). Jira, Zoho CRM, Salesforce and the identity providers compare addresses
without regard to case, but never equate distinct letters: ``straße@`` and ``strasse@`` are two
mailboxes. So a key is NFC, stripped and lower-cased; never ``casefold()``ed, which maps ß to ss
(and ﬁ to fi) and would link one person's record to another's.
"""

from __future__ import annotations

import unicodedata

import pandas as pd

# What the gate and the plan take for an address: one @, no spaces, a dot in the domain.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def email_key(text: str) -> str:
    """The match key of one address: NFC, stripped, lower-case (lowering can decompose: NFC again)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).strip().lower())


def email_keys(texts: pd.Series) -> pd.Series:
    """`email_key` of every text of a string column; missing values stay missing.

    Python's own lower() for every row: Arrow's vectorised one lowers some letters otherwise (a
    final Σ becomes σ, not ς), and one address must have one key wherever it is computed.
    """
    return texts.map(email_key, na_action="ignore").astype(texts.dtype)
