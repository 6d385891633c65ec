"""The shared HTTP layer against a real loopback server: retries, refresh, limits, counts, errors."""

from __future__ import annotations

from email.utils import formatdate

import pytest
from tests.connectors.scripted_server import DROP, Reply, ScriptedServer

from jirasync.connectors import (
    AuthenticationError,
    BasicAuth,
    ClientCredentialsAuth,
    ConnectionFailedError,
    HttpClient,
    NotFoundError,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    TokenBucket,
    VirtualClock,
)

OK = Reply(200, {"ok": True})


def client_for(server: ScriptedServer, clock: VirtualClock, **kwargs: object) -> HttpClient:
    return HttpClient(
        "Jira", server.url, BasicAuth("bot@example.com", "api-token-1234"), clock=clock, **kwargs
    )


def test_retry_after_zero_waits_at_least_one_second(scripted_server: ScriptedServer) -> None:
    clock = VirtualClock()
    scripted_server.script(
        "/items", Reply(429, None, {"Retry-After": "0"}), Reply(429, None, {"Retry-After": "0"}), OK
    )

    body = client_for(scripted_server, clock).request_json("GET", "/items")

    assert body == {"ok": True}
    assert len(clock.sleeps) == 2
    assert all(wait >= 1.0 for wait in clock.sleeps)


def test_retry_after_is_a_minimum_over_the_backoff(scripted_server: ScriptedServer) -> None:
    clock = VirtualClock()
    scripted_server.script("/items", Reply(429, None, {"Retry-After": "7"}), OK)

    client_for(scripted_server, clock).request("GET", "/items")

    assert clock.sleeps == [7.0]


def test_retry_after_as_http_date(scripted_server: ScriptedServer) -> None:
    clock = VirtualClock()
    in_30_seconds = formatdate(clock.time() + 30, usegmt=True)
    scripted_server.script("/items", Reply(503, None, {"Retry-After": in_30_seconds}), OK)

    client_for(scripted_server, clock).request("GET", "/items")

    assert clock.sleeps == [30.0]


def test_backoff_grows_exponentially_with_jitter(scripted_server: ScriptedServer) -> None:
    clock = VirtualClock()
    scripted_server.script("/items", Reply(500), Reply(502), Reply(503), Reply(504), OK)

    client_for(scripted_server, clock, retry=RetryPolicy(base_delay=2.0)).request("GET", "/items")

    ceilings = [2.0, 4.0, 8.0, 16.0]
    assert len(clock.sleeps) == 4
    for wait, ceiling in zip(clock.sleeps, ceilings, strict=True):
        assert ceiling / 2 <= wait <= ceiling


def test_total_wait_is_bounded_then_a_clear_error(scripted_server: ScriptedServer) -> None:
    clock = VirtualClock()
    scripted_server.script(
        "/items", Reply(429, {"errorMessages": ["Too many requests"]}, {"Retry-After": "100"})
    )
    client = client_for(scripted_server, clock, retry=RetryPolicy(max_total_wait=250))

    with pytest.raises(RateLimitedError) as raised:
        client.request("GET", "/items")

    assert clock.sleeps == [100.0, 100.0]
    assert len(scripted_server.seen("/items")) == 3
    error = raised.value
    assert error.retryable and error.status == 429 and error.retry_after == 100.0
    message = str(error)
    assert "Jira GET /items failed with HTTP 429: Too many requests" in message
    assert "gave up after 3 attempts and 200 s of waiting" in message
    assert "retry budget is 250 s" in message


def test_attempts_are_bounded(scripted_server: ScriptedServer) -> None:
    clock = VirtualClock()
    scripted_server.script("/items", Reply(503))

    with pytest.raises(ServerError, match="gave up after 3 attempts"):
        client_for(scripted_server, clock, retry=RetryPolicy(max_attempts=3)).request("GET", "/items")

    assert len(scripted_server.seen("/items")) == 3


def test_post_is_not_repeated_after_a_500_that_may_have_applied_it(scripted_server: ScriptedServer) -> None:
    clock = VirtualClock()
    scripted_server.script("/issue", Reply(500, {"errorMessages": ["boom"]}), OK)

    with pytest.raises(ServerError) as raised:
        client_for(scripted_server, clock).request("POST", "/issue", json={"fields": {}})

    assert raised.value.retryable
    assert len(scripted_server.seen("/issue")) == 1


def test_post_is_retried_on_429_and_503_and_a_read_only_post_on_500(scripted_server: ScriptedServer) -> None:
    clock = VirtualClock()
    scripted_server.script("/issue", Reply(429), Reply(503), OK)
    scripted_server.script("/search", Reply(500), OK)
    client = client_for(scripted_server, clock)

    client.request("POST", "/issue", json={})
    client.request("POST", "/search", json={}, idempotent=True)

    assert len(scripted_server.seen("/issue")) == 3
    assert len(scripted_server.seen("/search")) == 2


def test_dropped_connection_is_retried_for_idempotent_requests_only(scripted_server: ScriptedServer) -> None:
    clock = VirtualClock()
    scripted_server.script("/items", DROP, OK)
    scripted_server.script("/issue", DROP, OK)
    client = client_for(scripted_server, clock)

    assert client.request_json("GET", "/items") == {"ok": True}
    with pytest.raises(ConnectionFailedError, match="may have been applied") as raised:
        client.request("POST", "/issue", json={})

    assert len(scripted_server.seen("/items")) == 2
    assert len(scripted_server.seen("/issue")) == 1
    assert raised.value.retryable and raised.value.status is None


def test_fatal_errors_are_not_retried_and_say_what_happened(scripted_server: ScriptedServer) -> None:
    clock = VirtualClock()
    scripted_server.script(
        "/rest/api/3/issue/SUP-9",
        Reply(404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}),
    )

    with pytest.raises(NotFoundError) as raised:
        client_for(scripted_server, clock).request(
            "GET", "/rest/api/3/issue/{key}", path_params={"key": "SUP-9"}
        )

    error = raised.value
    assert not error.retryable and error.status == 404
    assert error.endpoint == "GET /rest/api/3/issue/{key}"
    assert str(error).startswith(
        "Jira GET /rest/api/3/issue/{key} failed with HTTP 404: Issue does not exist or you do not have "
        "permission to see it."
    )
    assert clock.sleeps == []


def test_basic_auth_401_is_an_authentication_error_at_once(scripted_server: ScriptedServer) -> None:
    scripted_server.script("/myself", Reply(401, None))

    with pytest.raises(AuthenticationError, match="Check the credentials"):
        client_for(scripted_server, VirtualClock()).request("GET", "/myself")

    assert len(scripted_server.seen("/myself")) == 1


def token_endpoint(*tokens: str, expires_in: int = 3600) -> list[Reply]:
    return [
        Reply(200, {"access_token": token, "expires_in": expires_in, "token_type": "Bearer"})
        for token in tokens
    ]


def accept_only(token: str) -> object:
    def answer(request: object) -> Reply:
        if request.headers.get("Authorization") == f"Bearer {token}":  # type: ignore[attr-defined]
            return OK
        return Reply(401, {"error": {"code": "InvalidAuthenticationToken", "message": "token expired"}})

    return answer


def oauth_client(server: ScriptedServer, clock: VirtualClock) -> HttpClient:
    auth = ClientCredentialsAuth(
        "Graph", f"{server.url}/token", "client-id", "client-secret-value", clock=clock
    )
    return HttpClient("Graph", server.url, auth, clock=clock)


def test_one_token_refresh_on_401(scripted_server: ScriptedServer) -> None:
    clock = VirtualClock()
    scripted_server.script("/token", *token_endpoint("token-one", "token-two"))
    scripted_server.script("/users", accept_only("token-two"))

    assert oauth_client(scripted_server, clock).request_json("GET", "/users") == {"ok": True}

    assert len(scripted_server.seen("/token")) == 2
    assert [r.headers["Authorization"] for r in scripted_server.seen("/users")] == [
        "Bearer token-one",
        "Bearer token-two",
    ]
    form = scripted_server.seen("/token")[0].body.decode()
    assert "grant_type=client_credentials" in form and "client_secret=client-secret-value" in form


def test_a_second_401_after_the_refresh_is_an_authentication_error(scripted_server: ScriptedServer) -> None:
    clock = VirtualClock()
    scripted_server.script("/token", *token_endpoint("token-one", "token-two"))
    scripted_server.script("/users", accept_only("never"))

    with pytest.raises(AuthenticationError, match="token expired"):
        oauth_client(scripted_server, clock).request("GET", "/users")

    assert len(scripted_server.seen("/users")) == 2
    assert len(scripted_server.seen("/token")) == 2


def test_token_is_cached_until_shortly_before_expiry(scripted_server: ScriptedServer) -> None:
    clock = VirtualClock()
    scripted_server.script("/token", *token_endpoint("token-one", "token-two", expires_in=600))
    scripted_server.script("/users", OK)
    client = oauth_client(scripted_server, clock)

    client.request("GET", "/users")
    clock.sleep(500)
    client.request("GET", "/users")
    clock.sleep(60)  # now within the 60 s safety margin of expiry
    client.request("GET", "/users")

    assert [r.headers["Authorization"] for r in scripted_server.seen("/users")] == [
        "Bearer token-one",
        "Bearer token-one",
        "Bearer token-two",
    ]


def test_rejected_client_credentials_are_an_authentication_error(scripted_server: ScriptedServer) -> None:
    scripted_server.script(
        "/token",
        Reply(400, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret"}),
    )

    with pytest.raises(AuthenticationError, match="invalid_client: AADSTS7000215") as raised:
        oauth_client(scripted_server, VirtualClock()).request("GET", "/users")

    assert scripted_server.seen("/users") == []
    assert raised.value.endpoint == "POST /token"


def test_token_bucket_spaces_requests_after_the_burst() -> None:
    clock = VirtualClock()
    bucket = TokenBucket(per_second=2, burst=2, clock=clock)

    waits = [bucket.acquire() for _ in range(5)]

    assert waits == [0.0, 0.0, 0.5, 0.5, 0.5]
    clock.sleep(10)
    assert bucket.acquire() == 0.0 and bucket.acquire() == 0.0  # refilled up to the burst, not beyond


def test_client_waits_for_its_rate_limiter(scripted_server: ScriptedServer) -> None:
    clock = VirtualClock()
    scripted_server.script("/items", OK)
    client = client_for(scripted_server, clock, rate_limiter=TokenBucket(per_second=4, burst=1, clock=clock))

    for _ in range(3):
        client.request("GET", "/items")

    assert clock.sleeps == [0.25, 0.25]


def test_calls_are_counted_per_endpoint_template_retries_included(scripted_server: ScriptedServer) -> None:
    clock = VirtualClock()
    scripted_server.script("/rest/api/3/issue/SUP-1", Reply(503), OK)
    scripted_server.script("/rest/api/3/issue/a%2Fb", OK)
    scripted_server.script("/rest/api/3/users/search", OK)
    client = client_for(scripted_server, clock)

    for key in ("SUP-1", "a/b"):
        client.request("GET", "/rest/api/3/issue/{key}", path_params={"key": key})
    client.request("GET", "/rest/api/3/users/search", params={"startAt": 0, "maxResults": 1000})
    client.request(
        "GET", f"{scripted_server.url}/rest/api/3/users/search", endpoint="GET /rest/api/3/users/search"
    )

    assert client.calls.by_endpoint() == {"GET /rest/api/3/issue/{key}": 3, "GET /rest/api/3/users/search": 2}
    assert client.calls.total == 5


def test_base_path_of_the_site_is_kept(scripted_server: ScriptedServer) -> None:
    scripted_server.script("/jira/rest/api/3/myself", OK)
    client = HttpClient("Jira", f"{scripted_server.url}/jira/", clock=VirtualClock())

    assert client.request_json("GET", "/rest/api/3/myself") == {"ok": True}
