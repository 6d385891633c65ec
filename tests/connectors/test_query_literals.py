"""Each query language's literal keeps a hostile value as data: the vendor's parser (the sandbox's
faithful copy) reads back exactly the value, and the query matches only the record holding it."""

from __future__ import annotations

import pytest

from jirasync.connectors.graph import odata_equals
from jirasync.connectors.query_literals import (
    aql_string,
    coql_string,
    jql_string,
    soql_string,
    zoho_criteria_value,
)
from jirasync.connectors.scim import scim_equals
from sandbox.vendors.assets.aql import parse_aql
from sandbox.vendors.graph.filter import parse_graph_filter
from sandbox.vendors.jira import jql
from sandbox.vendors.salesforce.soql import matches, parse_soql
from sandbox.vendors.scim.filter import parse_filter
from sandbox.vendors.zoho.coql import parse_coql
from sandbox.vendors.zoho.criteria import parse_criteria
from sandbox.vendors.zoho.metadata import MODULES

HOSTILE = [
    "o'brien@example.com",
    'say "hi"@example.com',
    "back\\slash@example.com",
    "trailing\\",
    "x' OR '1'='1",
    'x" OR objectTypeId = "1',
    "a) OR (b",
    "a,b(c):equals:d",
    "line\nbreak\ttab",
    "josé.müller+😀@bücher.de",
    "",
]
OTHER = "someone.else@example.com"


@pytest.mark.parametrize("value", HOSTILE)
def test_aql(value: str) -> None:
    query = parse_aql(f"objectTypeId = {aql_string('7')} AND {aql_string('Jira User')} = {aql_string(value)}")
    record = {"objectTypeId": ["7"], "Jira User": [value]}
    assert query(record.get)
    assert not query({**record, "Jira User": [OTHER]}.get)


@pytest.mark.parametrize("value", HOSTILE)
def test_jql(value: str) -> None:
    query = jql.parse(f"project = SUP AND summary = {jql_string(value)}")
    [group] = query.where
    assert [(c.field, c.values) for c in group] == [("project", ("SUP",)), ("summary", (value,))]


@pytest.mark.parametrize("value", HOSTILE)
def test_coql(value: str) -> None:
    query = parse_coql(f"select Email from Contacts where Email = {coql_string(value)}")
    assert query.matches({"Email": value})
    assert not query.matches({"Email": OTHER})


@pytest.mark.parametrize("value", [v for v in HOSTILE if v])  # Zoho's criteria take no empty value
def test_zoho_criteria(value: str) -> None:
    predicate = parse_criteria(f"(Email:equals:{zoho_criteria_value(value)})", MODULES["Contacts"])
    assert predicate({"Email": value})
    assert not predicate({"Email": OTHER})


@pytest.mark.parametrize("value", HOSTILE)
def test_soql(value: str) -> None:
    query = parse_soql(f"SELECT Id FROM Contact WHERE Email = {soql_string(value)} LIMIT 1")
    assert matches(query.where, {"Email": value}.get)
    assert not matches(query.where, {"Email": OTHER}.get)


@pytest.mark.parametrize("value", HOSTILE)
def test_odata(value: str) -> None:
    predicate = parse_graph_filter(odata_equals("mail", value))
    assert predicate({"mail": value})
    assert not predicate({"mail": OTHER})


@pytest.mark.parametrize("value", HOSTILE)
def test_scim(value: str) -> None:
    predicate = parse_filter(scim_equals("userName", value))
    assert predicate({"userName": value})
    assert not predicate({"userName": OTHER})
    work = parse_filter(scim_equals("emails.work", value))
    assert work({"emails": [{"type": "work", "value": value}]})
    assert not work({"emails": [{"type": "home", "value": value}]})
