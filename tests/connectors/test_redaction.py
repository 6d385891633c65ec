"""No secret reaches a log record or an exception text, whichever way it travels."""

from __future__ import annotations

import logging

import pytest
from tests.connectors.scripted_server import Reply, ScriptedServer

from jirasync.connectors import (
    ApiError,
    BadRequestError,
    BasicAuth,
    BearerAuth,
    ClientCredentialsAuth,
    HttpClient,
    VirtualClock,
    redact,
)

API_TOKEN = "ATATT3xFfGF0-jira-api-token-secret"
BEARER_TOKEN = "scim-bearer-token-9f8e7d6c5b4a"
CLIENT_SECRET = "graph-client-secret-Zq8~x"
ACCESS_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.payload.signature"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (
            "headers={'Authorization': 'Basic Ym90QGV4YW1wbGUuY29tOnNlY3JldA=='}",
            "Ym90QGV4YW1wbGUuY29tOnNlY3JldA==",
        ),
        ("Authorization: Bearer abc.def.ghi-long-token", "abc.def.ghi-long-token"),
        ("Authorization: Zoho-oauthtoken 1000.a1b2c3d4e5f6a7b8", "1000.a1b2c3d4e5f6a7b8"),
        ('{"access_token": "tok-123456", "expires_in": 3600}', "tok-123456"),
        ('{"refresh_token":"1000.refresh.xyz"}', "1000.refresh.xyz"),
        ("{'client_secret': 's3cr3t-value'}", "s3cr3t-value"),
        ('{"password": "hunter2-hunter2"}', "hunter2-hunter2"),
        ("GET https://x.test/users?access_token=qwerty123&top=5", "qwerty123"),
        ("grant_type=refresh_token&refresh_token=1000.zzz&client_secret=abc999", "1000.zzz"),
        ("grant_type=refresh_token&refresh_token=1000.zzz&client_secret=abc999", "abc999"),
        ("https://x.test/hook?token=hook-token-77", "hook-token-77"),
    ],
)
def test_secrets_are_masked_by_their_shape(text: str, secret: str) -> None:
    assert secret not in redact(text)
    assert "***" in redact(text)


def test_ordinary_text_is_left_alone() -> None:
    text = (
        "Basic authentication failed for GET /rest/api/3/search/jql?nextPageToken=CAEaAggD; code INVALID_DATA"
    )
    assert redact(text) == text


def test_registered_secrets_are_masked_anywhere() -> None:
    BasicAuth("bot@example.com", API_TOKEN)

    assert redact(f"the vendor echoed {API_TOKEN} back") == "the vendor echoed *** back"


def test_no_secret_in_logs_or_exception_texts_of_a_failing_run(
    scripted_server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A failing run at DEBUG: tokens in headers, query strings, token answers and echoed error bodies."""
    caplog.set_level(logging.DEBUG)
    clock = VirtualClock()
    echo = Reply(
        400,
        {
            "errorMessages": [f"bad token {API_TOKEN}", f"bearer {BEARER_TOKEN}"],
            "errors": {"password": "hunter2-hunter2", "access_token": ACCESS_TOKEN},
        },
    )
    scripted_server.script("/echo", echo)
    scripted_server.script("/flaky", Reply(503, {"message": f"retry with access_token={ACCESS_TOKEN}"}))
    scripted_server.script("/token", Reply(200, {"access_token": ACCESS_TOKEN, "expires_in": 3600}))
    scripted_server.script(
        "/graph", Reply(401, {"error": {"code": "Expired", "message": f"token {ACCESS_TOKEN}"}})
    )
    clients = [
        HttpClient("Jira", scripted_server.url, BasicAuth("bot@example.com", API_TOKEN), clock=clock),
        HttpClient("SCIM", scripted_server.url, BearerAuth(BEARER_TOKEN), clock=clock),
        HttpClient(
            "Graph",
            scripted_server.url,
            ClientCredentialsAuth(
                "Graph", f"{scripted_server.url}/token", "app-id", CLIENT_SECRET, clock=clock
            ),
            clock=clock,
        ),
    ]
    errors: list[ApiError] = []
    for client in clients:
        for path in ("/echo", "/flaky", "/graph"):
            with pytest.raises(ApiError) as raised:
                client.request(
                    "GET", path, params={"access_token": ACCESS_TOKEN, "client_secret": CLIENT_SECRET}
                )
            errors.append(raised.value)
            logging.getLogger("jirasync.connectors.http").error("run failed: %s", raised.value)

    assert any(isinstance(e, BadRequestError) for e in errors)
    assert "urllib3.connectionpool" in {r.name for r in caplog.records}  # the request lines were logged
    texts = [caplog.text, *(str(e) for e in errors), *(repr(e.args) for e in errors)]
    for secret in (API_TOKEN, BEARER_TOKEN, CLIENT_SECRET, ACCESS_TOKEN, "hunter2-hunter2"):
        for text in texts:
            assert secret not in text


def test_short_registered_values_are_not_masked_as_they_are_words() -> None:
    BearerAuth("token")

    assert redact("the bearer token is missing") == "the bearer token is missing"
