"""The Zoho CRM behaviours clients trip over, one test each, against the real sandbox server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from tests.sandbox.test_zoho_openapi import zoho_client

from sandbox.testing import RunningSandbox


@pytest.fixture
def zoho(fresh_sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with zoho_client(fresh_sandbox) as client:
        yield client


def _fill_leads(sandbox: RunningSandbox, total: int) -> None:
    present = len(sandbox.records("zoho", "Leads"))
    sandbox.mutate("zoho", "generate_records", module="Leads", count=total - present)


def _page(zoho: httpx.Client, **params: object) -> httpx.Response:
    return zoho.get("/crm/v8/Leads", params={"fields": "Last_Name", "per_page": 200, **params})


def test_exactly_2000_records_fit_in_ten_pages_and_page_11_is_refused(
    fresh_sandbox: RunningSandbox, zoho: httpx.Client
) -> None:
    _fill_leads(fresh_sandbox, 2000)

    tenth = _page(zoho, page=10)
    eleventh = _page(zoho, page=11)

    assert tenth.json()["info"]["count"] == 200
    assert tenth.json()["info"]["more_records"] is False
    assert eleventh.status_code == 400
    assert eleventh.json() == {
        "code": "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
        "details": {"limit": 2000},
        "message": "You can only get the first 2000 records without using page_token param",
        "status": "error",
    }


def test_record_2001_is_reached_only_with_the_page_token(
    fresh_sandbox: RunningSandbox, zoho: httpx.Client
) -> None:
    _fill_leads(fresh_sandbox, 2001)

    tenth = _page(zoho, page=10, sort_order="asc")
    rest = _page(zoho, page_token=tenth.json()["info"]["next_page_token"], sort_order="asc")

    assert tenth.json()["info"]["more_records"] is True
    assert rest.status_code == 200
    assert rest.json()["info"]["count"] == 1
    assert rest.json()["info"]["more_records"] is False
    read = {r["id"] for p in range(1, 11) for r in _page(zoho, page=p, sort_order="asc").json()["data"]}
    assert rest.json()["data"][0]["id"] not in read
    assert len(read) == 2000


def test_an_expired_page_token_is_refused(fresh_sandbox: RunningSandbox, zoho: httpx.Client) -> None:
    token = _page(zoho, per_page=5).json()["info"]["next_page_token"]
    fresh_sandbox.mutate("zoho", "expire_page_tokens")

    answer = _page(zoho, per_page=5, page_token=token)

    assert answer.status_code == 400
    assert answer.json()["code"] == "INVALID_DATA"
    assert answer.json()["details"] == {"param_name": "page_token"}


def test_a_read_that_matches_nothing_is_204_with_an_empty_body(zoho: httpx.Client) -> None:
    by_ids = _page(zoho, ids="1")
    search = zoho.get("/crm/v8/Leads/search", params={"criteria": "(Last_Name:equals:Nobody-By-This-Name)"})
    unchanged = zoho.get(
        "/crm/v8/Leads",
        params={"fields": "Last_Name"},
        headers={"If-Modified-Since": "2099-01-01T00:00:00+00:00"},
    )

    assert (by_ids.status_code, by_ids.content) == (204, b"")
    assert (search.status_code, search.content) == (204, b"")
    assert (unchanged.status_code, unchanged.content) == (304, b"")


def test_upsert_answers_each_record_in_input_order(zoho: httpx.Client) -> None:
    existing = zoho.get("/crm/v8/Contacts", params={"fields": "Email", "per_page": 1}).json()["data"][0]
    batch = [
        {"Last_Name": "Novak", "Email": "new.person@acme.example"},
        {"Last_Name": "Novak", "Email": "not-an-email"},
        {"Email": existing["Email"].upper(), "Title": "Head of Support"},
        {"First_Name": "No last name"},
    ]

    answer = zoho.post("/crm/v8/Contacts/upsert", json={"data": batch, "duplicate_check_fields": ["Email"]})

    results = answer.json()["data"]
    assert answer.status_code == 200
    assert [(r["status"], r["code"], r.get("action")) for r in results] == [
        ("success", "SUCCESS", "insert"),
        ("error", "INVALID_DATA", None),
        ("success", "SUCCESS", "update"),
        ("error", "MANDATORY_NOT_FOUND", None),
    ]
    assert results[1]["details"] == {
        "api_name": "Email",
        "json_path": "$.data[1].Email",
        "expected_data_type": "email",
    }
    assert results[2]["details"]["id"] == existing["id"]
    assert results[2]["duplicate_field"] == "Email"
    assert results[3]["details"] == {"api_name": "Last_Name", "json_path": "$.data[3].Last_Name"}


def test_records_inserted_at_once_each_get_an_id_of_their_own(zoho: httpx.Client) -> None:
    """Zoho never gives two records one id, however many writes arrive together (a sync writes
    several batches at once)."""
    batches = [[{"Last_Name": f"At once {n}-{i}"} for i in range(100)] for n in range(8)]

    def insert(batch: list[dict[str, str]]) -> list[str]:
        answer = zoho.post("/crm/v8/Contacts", json={"data": batch})
        return [result["details"]["id"] for result in answer.json()["data"]]

    with ThreadPoolExecutor(len(batches)) as pool:
        ids = [record_id for answered in pool.map(insert, batches) for record_id in answered]
    assert len(set(ids)) == 800
    names = {zoho.get(f"/crm/v8/Contacts/{record_id}").json()["data"][0]["Last_Name"] for record_id in ids}
    assert len(names) == 800  # each id holds the record it was given for


def test_more_than_100_records_in_one_write_is_refused(zoho: httpx.Client) -> None:
    answer = zoho.post("/crm/v8/Leads", json={"data": [{"Last_Name": "x", "Company": "y"}] * 101})

    assert answer.status_code == 400
    assert answer.json()["code"] == "LIMIT_EXCEEDED"


def test_a_read_without_fields_is_refused(zoho: httpx.Client) -> None:
    answer = zoho.get("/crm/v8/Contacts")

    assert answer.status_code == 400
    assert answer.json() == {
        "code": "REQUIRED_PARAM_MISSING",
        "details": {"param_name": "fields"},
        "message": "One of the expected parameter is missing",
        "status": "error",
    }


def test_requests_over_the_concurrency_limit_get_429(
    fresh_sandbox: RunningSandbox, zoho: httpx.Client
) -> None:
    fresh_sandbox.mutate("zoho", "configure", concurrency_limit=2, request_seconds=1.0)
    statuses: list[int] = []
    start = threading.Barrier(4)

    def call() -> None:
        start.wait()
        statuses.append(zoho.get("/crm/v8/Leads", params={"fields": "Last_Name", "per_page": 1}).status_code)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refused = zoho.get("/crm/v8/Leads", params={"fields": "Last_Name"})

    assert sorted(statuses) == [200, 200, 429, 429]
    assert refused.status_code == 200  # the slots are free again


def test_the_429_body_is_zohos(fresh_sandbox: RunningSandbox, zoho: httpx.Client) -> None:
    fresh_sandbox.add_fault("zoho", "rate_limit", count=1, retry_after=3)

    answer = zoho.get("/crm/v8/Leads", params={"fields": "Last_Name"})

    assert answer.status_code == 429
    assert answer.json()["code"] == "TOO_MANY_REQUESTS"
    assert answer.headers["Retry-After"] == "3"


def test_an_expired_access_token_gets_invalid_token(
    fresh_sandbox: RunningSandbox, zoho: httpx.Client
) -> None:
    fresh_sandbox.add_fault("zoho", "expire_tokens", count=1)

    first = zoho.get("/crm/v8/Leads", params={"fields": "Last_Name"})
    second = zoho.get("/crm/v8/Leads", params={"fields": "Last_Name"})

    assert first.status_code == 401 and first.json()["code"] == "INVALID_TOKEN"
    assert second.status_code == 401  # the token stays revoked: the client must refresh


def test_token_lifetime_follows_the_admin_setting(fresh_sandbox: RunningSandbox) -> None:
    fresh_sandbox.mutate("zoho", "configure", token_lifetime_s=120)

    answer = httpx.post(
        fresh_sandbox.url("/zoho-accounts") + "/oauth/v2/token",
        data={**fresh_sandbox.credentials["zoho"], "grant_type": "refresh_token"},
    ).json()

    assert answer["expires_in"] == 120


def test_a_bad_refresh_token_is_refused_with_200_and_invalid_code(fresh_sandbox: RunningSandbox) -> None:
    credentials = {**fresh_sandbox.credentials["zoho"], "refresh_token": "1000.wrong"}

    answer = httpx.post(
        fresh_sandbox.url("/zoho-accounts") + "/oauth/v2/token",
        data={**credentials, "grant_type": "refresh_token"},
    )

    assert (answer.status_code, answer.json()) == (200, {"error": "invalid_code"})


@pytest.mark.parametrize(
    ("accounts_host", "api_host"),
    [("accounts.zoho.eu", "www.zohoapis.eu"), ("accounts.zohocloud.ca", "www.zohoapis.ca")],
)
def test_api_domain_names_the_data_centre_the_request_reached(
    fresh_sandbox: RunningSandbox, accounts_host: str, api_host: str
) -> None:
    answer = httpx.post(
        fresh_sandbox.base_url + "/oauth/v2/token",
        data={**fresh_sandbox.credentials["zoho"], "grant_type": "refresh_token"},
        headers={"Host": f"{accounts_host}:{fresh_sandbox.port}"},
    ).json()

    assert answer["api_domain"] == f"http://{api_host}:{fresh_sandbox.port}"
    via_prefix = httpx.post(
        fresh_sandbox.url("/zoho-accounts") + "/oauth/v2/token",
        data={**fresh_sandbox.credentials["zoho"], "grant_type": "refresh_token"},
    ).json()
    assert via_prefix["api_domain"] == fresh_sandbox.url("/zoho")


def test_coql_pages_with_limit_offset_and_caps_at_2000(
    fresh_sandbox: RunningSandbox, zoho: httpx.Client
) -> None:
    _fill_leads(fresh_sandbox, 2500)

    def query(tail: str) -> httpx.Response:
        return zoho.post(
            "/crm/v8/coql",
            json={
                "select_query": f"select Last_Name from Leads where (Last_Name is not null or Email = 'x') order by id {tail}"
            },
        )

    first, second, too_big = query("limit 0, 2000"), query("limit 2000 offset 2000"), query("limit 2001")

    assert first.json()["info"] == {"count": 2000, "more_records": True}
    assert second.json()["info"] == {"count": 500, "more_records": False}
    assert not {r["id"] for r in first.json()["data"]} & {r["id"] for r in second.json()["data"]}
    assert too_big.status_code == 400 and too_big.json()["code"] == "LIMIT_EXCEEDED"


def test_an_attachment_keeps_a_unicode_name_in_the_listing_and_the_download(
    fresh_sandbox: RunningSandbox, zoho: httpx.Client
) -> None:
    deal = fresh_sandbox.records("zoho", "Deals")[0]["id"]
    path = f"/crm/v8/Deals/{deal}/Attachments"
    uploaded = zoho.post(path, files={"file": ("Angebot für Café ✓.txt", b"bonjour", "text/plain")})
    assert uploaded.status_code == 200, uploaded.text
    attachment_id = uploaded.json()["data"][0]["details"]["id"]
    listed = zoho.get(path, params={"fields": "id,File_Name,Size"}).json()["data"]
    assert {"id": attachment_id, "File_Name": "Angebot für Café ✓.txt", "Size": "7"}.items() <= next(
        a for a in listed if a["id"] == attachment_id
    ).items()
    download = zoho.get(f"{path}/{attachment_id}")
    assert download.content == b"bonjour"
    assert download.headers["content-disposition"] == (
        "attachment; filename*=UTF-8''Angebot%20f%C3%BCr%20Caf%C3%A9%20%E2%9C%93.txt"
    )
