"""One test per Jira quirk the connectors must survive (api-contracts §1 and §6)."""

from __future__ import annotations

import pytest
import requests

from sandbox.testing import RunningSandbox
from sandbox.vendors.jira.comments import ATTACHMENT_MAX_BYTES

FIELDS = {"project": {"key": "SUP"}, "issuetype": {"name": "Task"}, "summary": "Quirk"}


@pytest.fixture
def jira(fresh_sandbox: RunningSandbox) -> requests.Session:
    session = requests.Session()
    creds = fresh_sandbox.credentials["jira"]
    session.auth = (creds["email"], creds["api_token"])
    return session


def _api(sandbox: RunningSandbox, path: str) -> str:
    return f"{sandbox.url('/jira')}/rest/api/3{path}"


def _hidden_user(sandbox: RunningSandbox) -> dict:
    return next(u for u in sandbox.records("jira", "users") if not u.get("emailVisible", True))


def test_hidden_email_is_absent_but_an_exact_email_query_finds_the_user(
    jira: requests.Session, fresh_sandbox: RunningSandbox
) -> None:
    hidden = _hidden_user(fresh_sandbox)
    shown = jira.get(_api(fresh_sandbox, "/user"), params={"accountId": hidden["accountId"]}).json()
    assert "emailAddress" not in shown
    exact = jira.get(
        _api(fresh_sandbox, "/user/search"), params={"query": hidden["emailAddress"].upper()}
    ).json()
    assert [u["accountId"] for u in exact] == [hidden["accountId"]]
    prefix = jira.get(
        _api(fresh_sandbox, "/user/search"), params={"query": hidden["emailAddress"][:-3]}
    ).json()
    assert hidden["accountId"] not in [u["accountId"] for u in prefix]


def test_users_search_pages_bare_arrays_until_empty(
    jira: requests.Session, fresh_sandbox: RunningSandbox
) -> None:
    seen, start = [], 0
    while page := jira.get(
        _api(fresh_sandbox, "/users/search"), params={"startAt": start, "maxResults": 100}
    ).json():
        assert isinstance(page, list)
        seen += [u["accountId"] for u in page]
        start += len(page)
    assert len(seen) == len(set(seen)) == len(fresh_sandbox.records("jira", "users"))
    assert {"app", "customer", "atlassian"} <= {
        u["accountType"] for u in fresh_sandbox.records("jira", "users")
    }


def test_users_search_caps_a_page_at_1000(jira: requests.Session, fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.seed(7, 1200)
    page = jira.get(_api(fresh_sandbox, "/users/search"), params={"maxResults": 5000}).json()
    assert len(page) == 1000


def test_user_search_finds_by_email_a_user_without_a_display_name(
    jira: requests.Session, fresh_sandbox: RunningSandbox
) -> None:
    user = next(
        u
        for u in fresh_sandbox.records("jira", "users")
        if u["accountType"] == "atlassian" and u["active"] and u.get("emailVisible", True)
    )
    fresh_sandbox.edit("jira", "users", user["accountId"], displayName=None)
    answer = jira.get(_api(fresh_sandbox, "/user/search"), params={"query": user["emailAddress"]})
    assert answer.status_code == 200
    assert [u["accountId"] for u in answer.json()] == [user["accountId"]]


def test_user_search_returns_active_users_only(jira: requests.Session, fresh_sandbox: RunningSandbox) -> None:
    user = next(
        u for u in fresh_sandbox.records("jira", "users") if u["accountType"] == "atlassian" and u["active"]
    )
    fresh_sandbox.mutate("jira", "deactivate_user", accountId=user["accountId"])
    found = jira.get(_api(fresh_sandbox, "/user/search"), params={"accountId": user["accountId"]}).json()
    assert found == []


def test_search_jql_pages_with_next_page_token_until_is_last(
    jira: requests.Session, fresh_sandbox: RunningSandbox
) -> None:
    expected = jira.post(
        _api(fresh_sandbox, "/search/approximate-count"), json={"jql": "project = SUP"}
    ).json()
    ids, token, pages = [], None, 0
    while True:
        params = {"jql": "project = SUP", "maxResults": 7, **({"nextPageToken": token} if token else {})}
        page = jira.get(_api(fresh_sandbox, "/search/jql"), params=params).json()
        assert all(set(issue) == {"id"} for issue in page["issues"])  # fields default to id only
        ids += [i["id"] for i in page["issues"]]
        pages += 1
        if page["isLast"]:
            assert "nextPageToken" not in page
            break
        token = page["nextPageToken"]
    assert len(ids) == len(set(ids)) == expected["count"] > 7
    assert pages == -(-expected["count"] // 7)


def test_unbounded_jql_is_rejected(jira: requests.Session, fresh_sandbox: RunningSandbox) -> None:
    response = jira.get(_api(fresh_sandbox, "/search/jql"), params={"jql": "order by key"})
    assert response.status_code == 400
    assert response.json()["errorMessages"] == [
        "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
    ]


def test_jql_filters_by_status_type_key_and_updated(
    jira: requests.Session, fresh_sandbox: RunningSandbox
) -> None:
    created = jira.post(_api(fresh_sandbox, "/issue"), json={"fields": FIELDS}).json()
    jql = f'project = SUP AND issuetype = Task AND status = "To Do" AND updated >= -5m AND key in ({created["key"]})'
    page = jira.post(_api(fresh_sandbox, "/search/jql"), json={"jql": jql, "fields": ["summary"]}).json()
    assert [i["key"] for i in page["issues"]] == [created["key"]]
    old = jira.post(
        _api(fresh_sandbox, "/search/jql"), json={"jql": 'project = SUP AND updated < "2025-01-01"'}
    )
    assert old.json()["issues"] == []


def test_the_removed_search_answers_410(jira: requests.Session, fresh_sandbox: RunningSandbox) -> None:
    response = jira.get(_api(fresh_sandbox, "/search"), params={"jql": "project = SUP"})
    assert response.status_code == 410
    assert response.json()["errorMessages"][0].startswith("The requested API has been removed.")


def test_bulk_create_reports_per_element_errors(
    jira: requests.Session, fresh_sandbox: RunningSandbox
) -> None:
    bad = {"fields": {**FIELDS, "issuetype": {"id": "99999"}}}
    mixed = jira.post(_api(fresh_sandbox, "/issue/bulk"), json={"issueUpdates": [{"fields": FIELDS}, bad]})
    assert mixed.status_code == 201
    assert len(mixed.json()["issues"]) == 1
    assert mixed.json()["errors"] == [
        {
            "status": 400,
            "elementErrors": {
                "errorMessages": [],
                "errors": {"issuetype": "The issue type selected is invalid."},
            },
            "failedElementNumber": 1,
        }
    ]
    all_bad = jira.post(_api(fresh_sandbox, "/issue/bulk"), json={"issueUpdates": [bad, bad]})
    assert all_bad.status_code == 400
    assert [e["failedElementNumber"] for e in all_bad.json()["errors"]] == [0, 1]


def test_bulk_create_refuses_more_than_50(jira: requests.Session, fresh_sandbox: RunningSandbox) -> None:
    response = jira.post(_api(fresh_sandbox, "/issue/bulk"), json={"issueUpdates": [{"fields": FIELDS}] * 51})
    assert response.status_code == 400
    assert fresh_sandbox.counters()["jira POST /rest/api/3/issue/bulk"] == 1


def test_attachment_without_the_xsrf_header_is_forbidden(
    jira: requests.Session, fresh_sandbox: RunningSandbox
) -> None:
    key = jira.post(_api(fresh_sandbox, "/issue"), json={"fields": FIELDS}).json()["key"]
    files = {"file": ("a.txt", b"data", "text/plain")}
    refused = jira.post(_api(fresh_sandbox, f"/issue/{key}/attachments"), files=files)
    assert (refused.status_code, refused.text) == (403, "XSRF check failed")
    accepted = jira.post(
        _api(fresh_sandbox, f"/issue/{key}/attachments"),
        files=files,
        headers={"X-Atlassian-Token": "no-check"},
    )
    assert accepted.status_code == 200
    assert accepted.json()[0]["size"] == 4


def test_attachment_over_the_size_limit_is_413(jira: requests.Session, fresh_sandbox: RunningSandbox) -> None:
    key = jira.post(_api(fresh_sandbox, "/issue"), json={"fields": FIELDS}).json()["key"]
    response = jira.post(
        _api(fresh_sandbox, f"/issue/{key}/attachments"),
        files={"file": ("big.bin", b"x" * (ATTACHMENT_MAX_BYTES + 1))},
        headers={"X-Atlassian-Token": "no-check"},
    )
    assert response.status_code == 413


def test_deleting_an_attachment_takes_it_off_its_issue_and_updates_the_issue(
    jira: requests.Session, fresh_sandbox: RunningSandbox
) -> None:
    key = jira.post(_api(fresh_sandbox, "/issue"), json={"fields": FIELDS}).json()["key"]
    [attached] = jira.post(
        _api(fresh_sandbox, f"/issue/{key}/attachments"),
        files={"file": ("a.txt", b"data", "text/plain")},
        headers={"X-Atlassian-Token": "no-check"},
    ).json()
    issue = _api(fresh_sandbox, f"/issue/{key}")
    attached_at = jira.get(issue, params={"fields": "updated"}).json()["fields"]["updated"]

    deleted = jira.delete(_api(fresh_sandbox, f"/attachment/{attached['id']}"))

    assert (deleted.status_code, deleted.content) == (204, b"")
    fields = jira.get(issue, params={"fields": "attachment,updated"}).json()["fields"]
    assert fields["attachment"] == [] and fields["updated"] > attached_at  # JQL "updated >=" finds it
    assert jira.get(_api(fresh_sandbox, f"/attachment/{attached['id']}")).status_code == 404
    again = jira.delete(_api(fresh_sandbox, f"/attachment/{attached['id']}"))
    assert again.status_code == 404
    assert again.json()["errorMessages"] == [f"The attachment with id '{attached['id']}' does not exist."]


def test_an_illegal_transition_is_refused(jira: requests.Session, fresh_sandbox: RunningSandbox) -> None:
    key = jira.post(_api(fresh_sandbox, "/issue"), json={"fields": FIELDS}).json()["key"]
    listed = jira.get(_api(fresh_sandbox, f"/issue/{key}/transitions")).json()["transitions"]
    assert {t["id"] for t in listed} == {"11", "31"}  # from To Do: Start Progress, Done; not Reopen
    response = jira.post(_api(fresh_sandbox, f"/issue/{key}/transitions"), json={"transition": {"id": "41"}})
    assert response.status_code == 400
    assert response.json() == {
        "errorMessages": ["Transition id '41' is not valid for this issue."],
        "errors": {},
    }


def test_user_property_put_answers_201_then_200_and_enforces_limits(
    jira: requests.Session, fresh_sandbox: RunningSandbox
) -> None:
    account = {"accountId": jira.get(_api(fresh_sandbox, "/myself")).json()["accountId"]}
    url = _api(fresh_sandbox, "/user/properties/hr")
    assert jira.put(url, params=account, json={"a": 1}).status_code == 201
    assert jira.put(url, params=account, json={"a": 2}).status_code == 200
    assert (
        jira.put(_api(fresh_sandbox, "/user/properties/" + "k" * 256), params=account, json=1).status_code
        == 400
    )
    assert jira.put(url, params=account, json="x" * 32_800).status_code == 400
    assert jira.put(url, json={"a": 1}).status_code == 400  # no accountId
    assert jira.delete(url, params=account).status_code == 204
    assert jira.get(url, params=account).status_code == 404


def test_group_member_pages_hold_at_most_50(jira: requests.Session, fresh_sandbox: RunningSandbox) -> None:
    page = jira.get(
        _api(fresh_sandbox, "/group/member"), params={"groupname": "jira-software-users", "maxResults": 200}
    ).json()
    assert page["maxResults"] == 50
    assert len(page["values"]) == 50
    assert page["isLast"] is False
    assert "startAt=50" in page["nextPage"]


def test_admin_transition_follows_the_workflow(jira: requests.Session, fresh_sandbox: RunningSandbox) -> None:
    key = jira.post(_api(fresh_sandbox, "/issue"), json={"fields": FIELDS}).json()["key"]
    fresh_sandbox.mutate("jira", "transition", issue=key, to="Done")
    assert jira.get(_api(fresh_sandbox, f"/issue/{key}")).json()["fields"]["status"]["name"] == "Done"
    with pytest.raises(RuntimeError, match="cannot move to 'In Progress'"):
        fresh_sandbox.mutate("jira", "transition", issue=key, to="In Progress")


def _bulk_move(
    jira: requests.Session, sandbox: RunningSandbox, keys: list[str], transition: str
) -> requests.Response:
    inputs = [{"selectedIssueIdsOrKeys": keys, "transitionId": transition}]
    return jira.post(_api(sandbox, "/bulk/issues/transition"), json={"bulkTransitionInputs": inputs})


def test_bulk_transitions_offered_are_those_every_issue_of_the_workflow_has(
    jira: requests.Session, fresh_sandbox: RunningSandbox
) -> None:
    to_do, in_progress = (
        jira.post(_api(fresh_sandbox, "/issue"), json={"fields": FIELDS}).json()["key"] for _ in "ab"
    )
    fresh_sandbox.mutate("jira", "transition", issue=in_progress, to="In Progress")

    def offered(*keys: str) -> dict:
        url = _api(fresh_sandbox, "/bulk/issues/transition")
        (group,) = jira.get(url, params={"issueIdsOrKeys": ",".join(keys)}).json()["availableTransitions"]
        return group

    alone = offered(to_do)
    assert alone["issues"] == [to_do] and alone["isTransitionsFiltered"] is True
    assert {(t["transitionId"], t["to"]["statusName"]) for t in alone["transitions"]} == {
        (11, "In Progress"),
        (31, "Done"),
    }
    both = offered(to_do, in_progress)
    assert both["issues"] == [to_do, in_progress]
    assert [t["to"]["statusName"] for t in both["transitions"]] == ["Done"]  # the one they share


def test_a_bulk_transition_takes_one_input_per_workflow_and_at_most_1000_issues(
    jira: requests.Session, fresh_sandbox: RunningSandbox
) -> None:
    keys = [jira.post(_api(fresh_sandbox, "/issue"), json={"fields": FIELDS}).json()["key"] for _ in "ab"]
    inputs = [
        {"selectedIssueIdsOrKeys": [key], "transitionId": t}
        for key, t in zip(keys, ("11", "31"), strict=True)
    ]
    response = jira.post(
        _api(fresh_sandbox, "/bulk/issues/transition"), json={"bulkTransitionInputs": inputs}
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"message": "Every transition input must correspond to a distinct workflow."}]
    }
    assert _bulk_move(jira, fresh_sandbox, keys * 501, "11").status_code == 400
    assert _bulk_move(jira, fresh_sandbox, [*keys, "SUP-99999"], "11").json() == {
        "errors": [{"message": "Some of the issues in the issueIdsOrKeys are not valid"}]
    }
    statuses = {i["key"]: i["fields"]["status"] for i in fresh_sandbox.records("jira", "issues")}
    assert {statuses[key] for key in keys} == {"10000"}  # a refused request moves nothing


def test_a_bulk_task_runs_then_lists_the_issues_it_moved_and_those_it_could_not(
    jira: requests.Session, fresh_sandbox: RunningSandbox
) -> None:
    created = [jira.post(_api(fresh_sandbox, "/issue"), json={"fields": FIELDS}).json() for _ in "abc"]
    fresh_sandbox.mutate("jira", "transition", issue=created[2]["key"], to="Done")
    fresh_sandbox.mutate("jira", "slow_bulk_tasks", polls=2)

    response = _bulk_move(jira, fresh_sandbox, [c["key"] for c in created], "11")

    assert response.status_code == 201
    url = _api(fresh_sandbox, f"/bulk/queue/{response.json()['taskId']}")
    assert [jira.get(url).json()["status"] for _ in range(2)] == ["RUNNING", "RUNNING"]
    done = jira.get(url).json()
    assert (done["status"], done["progressPercent"], done["totalIssueCount"]) == ("COMPLETE", 100, 3)
    assert done["processedAccessibleIssues"] == [int(created[0]["id"]), int(created[1]["id"])]
    assert done["failedAccessibleIssues"] == {
        created[2]["id"]: ["Transition 11 is not available from status Done."]
    }
    unknown = jira.get(_api(fresh_sandbox, "/bulk/queue/99999"))
    assert unknown.status_code == 400 and unknown.json()["errorMessages"]


def test_unset_fields_come_back_null_or_empty_when_asked_for(
    jira: requests.Session, fresh_sandbox: RunningSandbox
) -> None:
    key = jira.post(_api(fresh_sandbox, "/issue"), json={"fields": FIELDS}).json()["key"]
    named = "assignee,priority,description,issuelinks,subtasks,labels,customfield_10101,no_such_field"
    shown = jira.get(_api(fresh_sandbox, f"/issue/{key}"), params={"fields": named}).json()["fields"]
    assert shown == {
        "assignee": None,
        "priority": None,
        "description": None,
        "issuelinks": [],
        "subtasks": [],
        "labels": [],
        "customfield_10101": None,
    }
    every = jira.get(_api(fresh_sandbox, f"/issue/{key}"), params={"fields": "*all"}).json()["fields"]
    assert {
        "assignee",
        "priority",
        "environment",
        "duedate",
        "comment",
        "attachment",
        "customfield_10108",
    } <= set(every)
    assert every["creator"]["accountId"] == every["reporter"]["accountId"]
    navigable = jira.get(
        _api(fresh_sandbox, "/search/jql"), params={"jql": f"key = {key}", "fields": "*navigable,-labels"}
    ).json()["issues"][0]["fields"]
    assert "assignee" in navigable and navigable["issuelinks"] == []
    assert not {"comment", "attachment", "labels"} & set(navigable)
