"""The SOQL subset the Salesforce emulator runs: parsing, matching and ordering."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from sandbox.vendors.salesforce.soql import (
    BooleanOp,
    Comparison,
    Not,
    Ordering,
    SoqlError,
    matches,
    parse_soql,
    sort_key,
)

TODAY = date(2025, 6, 15)


def check(soql: str, record: dict) -> bool:
    return matches(parse_soql(soql, TODAY).where, record.get)


def test_parses_fields_parent_fields_order_limit_and_offset() -> None:
    query = parse_soql(
        "SELECT Id, Account.Name FROM Contact WHERE Email != null ORDER BY LastName DESC NULLS FIRST, Id "
        "LIMIT 10 OFFSET 20",
        TODAY,
    )

    assert query.fields == ("Id", "Account.Name") and query.sobject == "Contact"
    assert query.where == Comparison("Email", "!=", None)
    assert query.order_by == (Ordering("LastName", True, False), Ordering("Id", False, False))
    assert (query.limit, query.offset) == (10, 20)
    assert query.referenced_fields() == ["Id", "Account.Name", "LastName", "Id", "Email"]


def test_and_binds_tighter_than_or_and_not_and_parentheses_nest() -> None:
    query = parse_soql("SELECT Id FROM Case WHERE A = 1 OR B = 2 AND NOT (C = 3 OR D = 4)", TODAY)

    assert query.where == BooleanOp(
        "OR",
        (
            Comparison("A", "=", 1),
            BooleanOp(
                "AND",
                (
                    Comparison("B", "=", 2),
                    Not(BooleanOp("OR", (Comparison("C", "=", 3), Comparison("D", "=", 4)))),
                ),
            ),
        ),
    )


def test_count_query_has_no_fields() -> None:
    assert parse_soql("SELECT COUNT() FROM Contact", TODAY).is_count


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Email = 'MIA@Example.com'", True),  # text compares case-insensitively
        ("Email LIKE 'mia@%'", True),
        ("Email LIKE 'mi_@example.com'", True),
        ("Email LIKE '%@other.com'", False),
        ("Status IN ('New', 'Working')", True),
        ("Status NOT IN ('New', 'Working')", False),
        ("Title = null", True),
        ("Title != null", False),
        ("Title > 'a'", False),  # null never compares
        ("Amount >= 10.5 AND Amount < 11", True),
        ("IsClosed = false", True),
        ("CreatedDate > 2025-01-01T00:00:00Z", True),
        ("CreatedDate < 2025-03-04T10:00:00+02:00", False),  # 08:00Z: the record is at 09:15Z
        ("ClosedOn = 2025-06-14", True),
        ("ClosedOn = YESTERDAY", True),
        ("CreatedDate > LAST_N_DAYS:30", False),
        ("Name = 'O\\'Brien'", True),
    ],
)
def test_comparisons_follow_soql(where: str, expected: bool) -> None:
    record = {
        "Email": "mia@example.com",
        "Status": "New",
        "Title": None,
        "Amount": 10.5,
        "IsClosed": False,
        "CreatedDate": "2025-03-04T09:15:00.000+0000",
        "ClosedOn": "2025-06-14",
        "Name": "O'Brien",
    }

    assert check(f"SELECT Id FROM Contact WHERE {where}", record) is expected


def test_nulls_sort_first_ascending_and_last_descending_by_default() -> None:
    values = ["b", None, "A", "c"]
    ascending = parse_soql("SELECT Id FROM Contact ORDER BY Name", TODAY).order_by[0]
    descending = parse_soql("SELECT Id FROM Contact ORDER BY Name DESC", TODAY).order_by[0]

    up = sorted(values, key=lambda v: sort_key(ascending, v))
    down = sorted(values, key=lambda v: sort_key(descending, v), reverse=True)

    assert up == [None, "A", "b", "c"]
    assert down == ["c", "b", "A", None]


@pytest.mark.parametrize(
    ("soql", "message"),
    [
        ("SELECT Id FORM Contact", "unexpected token: 'FORM'"),
        ("SELECT Id FROM", "unexpected end of query"),
        ("SELECT Id FROM Contact WHERE Email", "unexpected end of query: expected an operator"),
        ("SELECT Id FROM Contact WHERE Email = ", "unexpected end of query: expected a value"),
        ("SELECT Id FROM Contact LIMIT ten", "LIMIT needs a whole number"),
        ("SELECT Id FROM Contact OFFSET 2001", "Maximum SOQL offset allowed is 2000"),
        ("SELECT Id FROM Contact WHERE Name LIKE 3", "LIKE needs a text value"),
        ("SELECT Id FROM Contact WHERE CreatedDate > 2025-13-01", "not a valid date"),
        ("SELECT Id FROM Contact extra", "unexpected token: 'extra'"),
        ("SELECT Id FROM Contact WHERE Name = 'x' ;", "unexpected token: ';'"),
    ],
)
def test_malformed_queries_say_what_is_wrong(soql: str, message: str) -> None:
    with pytest.raises(SoqlError, match=message.replace("(", r"\(")):
        parse_soql(soql, TODAY)


def test_date_time_literals_are_instants() -> None:
    query = parse_soql("SELECT Id FROM Contact WHERE SystemModstamp > 2025-01-01T00:00:00.000+0100", TODAY)

    assert query.where == Comparison("SystemModstamp", ">", datetime(2024, 12, 31, 23, 0, tzinfo=UTC))
