"""Jira paging traps the sandbox does not produce on its own, scripted on a real loopback server."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from tests.connectors.scripted_server import Reply, ScriptedServer

from jirasync.connectors import VirtualClock
from jirasync.connectors.jira import JiraConnector


def user(number: int) -> dict[str, object]:
    return {
        "accountId": f"acc-{number}",
        "accountType": "atlassian",
        "displayName": f"U{number}",
        "active": True,
    }


def connect(server: ScriptedServer) -> JiraConnector:
    return JiraConnector.with_api_token(
        server.url, "bot@example.com", "token-for-paging", clock=VirtualClock()
    )


def test_a_short_users_page_before_the_end_does_not_stop_the_walk(scripted_server: ScriptedServer) -> None:
    scripted_server.script(
        "/rest/api/3/users/search",
        Reply(200, [user(n) for n in range(0, 1000) if n % 100]),  # Jira hid some users of this page
        Reply(200, [user(n) for n in range(1000, 1400)] + [user(999)]),  # short, and one seen already
        Reply(200, [user(n) for n in range(2000, 2003)]),
        Reply(200, []),
    )

    users = list(connect(scripted_server).users())

    assert len(users) == 990 + 400 + 3
    assert len({u.account_id for u in users}) == len(users)
    starts = [
        parse_qs(urlsplit(r.path).query)["startAt"] for r in scripted_server.seen("/rest/api/3/users/search")
    ]
    assert starts == [["0"], ["1000"], ["2000"], ["3000"]]


def test_issue_search_follows_tokens_dedupes_and_stops_at_is_last(scripted_server: ScriptedServer) -> None:
    def issue(number: int) -> dict[str, object]:
        return {"id": str(number), "key": f"SUP-{number}", "fields": {"summary": f"S{number}"}}

    scripted_server.script(
        "/rest/api/3/search/jql",
        Reply(200, {"issues": [issue(1), issue(2)], "nextPageToken": "t1", "isLast": False}),
        Reply(200, {"issues": [issue(2), issue(3)], "nextPageToken": "t2", "isLast": True}),
        Reply(200, {"issues": [issue(4)]}),
    )

    issues = list(connect(scripted_server).search_issues("project = SUP", ["summary"], page_size=2))

    assert [i.key for i in issues] == ["SUP-1", "SUP-2", "SUP-3"]
    bodies = [json.loads(r.body) for r in scripted_server.seen("/rest/api/3/search/jql")]
    assert bodies == [
        {"jql": "project = SUP", "fields": ["summary"], "maxResults": 2},
        {"jql": "project = SUP", "fields": ["summary"], "maxResults": 2, "nextPageToken": "t1"},
    ]


def test_issue_search_stops_when_the_token_is_absent(scripted_server: ScriptedServer) -> None:
    scripted_server.script(
        "/rest/api/3/search/jql",
        Reply(200, {"issues": [{"id": "1", "key": "SUP-1"}], "nextPageToken": "t1"}),
        Reply(200, {"issues": [{"id": "2", "key": "SUP-2"}]}),
        Reply(500, {"errorMessages": ["read past the end"]}),
    )

    assert [i.key for i in connect(scripted_server).search_issues("project = SUP", ["summary"])] == [
        "SUP-1",
        "SUP-2",
    ]
