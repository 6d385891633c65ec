"""Email keys: one key for every spelling of an address, never one key for two addresses."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from jirasync.engine.definitions import load_definition
from jirasync.engine.frames import source_frame, target_frame
from jirasync.engine.keys import email_key, email_keys
from jirasync.engine.plan import empty_base, empty_links, plan_changes

SYNC = load_definition(Path(__file__).parent / "fixtures" / "entra_to_jira.yaml")

# Local parts in scripts whose case, composition and folding differ: accents that decompose,
# ß (which casefold() turns into ss), the dotted and dotless i, Greek final sigma, ligatures.
LETTERS = st.sampled_from([*"aezAEZéÉüÜñÑßẞıİiIςσΣﬁöÖ.-_", "o\u0308", "e\u0301", "😀"])
ADDRESSES = st.builds(
    lambda local, domain: f"{''.join(local)}@{domain}",
    st.lists(LETTERS, min_size=1, max_size=12),
    st.sampled_from(["example.com", "Example.COM", "bücher.de"]),
)


@given(ADDRESSES)
def test_a_key_is_its_own_key(address: str) -> None:
    assert email_key(email_key(address)) == email_key(address)


@given(ADDRESSES, st.sampled_from(["NFC", "NFD"]), st.sampled_from(["", " ", "\t "]))
def test_composed_decomposed_and_padded_spellings_share_one_key(address: str, form: str, pad: str) -> None:
    assert email_key(pad + unicodedata.normalize(form, address) + pad) == email_key(address)


@given(ADDRESSES)
def test_case_does_not_matter_where_lowering_the_upper_case_gives_the_address_back(address: str) -> None:
    if address.upper().lower() == address.lower():
        assert email_key(address.upper()) == email_key(address)


@given(ADDRESSES, ADDRESSES)
def test_two_addresses_share_a_key_only_if_they_are_one_address_in_another_case(a: str, b: str) -> None:
    same_address = unicodedata.normalize("NFC", a).lower() == unicodedata.normalize("NFC", b).lower()
    assert (email_key(a) == email_key(b)) == same_address


@given(st.lists(st.one_of(st.none(), ADDRESSES, st.text()), max_size=20))
def test_the_column_form_gives_each_row_the_key_of_the_row(values: list[str | None]) -> None:
    keys = email_keys(pd.Series(values, dtype="string"))
    assert [None if pd.isna(k) else k for k in keys] == [None if v is None else email_key(v) for v in values]


def test_sharp_s_and_ss_are_two_people() -> None:
    source = source_frame(SYNC, [{"id": "s1", "mail": "strasse.test@example.com", "department": "Eng"}])
    target = target_frame(
        SYNC, [{"id": "t1", "emailAddress": "Straße.Test@example.com", "department": "Ops"}]
    )
    changes = plan_changes(SYNC, source, target, empty_links(), empty_base())
    assert "link" not in set(changes["kind"])
    assert "t1" not in set(changes["target_id"].dropna())


def test_a_decomposed_address_matches_its_composed_spelling() -> None:
    composed = "jos\u00e9.m\u00fcller@example.com"
    source = source_frame(SYNC, [{"id": "s1", "mail": composed, "department": "Eng"}])
    decomposed = unicodedata.normalize("NFD", composed).upper()
    target = target_frame(SYNC, [{"id": "t1", "emailAddress": decomposed, "department": "Eng"}])
    changes = plan_changes(SYNC, source, target, empty_links(), empty_base())
    assert changes[["kind", "source_id", "target_id"]].values.tolist() == [["link", "s1", "t1"]]
