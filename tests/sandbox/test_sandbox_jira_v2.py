"""REST v2 beside v3: the same issues and comments, rich text as wiki markup in v2 and ADF in v3."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from atlassian import Jira

from sandbox.testing import RunningSandbox

FIELDS = {"project": {"key": "SUP"}, "issuetype": {"name": "Task"}, "summary": "Both versions"}
RICH = {
    "type": "doc",
    "version": 1,
    "content": [
        {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Order"}]},
        {
            "type": "paragraph",
            "content": [
                {"type": "text", "text": "Ship "},
                {"type": "text", "text": "today", "marks": [{"type": "strong"}]},
                {"type": "hardBreak"},
                {"type": "text", "text": "see "},
                {
                    "type": "text",
                    "text": "the deal",
                    "marks": [{"type": "link", "attrs": {"href": "https://crm.example/1"}}],
                },
            ],
        },
        {
            "type": "bulletList",
            "content": [
                {
                    "type": "listItem",
                    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "one"}]}],
                },
                {
                    "type": "listItem",
                    "content": [
                        {"type": "paragraph", "content": [{"type": "text", "text": "two"}]},
                        {
                            "type": "orderedList",
                            "content": [
                                {
                                    "type": "listItem",
                                    "content": [
                                        {"type": "paragraph", "content": [{"type": "text", "text": "two.a"}]}
                                    ],
                                }
                            ],
                        },
                    ],
                },
            ],
        },
        {
            "type": "codeBlock",
            "attrs": {"language": "sql"},
            "content": [{"type": "text", "text": "select 1"}],
        },
        {
            "type": "blockquote",
            "content": [
                {
                    "type": "paragraph",
                    "content": [{"type": "text", "text": "quoted", "marks": [{"type": "em"}]}],
                }
            ],
        },
        {"type": "rule"},
    ],
}
RICH_AS_WIKI = (
    "h2. Order\n\nShip *today*\nsee [the deal|https://crm.example/1]\n\n* one\n* two\n*# two.a"
    "\n\n{code:sql}\nselect 1\n{code}\n\n{quote}\n_quoted_\n{quote}\n\n----"
)


@pytest.fixture
def jira(fresh_sandbox: RunningSandbox) -> httpx.Client:
    """A client of the site at the sandbox's Jira prefix; paths name the API version."""
    creds = fresh_sandbox.credentials["jira"]
    return httpx.Client(
        base_url=fresh_sandbox.url("/jira"), auth=(creds["email"], creds["api_token"]), timeout=30
    )


def _paragraphs(document: dict[str, Any]) -> list[list[dict[str, Any]]]:
    assert document["type"] == "doc"
    return [block["content"] for block in document["content"]]


def test_one_issue_reads_as_adf_in_v3_and_wiki_markup_in_v2(
    jira: httpx.Client, fresh_sandbox: RunningSandbox
) -> None:
    created = jira.post("/rest/api/3/issue", json={"fields": {**FIELDS, "description": RICH}}).json()
    in_v3 = jira.get(f"/rest/api/3/issue/{created['key']}").json()
    in_v2 = jira.get(f"/rest/api/2/issue/{created['key']}").json()
    assert in_v3["fields"]["description"] == RICH
    assert in_v2["fields"]["description"] == RICH_AS_WIKI
    assert in_v2["fields"]["environment"] is None and in_v2["fields"]["summary"] == "Both versions"
    assert in_v3["self"].endswith(f"/rest/api/3/issue/{created['id']}")
    assert in_v2["self"].endswith(f"/rest/api/2/issue/{created['id']}")
    assert in_v2["fields"]["reporter"]["self"].startswith(fresh_sandbox.url("/jira") + "/rest/api/2/user?")
    assert set(in_v2["fields"]) == set(in_v3["fields"])


def test_a_comment_written_in_v2_reads_as_adf_in_v3_and_back(
    jira: httpx.Client, fresh_sandbox: RunningSandbox
) -> None:
    key = jira.post("/rest/api/3/issue", json={"fields": FIELDS}).json()["key"]
    text = "Called the customer.\nThey agree.\n\nClosing *soon*."
    written = jira.post(f"/rest/api/2/issue/{key}/comment", json={"body": text})
    assert written.status_code == 201 and written.json()["body"] == text
    in_v3 = jira.get(f"/rest/api/3/issue/{key}/comment/{written.json()['id']}").json()
    assert _paragraphs(in_v3["body"]) == [
        [
            {"type": "text", "text": "Called the customer."},
            {"type": "hardBreak"},
            {"type": "text", "text": "They agree."},
        ],
        [{"type": "text", "text": "Closing *soon*."}],
    ]
    page = jira.get(f"/rest/api/2/issue/{key}/comment").json()
    assert [c["body"] for c in page["comments"]] == [text]
    shown = jira.get(f"/rest/api/2/issue/{key}", params={"fields": "comment"}).json()
    assert [c["body"] for c in shown["fields"]["comment"]["comments"]] == [text]

    edited = jira.put(f"/rest/api/2/issue/{key}/comment/{written.json()['id']}", json={"body": "Done."})
    assert edited.json()["body"] == "Done."
    assert _paragraphs(jira.get(in_v3["self"]).json()["body"]) == [[{"type": "text", "text": "Done."}]]


def test_v2_issue_writes_take_text_where_v3_takes_adf(
    jira: httpx.Client, fresh_sandbox: RunningSandbox
) -> None:
    created = jira.post("/rest/api/2/issue", json={"fields": {**FIELDS, "description": "First line\nsecond"}})
    assert created.status_code == 201 and "/rest/api/2/issue/" in created.json()["self"]
    key = created.json()["key"]
    stored = jira.get(f"/rest/api/3/issue/{key}", params={"fields": "description"}).json()
    assert _paragraphs(stored["fields"]["description"]) == [
        [{"type": "text", "text": "First line"}, {"type": "hardBreak"}, {"type": "text", "text": "second"}]
    ]
    edit = {"update": {"description": [{"set": "Rewritten"}]}, "fields": {"environment": "Prod"}}
    assert jira.put(f"/rest/api/2/issue/{key}", json=edit).status_code == 204
    shown = jira.get(f"/rest/api/2/issue/{key}", params={"fields": "description,environment"}).json()
    assert shown["fields"] == {"description": "Rewritten", "environment": "Prod"}
    transitions = jira.get(f"/rest/api/2/issue/{key}/transitions").json()["transitions"]
    start = next(t for t in transitions if t["to"]["name"] == "In Progress")
    moved = jira.post(
        f"/rest/api/2/issue/{key}/transitions",
        json={"transition": {"id": start["id"]}, "update": {"comment": [{"add": {"body": "Started."}}]}},
    )
    assert moved.status_code == 204
    comments = jira.get(f"/rest/api/3/issue/{key}/comment").json()["comments"]
    assert [_paragraphs(c["body"]) for c in comments] == [[[{"type": "text", "text": "Started."}]]]
    bulk = jira.post(
        "/rest/api/2/issue/bulk",
        json={"issueUpdates": [{"fields": {**FIELDS, "description": "Bulk"}}]},
    )
    (made,) = bulk.json()["issues"]
    assert jira.get(f"/rest/api/2/issue/{made['key']}").json()["fields"]["description"] == "Bulk"


def test_v2_refuses_a_document_and_v3_refuses_text(jira: httpx.Client, fresh_sandbox: RunningSandbox) -> None:
    refused = jira.post(
        "/rest/api/2/issue",
        json={"fields": {**FIELDS, "description": {"type": "doc", "version": 1, "content": []}}},
    )
    assert refused.status_code == 400 and set(refused.json()["errors"]) == {"description"}
    refused = jira.post("/rest/api/3/issue", json={"fields": {**FIELDS, "description": "text"}})
    assert refused.status_code == 400 and set(refused.json()["errors"]) == {"description"}
    key = jira.post("/rest/api/3/issue", json={"fields": FIELDS}).json()["key"]
    assert jira.post(f"/rest/api/2/issue/{key}/comment", json={"body": RICH}).status_code == 400


def test_entity_properties_are_the_clients_json_in_both_versions(
    jira: httpx.Client, fresh_sandbox: RunningSandbox
) -> None:
    value = {"body": "not a comment", "doc": RICH}
    assert jira.put("/rest/api/2/issue/SUP-1/properties/crm", json=value).status_code == 201
    assert jira.get("/rest/api/2/issue/SUP-1/properties/crm").json()["value"] == value
    assert jira.get("/rest/api/3/issue/SUP-1/properties/crm").json()["value"] == value
    shown = jira.get("/rest/api/2/issue/SUP-1", params={"properties": "crm", "fields": "summary"}).json()
    assert shown["properties"] == {"crm": value}


def test_v2_search_is_the_enhanced_search_and_the_old_one_stays_removed(
    jira: httpx.Client, fresh_sandbox: RunningSandbox
) -> None:
    key = jira.post("/rest/api/3/issue", json={"fields": {**FIELDS, "description": RICH}}).json()["key"]
    page = jira.get("/rest/api/2/search/jql", params={"jql": f"key = {key}", "fields": "description"}).json()
    assert [i["fields"]["description"] for i in page["issues"]] == [RICH_AS_WIKI]
    posted = jira.post("/rest/api/2/search/jql", json={"jql": f"key = {key}", "fields": ["description"]})
    assert posted.json()["issues"][0]["fields"]["description"] == RICH_AS_WIKI
    for method in ("GET", "POST"):
        removed = jira.request(method, "/rest/api/2/search", params={"jql": "project = SUP"})
        assert removed.status_code == 410 and "/rest/api/3/search/jql" in removed.json()["errorMessages"][0]


def test_v2_at_the_real_host_links_to_the_real_host(
    jira: httpx.Client, fresh_sandbox: RunningSandbox
) -> None:
    answer = jira.get(
        f"{fresh_sandbox.base_url}/rest/api/2/issue/SUP-1", headers={"Host": "jirasync.atlassian.net"}
    )
    assert answer.status_code == 200
    assert answer.json()["self"] == "http://jirasync.atlassian.net/rest/api/2/issue/" + answer.json()["id"]
    fields = jira.get(
        f"{fresh_sandbox.base_url}/rest/api/2/field", headers={"Host": "jirasync.atlassian.net"}
    )
    assert "customfield_10101" in {f["id"] for f in fields.json()}


def test_atlassian_python_api_on_its_default_v2_with_plain_text(fresh_sandbox: RunningSandbox) -> None:
    creds = fresh_sandbox.credentials["jira"]
    sdk = Jira(
        url=fresh_sandbox.url("/jira"), username=creds["email"], password=creds["api_token"], cloud=True
    )
    created = sdk.create_issue(fields={**FIELDS, "description": "Made by the SDK"})
    assert sdk.get_issue(created["key"])["fields"]["description"] == "Made by the SDK"
    sdk.issue_add_comment(created["key"], "A plain comment")
    assert [c["body"] for c in sdk.issue_get_comments(created["key"])["comments"]] == ["A plain comment"]
    assert "summary" in {f["id"] for f in sdk.get_all_fields()}
    assert {p["key"] for p in sdk.projects()} == {"SUP", "ENG"}
