"""Lookups served from indexes answer as a scan of every record would, through every kind of write
(vendor action, admin edit, delete) and after a restart from disk, where the indexes are rebuilt."""

from __future__ import annotations

from pathlib import Path

import requests
from tests.sandbox.test_graph import token_form, token_url
from tests.sandbox.test_salesforce_sandbox import oauth_token
from tests.sandbox.test_zoho_openapi import zoho_client

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


def test_scim_username_filter_follows_provisioning_writes(fresh_sandbox: RunningSandbox) -> None:
    scim = requests.Session()
    scim.headers["Authorization"] = f"Bearer {fresh_sandbox.credentials['scim']['bearer_token']}"
    users = fresh_sandbox.url("/scim") + "/v2/Users"

    def by_user_name(name: str) -> list[str]:
        answer = scim.get(users, params={"filter": f'userName eq "{name}"'}, timeout=30)
        return [r["id"] for r in answer.json()["Resources"]]

    created = scim.post(users, json={"userName": "Scim.Person@northwind.example"}, timeout=30).json()
    found = by_user_name("scim.person@NORTHWIND.example")
    scim.patch(
        f"{users}/{created['id']}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "replace", "path": "userName", "value": "renamed.person@northwind.example"}
            ],
        },
        timeout=30,
    ).raise_for_status()

    assert found == [created["id"]]
    assert by_user_name("scim.person@northwind.example") == []
    assert by_user_name("renamed.person@northwind.example") == [created["id"]]


def test_soql_email_lookups_follow_rest_writes(fresh_sandbox: RunningSandbox) -> None:
    token = oauth_token(fresh_sandbox).json()["access_token"]
    data = fresh_sandbox.url("/salesforce") + "/services/data/v59.0"
    salesforce = requests.Session()
    salesforce.headers["Authorization"] = f"Bearer {token}"

    def where(condition: str) -> list[str]:
        answer = salesforce.get(
            f"{data}/query", params={"q": f"SELECT Id FROM Contact WHERE {condition}"}, timeout=30
        )
        return [r["Id"] for r in answer.json()["records"]]

    created = salesforce.post(
        f"{data}/sobjects/Contact",
        json={"LastName": "Indexed", "Email": "soql.person@northwind.example"},
        timeout=30,
    ).json()["id"]
    found = where("Email = 'SOQL.Person@northwind.example'")
    salesforce.patch(
        f"{data}/sobjects/Contact/{created}", json={"Email": "moved@northwind.example"}, timeout=30
    ).raise_for_status()

    assert found == [created]
    assert where("Email = 'soql.person@northwind.example'") == []
    assert where("Email IN ('nobody@x.example', 'moved@northwind.example') AND LastName = 'Indexed'") == [
        created
    ]
    assert where("LastName = 'Indexed' OR Email = 'moved@northwind.example'") == [created]


def test_zoho_email_search_and_criteria_follow_api_writes(fresh_sandbox: RunningSandbox) -> None:
    with zoho_client(fresh_sandbox) as zoho:
        created = zoho.post(
            "/crm/v8/Contacts",
            json={"data": [{"Last_Name": "Indexed", "Email": "zoho.person@northwind.example"}]},
        ).json()["data"][0]["details"]["id"]
        by_email = zoho.get("/crm/v8/Contacts/search", params={"email": "ZOHO.person@northwind.example"})
        zoho.put(
            "/crm/v8/Contacts", json={"data": [{"id": created, "Email": "moved.zoho@northwind.example"}]}
        )
        old = zoho.get("/crm/v8/Contacts/search", params={"email": "zoho.person@northwind.example"})
        by_criteria = zoho.get(
            "/crm/v8/Contacts/search", params={"criteria": "(Email:equals:moved.zoho@northwind.example)"}
        )

    assert [r["id"] for r in by_email.json()["data"]] == [created]
    assert old.status_code == 204  # Zoho's answer to a search that finds nothing
    assert [r["id"] for r in by_criteria.json()["data"]] == [created]


def test_aql_email_lookup_follows_an_admin_edit_of_an_object(fresh_sandbox: RunningSandbox) -> None:
    credentials = fresh_sandbox.credentials["assets"]
    workspace = fresh_sandbox.records("assets", "workspace")[0]["workspaceId"]
    aql = fresh_sandbox.url("/atlassian") + f"/jsm/assets/workspace/{workspace}/v1/object/aql"
    employee_type = next(t for t in fresh_sandbox.records("assets", "objecttypes") if t["name"] == "Employee")
    email = next(
        a["id"]
        for a in fresh_sandbox.records("assets", "attributes")
        if a["objectTypeId"] == employee_type["id"] and a["name"] == "Email"
    )
    employee = next(
        o for o in fresh_sandbox.records("assets", "objects") if o["objectTypeId"] == employee_type["id"]
    )

    def found(address: str) -> list[str]:
        answer = requests.post(
            aql,
            json={"qlQuery": f'objectType = Employee AND Email = "{address}"'},
            auth=(credentials["email"], credentials["api_token"]),
            timeout=30,
        )
        return [o["id"] for o in answer.json()["values"]]

    before = found(employee["values"][email][0].upper())
    fresh_sandbox.edit(
        "assets", "objects", employee["id"], values={**employee["values"], email: ["new@northwind.example"]}
    )

    assert before == [employee["id"]]
    assert found(employee["values"][email][0]) == []
    assert found("New@Northwind.example") == [employee["id"]]
