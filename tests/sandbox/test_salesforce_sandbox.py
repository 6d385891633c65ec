"""The Salesforce emulator, driven by simple-salesforce as a user would and by raw HTTP for each quirk."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from jirasync.connectors.salesforce import SalesforceHostRedirect
from sandbox.testing import RunningSandbox, running_sandbox

DATA = "/services/data/v59.0"
NOT_FOUND = [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND", "fields": []}]


def redirected_session(sandbox: RunningSandbox) -> requests.Session:
    """A session whose *.salesforce.com requests reach the sandbox (as /etc/hosts would)."""
    session = requests.Session()
    session.mount("https://", SalesforceHostRedirect(sandbox.base_url))
    return session


def login(sandbox: RunningSandbox) -> Salesforce:
    credentials = sandbox.credentials["salesforce"]
    return Salesforce(
        username=credentials["username"],
        password=credentials["password"],
        security_token=credentials["security_token"],
        session=redirected_session(sandbox),
    )


def oauth_token(sandbox: RunningSandbox, **form: str) -> requests.Response:
    credentials = sandbox.credentials["salesforce"]
    fields = {
        "grant_type": "password",
        "client_id": credentials["consumer_key"],
        "client_secret": credentials["consumer_secret"],
        "username": credentials["username"],
        "password": credentials["password"] + credentials["security_token"],
        **form,
    }
    return requests.post(f"{sandbox.url('/salesforce')}/services/oauth2/token", data=fields, timeout=30)


def rest(sandbox: RunningSandbox, method: str, path: str, token: str, **kwargs: object) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}  # type: ignore[dict-item]
    return requests.request(
        method, f"{sandbox.url('/salesforce')}{path}", headers=headers, timeout=30, **kwargs
    )


@pytest.fixture
def token(fresh_sandbox: RunningSandbox) -> str:
    return oauth_token(fresh_sandbox).json()["access_token"]


def test_simple_salesforce_logs_in_with_soap_and_lands_on_the_my_domain(
    fresh_sandbox: RunningSandbox,
) -> None:
    sf = login(fresh_sandbox)

    assert sf.sf_instance == f"{fresh_sandbox.config.site}.my.salesforce.com"
    assert fresh_sandbox.counters() == {"salesforce POST /services/Soap/u/{version}": 1}


def test_a_wrong_security_token_is_refused_with_invalid_login(fresh_sandbox: RunningSandbox) -> None:
    credentials = fresh_sandbox.credentials["salesforce"]
    with pytest.raises(SalesforceAuthenticationFailed, match="INVALID_LOGIN"):
        Salesforce(
            username=credentials["username"],
            password=credentials["password"],
            security_token="wrong-token",
            session=redirected_session(fresh_sandbox),
        )


def test_simple_salesforce_creates_reads_updates_describes_and_deletes(fresh_sandbox: RunningSandbox) -> None:
    sf = login(fresh_sandbox)

    created = sf.Contact.create({"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com"})
    sf.Contact.update(created["id"], {"Synced_Jira_User__c": "712020:ada"})
    contact = sf.Contact.get(created["id"])
    fields = {f["name"] for f in sf.Contact.describe()["fields"]}
    sf.Contact.delete(created["id"])

    assert created["success"] is True
    assert contact["Name"] == "Ada Lovelace" and contact["Synced_Jira_User__c"] == "712020:ada"
    assert {"Email", "AccountId", "Synced_Jira_User__c", "SystemModstamp"} <= fields
    with pytest.raises(SalesforceResourceNotFound, match="ENTITY_IS_DELETED"):
        sf.Contact.get(created["id"])
    assert fresh_sandbox.record("salesforce", "_limits", "DailyApiRequests")["Used"] == 6


def test_query_more_follows_next_records_url_to_the_end(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.mutate("salesforce", "add_contacts", count=4500)
    sf = login(fresh_sandbox)

    first = sf.query("SELECT Id, Name FROM Contact")
    batches, answer = [first], first
    while not answer["done"]:
        answer = sf.query_more(answer["nextRecordsUrl"], identifier_is_url=True)
        batches.append(answer)
    everything = sf.query_all("SELECT Id FROM Contact")

    total = first["totalSize"]
    assert [len(b["records"]) for b in batches] == [2000, 2000, total - 4000]
    assert len({r["Id"] for b in batches for r in b["records"]}) == total
    assert "nextRecordsUrl" not in batches[-1]
    assert len(everything["records"]) == total and everything["done"] is True


def test_batch_size_option_sets_the_batch_and_is_clamped_to_200(
    fresh_sandbox: RunningSandbox, token: str
) -> None:
    fresh_sandbox.mutate("salesforce", "add_contacts", count=1000)
    asked_500 = rest(
        fresh_sandbox, "GET", f"{DATA}/query", token, params={"q": "SELECT Id FROM Contact"},
        headers={"Sforce-Query-Options": "batchSize=500"},
    ).json()  # fmt: skip
    asked_10 = rest(
        fresh_sandbox, "GET", f"{DATA}/query", token, params={"q": "SELECT Id FROM Contact"},
        headers={"Sforce-Query-Options": "batchSize=10"},
    ).json()  # fmt: skip

    assert len(asked_500["records"]) == 500 and asked_500["nextRecordsUrl"].endswith("-500")
    assert len(asked_10["records"]) == 200 and asked_10["nextRecordsUrl"].endswith("-200")


def test_query_all_includes_deleted_records_and_query_does_not(fresh_sandbox: RunningSandbox) -> None:
    sf = login(fresh_sandbox)
    created = sf.Contact.create({"LastName": "Gone", "Email": "gone@example.com"})
    sf.Contact.delete(created["id"])
    soql = "SELECT Id, IsDeleted FROM Contact WHERE Email = 'GONE@example.com'"

    live = sf.query(soql)
    including_deleted = sf.query_all(soql, include_deleted=True)

    assert live["totalSize"] == 0
    assert [(r["Id"], r["IsDeleted"]) for r in including_deleted["records"]] == [(created["id"], True)]


def test_soql_filters_parent_fields_dates_in_like_and_order(fresh_sandbox: RunningSandbox) -> None:
    sf = login(fresh_sandbox)
    soql = (
        "SELECT Id, Email, Account.Name FROM Contact WHERE (Account.Name != 'Northwind' OR Email LIKE '%.1%') "
        "AND CreatedDate >= 2025-01-01T00:00:00Z AND Account.Name IN ('Acme', 'Globex', 'Northwind') "
        "ORDER BY Email DESC LIMIT 5"
    )

    records = sf.query(soql)["records"]

    emails = [r["Email"].casefold() for r in records]
    assert 0 < len(records) <= 5 and emails == sorted(emails, reverse=True)
    assert all(r["Account"]["Name"] in ("Acme", "Globex", "Northwind") for r in records)
    assert all(r["Account"]["Name"] != "Northwind" or ".1" in r["Email"] for r in records)


def test_a_malformed_query_is_malformed_query_and_an_unknown_field_is_invalid_field(
    fresh_sandbox: RunningSandbox,
) -> None:
    sf = login(fresh_sandbox)

    with pytest.raises(SalesforceMalformedRequest) as malformed:
        sf.query("SELECT Id FORM Contact")
    with pytest.raises(SalesforceMalformedRequest) as unknown:
        sf.query("SELECT Id, Shoe_Size__c FROM Contact")

    assert malformed.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    assert unknown.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert "Shoe_Size__c" in unknown.value.content[0]["message"]


def test_collections_answer_200_with_per_record_errors(fresh_sandbox: RunningSandbox, token: str) -> None:
    records = [
        {"attributes": {"type": "Contact"}, "LastName": "Fine", "Email": "fine@example.com"},
        {"attributes": {"type": "Contact"}, "Email": "no-last-name@example.com"},
        {"attributes": {"type": "Contact"}, "LastName": "Bad", "Email": "not-an-email"},
    ]

    response = rest(fresh_sandbox, "POST", f"{DATA}/composite/sobjects", token, json={"records": records})

    results = response.json()
    assert response.status_code == 200
    assert results[0]["success"] is True and results[0]["id"].startswith("003")
    assert results[1]["errors"] == [
        {"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [LastName]",
         "fields": ["LastName"]}
    ]  # fmt: skip
    assert results[2]["errors"][0]["statusCode"] == "INVALID_EMAIL_ADDRESS"
    assert fresh_sandbox.record("salesforce", "Contact", results[0]["id"])["LastName"] == "Fine"


def test_all_or_none_rolls_back_every_record_when_one_fails(
    fresh_sandbox: RunningSandbox, token: str
) -> None:
    before = len(fresh_sandbox.records("salesforce", "Contact"))
    records = [
        {"attributes": {"type": "Contact"}, "LastName": "Would be fine"},
        {"attributes": {"type": "Contact"}, "LastName": "Bad", "Email": "not-an-email"},
    ]

    response = rest(
        fresh_sandbox,
        "POST",
        f"{DATA}/composite/sobjects",
        token,
        json={"allOrNone": True, "records": records},
    )

    results = response.json()
    assert response.status_code == 200
    assert results[0]["success"] is False
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "INVALID_EMAIL_ADDRESS"
    assert len(fresh_sandbox.records("salesforce", "Contact")) == before


def test_collections_refuse_more_than_200_records(fresh_sandbox: RunningSandbox, token: str) -> None:
    records = [{"attributes": {"type": "Contact"}, "LastName": f"N{i}"} for i in range(201)]

    response = rest(fresh_sandbox, "POST", f"{DATA}/composite/sobjects", token, json={"records": records})

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_an_expired_session_is_401_invalid_session_id(fresh_sandbox: RunningSandbox, token: str) -> None:
    fresh_sandbox.add_fault("salesforce", "expire_tokens", count=1)

    expired = rest(fresh_sandbox, "GET", f"{DATA}/limits", token)
    still_expired = rest(fresh_sandbox, "GET", f"{DATA}/limits", token)

    assert expired.status_code == still_expired.status_code == 401
    assert still_expired.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID", "fields": []}
    ]


def test_simple_salesforce_sees_the_expired_session(fresh_sandbox: RunningSandbox) -> None:
    sf = Salesforce(instance_url=fresh_sandbox.host_url("jirasync.my.salesforce.com"), session_id="sbx.stale")
    sf.session = redirected_session(fresh_sandbox)

    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Contact")


def test_the_daily_allowance_set_by_the_admin_ends_in_403_request_limit_exceeded(
    fresh_sandbox: RunningSandbox,
) -> None:
    fresh_sandbox.mutate("salesforce", "set_daily_limit", max=3)
    sf = login(fresh_sandbox)
    for _ in range(3):
        sf.query("SELECT Id FROM Account")

    with pytest.raises(SalesforceRefusedRequest) as refused:
        sf.query("SELECT Id FROM Account")

    assert refused.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED", "fields": []}
    ]
    assert sf.api_usage["api-usage"] == (3, 3)


def test_every_rest_answer_carries_sforce_limit_info(fresh_sandbox: RunningSandbox, token: str) -> None:
    ok = rest(fresh_sandbox, "GET", f"{DATA}/sobjects/Contact/describe", token)
    not_found = rest(fresh_sandbox, "GET", f"{DATA}/sobjects/Contact/003RO0000000zzzAAA", token)
    malformed = rest(fresh_sandbox, "GET", f"{DATA}/query", token, params={"q": "SELECT"})

    assert [r.status_code for r in (ok, not_found, malformed)] == [200, 404, 400]
    assert [r.headers["Sforce-Limit-Info"] for r in (ok, not_found, malformed)] == [
        "api-usage=1/15000",
        "api-usage=2/15000",
        "api-usage=3/15000",
    ]


def test_oauth_instance_url_points_back_where_the_request_arrived(fresh_sandbox: RunningSandbox) -> None:
    by_prefix = oauth_token(fresh_sandbox).json()
    credentials = fresh_sandbox.credentials["salesforce"]
    by_host = requests.post(
        f"{fresh_sandbox.base_url}/services/oauth2/token",
        headers={"Host": "login.salesforce.com"},
        data={"grant_type": "password", "client_id": credentials["consumer_key"],
              "client_secret": credentials["consumer_secret"], "username": credentials["username"],
              "password": credentials["password"]},
        timeout=30,
    ).json()  # fmt: skip

    assert by_prefix["instance_url"] == fresh_sandbox.url("/salesforce")
    assert by_prefix["token_type"] == "Bearer" and by_prefix["access_token"]
    assert by_host["instance_url"] == "http://jirasync.my.salesforce.com"


def test_client_credentials_need_a_my_domain(fresh_sandbox: RunningSandbox) -> None:
    credentials = fresh_sandbox.credentials["salesforce"]
    session = redirected_session(fresh_sandbox)

    at_my_domain = Salesforce(
        consumer_key=credentials["consumer_key"],
        consumer_secret=credentials["consumer_secret"],
        domain="jirasync.my",
        session=session,
    )
    at_login = session.post(
        "https://login.salesforce.com/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(credentials["consumer_key"], credentials["consumer_secret"]),
        timeout=30,
    )

    assert at_my_domain.query("SELECT Id FROM Account")["totalSize"] > 0
    assert at_login.status_code == 400 and at_login.json()["error"] == "invalid_grant"


def test_a_wrong_client_secret_is_invalid_client(fresh_sandbox: RunningSandbox) -> None:
    response = oauth_token(fresh_sandbox, client_secret="nope")

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_client", "error_description": "invalid client credentials"}


def test_updated_and_deleted_report_changes_in_the_window(fresh_sandbox: RunningSandbox) -> None:
    sf = login(fresh_sandbox)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    changed = sf.Contact.create({"LastName": "Changed"})["id"]
    removed = sf.Contact.create({"LastName": "Removed"})["id"]
    sf.Contact.delete(removed)
    end = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)

    updated = sf.Contact.updated(start, end)
    deleted = sf.Contact.deleted(start, end)

    assert updated["ids"] == [changed]
    assert [d["id"] for d in deleted["deletedRecords"]] == [removed]
    with pytest.raises(SalesforceMalformedRequest, match="INVALID_REPLICATION_DATE"):
        sf.Contact.updated(start - dt.timedelta(days=31), end)


def test_contacts_partly_match_jira_users_by_email(fresh_sandbox: RunningSandbox) -> None:
    world = fresh_sandbox.sandbox.world
    jira_emails = {p.email for p in world.members("jira")}
    contacts = [c for c in fresh_sandbox.records("salesforce", "Contact") if c["Email"]]

    matching = [c for c in contacts if c["Email"].casefold() in jira_emails]
    case_only = [c for c in matching if c["Email"] != c["Email"].casefold()]

    assert 0 < len(matching) < len(contacts)
    assert case_only, "some CRM emails differ from Jira's in case only"


def test_cases_carry_comments_and_files(fresh_sandbox: RunningSandbox) -> None:
    sf = login(fresh_sandbox)

    comments = sf.query_all(
        "SELECT Id, CommentBody, Parent.CaseNumber, Parent.Contact.Email FROM CaseComment"
    )
    files = sf.query_all("SELECT Id, Name, BodyLength, Body FROM Attachment")["records"]
    content = sf.session.get(
        f"https://{sf.sf_instance}{files[0]['Body']}", headers=sf.headers, timeout=30
    ).content

    assert comments["totalSize"] > 0
    assert all(r["Parent"]["CaseNumber"] for r in comments["records"])
    assert content.startswith(b"Log for case") and len(content) == files[0]["BodyLength"]


def test_batches_needed_for_a_large_read(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.mutate("salesforce", "add_contacts", count=5000)
    sf = login(fresh_sandbox)
    fresh_sandbox.clear_counters()

    everything = sf.query_all("SELECT Id FROM Contact")

    counters = fresh_sandbox.counters()
    assert sum(counters.values()) == math.ceil(everything["totalSize"] / 2000)


def test_simple_salesforce_over_https_trusts_the_sandbox_ca(tmp_path: Path) -> None:
    # The session closes its keep-alive connection before the server stops, which would otherwise
    # wait for it until its graceful-shutdown timeout.
    with running_sandbox(tmp_path, users=20, tls=True) as sandbox, requests.Session() as session:
        session.mount("https://", SalesforceHostRedirect(sandbox.base_url, ca_bundle=str(sandbox.ca_path)))
        credentials = sandbox.credentials["salesforce"]
        sf = Salesforce(
            username=credentials["username"],
            password=credentials["password"],
            security_token=credentials["security_token"],
            session=session,
        )

        accounts = sf.query("SELECT Name FROM Account")

    assert sandbox.base_url.startswith("https://")
    assert {"Northwind"} <= {a["Name"] for a in accounts["records"]}


def test_case_comments_of_many_cases_and_those_changed_since_come_in_one_query_each(
    fresh_sandbox: RunningSandbox,
) -> None:
    sf = login(fresh_sandbox)
    cases = [r["Id"] for r in sf.query_all("SELECT Id FROM Case ORDER BY Id LIMIT 3")["records"]]
    created = sf.CaseComment.create({"ParentId": cases[0], "CommentBody": "first"})
    listed = ", ".join(f"'{case}'" for case in cases)
    of_cases = sf.query(
        f"SELECT Id, ParentId, CommentBody, CreatedBy.Name, SystemModstamp FROM CaseComment WHERE ParentId IN ({listed})"
    )
    assert {r["ParentId"] for r in of_cases["records"]} <= set(cases)
    mine = next(r for r in of_cases["records"] if r["Id"] == created["id"])
    assert mine["CreatedBy"]["Name"] and mine["CommentBody"] == "first"
    stamp = mine["SystemModstamp"][:19] + "Z"
    sf.CaseComment.update(created["id"], {"CommentBody": "edited"})
    changed = sf.query(f"SELECT Id, CommentBody FROM CaseComment WHERE SystemModstamp >= {stamp}")["records"]
    assert [(r["Id"], r["CommentBody"]) for r in changed] == [(created["id"], "edited")]
    sf.CaseComment.delete(created["id"])
    assert sf.query(f"SELECT Id FROM CaseComment WHERE Id = '{created['id']}'")["totalSize"] == 0


def test_an_attachment_is_inserted_as_multipart_blob_data_and_served_with_its_type(
    fresh_sandbox: RunningSandbox, token: str
) -> None:
    case = fresh_sandbox.records("salesforce", "Case")[0]["Id"]
    fields = {"ParentId": case, "Name": "résumé ✓.pdf", "ContentType": "application/pdf"}
    files = {
        "entity_attachment": (None, json.dumps(fields), "application/json"),
        "Body": ("résumé ✓.pdf", b"%PDF-1.7 \x00\xff", "application/pdf"),
    }
    created = rest(fresh_sandbox, "POST", f"{DATA}/sobjects/Attachment", token, files=files)
    assert created.status_code == 201 and created.json()["success"] is True
    body = rest(fresh_sandbox, "GET", f"{DATA}/sobjects/Attachment/{created.json()['id']}/Body", token)
    assert body.content == b"%PDF-1.7 \x00\xff" and body.headers["content-type"] == "application/pdf"
    stored = fresh_sandbox.record("salesforce", "Attachment", created.json()["id"])
    assert (stored["Name"], stored["BodyLength"]) == ("résumé ✓.pdf", 11)

    unnamed = {"Body": files["Body"]}
    refused = rest(fresh_sandbox, "POST", f"{DATA}/sobjects/Attachment", token, files=unnamed)
    assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "INVALID_MULTIPART_REQUEST"


def test_unknown_paths_doubled_slashes_wrong_methods_and_bad_json_answer_in_salesforces_body(
    fresh_sandbox: RunningSandbox, token: str
) -> None:
    unknown = rest(fresh_sandbox, "GET", f"{DATA}/no-such-resource", token)
    doubled = rest(fresh_sandbox, "GET", f"{DATA}//limits", token)
    doubled_at_the_end = rest(fresh_sandbox, "GET", f"{DATA}/limits//", token, allow_redirects=False)
    unknown_version = rest(fresh_sandbox, "GET", "/services/data/v59/limits", token)
    put_on_sobject = rest(fresh_sandbox, "PUT", f"{DATA}/sobjects/Contact", token, json={})
    post_on_record = rest(fresh_sandbox, "POST", f"{DATA}/sobjects/Contact/003RO0000000001AAA/", token)
    bad_json = rest(
        fresh_sandbox, "POST", f"{DATA}/sobjects/Contact", token, data="{'LastName': 'Quotes'}",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip

    for response in (unknown, doubled, doubled_at_the_end, unknown_version):
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert put_on_sobject.status_code == post_on_record.status_code == 405
    assert put_on_sobject.json() == [
        {"message": "HTTP Method 'PUT' not allowed. Allowed are HEAD,GET,POST", "errorCode": "METHOD_NOT_ALLOWED",
         "fields": []}
    ]  # fmt: skip
    assert (
        post_on_record.json()[0]["message"]
        == "HTTP Method 'POST' not allowed. Allowed are HEAD,GET,PATCH,DELETE"
    )
    assert bad_json.status_code == 400 and bad_json.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_simple_salesforce_raises_its_own_exceptions_carrying_salesforces_errors(
    fresh_sandbox: RunningSandbox,
) -> None:
    sf = login(fresh_sandbox)

    with pytest.raises(SalesforceResourceNotFound) as unknown_resource:
        sf.restful("no-such-resource")
    with pytest.raises(SalesforceResourceNotFound) as leading_slash:
        sf.restful("/limits")  # joined to a base URL ending in "/": a doubled slash
    with pytest.raises(SalesforceResourceNotFound) as unknown_sobject:
        sf.Shoe__c.describe()
    with pytest.raises(SalesforceMalformedRequest) as unknown_field:
        sf.Contact.create({"LastName": "Shoe", "Shoe_Size__c": 44})
    with pytest.raises(SalesforceGeneralError) as wrong_method:
        sf.restful("limits", method="DELETE")

    assert unknown_resource.value.content == leading_slash.value.content == NOT_FOUND
    assert unknown_sobject.value.content[0]["errorCode"] == "NOT_FOUND"
    assert unknown_field.value.content == [
        {"message": "No such column 'Shoe_Size__c' on sobject of type Contact", "errorCode": "INVALID_FIELD",
         "fields": ["Shoe_Size__c"]}
    ]  # fmt: skip
    assert wrong_method.value.status == 405
    assert wrong_method.value.content[0]["errorCode"] == "METHOD_NOT_ALLOWED"


def test_a_trailing_slash_names_the_same_resource(fresh_sandbox: RunningSandbox, token: str) -> None:
    contact = fresh_sandbox.records("salesforce", "Contact")[0]["Id"]

    plain = rest(fresh_sandbox, "GET", f"{DATA}/sobjects/Contact/{contact}", token)
    slashed = rest(fresh_sandbox, "GET", f"{DATA}/sobjects/Contact/{contact}/", token, allow_redirects=False)
    created = rest(fresh_sandbox, "POST", f"{DATA}/sobjects/Contact/", token, json={"LastName": "Slash"})

    assert slashed.status_code == 200 and slashed.json() == plain.json()
    assert created.status_code == 201 and created.json()["success"] is True


def test_head_answers_wherever_get_does_without_a_body(fresh_sandbox: RunningSandbox, token: str) -> None:
    contact = fresh_sandbox.records("salesforce", "Contact")[0]["Id"]

    found = rest(fresh_sandbox, "HEAD", f"{DATA}/sobjects/Contact/{contact}", token)
    missing = rest(fresh_sandbox, "HEAD", f"{DATA}/sobjects/Contact/003RO000000zzzzAAA", token)

    assert (found.status_code, found.content) == (200, b"")
    assert (missing.status_code, missing.content) == (404, b"")


def test_the_version_list_needs_no_session_and_names_each_release(fresh_sandbox: RunningSandbox) -> None:
    listed = requests.get(f"{fresh_sandbox.url('/salesforce')}/services/data/", timeout=30)

    versions = listed.json()
    assert listed.status_code == 200
    assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in versions
    assert [v["version"] for v in versions][:2] == ["20.0", "21.0"]
    assert versions[-1] == {"label": "Winter '26", "url": "/services/data/v65.0", "version": "65.0"}
    assert fresh_sandbox.record("salesforce", "_limits", "DailyApiRequests")["Used"] == 0


def test_simple_salesforce_reads_resources_limits_and_describes(fresh_sandbox: RunningSandbox) -> None:
    sf = login(fresh_sandbox)

    resources = sf.restful("")
    first, then = sf.restful("limits"), sf.limits()
    described = sf.describe()
    case_info = sf.Case.metadata()
    case_fields = {f["name"]: f for f in sf.Case.describe()["fields"]}

    assert resources["sobjects"] == f"{DATA}/sobjects" and resources["composite"] == f"{DATA}/composite"
    assert first["DailyApiRequests"]["Max"] == 15000
    assert then["DailyApiRequests"]["Remaining"] == first["DailyApiRequests"]["Remaining"] - 1
    assert all(set(limit) == {"Max", "Remaining"} for limit in first.values())
    assert (described["encoding"], described["maxBatchSize"]) == ("UTF-8", 200)
    case = next(s for s in described["sobjects"] if s["name"] == "Case")
    assert (case["keyPrefix"], case["labelPlural"], case["queryable"], case["createable"]) == (
        "500", "Cases", True, True,
    )  # fmt: skip
    assert case["urls"]["describe"] == f"{DATA}/sobjects/Case/describe"
    assert case_info["objectDescribe"]["urls"] == case["urls"]
    assert case_fields["Status"]["picklistValues"][0] == {"value": "New", "label": "New", "active": True}
    assert case_fields["ContactId"]["referenceTo"] == ["Contact"]


def test_the_token_endpoint_refuses_get_in_oauths_shape(fresh_sandbox: RunningSandbox) -> None:
    response = requests.get(f"{fresh_sandbox.url('/salesforce')}/services/oauth2/token", timeout=30)

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": "must use HTTP POST"}


def composite(sandbox: RunningSandbox, token: str, subrequests: list[dict], **options: object) -> list[dict]:
    response = rest(
        sandbox, "POST", f"{DATA}/composite", token, json={"compositeRequest": subrequests, **options}
    )
    assert response.status_code == 200
    return response.json()["compositeResponse"]


def test_composite_chains_subrequests_by_reference_in_one_api_call(
    fresh_sandbox: RunningSandbox, token: str
) -> None:
    results = composite(fresh_sandbox, token, [
        {"method": "POST", "url": f"{DATA}/sobjects/Account", "referenceId": "newAccount",
         "body": {"Name": "Composite Ltd"}},
        {"method": "POST", "url": f"{DATA}/sobjects/Contact", "referenceId": "newContact",
         "body": {"LastName": "Chained", "AccountId": "@{newAccount.id}"}},
        {"method": "GET", "url": f"{DATA}/query?q=SELECT+Id,Account.Name+FROM+Contact+WHERE+LastName='Chained'",
         "referenceId": "found"},
        {"method": "PATCH", "url": f"{DATA}/sobjects/Contact/@{{found.records[0].Id}}", "referenceId": "renamed",
         "body": {"Title": "Chained by @{newAccount.id}"}},
    ])  # fmt: skip

    account, contact, found, renamed = results
    assert [r["referenceId"] for r in results] == ["newAccount", "newContact", "found", "renamed"]
    assert account["httpStatusCode"] == 201 and account["body"]["success"] is True
    assert account["httpHeaders"] == {"Location": f"{DATA}/sobjects/Account/{account['body']['id']}"}
    assert found["body"]["records"][0]["Account"]["Name"] == "Composite Ltd"
    assert (renamed["httpStatusCode"], renamed["body"], renamed["httpHeaders"]) == (204, None, {})
    stored = fresh_sandbox.record("salesforce", "Contact", contact["body"]["id"])
    assert stored["AccountId"] == account["body"]["id"]
    assert stored["Title"] == f"Chained by {account['body']['id']}"
    assert fresh_sandbox.record("salesforce", "_limits", "DailyApiRequests")["Used"] == 1


def test_composite_without_all_or_none_halts_only_what_names_a_failed_result(
    fresh_sandbox: RunningSandbox, token: str
) -> None:
    results = composite(fresh_sandbox, token, [
        {"method": "POST", "url": f"{DATA}/sobjects/Contact", "referenceId": "badContact",
         "body": {"LastName": "Bad", "Email": "Not a real email address"}},
        {"method": "PATCH", "url": f"{DATA}/sobjects/Contact/@{{badContact.id}}", "referenceId": "dependent",
         "body": {"Title": "never"}},
        {"method": "POST", "url": f"{DATA}/sobjects/Contact", "referenceId": "independent",
         "body": {"LastName": "Fine"}},
        {"method": "GET", "url": f"{DATA}/no-such-resource", "referenceId": "lost"},
    ])  # fmt: skip

    bad, dependent, independent, lost = results
    assert (bad["httpStatusCode"], bad["body"]) == (400, [
        {"message": "Email: invalid email address: Not a real email address", "errorCode": "INVALID_EMAIL_ADDRESS",
         "fields": ["Email"]}
    ])  # fmt: skip
    assert dependent["httpStatusCode"] == 400 and dependent["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert "badContact.id" in dependent["body"][0]["message"]
    assert independent["httpStatusCode"] == 201
    assert fresh_sandbox.record("salesforce", "Contact", independent["body"]["id"])["LastName"] == "Fine"
    assert (lost["httpStatusCode"], lost["body"]) == (404, NOT_FOUND)


def test_composite_with_all_or_none_undoes_every_write_when_one_fails(
    fresh_sandbox: RunningSandbox, token: str
) -> None:
    contact = fresh_sandbox.records("salesforce", "Contact")[0]
    accounts = len(fresh_sandbox.records("salesforce", "Account"))

    results = composite(fresh_sandbox, token, [
        {"method": "POST", "url": f"{DATA}/sobjects/Account", "referenceId": "made", "body": {"Name": "Undone"}},
        {"method": "PATCH", "url": f"{DATA}/sobjects/Contact/{contact['Id']}", "referenceId": "changed",
         "body": {"Title": "Undone"}},
        {"method": "POST", "url": f"{DATA}/sobjects/Contact", "referenceId": "failing", "body": {"Email": "a@b.c"}},
        {"method": "GET", "url": f"{DATA}/limits", "referenceId": "neverRun"},
    ], allOrNone=True)  # fmt: skip

    assert [(r["referenceId"], r["httpStatusCode"]) for r in results] == [
        ("made", 400), ("changed", 400), ("failing", 400), ("neverRun", 400),
    ]  # fmt: skip
    assert results[2]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    halted = {r["body"][0]["errorCode"] for r in results if r["referenceId"] != "failing"}
    assert halted == {"PROCESSING_HALTED"}
    assert len(fresh_sandbox.records("salesforce", "Account")) == accounts
    assert fresh_sandbox.record("salesforce", "Contact", contact["Id"]) == contact


def test_a_malformed_composite_request_is_refused_whole(fresh_sandbox: RunningSandbox, token: str) -> None:
    accounts = len(fresh_sandbox.records("salesforce", "Account"))
    create = {"method": "POST", "url": f"{DATA}/sobjects/Account", "body": {"Name": "Never"}}

    no_reference = rest(
        fresh_sandbox, "POST", f"{DATA}/composite", token, json={"compositeRequest": [create]}
    )
    twice = [{**create, "referenceId": "same"}, {**create, "referenceId": "same"}]
    duplicate = rest(fresh_sandbox, "POST", f"{DATA}/composite", token, json={"compositeRequest": twice})
    many = [{**create, "referenceId": f"r{i}"} for i in range(26)]
    too_many = rest(fresh_sandbox, "POST", f"{DATA}/composite", token, json={"compositeRequest": many})

    assert [r.status_code for r in (no_reference, duplicate, too_many)] == [400, 400, 400]
    assert no_reference.json()[0]["message"] == "Required field 'referenceId' is missing"
    assert "same" in duplicate.json()[0]["message"]
    assert "25" in too_many.json()[0]["message"]
    assert len(fresh_sandbox.records("salesforce", "Account")) == accounts


def test_composite_sobjects_reads_records_by_ids_with_the_fields_asked(
    fresh_sandbox: RunningSandbox, token: str
) -> None:
    contacts = [c["Id"] for c in fresh_sandbox.records("salesforce", "Contact")[:2]]
    ids = ",".join([*contacts, "003RO000000zzzzAAA"])

    read = rest(fresh_sandbox, "GET", f"{DATA}/composite/sobjects/Contact", token,
                params={"ids": ids, "fields": "Id,LastName"})  # fmt: skip
    unknown_field = rest(fresh_sandbox, "GET", f"{DATA}/composite/sobjects/Contact", token,
                         params={"ids": ids, "fields": "Shoe_Size__c"})  # fmt: skip

    assert read.status_code == 200
    first, second, missing = read.json()
    assert [first["Id"], second["Id"]] == contacts and set(first) == {"attributes", "Id", "LastName"}
    assert missing is None
    assert unknown_field.status_code == 400 and unknown_field.json()[0]["errorCode"] == "INVALID_FIELD"
