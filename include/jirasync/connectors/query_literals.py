"""Values as literals of each query language jirasync writes queries in: one function a language.

Every value from a vendor or a person (an email, an account id, an object type id, an attribute
name) goes into a query only through these, so a quote, a backslash or an operator in it is
data, never syntax. Each follows its vendor's documented escaping.
"""

from __future__ import annotations

import json


def aql_string(value: str) -> str:
    """Assets Query Language: double quotes; a backslash escapes a quote or a backslash."""
    return _backslash_quoted(value, '"')


def jql_string(value: str) -> str:
    """Jira Query Language: double quotes; a backslash escapes a quote or a backslash."""
    return _backslash_quoted(value, '"')


def coql_string(value: str) -> str:
    """Zoho COQL: single quotes; a backslash escapes a quote or a backslash."""
    return _backslash_quoted(value, "'")


def _backslash_quoted(value: str, quote: str) -> str:
    return quote + value.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


def zoho_criteria_value(value: str) -> str:
    """A value in Zoho's search ``criteria`` (``(Email:equals:…)``): ``\\``, ``(``, ``)`` and ``,`` escaped."""
    for special in ("\\", "(", ")", ","):
        value = value.replace(special, "\\" + special)
    return value


_SOQL_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}


def soql_string(value: str) -> str:
    """Salesforce SOQL: single quotes; the reserved characters as Salesforce's escape sequences."""
    return "'" + "".join(_SOQL_ESCAPES.get(char, char) for char in value) + "'"


def odata_string(value: str) -> str:
    """OData (Microsoft Graph ``$filter``): single quotes, a quote doubled."""
    return "'" + value.replace("'", "''") + "'"


def scim_string(value: str) -> str:
    """SCIM filters (RFC 7644 §3.4.2.2): a JSON string."""
    return json.dumps(value, ensure_ascii=False)
