"""The sandbox's SCIM filter language: every operator, precedence, value paths, URNs and dates."""

from __future__ import annotations

import pytest

from sandbox.vendors.scim.filter import ScimFilterError, parse_filter

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

BARBARA = {
    "id": "2819c223",
    "userName": "BJensen@Example.com",
    "displayName": "Babs Jensen",
    "title": "Tour Guide",
    "active": True,
    "emails": [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@home.example", "type": "home"},
    ],
    ENTERPRISE: {"employeeNumber": "701984", "department": "Tours", "manager": {"value": "26118915"}},
    "meta": {"lastModified": "2025-05-13T04:42:34Z", "version": 'W/"a330"'},
}
JOHN = {
    "id": "26118915",
    "userName": "jsmith@example.com",
    "active": False,
    "emails": [{"value": "john@home.example", "type": "home"}],
    "meta": {"lastModified": "2024-01-01T00:00:00Z", "version": 'W/"b1"'},
}


def matches(text: str) -> list[str]:
    predicate = parse_filter(text)
    return [user["id"] for user in (BARBARA, JOHN) if predicate(user)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "bjensen@example.com"', ["2819c223"]),  # userName ignores case
        ('USERNAME Eq "bjensen@example.com"', ["2819c223"]),  # so do names and operators
        ('userName ne "bjensen@example.com"', ["26118915"]),
        ('displayName co "jens"', ["2819c223"]),
        ('userName sw "jsm"', ["26118915"]),
        ('userName ew "@example.com"', ["2819c223", "26118915"]),
        ("title pr", ["2819c223"]),
        ("active eq false", ["26118915"]),
        ('id eq "2819C223"', []),  # id is case-exact
        ('emails.type eq "work"', ["2819c223"]),
        ('emails eq "john@home.example"', ["26118915"]),  # multi-valued: compared on "value"
    ],
)
def test_each_operator(text: str, expected: list[str]) -> None:
    assert matches(text) == expected


def test_last_modified_compares_as_an_instant_not_as_text() -> None:
    # Same instant written with an offset: as text it would sort before "2025-05-13T04:42:34Z".
    assert matches('meta.lastModified ge "2025-05-13T06:42:34+02:00"') == ["2819c223"]
    assert matches('meta.lastModified gt "2025-05-13T06:42:34+02:00"') == []
    assert matches('meta.lastModified lt "2025-01-01T00:00:00Z"') == ["26118915"]
    assert matches('meta.lastModified le "2024-01-01T00:00:00Z"') == ["26118915"]


def test_not_binds_tighter_than_and_which_binds_tighter_than_or() -> None:
    # or(and(active, title pr), userName sw "jsm") - with or first, John would not match.
    assert matches('active eq true and title pr or userName sw "jsm"') == ["2819c223", "26118915"]
    assert matches('active eq true and (title pr or userName sw "jsm")') == ["2819c223"]
    assert matches("not (active eq true) and userName pr") == ["26118915"]


def test_value_path_filters_the_elements_of_a_multi_valued_attribute() -> None:
    assert matches('emails[type eq "work" and value co "jensen"]') == ["2819c223"]
    assert matches('emails[type eq "work" and value co "babs"]') == []  # both must hold for one element


def test_value_path_followed_by_a_sub_attribute() -> None:
    assert matches('emails[type eq "work"].value eq "BJENSEN@example.com"') == ["2819c223"]
    assert matches('emails[type eq "home"].value eq "bjensen@example.com"') == []


def test_attributes_qualified_by_the_enterprise_urn() -> None:
    assert matches(f'{ENTERPRISE}:employeeNumber eq "701984"') == ["2819c223"]
    assert matches(f'{ENTERPRISE}:manager.value eq "26118915"') == ["2819c223"]
    assert matches(f"{ENTERPRISE}:department pr") == ["2819c223"]


def test_escaped_quotes_in_a_string() -> None:
    predicate = parse_filter(r'displayName eq "Babs \"The Guide\" Jensen"')
    assert predicate({"displayName": 'Babs "The Guide" Jensen'})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ('userName equals "x"', "unknown operator 'equals'"),
        ('userName eq "x" and', "ends too early"),
        ('(userName eq "x"', "ends too early"),
        ('userName eq "x")', r"unexpected '\)'"),
        ("userName eq bob", "expected a value"),
        ('meta.lastModified gt "yesterday"', "not a date-time"),
        ("active gt true", "gt needs a string"),
        ('userName eq "x" # y', "cannot read filter"),
    ],
)
def test_bad_filters_are_rejected_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(ScimFilterError, match=message):
        parse_filter(text)
