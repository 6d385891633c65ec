"""Every emulated Jira endpoint's success response validates against Atlassian's OpenAPI document."""

from __future__ import annotations

import pytest
import requests
from tests import openapi

from sandbox.testing import RunningSandbox

SPEC = "jira-platform-v3.json"
ADF = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Hi"}]}],
}


def assert_matches_spec(response: requests.Response, template: str, method: str) -> None:
    """Validate the body against the schema the spec gives for this path, method and status."""
    openapi.assert_matches_spec(
        response.json(), SPEC, f"/rest/api/3{template}", method.lower(), response.status_code
    )


@pytest.fixture(scope="module")
def jira(sandbox: RunningSandbox) -> requests.Session:
    sandbox.reset()
    session = requests.Session()
    creds = sandbox.credentials["jira"]
    session.auth = (creds["email"], creds["api_token"])
    return session


def _url(sandbox: RunningSandbox, path: str) -> str:
    return f"{sandbox.url('/jira')}/rest/api/3{path}"


def _call(
    jira: requests.Session,
    sandbox: RunningSandbox,
    method: str,
    template: str,
    path: str | None = None,
    **kwargs,
) -> requests.Response:
    response = jira.request(method, _url(sandbox, path or template), **kwargs)
    assert response.status_code < 300, response.text
    assert_matches_spec(response, template, method)
    return response


def test_user_endpoints_match_the_spec(jira: requests.Session, sandbox: RunningSandbox) -> None:
    users = _call(jira, sandbox, "GET", "/users/search", params={"maxResults": 1000}).json()
    _call(jira, sandbox, "GET", "/users", params={"maxResults": 5})
    assert {u["accountType"] for u in users} == {"atlassian", "app", "customer"}
    _call(jira, sandbox, "GET", "/user/search", params={"query": "a"})
    _call(jira, sandbox, "GET", "/user", params={"accountId": users[1]["accountId"]})
    _call(jira, sandbox, "GET", "/myself")
    _call(jira, sandbox, "GET", "/serverInfo")
    groups = _call(jira, sandbox, "GET", "/group/bulk").json()["values"]
    _call(jira, sandbox, "GET", "/group/member", params={"groupId": groups[0]["groupId"], "maxResults": 2})


def test_user_property_endpoints_match_the_spec(jira: requests.Session, sandbox: RunningSandbox) -> None:
    account = {"accountId": jira.get(_url(sandbox, "/myself")).json()["accountId"]}
    template = "/user/properties/{propertyKey}"
    _call(jira, sandbox, "PUT", template, "/user/properties/spec.check", params=account, json={"a": 1})
    _call(jira, sandbox, "PUT", template, "/user/properties/spec.check", params=account, json={"a": 2})
    _call(jira, sandbox, "GET", template, "/user/properties/spec.check", params=account)
    _call(jira, sandbox, "GET", "/user/properties", params=account)


def test_search_endpoints_match_the_spec(jira: requests.Session, sandbox: RunningSandbox) -> None:
    page = _call(
        jira, sandbox, "GET", "/search/jql", params={"jql": "project = SUP", "fields": "*all"}
    ).json()
    assert page["issues"]
    body = {"jql": "project = ENG ORDER BY updated DESC", "fields": ["summary", "status"], "maxResults": 3}
    _call(jira, sandbox, "POST", "/search/jql", json=body)
    _call(jira, sandbox, "POST", "/search/approximate-count", json={"jql": "project = ENG"})


def test_issue_endpoints_match_the_spec(jira: requests.Session, sandbox: RunningSandbox) -> None:
    fields = {"project": {"key": "SUP"}, "issuetype": {"name": "Task"}, "summary": "Spec", "description": ADF}
    issue = _call(jira, sandbox, "POST", "/issue", json={"fields": fields}).json()
    key = issue["key"]
    _call(jira, sandbox, "POST", "/issue/bulk", json={"issueUpdates": [{"fields": fields}]})
    _call(jira, sandbox, "GET", "/issue/{issueIdOrKey}", f"/issue/{key}")
    _call(
        jira,
        sandbox,
        "PUT",
        "/issue/{issueIdOrKey}",
        f"/issue/{key}",
        params={"returnIssue": "true"},
        json={"fields": {"summary": "Spec edited"}},
    )
    _call(jira, sandbox, "GET", "/issue/{issueIdOrKey}/transitions", f"/issue/{key}/transitions")
    comment = _call(
        jira, sandbox, "POST", "/issue/{issueIdOrKey}/comment", f"/issue/{key}/comment", json={"body": ADF}
    ).json()
    _call(jira, sandbox, "GET", "/issue/{issueIdOrKey}/comment", f"/issue/{key}/comment")
    _call(jira, sandbox, "GET", "/issue/{issueIdOrKey}/comment/{id}", f"/issue/{key}/comment/{comment['id']}")
    attachments = _call(
        jira,
        sandbox,
        "POST",
        "/issue/{issueIdOrKey}/attachments",
        f"/issue/{key}/attachments",
        headers={"X-Atlassian-Token": "no-check"},
        files={"file": ("notes.txt", b"hello", "text/plain")},
    ).json()
    _call(jira, sandbox, "GET", "/attachment/{id}", f"/attachment/{attachments[0]['id']}")
    with_files = _call(
        jira, sandbox, "GET", "/issue/{issueIdOrKey}", f"/issue/{key}", params={"fields": "attachment"}
    ).json()
    assert [(a["id"], a["filename"], a["mimeType"]) for a in with_files["fields"]["attachment"]] == [
        (attachments[0]["id"], "notes.txt", "text/plain")
    ]
    template = "/issue/{issueIdOrKey}/properties/{propertyKey}"
    _call(jira, sandbox, "PUT", template, f"/issue/{key}/properties/crm", json={"id": "Z1"})
    _call(jira, sandbox, "GET", template, f"/issue/{key}/properties/crm")
    _call(jira, sandbox, "GET", "/issue/{issueIdOrKey}/properties", f"/issue/{key}/properties")


def _validate(value: object, schema_name: str) -> None:
    """Validate a part of an answer (an issue's field) against one of the spec's schemas."""
    openapi.assert_valid(value, openapi.component(SPEC, schema_name), schema_name)


def test_issue_comment_and_attachment_fields_match_the_spec(
    jira: requests.Session, sandbox: RunningSandbox
) -> None:
    fields = {"project": {"key": "SUP"}, "issuetype": {"name": "Task"}, "summary": "With both"}
    key = _call(jira, sandbox, "POST", "/issue", json={"fields": fields}).json()["key"]
    comment = jira.post(_url(sandbox, f"/issue/{key}/comment"), json={"body": ADF}).json()
    jira.post(
        _url(sandbox, f"/issue/{key}/attachments"),
        headers={"X-Atlassian-Token": "no-check"},
        files={"file": ("notes.txt", b"hello", "text/plain")},
    )
    shown = _call(
        jira,
        sandbox,
        "GET",
        "/issue/{issueIdOrKey}",
        f"/issue/{key}",
        params={"fields": "attachment,comment"},
    ).json()["fields"]
    assert set(shown) == {"attachment", "comment"}
    _validate(shown["comment"], "PageOfComments")
    assert (shown["comment"]["total"], shown["comment"]["startAt"], shown["comment"]["maxResults"]) == (
        1,
        0,
        1,
    )
    assert [c["id"] for c in shown["comment"]["comments"]] == [comment["id"]]
    assert shown["comment"]["comments"][0]["body"] == ADF
    (attachment,) = shown["attachment"]
    _validate(attachment, "Attachment")
    assert (attachment["filename"], attachment["size"]) == ("notes.txt", 5)


def test_field_list_matches_the_spec_with_the_custom_fields(
    jira: requests.Session, sandbox: RunningSandbox
) -> None:
    fields = {f["id"]: f for f in _call(jira, sandbox, "GET", "/field").json()}
    assert {"summary", "description", "assignee", "priority", "labels", "comment", "attachment"} <= set(
        fields
    )
    assert fields["summary"]["schema"] == {"type": "string", "system": "summary"}
    assert fields["summary"]["custom"] is False and fields["comment"]["navigable"] is False
    amount = fields["customfield_10101"]
    assert (amount["name"], amount["custom"], amount["clauseNames"]) == (
        "Deal amount",
        True,
        ["cf[10101]", "Deal amount"],
    )
    assert amount["schema"]["customId"] == 10101 and amount["schema"]["type"] == "number"


def test_project_endpoints_match_the_spec(jira: requests.Session, sandbox: RunningSandbox) -> None:
    listed = _call(jira, sandbox, "GET", "/project").json()
    searched = _call(jira, sandbox, "GET", "/project/search").json()["values"]
    assert listed == searched and {p["key"] for p in listed} == {"SUP", "ENG"}
    _call(jira, sandbox, "GET", "/project/{projectIdOrKey}", "/project/SUP")
    _call(jira, sandbox, "GET", "/issuetype")


def test_remote_link_endpoints_match_the_spec_and_upsert_by_global_id(
    jira: requests.Session, sandbox: RunningSandbox
) -> None:
    template = "/issue/{issueIdOrKey}/remotelink"
    path = "/issue/SUP-1/remotelink"
    link = {"globalId": "crm:Deals:1", "object": {"url": "https://crm.example/1", "title": "Deal 1"}}
    created = _call(jira, sandbox, "POST", template, path, json=link)
    assert created.status_code == 201
    renamed = {**link, "object": {**link["object"], "title": "Deal 1, renamed"}}
    updated = _call(jira, sandbox, "POST", template, path, json=renamed)
    assert updated.status_code == 200 and updated.json()["id"] == created.json()["id"]
    one = _call(jira, sandbox, "GET", template, path, params={"globalId": "crm:Deals:1"}).json()
    assert one["object"]["title"] == "Deal 1, renamed"
    # Without a globalId Jira answers every link of the issue: an array of RemoteIssueLink.
    every = jira.get(_url(sandbox, path))
    assert len(every.json()) == 1
    openapi.assert_valid(every.json()[0], openapi.component(SPEC, "RemoteIssueLink"), "a remote link")
    assert jira.delete(_url(sandbox, path), params={"globalId": "crm:Deals:1"}).status_code == 204
    assert jira.get(_url(sandbox, path)).json() == []
    refused = jira.post(_url(sandbox, path), json={"object": {"url": "https://crm.example/1"}})
    assert refused.status_code == 400 and refused.json()["errors"] == {"title": "'title' is required."}


def test_remote_link_by_id_reads_replaces_and_deletes_one_link(
    jira: requests.Session, sandbox: RunningSandbox
) -> None:
    template = "/issue/{issueIdOrKey}/remotelink/{linkId}"
    links = [
        jira.post(
            _url(sandbox, "/issue/SUP-2/remotelink"),
            json={
                "globalId": f"crm:Deals:{n}",
                "object": {"url": f"https://crm.example/{n}", "title": f"D{n}"},
            },
        ).json()
        for n in (1, 2)
    ]
    first, second = (f"/issue/SUP-2/remotelink/{link['id']}" for link in links)
    one = _call(jira, sandbox, "GET", template, first).json()
    assert (one["id"], one["globalId"], one["object"]["title"]) == (links[0]["id"], "crm:Deals:1", "D1")
    replacement = {"globalId": "crm:Deals:1b", "object": {"url": "https://crm.example/1b", "title": "D1b"}}
    assert jira.put(_url(sandbox, first), json=replacement).status_code == 204
    replaced = jira.get(_url(sandbox, first)).json()
    assert (replaced["globalId"], replaced["object"]["title"]) == ("crm:Deals:1b", "D1b")
    refused = jira.put(_url(sandbox, first), json={"object": {"title": "no url"}})
    assert refused.status_code == 400 and refused.json()["errors"] == {"url": "'url' is required."}
    assert jira.get(_url(sandbox, f"/issue/SUP-3/remotelink/{links[0]['id']}")).status_code == 404
    assert jira.delete(_url(sandbox, second)).status_code == 204
    assert jira.get(_url(sandbox, second)).status_code == 404
    remaining = jira.get(_url(sandbox, "/issue/SUP-2/remotelink")).json()
    assert [link["globalId"] for link in remaining] == ["crm:Deals:1b"]


def test_create_metadata_endpoints_match_the_spec(jira: requests.Session, sandbox: RunningSandbox) -> None:
    types = _call(
        jira,
        sandbox,
        "GET",
        "/issue/createmeta/{projectIdOrKey}/issuetypes",
        "/issue/createmeta/SUP/issuetypes",
    ).json()
    task = next(t for t in types["issueTypes"] if t["name"] == "Task")
    fields = _call(
        jira,
        sandbox,
        "GET",
        "/issue/createmeta/{projectIdOrKey}/issuetypes/{issueTypeId}",
        f"/issue/createmeta/SUP/issuetypes/{task['id']}",
    ).json()["fields"]
    required = {f["fieldId"] for f in fields if f["required"] and not f["hasDefaultValue"]}
    assert required == {"summary", "issuetype", "project"}


def test_bulk_transition_endpoints_match_the_spec(jira: requests.Session, sandbox: RunningSandbox) -> None:
    fields = {"project": {"key": "SUP"}, "issuetype": {"name": "Task"}, "summary": "Bulk"}
    keys = [_call(jira, sandbox, "POST", "/issue", json={"fields": fields}).json()["key"] for _ in range(2)]
    offered = _call(
        jira, sandbox, "GET", "/bulk/issues/transition", params={"issueIdsOrKeys": ",".join(keys)}
    ).json()
    (group,) = offered["availableTransitions"]
    start = next(t for t in group["transitions"] if t["to"]["statusName"] == "In Progress")
    body = {
        "bulkTransitionInputs": [
            {"selectedIssueIdsOrKeys": keys, "transitionId": str(start["transitionId"])}
        ],
        "sendBulkNotification": False,
    }
    sandbox.mutate("jira", "slow_bulk_tasks", polls=1)
    try:
        submitted = _call(jira, sandbox, "POST", "/bulk/issues/transition", json=body)
    finally:
        sandbox.mutate("jira", "slow_bulk_tasks", polls=0)
    assert submitted.status_code == 201
    task = submitted.json()["taskId"]
    running = _call(jira, sandbox, "GET", "/bulk/queue/{taskId}", f"/bulk/queue/{task}").json()
    assert running["status"] == "RUNNING"
    done = _call(jira, sandbox, "GET", "/bulk/queue/{taskId}", f"/bulk/queue/{task}").json()
    assert (done["status"], done["totalIssueCount"], len(done["processedAccessibleIssues"])) == (
        "COMPLETE",
        2,
        2,
    )
    # The bulk routes' errors are BulkOperationErrorResponse, not the ErrorCollection of the others.
    refused = jira.get(_url(sandbox, "/bulk/issues/transition"), params={"issueIdsOrKeys": "NOPE-1"})
    assert refused.status_code == 400
    assert_matches_spec(refused, "/bulk/issues/transition", "GET")
    refused = jira.post(_url(sandbox, "/bulk/issues/transition"), json={"bulkTransitionInputs": []})
    assert refused.status_code == 400
    assert_matches_spec(refused, "/bulk/issues/transition", "POST")


def test_comment_properties_edits_and_deletes_match_the_spec(
    jira: requests.Session, sandbox: RunningSandbox
) -> None:
    fields = {"project": {"key": "SUP"}, "issuetype": {"name": "Task"}, "summary": "Comments"}
    key = _call(jira, sandbox, "POST", "/issue", json={"fields": fields}).json()["key"]
    origin = {"key": "jirasync.origin", "value": {"sync": "deals", "id": "N1"}}
    internal = {"key": "sd.public.comment", "value": {"internal": True}}
    template = "/issue/{issueIdOrKey}/comment"
    created = _call(
        jira,
        sandbox,
        "POST",
        template,
        f"/issue/{key}/comment",
        json={"body": ADF, "properties": [origin, internal]},
    ).json()
    assert created["jsdPublic"] is False  # JSM's "Comment internally"
    one = f"/issue/{key}/comment/{created['id']}"
    listed = _call(
        jira, sandbox, "GET", template, f"/issue/{key}/comment", params={"expand": "properties"}
    ).json()
    assert listed["comments"][0]["properties"] == [origin, internal]
    assert (
        "properties"
        not in _call(jira, sandbox, "GET", template, f"/issue/{key}/comment").json()["comments"][0]
    )
    stored = _call(
        jira,
        sandbox,
        "GET",
        "/comment/{commentId}/properties/{propertyKey}",
        f"/comment/{created['id']}/properties/jirasync.origin",
    ).json()
    assert stored["value"] == origin["value"]
    edited_body = {**ADF, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "edited"}]}]}
    edited = _call(
        jira, sandbox, "PUT", "/issue/{issueIdOrKey}/comment/{id}", one, json={"body": edited_body}
    ).json()
    assert edited["body"] == edited_body and edited["updated"] >= created["updated"]
    assert jira.delete(_url(sandbox, one)).status_code == 204
    assert jira.get(_url(sandbox, one)).status_code == 404
    assert jira.put(_url(sandbox, one), json={"body": "not ADF"}).status_code == 404
