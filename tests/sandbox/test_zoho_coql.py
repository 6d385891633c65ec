"""The COQL parser: Zoho's select syntax, its comparisons, and its refusals with Zoho's codes."""

from __future__ import annotations

import pytest

from sandbox.vendors.zoho.coql import CoqlError, parse_coql

ROWS = [
    {
        "id": "1",
        "Last_Name": "Okafor",
        "Amount": 10,
        "Modified_Time": "2025-01-02T00:00:00+00:00",
        "Owner": {"name": "Pat", "id": "9"},
    },
    {
        "id": "2",
        "Last_Name": "Olsen",
        "Amount": 30,
        "Modified_Time": "2025-01-01T23:00:00-02:00",
        "Owner": {"name": "Sam", "id": "8"},
    },
    {
        "id": "3",
        "Last_Name": None,
        "Amount": 20,
        "Modified_Time": "2025-01-03T00:00:00+00:00",
        "Owner": {"name": "Pat", "id": "9"},
    },
]


def ids(text: str) -> list[str]:
    query = parse_coql(text)
    return [r["id"] for r in query.sort([r for r in ROWS if query.matches(r)])]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Amount >= 20", ["2", "3"]),
        ("Last_Name like 'o%' and Amount < 20", ["1"]),
        ("(Amount = 10 or Amount = 20) and Last_Name is not null", ["1"]),
        ("Last_Name is null", ["3"]),
        ("Amount in (10, 30)", ["1", "2"]),
        ("Amount not in (10, 30)", ["3"]),
        ("Amount between 15 and 30", ["2", "3"]),
        ("Owner.name = 'pat'", ["1", "3"]),
        ("Owner = '8'", ["2"]),
        ("Modified_Time > '2025-01-02T00:00:00+00:00'", ["2", "3"]),  # -02:00 compared by instant
    ],
)
def test_where_clauses(where: str, expected: list[str]) -> None:
    assert ids(f"select Last_Name from Deals where {where} order by id") == expected


def test_order_limit_and_offset() -> None:
    query = parse_coql("select Last_Name, Amount from Deals order by Amount desc limit 1, 2")

    assert (query.fields, query.module, query.offset, query.limit) == (["Last_Name", "Amount"], "Deals", 1, 2)
    assert ids("select Amount from Deals order by Amount desc") == ["2", "3", "1"]
    assert parse_coql("select Amount from Deals limit 5 offset 10").offset == 10


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("select from Deals", "SYNTAX_ERROR"),
        ("select Amount Deals", "SYNTAX_ERROR"),
        ("select Amount from Deals where Amount >", "SYNTAX_ERROR"),
        ("select Amount from Deals limit 2001", "LIMIT_EXCEEDED"),
        ("select Amount from Deals limit 99000, 2000", "LIMIT_EXCEEDED"),
    ],
)
def test_refusals_carry_zohos_codes(text: str, code: str) -> None:
    with pytest.raises(CoqlError) as refused:
        parse_coql(text)

    assert refused.value.code == code
