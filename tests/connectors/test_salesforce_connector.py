"""SalesforceConnector against the sandbox: paging, Collections, change windows, faults and redaction."""

from __future__ import annotations

import datetime as dt
import io
import logging
import math

import pytest

from jirasync.connectors import BadRequestError, ConnectionFailedError, VirtualClock
from jirasync.connectors.salesforce import DailyLimitExceededError, SalesforceConnector, password_login
from sandbox.testing import RunningSandbox

DATA = "/services/data/v59.0"
LOGIN = "POST /services/Soap/u/59.0"


def connector(sandbox: RunningSandbox, **credentials: str) -> SalesforceConnector:
    known = {**sandbox.credentials["salesforce"], **credentials}
    login = password_login(known["username"], known["password"], known["security_token"])
    return SalesforceConnector(login, redirect_to=sandbox.base_url, clock=VirtualClock())


def test_reads_every_record_in_batches_of_2000_with_the_minimum_calls(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.mutate("salesforce", "add_contacts", count=4100)
    salesforce = connector(fresh_sandbox)

    contacts = list(salesforce.query("SELECT Id, Email, Account.Name FROM Contact"))

    total = len(fresh_sandbox.records("salesforce", "Contact"))
    assert len(contacts) == total and len({c["Id"] for c in contacts}) == total
    assert "attributes" not in contacts[0]
    assert salesforce.calls.by_endpoint() == {
        LOGIN: 1,
        f"GET {DATA}/query": 1,
        f"GET {DATA}/query/{{locator}}": math.ceil(total / 2000) - 1,
    }
    assert salesforce.api_usage == f"api-usage={math.ceil(total / 2000)}/15000"


def test_batch_size_and_query_all_with_deleted_records(fresh_sandbox: RunningSandbox) -> None:
    salesforce = connector(fresh_sandbox)
    [gone] = salesforce.create("Contact", [{"LastName": "Gone"}])
    salesforce.delete([gone.id])  # type: ignore[list-item]

    live = list(salesforce.query("SELECT Id FROM Contact", batch_size=200))
    everything = list(
        salesforce.query("SELECT Id, IsDeleted FROM Contact", include_deleted=True, batch_size=200)
    )

    assert gone.id not in {c["Id"] for c in live}
    assert {"Id": gone.id, "IsDeleted": True} in everything
    assert salesforce.calls[f"GET {DATA}/query/{{locator}}"] == math.ceil(len(live) / 200) - 1


def test_writes_in_collections_of_200_with_one_outcome_per_record(fresh_sandbox: RunningSandbox) -> None:
    salesforce = connector(fresh_sandbox)
    records = [{"LastName": f"New {i}", "Email": f"new.{i}@example.com"} for i in range(450)]
    records[7]["Email"] = "not-an-email"

    created = salesforce.create("Contact", records)
    updated = salesforce.update(
        "Contact", [{"Id": o.id, "Synced_Jira_User__c": "712020:x"} for o in created if o.ok][:250]
    )
    deleted = salesforce.delete([o.id for o in created if o.ok][:3])  # type: ignore[misc]

    assert len(created) == 450 and sum(o.ok for o in created) == 449
    assert (
        created[7].error
        == "INVALID_EMAIL_ADDRESS: Email: invalid email address: not-an-email (fields: Email)"
    )
    assert created[7].retryable is False
    assert all(o.ok for o in updated + deleted) and len(updated) == 250
    assert salesforce.calls[f"POST {DATA}/composite/sobjects"] == 3
    assert salesforce.calls[f"PATCH {DATA}/composite/sobjects"] == 2
    assert fresh_sandbox.record("salesforce", "Contact", updated[0].id)["Synced_Jira_User__c"] == "712020:x"


def test_all_or_none_reports_the_rolled_back_records_as_retryable(fresh_sandbox: RunningSandbox) -> None:
    salesforce = connector(fresh_sandbox)

    outcomes = salesforce.create(
        "Contact", [{"LastName": "Fine"}, {"Email": "x@example.com"}], all_or_none=True
    )

    assert [o.ok for o in outcomes] == [False, False]
    assert outcomes[0].retryable and "ALL_OR_NONE_OPERATION_ROLLED_BACK" in (outcomes[0].error or "")
    assert not outcomes[1].retryable and "REQUIRED_FIELD_MISSING" in (outcomes[1].error or "")


def test_updated_and_deleted_windows(fresh_sandbox: RunningSandbox) -> None:
    salesforce = connector(fresh_sandbox)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    kept, removed = salesforce.create("Contact", [{"LastName": "Kept"}, {"LastName": "Removed"}])
    salesforce.delete([removed.id])  # type: ignore[list-item]
    end = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)

    updated = salesforce.updated("Contact", start, end)
    deleted = salesforce.deleted("Contact", start, end)

    assert updated.ids == [kept.id]
    assert [d.id for d in deleted.records] == [removed.id]
    with pytest.raises(ValueError, match="time-zone aware"):
        salesforce.updated("Contact", start.replace(tzinfo=None), end)


def test_case_comments_and_files_round_trip(fresh_sandbox: RunningSandbox) -> None:
    salesforce = connector(fresh_sandbox)
    case = next(salesforce.query("SELECT Id, CaseNumber FROM Case LIMIT 1"))
    fresh_sandbox.mutate(
        "salesforce",
        "add_attachment",
        parent=case["Id"],
        name="old.log",
        content="b2xk",
        content_type="text/plain",
    )

    [comment] = salesforce.add_case_comments(
        [{"ParentId": case["Id"], "CommentBody": "From Jira SUP-1", "IsPublished": True}]
    )
    version_id = salesforce.upload_file(case["Id"], "Trace ✓.TXT", io.BytesIO(b"stack trace"), "text/plain")

    assert comment.ok
    assert salesforce.case_comments(case["Id"])[-1]["CommentBody"] == "From Jira SUP-1"
    [attachment] = [a for a in salesforce.attachments([case["Id"]]) if a["Name"] == "old.log"]
    with salesforce.open_attachment(attachment["Id"]) as answer:
        assert answer.content == b"old"
    [file] = [
        f
        for f in salesforce.files([case["Id"]])
        if f["ContentDocument"]["LatestPublishedVersionId"] == version_id
    ]
    assert file["LinkedEntityId"] == case["Id"]
    assert {k: file["ContentDocument"][k] for k in ("Title", "FileExtension", "ContentSize")} == {
        "Title": "Trace ✓.TXT",
        "FileExtension": "txt",
        "ContentSize": 11,
    }
    with salesforce.open_file(version_id) as answer:
        assert answer.content == b"stack trace"
    with pytest.raises(ValueError, match="is not a 15- or 18-character Salesforce id"):
        salesforce.case_comments("x' OR Id != '")


def test_a_malformed_query_is_a_bad_request_naming_malformed_query(fresh_sandbox: RunningSandbox) -> None:
    salesforce = connector(fresh_sandbox)

    with pytest.raises(BadRequestError, match="MALFORMED_QUERY: unexpected token: 'FORM'"):
        list(salesforce.query("SELECT Id FORM Contact"))


def test_a_5xx_burst_is_retried(fresh_sandbox: RunningSandbox) -> None:
    salesforce = connector(fresh_sandbox)
    fresh_sandbox.add_fault("salesforce", "error", route=f"{DATA}/query", status=503, count=3)

    accounts = list(salesforce.query("SELECT Id FROM Account"))

    assert accounts
    assert salesforce.calls[f"GET {DATA}/query"] == 4
    assert len(salesforce.http.clock.sleeps) == 3  # type: ignore[attr-defined]


def test_a_dropped_connection_is_retried_for_reads_but_not_for_creates(fresh_sandbox: RunningSandbox) -> None:
    salesforce = connector(fresh_sandbox)
    fresh_sandbox.add_fault("salesforce", "drop", route=f"{DATA}/query", count=1)
    fresh_sandbox.add_fault("salesforce", "drop", route=f"{DATA}/composite", method="POST", count=1)

    accounts = list(salesforce.query("SELECT Id FROM Account"))
    with pytest.raises(ConnectionFailedError, match="not retried: the request may have been applied"):
        salesforce.create("Contact", [{"LastName": "Maybe created"}])

    assert accounts and salesforce.calls[f"GET {DATA}/query"] == 2
    assert salesforce.calls[f"POST {DATA}/composite/sobjects"] == 1


def test_an_expired_session_mid_run_logs_in_again_once(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.mutate("salesforce", "add_contacts", count=3000)
    salesforce = connector(fresh_sandbox)
    fresh_sandbox.add_fault("salesforce", "expire_tokens", route=f"{DATA}/query/", count=1)

    contacts = list(salesforce.query("SELECT Id FROM Contact"))

    assert len(contacts) == len(fresh_sandbox.records("salesforce", "Contact"))
    assert salesforce.calls[LOGIN] == 2
    assert salesforce.calls[f"GET {DATA}/query/{{locator}}"] == 2 * (math.ceil(len(contacts) / 2000) - 1)


def test_a_spent_daily_allowance_is_not_retried_and_says_when_it_resets(
    fresh_sandbox: RunningSandbox,
) -> None:
    fresh_sandbox.mutate("salesforce", "set_daily_limit", max=2)
    salesforce = connector(fresh_sandbox)
    salesforce.limits()
    salesforce.limits()

    with pytest.raises(DailyLimitExceededError) as spent:
        salesforce.limits()

    message = str(spent.value)
    assert "HTTP 403" in message and "REQUEST_LIMIT_EXCEEDED" in message and "api-usage=2/2" in message
    assert "daily API request allowance is spent" in message and "rolling 24 hours" in message
    assert "Not retried" in message and not spent.value.retryable
    assert salesforce.calls[f"GET {DATA}/limits"] == 3


def test_secrets_stay_out_of_logs_and_errors(
    fresh_sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    credentials = fresh_sandbox.credentials["salesforce"]
    salesforce = connector(fresh_sandbox)
    fresh_sandbox.add_fault("salesforce", "error", route=f"{DATA}/query", status=503, count=1)
    fresh_sandbox.add_fault("salesforce", "expire_tokens", route=f"{DATA}/limits", count=1)
    list(salesforce.query("SELECT Id FROM Account"))
    salesforce.limits()
    session_id = salesforce.http.auth.access_token()  # type: ignore[union-attr]
    errors = []
    for wrong in ({"security_token": "WrongToken123"}, {"password": "WrongPassword123"}):
        with pytest.raises(Exception) as failed:  # any failure: its text is what is checked
            connector(fresh_sandbox, **wrong).limits()
        errors.append(str(failed.value))

    seen = caplog.text + "\n".join(errors)
    assert "INVALID_LOGIN" in errors[0]
    for secret in (
        credentials["password"],
        credentials["security_token"],
        credentials["consumer_secret"],
        session_id,
        "WrongToken123",
        "WrongPassword123",
    ):
        assert secret not in seen
