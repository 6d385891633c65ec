"""ZohoCrmConnector against the real sandbox: pagination, incremental reads, batched writes, faults, redaction."""

from __future__ import annotations

import io
import logging
import math
from datetime import UTC, datetime, timedelta

import pytest

from jirasync.connectors import AuthenticationError, VirtualClock
from jirasync.connectors.zoho import ZohoAuth, ZohoCrmConnector, accounts_url_for
from sandbox.testing import RunningSandbox


def connect(sandbox: RunningSandbox, **credentials: str) -> ZohoCrmConnector:
    values = {**sandbox.credentials["zoho"], **credentials}
    clock = VirtualClock()
    auth = ZohoAuth(
        sandbox.url("/zoho-accounts"),
        values["client_id"],
        values["client_secret"],
        values["refresh_token"],
        clock,
    )
    return ZohoCrmConnector(auth, clock=clock)


def fill(sandbox: RunningSandbox, module: str, total: int) -> None:
    present = len(sandbox.records("zoho", module))
    if total > present:
        sandbox.mutate("zoho", "generate_records", module=module, count=total - present)


def test_full_read_pages_then_follows_the_token_past_2000(fresh_sandbox: RunningSandbox) -> None:
    fill(fresh_sandbox, "Leads", 2450)
    connector = connect(fresh_sandbox)

    records = list(connector.records("Leads", ["Last_Name", "Email"]))

    assert len({r["id"] for r in records}) == 2450
    assert connector.calls == 1 + math.ceil(2450 / 200)
    queries = [e["query"] for e in fresh_sandbox.request_log() if e["route"] == "/crm/v8/{module}"]
    assert sum("page_token=" in q for q in queries) == 3  # pages 11, 12 and 13
    assert all("page=" in q for q in queries[:10])


def test_incremental_read_returns_only_what_changed(fresh_sandbox: RunningSandbox) -> None:
    connector = connect(fresh_sandbox)
    before = datetime.now(UTC) - timedelta(seconds=2)
    contact = next(connector.records("Contacts", ["Email"]))
    [outcome] = connector.update("Contacts", [{"id": contact["id"], "Synced_Jira_User": "712020:abc"}])

    changed = list(
        connector.records("Contacts", ["Synced_Jira_User", "Modified_Time"], modified_since=before)
    )
    nothing = list(
        connector.records("Contacts", ["Email"], modified_since=datetime.now(UTC) + timedelta(hours=1))
    )

    assert outcome.ok and outcome.id == contact["id"]
    assert [(r["id"], r["Synced_Jira_User"]) for r in changed] == [(contact["id"], "712020:abc")]
    assert nothing == []


def test_upsert_goes_in_batches_of_100_with_an_outcome_per_record(fresh_sandbox: RunningSandbox) -> None:
    connector = connect(fresh_sandbox)
    records = [{"Last_Name": f"Bulk {i}", "Email": f"bulk.{i}@acme.example"} for i in range(250)]
    records[120]["Email"] = "no-at-sign"

    outcomes = connector.upsert("Contacts", records, duplicate_check_fields=["Email"])
    again = connector.upsert("Contacts", records[:3], duplicate_check_fields=["Email"])

    assert len(outcomes) == 250
    assert [i for i, o in enumerate(outcomes) if not o.ok] == [120]
    assert (
        outcomes[120].error
        == "INVALID_DATA: invalid data (api_name=Email, json_path=$.data[20].Email, expected_data_type=email)"
    )
    assert outcomes[120].retryable is False
    assert connector.calls_by_endpoint()["POST /crm/v8/{module}/upsert"] == 4  # 100 + 100 + 50, then 3
    assert [o.id for o in again] == [o.id for o in outcomes[:3]]  # matched by email, not duplicated


def test_notes_attachments_and_deleted_records(fresh_sandbox: RunningSandbox) -> None:
    connector = connect(fresh_sandbox)
    case = next(connector.records("Cases", ["Subject"]))

    note = connector.add_note("Cases", case["id"], "From Jira", "SUP-1 was resolved.")
    uploaded = connector.upload_attachment(
        "Cases", case["id"], "trace ✓.log", io.BytesIO(b"stack trace\n"), "text/plain"
    )
    notes = connector.notes("Cases", case["id"])
    attachments = connector.attachments("Cases", case["id"])
    with connector.open_attachment("Cases", case["id"], uploaded.id or "") as answer:
        content = answer.content
    removed = connector.delete_attachment("Cases", case["id"], uploaded.id or "")
    left = connector.attachments("Cases", case["id"])
    [missing] = connector.update("Cases", [{"id": "1", "Status": "Closed"}])
    deletions = connector.delete("Cases", [case["id"], "2"])

    assert note.ok and uploaded.ok
    assert "SUP-1 was resolved." in [n["Note_Content"] for n in notes]
    assert ("trace ✓.log", 12) in [(a.file_name, a.size) for a in attachments]
    assert content == b"stack trace\n"
    assert removed.ok and removed.id == uploaded.id and uploaded.id not in [a.id for a in left]
    assert (
        not missing.ok
        and missing.error
        == "INVALID_DATA: the id given seems to be invalid (api_name=id, json_path=$.data[0].id)"
    )
    assert [d.ok for d in deletions] == [True, False]
    assert [d["id"] for d in connector.deleted("Cases")] == [case["id"]]


def test_a_related_list_is_read_up_to_its_limit_in_one_call(fresh_sandbox: RunningSandbox) -> None:
    connector = connect(fresh_sandbox)
    deal = next(connector.records("Deals", ["Stage"]))
    for stage in ("Qualification", "Proposal", "Negotiation", "Closed Won"):
        connector.update("Deals", [{"id": deal["id"], "Stage": stage}])
    fresh_sandbox.clear_counters()

    latest = connector.related_records("Deals", deal["id"], "Stage_History", ["Stage"], limit=2)
    every = connector.related_records("Deals", deal["id"], "Stage_History", ["Stage"])
    roles = connector.related_records("Deals", deal["id"], "Contact_Roles", ["Email", "Contact_Role"])
    made = connector.insert("Deals", [{"Deal_Name": "No roles yet", "Stage": "Qualification"}])
    none = connector.related_records("Deals", str(made[0].id), "Contact_Roles", ["Email"])

    assert [r["Stage"] for r in latest] == ["Closed Won", "Negotiation"]
    assert [r["Stage"] for r in every][:4] == ["Closed Won", "Negotiation", "Proposal", "Qualification"]
    assert roles and all(r["Email"] and r["Contact_Role"]["name"] for r in roles)
    assert none == []  # 204
    queries = [e["query"] for e in fresh_sandbox.request_log() if "Stage_History" in e["path"]]
    assert len(queries) == 2 and "per_page=2" in queries[0] and "per_page=200" in queries[1]


def test_notes_changed_since_a_time_then_edited_and_deleted(fresh_sandbox: RunningSandbox) -> None:
    connector = connect(fresh_sandbox)
    deal = next(connector.records("Deals", ["Deal_Name"]))
    every = list(connector.notes_modified_since(None))
    added = connector.add_note("Deals", deal["id"], "", "Fresh note")
    stamp = next(n for n in connector.notes("Deals", deal["id"]) if n["id"] == added.id)["Modified_Time"]

    changed = list(connector.notes_modified_since(datetime.fromisoformat(stamp)))
    edited = connector.update_note(added.id or "", "Edited note")
    deleted = connector.delete_note(added.id or "")

    assert every and added.id not in [n["id"] for n in every]  # the seeded notes, of every module
    assert [n["id"] for n in changed] == [added.id]
    assert list(connector.notes_modified_since(datetime.now(UTC) + timedelta(days=1))) == []  # 304
    assert edited.ok and deleted.ok
    assert added.id not in [n["id"] for n in connector.notes("Deals", deal["id"])]


def test_metadata_lists_modules_and_custom_fields(fresh_sandbox: RunningSandbox) -> None:
    connector = connect(fresh_sandbox)

    modules = {m["api_name"] for m in connector.modules()}
    fields = {f["api_name"]: f for f in connector.fields("Contacts")}

    assert {"Leads", "Contacts", "Accounts", "Deals", "Cases"} <= modules
    assert fields["Synced_Jira_User"]["custom_field"] is True


def test_search_and_coql(fresh_sandbox: RunningSandbox) -> None:
    connector = connect(fresh_sandbox)
    contact = next(connector.records("Contacts", ["Email", "Last_Name"]))

    found = connector.search("Contacts", f"(Email:equals:{contact['Email']})", ["Email"])
    rows = connector.coql(f"select Email from Contacts where Last_Name = '{contact['Last_Name']}' limit 200")

    assert [r["id"] for r in found] == [contact["id"]]
    assert contact["id"] in [r["id"] for r in rows]


# ---- faults ----------------------------------------------------------------------------------


def test_429s_are_retried_after_the_retry_after(fresh_sandbox: RunningSandbox) -> None:
    connector = connect(fresh_sandbox)
    fresh_sandbox.add_fault("zoho", "rate_limit", route="/crm/v8/Leads", count=2, retry_after=7)

    records = list(connector.records("Leads", ["Last_Name"]))

    assert len(records) == len(fresh_sandbox.records("zoho", "Leads"))
    sleeps = connector.http.clock.sleeps  # type: ignore[attr-defined]
    assert len(sleeps) == 2 and min(sleeps) >= 7


def test_a_burst_of_5xx_is_ridden_out(fresh_sandbox: RunningSandbox) -> None:
    connector = connect(fresh_sandbox)
    fresh_sandbox.add_fault("zoho", "error", route="/crm/v8/Contacts", status=503, count=3)

    records = list(connector.records("Contacts", ["Email"]))
    outcomes = connector.upsert("Contacts", [{"Last_Name": "After", "Email": "after.burst@acme.example"}])

    assert len(records) == len(fresh_sandbox.records("zoho", "Contacts")) - 1
    assert outcomes[0].ok
    assert connector.calls_by_endpoint()["GET /crm/v8/{module}"] == 4  # 3 refused, 1 answered


def test_a_dropped_connection_on_a_read_is_retried(fresh_sandbox: RunningSandbox) -> None:
    connector = connect(fresh_sandbox)
    fresh_sandbox.add_fault("zoho", "drop", route="/crm/v8/Cases", method="GET", count=1)

    records = list(connector.records("Cases", ["Subject"]))

    assert len(records) == len(fresh_sandbox.records("zoho", "Cases"))


def test_token_expiry_mid_run_refreshes_once_and_goes_on(fresh_sandbox: RunningSandbox) -> None:
    fill(fresh_sandbox, "Leads", 1000)
    connector = connect(fresh_sandbox)
    pages = connector.records("Leads", ["Last_Name"])
    first_page = [next(pages) for _ in range(200)]
    fresh_sandbox.add_fault("zoho", "expire_tokens", count=1)

    rest = list(pages)

    assert len(first_page) + len(rest) == 1000
    assert connector.auth.token_requests == 2


def test_a_refused_refresh_token_fails_with_the_reason(fresh_sandbox: RunningSandbox) -> None:
    connector = connect(fresh_sandbox, refresh_token="1000.not-the-refresh-token")
    with pytest.raises(AuthenticationError) as raised:
        connector.modules()  # the token is asked for at the first call

    assert "token refused: invalid_code" in str(raised.value)
    assert "Check the client id" in str(raised.value)
    assert "1000.not-the-refresh-token" not in str(raised.value)


def test_a_connector_that_makes_no_call_asks_for_no_token(fresh_sandbox: RunningSandbox) -> None:
    connector = connect(fresh_sandbox)
    assert connector.calls_by_endpoint() == {"POST /oauth/v2/token": 0}
    connector.modules()
    assert connector.calls_by_endpoint()["POST /oauth/v2/token"] == 1


def test_no_secret_reaches_the_logs_or_the_errors(
    fresh_sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    credentials = fresh_sandbox.credentials["zoho"]
    connector = connect(fresh_sandbox)
    access_token = connector.auth.access_token()
    fresh_sandbox.add_fault("zoho", "expire_tokens", count=1)
    fresh_sandbox.add_fault("zoho", "rate_limit", count=1, retry_after=1)
    list(connector.records("Accounts", ["Account_Name"]))
    fresh_sandbox.add_fault("zoho", "error", status=500, count=20)
    with pytest.raises(Exception) as failure:
        connector.upsert("Accounts", [{"Account_Name": "Never written"}])

    captured = caplog.text + str(failure.value)
    assert "retry" in caplog.text  # the run did log, so the check below means something
    for secret in (credentials["client_secret"], credentials["refresh_token"], access_token):
        assert secret not in captured


def test_unknown_data_centre_names_the_choices() -> None:
    with pytest.raises(ValueError, match="use one of US, EU, IN, AU, JP, CN, UK, CA, SA"):
        accounts_url_for("MARS")
    assert accounts_url_for("eu") == "https://accounts.zoho.eu"


@pytest.mark.parametrize(
    ("kind", "options"),
    [("drop", {}), ("error", {"status": 503}), ("rate_limit", {"retry_after": 3})],
    ids=["dropped", "503", "429"],
)
def test_a_transient_failure_of_the_first_token_request_is_retried(
    fresh_sandbox: RunningSandbox, kind: str, options: dict[str, object]
) -> None:
    fresh_sandbox.add_fault("zoho-accounts", kind, route="/oauth/v2/token", count=1, **options)
    connector = connect(fresh_sandbox)
    assert connector.modules()
    assert connector.auth.token_requests == 2
