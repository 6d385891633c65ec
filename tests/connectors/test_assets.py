"""AssetsConnector against the sandbox's Assets: metadata, AQL paging, writes with outcomes, and faults."""

from __future__ import annotations

import base64
import logging
import math

import pytest

from jirasync.connectors import ApiError, AuthenticationError, RetryPolicy, VirtualClock
from jirasync.connectors.assets import AssetsConnector, AssetsRequestError, ObjectIn
from sandbox.testing import RunningSandbox

AQL = "POST /object/aql"
EMPLOYEES = "objectType = Employee"


def connect(sandbox: RunningSandbox, clock: VirtualClock | None = None, **options: object) -> AssetsConnector:
    credentials = sandbox.credentials["assets"]
    workspace_id = sandbox.records("assets", "workspace")[0]["workspaceId"]
    return AssetsConnector.with_api_token(
        sandbox.url("/atlassian"),
        workspace_id,
        credentials["email"],
        credentials["api_token"],
        clock=clock or VirtualClock(),
        **options,
    )


def employee_ids(sandbox: RunningSandbox) -> set[str]:
    return {o["id"] for o in sandbox.records("assets", "objects") if o["objectTypeId"] == "2"}


@pytest.fixture
def assets(fresh_sandbox: RunningSandbox) -> AssetsConnector:
    return connect(fresh_sandbox)


# Metadata


def test_schemas_types_and_attribute_names_resolve_to_ids(assets):
    schema = next(s for s in assets.object_schemas() if s.key == "HR")
    employee = assets.object_type(schema.id, "employee")
    ids = assets.attribute_ids(employee.id, ["Name", "Jira User", "Email", "Status", "Folder"])

    attributes = {a.id: a for a in assets.attributes(employee.id)}
    assert [attributes[ids[n]].name for n in ids] == ["Name", "Jira User", "Email", "Status", "Folder"]
    assert attributes[ids["Jira User"]].type == 2
    assert attributes[ids["Folder"]].reference_type_id == assets.object_type(schema.id, "Folder").id


def test_unknown_attribute_name_says_which_exist(assets):
    with pytest.raises(AssetsRequestError, match=r"no attribute 'Phone'.*'Job Title'"):
        assets.object_in("2", {"Name": "X", "Phone": "1"})


def test_unknown_object_type_name_says_which_exist(assets):
    with pytest.raises(AssetsRequestError, match=r"no object type 'Laptop'.*'Employee'"):
        assets.object_type("1", "Laptop")


# Reads


@pytest.mark.parametrize("page_size", [7, 25, 1000])
def test_search_reads_every_match_in_ceil_n_over_page_calls(fresh_sandbox, assets, page_size):
    found = list(assets.search(EMPLOYEES, page_size=page_size))

    expected = employee_ids(fresh_sandbox)
    assert sorted(o.id for o in found) == sorted(expected)
    assert assets.http.calls[AQL] == math.ceil(len(expected) / page_size)


def test_search_gives_plain_values_by_attribute_name(fresh_sandbox, assets):
    found = next(o for o in assets.search('"Jira User" IS NOT EMPTY', page_size=5))

    user = fresh_sandbox.record("jira", "users", found.value("Jira User"))
    assert user["displayName"] == found.value("Name") == found.label
    assert found.value("Folder") == "HR-1"
    assert found.value("Status") in {"Active", "Inactive"}


def test_count_uses_totalcount(fresh_sandbox, assets):
    assert assets.count(EMPLOYEES) == len(employee_ids(fresh_sandbox))
    assert assets.http.calls["POST /object/aql/totalcount"] == 1


# Writes


def test_create_a_z_folder_then_file_an_employee_in_it_update_and_delete(fresh_sandbox, assets):
    account_id = next(
        u["accountId"]
        for u in fresh_sandbox.records("jira", "users")
        if u["accountType"] == "atlassian"
        and u["displayName"] != "Sandbox Admin"
        and not assets.count(f'"Jira User" = "{u["accountId"]}"')
    )
    folder = assets.create_object(assets.object_in("1", {"Name": "Z", "Parent": "HR-1"}))
    body = assets.object_in(
        "2",
        {
            "Name": "Zoe Zhang",
            "Jira User": account_id,
            "Email": "zoe@northwind.example",
            "Folder": folder.key,
        },
    )

    [created] = assets.create_objects([body])
    [updated] = assets.update_objects(
        [(created.id, assets.object_in("2", {"Status": "Inactive", "Email": None}))]
    )
    read = assets.get_object(created.id)
    [deleted] = assets.delete_objects([created.id])

    assert created.ok and updated.ok and deleted.ok
    assert read.attributes["Folder"] == [folder.key]
    assert read.value("Jira User") == account_id
    assert read.value("Status") == "Inactive"
    assert read.value("Email") is None
    assert read.value("Name") == "Zoe Zhang"
    assert created.id not in {o["id"] for o in fresh_sandbox.records("assets", "objects")}


def test_batch_writes_report_an_outcome_per_record(assets):
    good = assets.object_in("1", {"Name": "A"})
    bad = assets.object_in("2", {"Email": "not-an-email"})

    outcomes = assets.create_objects([good, bad, good])
    missing = assets.delete_objects(["999999"])

    assert [o.ok for o in outcomes] == [True, False, True]
    assert "not-an-email" in outcomes[1].error and not outcomes[1].retryable
    assert outcomes[0].id != outcomes[2].id
    assert not missing[0].ok and missing[0].id == "999999" and "HTTP 404" in missing[0].error


def test_system_attributes_cannot_be_mapped(assets):
    with pytest.raises(AssetsRequestError, match=r"\['Key'\].*set by Assets itself"):
        assets.object_in("2", {"Name": "X", "Key": "HR-9"})


def test_object_in_turns_values_into_strings_and_none_into_a_clear():
    body = ObjectIn("2", {"7": ["A"], "12": []}).to_json()

    assert body == {
        "objectTypeId": "2",
        "attributes": [
            {"objectTypeAttributeId": "7", "objectAttributeValues": [{"value": "A"}]},
            {"objectTypeAttributeId": "12", "objectAttributeValues": []},
        ],
    }


# Faults


def test_a_429_storm_without_retry_after_backs_off_exponentially(fresh_sandbox):
    clock = VirtualClock()
    fresh_sandbox.add_fault("assets", "rate_limit", route="/jsm/assets/workspace", count=5)
    assets = connect(fresh_sandbox, clock)

    found = list(assets.search(EMPLOYEES, page_size=1000))

    assert len(found) == len(employee_ids(fresh_sandbox))
    assert len(clock.sleeps) == 5
    ceilings = [min(60.0, 2 ** (n - 1)) for n in range(1, 6)]  # RetryPolicy: base 1 s, doubling
    assert all(c / 2 <= wait <= c for wait, c in zip(clock.sleeps, ceilings, strict=True))
    assert assets.http.calls[AQL] == 5 + 1


def test_a_burst_of_5xx_on_search_is_retried(fresh_sandbox):
    clock = VirtualClock()
    fresh_sandbox.add_fault("assets", "error", route="/jsm/assets/workspace", status=500, count=3)
    assets = connect(fresh_sandbox, clock)

    assert len(list(assets.search(EMPLOYEES, page_size=1000))) == len(employee_ids(fresh_sandbox))
    assert len(clock.sleeps) == 3


def test_a_dropped_connection_during_search_is_retried(fresh_sandbox, assets):
    fresh_sandbox.add_fault("assets", "drop", route="/jsm/assets/workspace", count=1)

    assert len(list(assets.search(EMPLOYEES, page_size=1000))) == len(employee_ids(fresh_sandbox))
    assert assets.http.calls[AQL] == 2


def test_a_dropped_create_is_not_retried_so_it_cannot_duplicate(fresh_sandbox, assets):
    before = len(fresh_sandbox.records("assets", "objects"))
    fresh_sandbox.add_fault("assets", "drop", route="/jsm/assets/workspace", method="POST", count=1)

    [outcome] = assets.create_objects([assets.object_in("1", {"Name": "Q"})])

    assert not outcome.ok and outcome.retryable
    assert "not retried" in outcome.error
    assert assets.http.calls["POST /object/create"] == 1
    assert len(fresh_sandbox.records("assets", "objects")) == before


def test_rejected_credentials_stop_with_an_authentication_error(fresh_sandbox, assets):
    fresh_sandbox.add_fault("assets", "expire_tokens", route="/jsm/assets/workspace", count=1)

    with pytest.raises(AuthenticationError, match="Check the credentials"):
        assets.count(EMPLOYEES)

    assert assets.http.calls["POST /object/aql/totalcount"] == 1  # a static API token: no retry


def test_no_secret_in_logs_or_errors_of_a_failing_run(fresh_sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    credentials = fresh_sandbox.credentials["assets"]
    fresh_sandbox.add_fault("assets", "error", route="/jsm/assets/workspace", status=503)
    failing = connect(fresh_sandbox, retry=RetryPolicy(max_attempts=3))  # a VirtualClock: no real waits
    workspace_id = fresh_sandbox.records("assets", "workspace")[0]["workspaceId"]
    wrong = AssetsConnector.with_api_token(
        fresh_sandbox.url("/atlassian"),
        workspace_id,
        "intruder@example.com",
        "wrong-assets-token-987654",
        clock=VirtualClock(),
    )

    errors: list[ApiError] = []
    for attempt in (lambda: list(failing.search(EMPLOYEES)), lambda: wrong.object_schemas()):
        with pytest.raises(ApiError) as raised:
            attempt()
        errors.append(raised.value)
        logging.getLogger("jirasync.connectors.http").exception("sync failed")
        fresh_sandbox.clear_faults()

    assert [type(e).__name__ for e in errors] == ["ServerError", "AuthenticationError"]
    basic = base64.b64encode(f"{credentials['email']}:{credentials['api_token']}".encode()).decode()
    texts = [caplog.text, *map(str, errors)]
    for secret in (credentials["api_token"], basic, "wrong-assets-token-987654"):
        assert all(secret not in text for text in texts)


def test_a_missing_workspace_id_says_where_to_get_it():
    with pytest.raises(ValueError, match=r"rest/servicedeskapi/assets/workspace"):
        AssetsConnector.with_api_token("https://api.atlassian.com", "", "a@b.c", "token")
