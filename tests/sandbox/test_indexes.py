"""Lookups served from indexes answer as a scan of every record would, through every kind of write
(vendor action, admin edit, delete) and after a restart from disk, where the indexes are rebuilt."""

from __future__ import annotations

from pathlib import Path

import requests
from tests.sandbox.test_graph import token_form, token_url

from sandbox.testing import RunningSandbox, running_sandbox


def _search(sandbox: RunningSandbox, query: str) -> list[str]:
    credentials = sandbox.credentials["jira"]
    answer = requests.get(
        sandbox.url("/jira") + "/rest/api/3/user/search",
        params={"query": query},
        auth=(credentials["email"], credentials["api_token"]),
        timeout=30,
    )
    answer.raise_for_status()
    return [u["accountId"] for u in answer.json()]


def test_jira_user_search_follows_every_write_to_a_user(fresh_sandbox: RunningSandbox) -> None:
    added = fresh_sandbox.mutate("jira", "add_user", email="Quillon.Zebedee@northwind.example")
    account_id = added["accountId"]
    by_email, by_prefix = _search(fresh_sandbox, "quillon.zebedee@"), _search(fresh_sandbox, "quill")

    fresh_sandbox.edit(
        "jira", "users", account_id, emailAddress="q.z@northwind.example", displayName="Ada Zed"
    )
    after_edit = [_search(fresh_sandbox, q) for q in ("quillon.zebedee@", "quill", "q.z@", "zed")]
    fresh_sandbox.delete("jira", "users", account_id)

    assert by_email == by_prefix == [account_id]
    assert after_edit == [[], [], [account_id], [account_id]]
    assert _search(fresh_sandbox, "q.z@") == []


def test_jira_user_search_matches_a_hidden_email_only_in_full(fresh_sandbox: RunningSandbox) -> None:
    added = fresh_sandbox.mutate(
        "jira", "add_user", email="hidden.person@northwind.example", displayName="Hidden", emailVisible=False
    )

    assert _search(fresh_sandbox, "hidden.person@") == []
    assert _search(fresh_sandbox, "HIDDEN.person@northwind.example") == [added["accountId"]]


def test_a_query_matching_many_users_answers_them_in_the_order_of_the_listing(
    fresh_sandbox: RunningSandbox,
) -> None:
    everyone = [u for u in fresh_sandbox.records("jira", "users") if u["active"]]
    expected = [
        u["accountId"]
        for u in everyone
        if any(w.casefold().startswith("a") for w in (u.get("displayName") or "").split())
        or (u.get("emailVisible", True) and (u.get("emailAddress") or "").casefold().startswith("a"))
    ][:50]

    assert _search(fresh_sandbox, "a") == expected


def test_graph_mail_filter_follows_an_admin_edit(fresh_sandbox: RunningSandbox) -> None:
    token = requests.post(token_url(fresh_sandbox), data=token_form(fresh_sandbox), timeout=30).json()[
        "access_token"
    ]
    user = fresh_sandbox.records("graph", "users", limit=1)[0]

    def by_mail(mail: str) -> list[str]:
        answer = requests.get(
            fresh_sandbox.url("/graph") + "/v1.0/users",
            params={"$filter": f"mail eq '{mail}' or userPrincipalName in ('nobody@x.example')"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        return [u["id"] for u in answer.json()["value"]]

    before = by_mail(user["mail"].upper())
    fresh_sandbox.edit("graph", "users", user["id"], mail="renamed@northwind.example")

    assert before == [user["id"]]
    assert by_mail(user["mail"]) == []
    assert by_mail("Renamed@Northwind.example") == [user["id"]]


def test_indexes_are_rebuilt_from_disk_after_a_restart(tmp_path: Path) -> None:
    with running_sandbox(tmp_path, seed=3, users=50) as sandbox:
        account_id = sandbox.mutate("jira", "add_user", email="restart.check@northwind.example")["accountId"]
        _search(sandbox, "restart.")  # builds the index before the restart
    with running_sandbox(tmp_path, seed=3, users=50) as sandbox:
        assert _search(sandbox, "restart.check@northwind.example") == [account_id]
