"""Error texts carry the vendor's own message, whatever envelope the vendor uses."""

from __future__ import annotations

import pytest
from tests.connectors.scripted_server import Reply, ScriptedServer

from jirasync.connectors import HttpClient, VirtualClock
from jirasync.connectors.errors import ApiError


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {
                "errorMessages": ["Field 'priority' is required"],
                "errors": {"summary": "You must specify a summary."},
            },
            "Field 'priority' is required; summary: You must specify a summary.",
        ),
        ({"errorMessage": "Customer exists", "i18nErrorMessage": {}}, "Customer exists"),
        (
            {"code": "INVALID_DATA", "details": {}, "message": "invalid data", "status": "error"},
            "INVALID_DATA: invalid data",
        ),
        (
            [{"message": "No such column", "errorCode": "INVALID_FIELD", "fields": []}],
            "INVALID_FIELD: No such column",
        ),
        (
            {"error": {"code": "Request_ResourceNotFound", "message": "no user"}},
            "Request_ResourceNotFound: no user",
        ),
        (
            {"error": "invalid_grant", "error_description": "authentication failure"},
            "invalid_grant: authentication failure",
        ),
        ({"schemas": [], "status": "400", "scimType": "invalidFilter", "detail": "bad filter"}, "bad filter"),
    ],
)
def test_vendor_error_message_is_in_the_exception(
    scripted_server: ScriptedServer, body: object, message: str
) -> None:
    scripted_server.script("/thing", Reply(400, body))

    with pytest.raises(ApiError) as raised:
        HttpClient("Vendor", scripted_server.url, clock=VirtualClock()).request("GET", "/thing")

    assert raised.value.detail == message
    assert f"Vendor GET /thing failed with HTTP 400: {message}" in str(raised.value)
