"""Every route the sandbox serves that a vendor's OpenAPI document has answers as the document says.

The routes come from the vendors' routers (``sandbox.registry.served_routes``, what
``python -m sandbox --routes`` lists), matched to the documents' paths (``tests/openapi.py``).
Each one is walked twice with real values from the seeded world:

- a success: the call in ``WALKS``, whose status must be the one expected and documented, and
  whose body must match the document's schema for it;
- an error: the same call for a missing id (the route's first id parameter, ``999999999``), or
  without credentials when the path names no id. The vendor must say it failed (an error
  status; for Zoho also no content, or items that are all errors); a status the document lists
  must answer its schema, any other the vendor's error body (``GENERAL_ERRORS``: Zoho's
  documents list 200 alone for most operations, Jira leaves 401 out of many).

A served route that a document has and ``WALKS`` does not is a failure naming it: a new route is
covered when it is added. Routes no document has (Jira v2, Zoho's related-list metadata, every
vendor without a document here) are listed by ``--routes`` and not walked. Where the sandbox
deliberately answers otherwise than a document, or does not conform yet, ``KNOWN`` says why
(strict expected failures: fixing one makes its test fail until the entry goes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest
from tests import openapi
from tests.sandbox.test_zoho_openapi import zoho_client
from tests.specs import spec_path

from sandbox.registry import load_vendors, served_routes
from sandbox.testing import RunningSandbox

DOCUMENTS = {
    "jira": ["jira-platform-v3.json"],
    "jsm": ["jira-service-management.json"],
    "zoho": sorted(openapi.ZOHO + p.name for p in spec_path(openapi.ZOHO).glob("*.json")),
}
MISSING = "999999999"
# Path parameters that name a kind of thing rather than one of them: a missing one is no missing id.
KIND_PARAMETERS = {"module", "related_list"}
ADF = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "conformance"}]}],
}
OPT_IN = {"X-ExperimentalApi": "opt-in"}
TASK = {"project": {"key": "SUP"}, "issuetype": {"name": "Task"}, "summary": "Conformance"}
NEW_LEAD = {"Last_Name": "Okafor", "Company": "Acme"}
# Each vendor's error body, for an answer whose status the operation leaves out: a 401 to a request
# without credentials, which every route answers and many Jira operations do not list; any Zoho
# error, as Zoho's documents list 200 alone for most operations (the route's own document's
# API_Exception where it has one: each lists the messages of its own operations).
GENERAL_ERRORS = {
    "jira": ("jira-platform-v3.json", "ErrorCollection"),
    "jsm": ("jira-service-management.json", "ErrorResponse"),
    "zoho": (openapi.ZOHO + "record.json", "API_Exception"),
}


@dataclass(frozen=True)
class Route:
    vendor: str
    method: str
    served: str  # the sandbox's path template
    document: str
    documented: str  # the document's path template

    def __str__(self) -> str:
        return f"{self.vendor} {self.method} {self.served}"


@dataclass(frozen=True)
class Call:
    """One request of a walk: the real path, what goes with it, and the status it must answer."""

    path: str
    status: int = 200
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    files: dict[str, tuple[str, bytes]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    authenticated: bool = True


# Served paths the documents here lack, though a template of theirs would take them; the tests named
# walk them instead.
NOT_DOCUMENTED = {
    ("zoho", "/crm/v8/actions/watch"): "Zoho's Notifications API, which no document here has: it is no "
    "record /crm/v8/{module_api_name}/{id} (no module is called 'actions'); test_zoho_notifications walks it",
}


def _documented_routes() -> list[Route]:
    vendors = load_vendors()
    routes = []
    for vendor, names in DOCUMENTS.items():
        for method, served in served_routes(vendors[vendor]):
            if (vendor, served) in NOT_DOCUMENTED:
                continue
            found = openapi.documented_route(names, method, served)
            if found is not None:
                routes.append(Route(vendor, method, served, *found))
    return routes


ROUTES = _documented_routes()


class Site:
    """The sandbox as a client sees it: a logged-in client per vendor, and real values from its world.

    Each walk makes what it changes (an issue, a lead, a note), so the walks need no order.
    """

    def __init__(self, sandbox: RunningSandbox) -> None:
        credentials = sandbox.credentials["jira"]
        self.jira = httpx.Client(
            base_url=sandbox.url("/jira"), auth=(credentials["email"], credentials["api_token"]), timeout=60
        )
        self.zoho = zoho_client(sandbox)
        self.clients = {"jira": self.jira, "jsm": self.jira, "zoho": self.zoho}

    def close(self) -> None:
        self.jira.close()
        self.zoho.close()

    def anonymous(self, vendor: str) -> httpx.Client:
        return httpx.Client(base_url=self.clients[vendor].base_url, timeout=60)

    def ok(self, response: httpx.Response) -> Any:
        assert response.is_success, f"{response.request.method} {response.request.url}: {response.text}"
        return response.json() if response.content else None

    # Jira

    def issue(self) -> str:
        return self.ok(self.jira.post("/rest/api/3/issue", json={"fields": TASK}))["key"]

    def comment(self, key: str) -> str:
        body = {"body": ADF, "properties": [{"key": "conformance", "value": {"n": 1}}]}
        return self.ok(self.jira.post(f"/rest/api/3/issue/{key}/comment", json=body))["id"]

    def attachment(self, key: str) -> str:
        answer = self.jira.post(
            f"/rest/api/3/issue/{key}/attachments",
            headers={"X-Atlassian-Token": "no-check"},
            files={"file": ("notes.txt", b"hello", "text/plain")},
        )
        return self.ok(answer)[0]["id"]

    def issue_property(self, key: str) -> str:
        self.ok(self.jira.put(f"/rest/api/3/issue/{key}/properties/crm", json={"id": "Z1"}))
        return "crm"

    def remote_link(self, key: str) -> dict[str, Any]:
        """A new link on the issue: its ``globalId`` and the ``id`` Jira gave it."""
        link = {"globalId": "crm:Deals:1", "object": {"url": "https://crm.example/1", "title": "Deal 1"}}
        made = self.ok(self.jira.post(f"/rest/api/3/issue/{key}/remotelink", json=link))
        return {"globalId": link["globalId"], "id": str(made["id"])}

    def transition(self, key: str) -> str:
        return self.ok(self.jira.get(f"/rest/api/3/issue/{key}/transitions"))["transitions"][0]["id"]

    def bulk_transition(self) -> dict[str, Any]:
        keys = [self.issue(), self.issue()]
        offered = self.ok(
            self.jira.get("/rest/api/3/bulk/issues/transition", params={"issueIdsOrKeys": ",".join(keys)})
        )
        transition = offered["availableTransitions"][0]["transitions"][0]["transitionId"]
        inputs = [{"selectedIssueIdsOrKeys": keys, "transitionId": str(transition)}]
        return {"bulkTransitionInputs": inputs, "sendBulkNotification": False}

    def bulk_task(self) -> str:
        answer = self.jira.post("/rest/api/3/bulk/issues/transition", json=self.bulk_transition())
        return self.ok(answer)["taskId"]

    def account_id(self) -> str:
        return self.ok(self.jira.get("/rest/api/3/myself"))["accountId"]

    def user_property(self) -> tuple[str, str]:
        account = self.account_id()
        answer = self.jira.put(
            "/rest/api/3/user/properties/conformance", params={"accountId": account}, json={"a": 1}
        )
        self.ok(answer)
        return account, "conformance"

    def group_id(self) -> str:
        return self.ok(self.jira.get("/rest/api/3/group/bulk"))["values"][0]["groupId"]

    def issue_type_id(self) -> str:
        types = self.ok(self.jira.get("/rest/api/3/issue/createmeta/SUP/issuetypes"))["issueTypes"]
        return next(t["id"] for t in types if t["name"] == "Task")

    # JSM

    def desk_id(self) -> str:
        return self.ok(self.jira.get("/rest/servicedeskapi/servicedesk"))["values"][0]["id"]

    def customer(self) -> str:
        body = {"email": f"conformance-{self.issue().lower()}@example.com", "displayName": "Conformance"}
        return self.ok(self.jira.post("/rest/servicedeskapi/customer", json=body))["accountId"]

    # Zoho

    def record(self, module: str) -> str:
        page = self.zoho.get(f"/crm/v8/{module}", params={"fields": "Modified_Time", "per_page": 1})
        return self.ok(page)["data"][0]["id"]

    def lead(self) -> str:
        inserted = self.zoho.post("/crm/v8/Leads", json={"data": [NEW_LEAD]})
        return self.ok(inserted)["data"][0]["details"]["id"]

    def note(self) -> str:
        note = {
            "Note_Content": "conformance",
            "Parent_Id": {"module": {"api_name": "Cases"}, "id": self.record("Cases")},
        }
        return self.ok(self.zoho.post("/crm/v8/Notes", json={"data": [note]}))["data"][0]["details"]["id"]

    def zoho_attachment(self, case_id: str) -> str:
        answer = self.zoho.post(
            f"/crm/v8/Cases/{case_id}/Attachments", files={"file": ("trace.log", b"boom\n")}
        )
        return self.ok(answer)["data"][0]["details"]["id"]

    def case_contact(self) -> str:
        """A contact with a case: the Cases related list of it is not empty."""
        case = self.zoho.get("/crm/v8/Cases", params={"fields": "Related_To", "per_page": 1})
        return self.ok(case)["data"][0]["Related_To"]["id"]


def _issue_call(site: Site, tail: str, **options: Any) -> Call:
    return Call(f"/rest/api/3/issue/{site.issue()}{tail}", **options)


def _comment_call(site: Site, **options: Any) -> Call:
    key = site.issue()
    return Call(f"/rest/api/3/issue/{key}/comment/{site.comment(key)}", **options)


def _issue_property_call(site: Site, **options: Any) -> Call:
    key = site.issue()
    return Call(f"/rest/api/3/issue/{key}/properties/{site.issue_property(key)}", **options)


def _remote_link_call(site: Site, **options: Any) -> Call:
    key = site.issue()
    return Call(
        f"/rest/api/3/issue/{key}/remotelink",
        params={"globalId": site.remote_link(key)["globalId"]},
        **options,
    )


def _remote_link_by_id_call(site: Site, **options: Any) -> Call:
    key = site.issue()
    return Call(f"/rest/api/3/issue/{key}/remotelink/{site.remote_link(key)['id']}", **options)


def _user_property_call(site: Site, **options: Any) -> Call:
    account, key = site.user_property()
    return Call(f"/rest/api/3/user/properties/{key}", params={"accountId": account}, **options)


def _transition_call(site: Site) -> Call:
    key = site.issue()
    return Call(
        f"/rest/api/3/issue/{key}/transitions", status=204, json={"transition": {"id": site.transition(key)}}
    )


def _desk_customer_removal(site: Site) -> Call:
    desk, customer = site.desk_id(), site.customer()
    path = f"/rest/servicedeskapi/servicedesk/{desk}/customer"
    site.ok(site.jira.post(path, json={"accountIds": [customer]}, headers=OPT_IN))
    return Call(path, status=204, json={"accountIds": [customer]}, headers=OPT_IN)


def _deleted_leads_call(site: Site) -> Call:
    site.ok(site.zoho.delete("/crm/v8/Leads", params={"ids": site.lead()}))
    return Call("/crm/v8/Leads/deleted", params={"type": "all"})


def _parent_case(site: Site, note_id: str) -> str:
    note = site.ok(site.zoho.get(f"/crm/v8/Notes/{note_id}", params={"fields": "Parent_Id"}))
    return note["data"][0]["Parent_Id"]["id"]


def _noted_case(site: Site) -> str:
    """A case with a note of ours, so its Notes list is not empty."""
    return _parent_case(site, site.note())


def _zoho_user(site: Site) -> str:
    return site.ok(site.zoho.get("/crm/v8/users", params={"type": "CurrentUser"}))["users"][0]["id"]


def _record_notes_removal(site: Site) -> Call:
    note = site.note()
    return Call(f"/crm/v8/Cases/{_parent_case(site, note)}/Notes", params={"ids": note})


def _record_notes_update(site: Site) -> Call:
    note = site.note()
    return Call(
        f"/crm/v8/Cases/{_parent_case(site, note)}/Notes",
        json={"data": [{"id": note, "Note_Content": "edited"}]},
    )


def _attached_case(site: Site) -> str:
    case_id = site.record("Cases")
    site.zoho_attachment(case_id)
    return case_id


def _record_note_call(site: Site, **options: Any) -> Call:
    """One note through its parent's Notes related list."""
    note = site.note()
    return Call(f"/crm/v8/Cases/{_parent_case(site, note)}/Notes/{note}", **options)


def _zoho_attachment_call(site: Site, **options: Any) -> Call:
    case_id = site.record("Cases")
    return Call(f"/crm/v8/Cases/{case_id}/Attachments/{site.zoho_attachment(case_id)}", **options)


LEAD = {**NEW_LEAD, "Email": "n@acme.example"}
CONTACT_FIELDS = "First_Name,Last_Name,Email,Account_Name,Modified_Time,Owner"

# The success call of each walked route, by (vendor, method, served path template).
WALKS: dict[tuple[str, str, str], Callable[[Site], Call]] = {
    # Jira platform
    ("jira", "GET", "/rest/api/3/myself"): lambda s: Call("/rest/api/3/myself"),
    ("jira", "GET", "/rest/api/3/serverInfo"): lambda s: Call("/rest/api/3/serverInfo"),
    ("jira", "GET", "/rest/api/3/users"): lambda s: Call("/rest/api/3/users", params={"maxResults": "5"}),
    ("jira", "GET", "/rest/api/3/users/search"): lambda s: Call(
        "/rest/api/3/users/search", params={"maxResults": "1000"}
    ),
    ("jira", "GET", "/rest/api/3/user/search"): lambda s: Call(
        "/rest/api/3/user/search", params={"query": "a"}
    ),
    ("jira", "GET", "/rest/api/3/user"): lambda s: Call(
        "/rest/api/3/user", params={"accountId": s.account_id()}
    ),
    ("jira", "GET", "/rest/api/3/group/bulk"): lambda s: Call("/rest/api/3/group/bulk"),
    ("jira", "GET", "/rest/api/3/group/member"): lambda s: Call(
        "/rest/api/3/group/member", params={"groupId": s.group_id(), "maxResults": "2"}
    ),
    ("jira", "GET", "/rest/api/3/user/properties"): lambda s: Call(
        "/rest/api/3/user/properties", params={"accountId": s.user_property()[0]}
    ),
    ("jira", "GET", "/rest/api/3/user/properties/{propertyKey}"): _user_property_call,
    ("jira", "PUT", "/rest/api/3/user/properties/{propertyKey}"): lambda s: _user_property_call(
        s, json={"a": 2}
    ),
    ("jira", "DELETE", "/rest/api/3/user/properties/{propertyKey}"): lambda s: _user_property_call(
        s, status=204
    ),
    ("jira", "GET", "/rest/api/3/search/jql"): lambda s: Call(
        "/rest/api/3/search/jql", params={"jql": "project = SUP", "fields": "*all"}
    ),
    ("jira", "POST", "/rest/api/3/search/jql"): lambda s: Call(
        "/rest/api/3/search/jql",
        json={"jql": "project = ENG ORDER BY updated DESC", "fields": ["summary", "status"], "maxResults": 3},
    ),
    ("jira", "POST", "/rest/api/3/search/approximate-count"): lambda s: Call(
        "/rest/api/3/search/approximate-count", json={"jql": "project = ENG"}
    ),
    ("jira", "GET", "/rest/api/3/search"): lambda s: Call(
        "/rest/api/3/search", params={"jql": "project = SUP"}
    ),
    ("jira", "POST", "/rest/api/3/search"): lambda s: Call(
        "/rest/api/3/search", json={"jql": "project = SUP"}
    ),
    ("jira", "POST", "/rest/api/3/issue"): lambda s: Call(
        "/rest/api/3/issue",
        status=201,
        json={"fields": {**TASK, "description": ADF}},
    ),
    ("jira", "POST", "/rest/api/3/issue/bulk"): lambda s: Call(
        "/rest/api/3/issue/bulk",
        status=201,
        json={"issueUpdates": [{"fields": TASK}, {"fields": TASK}]},
    ),
    ("jira", "GET", "/rest/api/3/issue/{issueIdOrKey}"): lambda s: _issue_call(s, ""),
    ("jira", "PUT", "/rest/api/3/issue/{issueIdOrKey}"): lambda s: _issue_call(
        s, "", params={"returnIssue": "true"}, json={"fields": {"summary": "Edited"}}
    ),
    ("jira", "DELETE", "/rest/api/3/issue/{issueIdOrKey}"): lambda s: _issue_call(s, "", status=204),
    ("jira", "GET", "/rest/api/3/issue/{issueIdOrKey}/transitions"): lambda s: _issue_call(s, "/transitions"),
    ("jira", "POST", "/rest/api/3/issue/{issueIdOrKey}/transitions"): lambda s: _transition_call(s),
    ("jira", "GET", "/rest/api/3/issue/{issueIdOrKey}/comment"): lambda s: _issue_call(s, "/comment"),
    ("jira", "POST", "/rest/api/3/issue/{issueIdOrKey}/comment"): lambda s: _issue_call(
        s, "/comment", status=201, json={"body": ADF}
    ),
    ("jira", "GET", "/rest/api/3/issue/{issueIdOrKey}/comment/{commentId}"): _comment_call,
    ("jira", "PUT", "/rest/api/3/issue/{issueIdOrKey}/comment/{commentId}"): lambda s: _comment_call(
        s, json={"body": ADF}
    ),
    ("jira", "DELETE", "/rest/api/3/issue/{issueIdOrKey}/comment/{commentId}"): lambda s: _comment_call(
        s, status=204
    ),
    ("jira", "GET", "/rest/api/3/comment/{commentId}/properties/{propertyKey}"): lambda s: Call(
        f"/rest/api/3/comment/{s.comment(s.issue())}/properties/conformance"
    ),
    ("jira", "POST", "/rest/api/3/issue/{issueIdOrKey}/attachments"): lambda s: _issue_call(
        s,
        "/attachments",
        headers={"X-Atlassian-Token": "no-check"},
        files={"file": ("notes.txt", b"hello")},
    ),
    ("jira", "GET", "/rest/api/3/attachment/{attachmentId}"): lambda s: Call(
        f"/rest/api/3/attachment/{s.attachment(s.issue())}"
    ),
    ("jira", "DELETE", "/rest/api/3/attachment/{attachmentId}"): lambda s: Call(
        f"/rest/api/3/attachment/{s.attachment(s.issue())}", status=204
    ),
    ("jira", "GET", "/rest/api/3/attachment/content/{attachmentId}"): lambda s: Call(
        f"/rest/api/3/attachment/content/{s.attachment(s.issue())}"
    ),
    ("jira", "GET", "/rest/api/3/issue/{issueIdOrKey}/properties"): lambda s: _issue_call(s, "/properties"),
    ("jira", "GET", "/rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}"): _issue_property_call,
    ("jira", "PUT", "/rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}"): lambda s: _issue_call(
        s, "/properties/crm", status=201, json={"id": "Z1"}
    ),
    ("jira", "DELETE", "/rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}"): lambda s: (
        _issue_property_call(s, status=204)
    ),
    ("jira", "GET", "/rest/api/3/issue/{issueIdOrKey}/remotelink"): _remote_link_call,
    ("jira", "POST", "/rest/api/3/issue/{issueIdOrKey}/remotelink"): lambda s: _issue_call(
        s,
        "/remotelink",
        status=201,
        json={"globalId": "crm:Deals:2", "object": {"url": "https://crm.example/2", "title": "Deal 2"}},
    ),
    ("jira", "DELETE", "/rest/api/3/issue/{issueIdOrKey}/remotelink"): lambda s: _remote_link_call(
        s, status=204
    ),
    ("jira", "GET", "/rest/api/3/project/search"): lambda s: Call("/rest/api/3/project/search"),
    ("jira", "GET", "/rest/api/3/project"): lambda s: Call("/rest/api/3/project"),
    ("jira", "GET", "/rest/api/3/field"): lambda s: Call("/rest/api/3/field"),
    ("jira", "GET", "/rest/api/3/issue/{issueIdOrKey}/remotelink/{linkId}"): _remote_link_by_id_call,
    ("jira", "PUT", "/rest/api/3/issue/{issueIdOrKey}/remotelink/{linkId}"): lambda s: (
        _remote_link_by_id_call(
            s,
            status=204,
            json={"globalId": "crm:Deals:1", "object": {"url": "https://crm.example/1", "title": "D"}},
        )
    ),
    ("jira", "DELETE", "/rest/api/3/issue/{issueIdOrKey}/remotelink/{linkId}"): lambda s: (
        _remote_link_by_id_call(s, status=204)
    ),
    ("jira", "GET", "/rest/api/3/project/{projectIdOrKey}"): lambda s: Call("/rest/api/3/project/SUP"),
    ("jira", "GET", "/rest/api/3/issuetype"): lambda s: Call("/rest/api/3/issuetype"),
    ("jira", "GET", "/rest/api/3/issue/createmeta/{projectIdOrKey}/issuetypes"): lambda s: Call(
        "/rest/api/3/issue/createmeta/SUP/issuetypes"
    ),
    ("jira", "GET", "/rest/api/3/issue/createmeta/{projectIdOrKey}/issuetypes/{issueTypeId}"): lambda s: Call(
        f"/rest/api/3/issue/createmeta/SUP/issuetypes/{s.issue_type_id()}"
    ),
    ("jira", "GET", "/rest/api/3/bulk/issues/transition"): lambda s: Call(
        "/rest/api/3/bulk/issues/transition", params={"issueIdsOrKeys": f"{s.issue()},{s.issue()}"}
    ),
    ("jira", "POST", "/rest/api/3/bulk/issues/transition"): lambda s: Call(
        "/rest/api/3/bulk/issues/transition", status=201, json=s.bulk_transition()
    ),
    ("jira", "GET", "/rest/api/3/bulk/queue/{taskId}"): lambda s: Call(
        f"/rest/api/3/bulk/queue/{s.bulk_task()}"
    ),
    # Jira Service Management
    ("jsm", "POST", "/rest/servicedeskapi/customer"): lambda s: Call(
        "/rest/servicedeskapi/customer", status=201, json={"email": "walk@example.com", "displayName": "Walk"}
    ),
    ("jsm", "GET", "/rest/servicedeskapi/servicedesk"): lambda s: Call("/rest/servicedeskapi/servicedesk"),
    ("jsm", "GET", "/rest/servicedeskapi/servicedesk/{serviceDeskId}/customer"): lambda s: Call(
        f"/rest/servicedeskapi/servicedesk/{s.desk_id()}/customer", headers=OPT_IN
    ),
    ("jsm", "POST", "/rest/servicedeskapi/servicedesk/{serviceDeskId}/customer"): lambda s: Call(
        f"/rest/servicedeskapi/servicedesk/{s.desk_id()}/customer",
        status=204,
        json={"accountIds": [s.customer()]},
        headers=OPT_IN,
    ),
    ("jsm", "DELETE", "/rest/servicedeskapi/servicedesk/{serviceDeskId}/customer"): lambda s: (
        _desk_customer_removal(s)
    ),
    ("jsm", "GET", "/rest/servicedeskapi/assets/workspace"): lambda s: Call(
        "/rest/servicedeskapi/assets/workspace"
    ),
    # Zoho CRM
    ("zoho", "GET", "/crm/v8/{module}"): lambda s: Call(
        "/crm/v8/Contacts", params={"fields": CONTACT_FIELDS, "per_page": "5"}
    ),
    ("zoho", "POST", "/crm/v8/{module}"): lambda s: Call("/crm/v8/Leads", json={"data": [NEW_LEAD]}),
    ("zoho", "PUT", "/crm/v8/{module}"): lambda s: Call(
        "/crm/v8/Leads", json={"data": [{"id": s.lead(), "Lead_Status": "Qualified"}]}
    ),
    ("zoho", "DELETE", "/crm/v8/{module}"): lambda s: Call("/crm/v8/Leads", params={"ids": s.lead()}),
    ("zoho", "GET", "/crm/v8/{module}/{record_id}"): lambda s: Call(
        f"/crm/v8/Contacts/{s.record('Contacts')}"
    ),
    ("zoho", "PUT", "/crm/v8/{module}/{record_id}"): lambda s: Call(
        f"/crm/v8/Leads/{s.lead()}", json={"data": [{"Phone": "+1 555 0100"}]}
    ),
    ("zoho", "DELETE", "/crm/v8/{module}/{record_id}"): lambda s: Call(f"/crm/v8/Leads/{s.lead()}"),
    ("zoho", "POST", "/crm/v8/{module}/upsert"): lambda s: Call(
        "/crm/v8/Leads/upsert", json={"data": [LEAD], "duplicate_check_fields": ["Email"]}
    ),
    ("zoho", "GET", "/crm/v8/{module}/search"): lambda s: Call(
        "/crm/v8/Contacts/search", params={"criteria": "(Last_Name:starts_with:a)"}
    ),
    ("zoho", "GET", "/crm/v8/{module}/deleted"): lambda s: _deleted_leads_call(s),
    ("zoho", "GET", "/crm/v8/{module}/{record_id}/{related_list}"): lambda s: Call(
        f"/crm/v8/Contacts/{s.case_contact()}/Cases", params={"fields": "Subject,Status"}
    ),
    ("zoho", "GET", "/crm/v8/{module}/{record_id}/Notes"): lambda s: Call(
        f"/crm/v8/Cases/{_noted_case(s)}/Notes", params={"fields": "Note_Title,Note_Content"}
    ),
    ("zoho", "GET", "/crm/v8/Deals/{deal_id}/Stage_History"): lambda s: Call(
        f"/crm/v8/Deals/{s.record('Deals')}/Stage_History", params={"fields": "Stage,Amount,Modified_Time"}
    ),
    ("zoho", "GET", "/crm/v8/Deals/{deal_id}/Contact_Roles"): lambda s: Call(
        f"/crm/v8/Deals/{s.record('Deals')}/Contact_Roles", params={"fields": "Last_Name,Email"}
    ),
    ("zoho", "GET", "/crm/v8/Notes"): lambda s: Call(
        "/crm/v8/Notes", params={"fields": "Note_Title", "per_page": "10"}
    ),
    ("zoho", "POST", "/crm/v8/Notes"): lambda s: Call(
        "/crm/v8/Notes",
        json={
            "data": [
                {
                    "Note_Content": "new",
                    "Parent_Id": {"module": {"api_name": "Cases"}, "id": s.record("Cases")},
                }
            ]
        },
    ),
    ("zoho", "GET", "/crm/v8/Notes/{note_id}"): lambda s: Call(f"/crm/v8/Notes/{s.note()}"),
    ("zoho", "PUT", "/crm/v8/Notes/{note_id}"): lambda s: Call(
        f"/crm/v8/Notes/{s.note()}", json={"data": [{"Note_Content": "edited"}]}
    ),
    ("zoho", "DELETE", "/crm/v8/Notes/{note_id}"): lambda s: Call(f"/crm/v8/Notes/{s.note()}"),
    ("zoho", "GET", "/crm/v8/{module}/{record_id}/Attachments"): lambda s: Call(
        f"/crm/v8/Cases/{_attached_case(s)}/Attachments", params={"fields": "id,File_Name,Size"}
    ),
    ("zoho", "POST", "/crm/v8/{module}/{record_id}/Attachments"): lambda s: Call(
        f"/crm/v8/Cases/{s.record('Cases')}/Attachments", files={"file": ("trace.log", b"boom\n")}
    ),
    ("zoho", "GET", "/crm/v8/{module}/{record_id}/Attachments/{attachment_id}"): _zoho_attachment_call,
    ("zoho", "DELETE", "/crm/v8/{module}/{record_id}/Attachments/{attachment_id}"): _zoho_attachment_call,
    ("zoho", "POST", "/crm/v8/coql"): lambda s: Call(
        "/crm/v8/coql",
        json={"select_query": "select Last_Name, Email from Contacts where Last_Name is not null limit 0, 5"},
    ),
    ("zoho", "GET", "/crm/v8/settings/modules"): lambda s: Call("/crm/v8/settings/modules"),
    ("zoho", "GET", "/crm/v8/users"): lambda s: Call("/crm/v8/users", params={"type": "AllUsers"}),
    ("zoho", "GET", "/crm/v8/users/{user_id}"): lambda s: Call(f"/crm/v8/users/{_zoho_user(s)}"),
    ("zoho", "PUT", "/crm/v8/Notes"): lambda s: Call(
        "/crm/v8/Notes", json={"data": [{"id": s.note(), "Note_Content": "edited"}]}
    ),
    ("zoho", "DELETE", "/crm/v8/Notes"): lambda s: Call("/crm/v8/Notes", params={"ids": s.note()}),
    ("zoho", "DELETE", "/crm/v8/{module}/{record_id}/Notes"): lambda s: _record_notes_removal(s),
    ("zoho", "PUT", "/crm/v8/{module}/{record_id}/Notes"): lambda s: _record_notes_update(s),
    ("zoho", "GET", "/crm/v8/{module}/{record_id}/Notes/{note_id}"): _record_note_call,
    ("zoho", "PUT", "/crm/v8/{module}/{record_id}/Notes/{note_id}"): lambda s: _record_note_call(
        s, json={"data": [{"Note_Content": "edited"}]}
    ),
    ("zoho", "DELETE", "/crm/v8/{module}/{record_id}/Notes/{note_id}"): _record_note_call,
    ("zoho", "GET", "/crm/v8/settings/modules/{api_name}"): lambda s: Call("/crm/v8/settings/modules/Cases"),
    ("zoho", "GET", "/crm/v8/settings/fields"): lambda s: Call(
        "/crm/v8/settings/fields", params={"module": "Contacts"}
    ),
}


# (walk, route) → why the sandbox does not answer as the document says: strict expected failures.
KNOWN: dict[tuple[str, str], str] = {
    (
        "success",
        "zoho PUT /crm/v8/{module}/{record_id}/Notes",
    ): "a note written through its parent's Notes list answers as the Notes API does "
    "(notes.json: record updated/deleted); related_records.json, the document of the path, says relation added/removed",
    (
        "success",
        "zoho DELETE /crm/v8/{module}/{record_id}/Notes",
    ): "a note written through its parent's Notes list answers as the Notes API does "
    "(notes.json: record updated/deleted); related_records.json, the document of the path, says relation added/removed",
    (
        "success",
        "zoho PUT /crm/v8/{module}/{record_id}/Notes/{note_id}",
    ): "a note written through its parent's Notes list answers as the Notes API does "
    "(notes.json: record updated/deleted); related_records.json, the document of the path, says relation added/removed",
    (
        "success",
        "zoho DELETE /crm/v8/{module}/{record_id}/Notes/{note_id}",
    ): "a note written through its parent's Notes list answers as the Notes API does "
    "(notes.json: record updated/deleted); related_records.json, the document of the path, says relation added/removed",
    ("success", "jira GET /rest/api/3/search"): "Jira Cloud removed it (CHANGE-2046) and answers 410, "
    "as the sandbox does; the document still lists it, deprecated",
    ("success", "jira POST /rest/api/3/search"): "Jira Cloud removed it (CHANGE-2046) and answers 410, "
    "as the sandbox does; the document still lists it, deprecated",
    ("error", "jira GET /rest/api/3/bulk/issues/transition"): "the bulk API documents its 401 as "
    "BulkOperationErrorResponse; the sandbox answers every Jira 401 with ErrorCollection "
    "(Vendor.unauthorized knows no route)",
    ("error", "jira POST /rest/api/3/bulk/issues/transition"): "the bulk API documents its 401 as "
    "BulkOperationErrorResponse; the sandbox answers every Jira 401 with ErrorCollection "
    "(Vendor.unauthorized knows no route)",
    ("error", "jira GET /rest/api/3/bulk/queue/{taskId}"): "an unknown task answers the document's "
    "own 400 example (errorMessages, httpStatusCode), which its schema BulkOperationErrorResponse "
    "(additionalProperties: false) refuses",
    ("error", "jira PUT /rest/api/3/user/properties/{propertyKey}"): "a property of an account that "
    "does not exist is stored (201); Jira answers 404, the user is not found",
    ("error", "zoho GET /crm/v8/{module}/{record_id}"): "a missing record answers 204 with no body, "
    "which record.json does not list (it lists 200 alone)",
}


def _error_call(route: Route, success: Call) -> Call:
    """The success call for a missing id (the first id parameter of the path), or without
    credentials when the path names no id."""
    template, path = route.served.strip("/").split("/"), success.path.strip("/").split("/")
    for position, segment in enumerate(template):
        if segment.startswith("{") and segment[1:-1] not in KIND_PARAMETERS:
            path[position] = MISSING
            return replace(success, path="/" + "/".join(path))
    return replace(success, authenticated=False)


def _send(site: Site, route: Route, call: Call) -> httpx.Response:
    client = site.clients[route.vendor] if call.authenticated else site.anonymous(route.vendor)
    try:
        return client.request(
            route.method,
            call.path,
            params=call.params,
            json=call.json,
            files=call.files,
            headers=call.headers,
        )
    finally:
        if not call.authenticated:
            client.close()


def _body(response: httpx.Response) -> Any:
    return (
        response.json() if response.headers.get("content-type", "").startswith("application/json") else None
    )


@pytest.fixture
def site(fresh_sandbox: RunningSandbox) -> Iterator[Site]:
    site = Site(fresh_sandbox)
    yield site
    site.close()


def _walks(kind: str) -> list[Any]:
    return [
        pytest.param(
            route,
            id=str(route),
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN[kind, str(route)])]
            if (kind, str(route)) in KNOWN
            else [],
        )
        for route in ROUTES
    ]


def _success_call(route: Route, site: Site) -> Call:
    make = WALKS.get((route.vendor, route.method, route.served))
    if make is None:
        pytest.fail(f"{route} is {route.documented} in {route.document} but not walked: add it to WALKS")
    return make(site)


@pytest.mark.parametrize("route", _walks("success"))
def test_success_answers_as_documented(site: Site, route: Route) -> None:
    call = _success_call(route, site)

    answer = _send(site, route, call)

    assert answer.status_code == call.status, answer.text
    documented = openapi.response(route.document, route.documented, route.method.lower(), answer.status_code)
    assert documented is not None, (
        f"{route.document} lists no {answer.status_code} for {route.method} {route.documented}"
    )
    schema = openapi.response_schema(
        route.document, route.documented, route.method.lower(), answer.status_code
    )
    if schema is not None:
        openapi.assert_valid(_body(answer), schema, f"{route} ({answer.status_code})")


def _general_error(route: Route) -> dict[str, Any]:
    name, schema = GENERAL_ERRORS[route.vendor]
    if schema in openapi.document(route.document).get("components", {}).get("schemas", {}):
        name = route.document
    return openapi.component(name, schema)


def _failed(route: Route, answer: httpx.Response) -> bool:
    """Whether the vendor says the request failed: an error status, or Zoho's own ways, no content
    or a 2xx whose every item is an error."""
    if answer.status_code >= 400:
        return True
    if route.vendor != "zoho":
        return False
    if answer.status_code == 204:
        return True
    items = (_body(answer) or {}).get("data") or []
    return bool(items) and all(isinstance(i, dict) and i.get("status") == "error" for i in items)


@pytest.mark.parametrize("route", _walks("error"))
def test_error_answers_as_documented(site: Site, route: Route) -> None:
    """A documented status answers its documented body, any other the vendor's error body."""
    success = _success_call(route, site)
    call = _error_call(route, success)
    method = route.method.lower()

    answer = _send(site, route, call)

    assert _failed(route, answer), f"{call.path} answered as a success: {answer.status_code} {answer.text}"
    if openapi.response(route.document, route.documented, method, answer.status_code) is not None:
        schema = openapi.response_schema(
            route.document, route.documented, method, answer.status_code, failed=True
        )
        if schema is not None:
            openapi.assert_valid(_body(answer), schema, f"{route} error ({answer.status_code})")
        return
    openapi.assert_valid(
        _body(answer),
        _general_error(route),
        f"{route} error ({answer.status_code}, a status the spec leaves out)",
    )


def test_every_walk_is_of_a_served_documented_route() -> None:
    """The other way round from the walks' own check: no walk is left of a route gone or renamed.

    Prints what the sandbox serves against what is walked (``pytest -s``).
    """
    vendors = load_vendors()
    documented = {(r.vendor, r.method, r.served) for r in ROUTES}
    for vendor in DOCUMENTS:
        served = served_routes(vendors[vendor])
        undocumented = [f"{m} {p}" for m, p in served if (vendor, m, p) not in documented]
        print(
            f"{vendor}: {len(served)} routes served, {len(served) - len(undocumented)} documented and walked"
        )
        for line in undocumented:
            print(f"  not in the documents, not walked: {line}")

    assert sorted(set(WALKS) - documented) == []
    assert sorted(name for _, name in KNOWN if name not in {str(r) for r in ROUTES}) == []
