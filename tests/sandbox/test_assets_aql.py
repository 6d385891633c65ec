"""The AQL subset: each operator, quoting, precedence and the error for a bad query."""

from __future__ import annotations

import pytest

from sandbox.vendors.assets.aql import AqlError, parse_aql

EMPLOYEE = {"objectType": ["Employee"], "Name": ["Mia Krystof"], "Status": ["Active"], "Job Title": []}


def matches(query: str, obj: dict[str, list[str]] = EMPLOYEE) -> bool:
    return parse_aql(query)(obj.get)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("objectType = Employee", True),
        ("objectType = employee", True),  # = is case-insensitive
        ('Name == "mia krystof"', False),  # == is case-sensitive
        ('"Name" = "Mia Krystof"', True),
        ("Name = 'Mia Krystof'", True),
        ("Status != Inactive", True),
        ("Name LIKE kry", True),
        ("Status IN (Inactive, active)", True),
        ("Status NOT IN (Active)", False),
        ('"Job Title" IS EMPTY', True),
        ("Status IS NOT EMPTY", True),
        ("objectType = Folder OR Status = Active AND Name LIKE zz", False),  # AND binds tighter
        ("(objectType = Folder OR Status = Active) AND Name LIKE mia", True),
        ("Email != x@y.z", False),  # no such attribute: != does not match either
        ("Email IS EMPTY", False),  # the type has no Email: neither empty nor not
    ],
)
def test_operator(query, expected):
    assert matches(query) is expected


@pytest.mark.parametrize("query", ["", "objectType =", "objectType Employee", "Status IN (Active", "a = b c"])
def test_bad_query_names_itself(query):
    with pytest.raises(AqlError, match="AQL"):
        parse_aql(query)
