"""Identity → Jira user properties, through real Airflow DAG runs against a sandbox of 300 people.

300 people (about 290 in Graph) make several Graph pages of 100 (with the manager); the pages of 999
(without) are test_identity_paging.py's, on a world of its own; the benchmarks measure the same sync
on larger worlds.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from typing import Any

import pytest
from tests.e2e.harness import EndToEnd, end_to_end, webhook_receiver

from jirasync.engine.store import StateStore
from jirasync.sync_center.records import run_history

PEOPLE = 300
NOTIFIED = "entra_to_jira_notified"  # sends its failures to a webhook
SHARDED = "entra_to_jira_sharded"  # applies in two mapped tasks
COUNTED = (
    "read_source",
    "read_target",
    "updated",
    "linked",
    "skipped",
    "failed",
    "api_calls",
    "ideal_api_calls",
)
NUMERIC_ID = "1_000"  # a number to Python's literal_eval, which native template rendering applies
PROPERTY = "jirasync.identity"
SCIM_PROPERTY = "jirasync.scim"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EndToEnd]:
    with end_to_end(
        tmp_path_factory.mktemp("identity"),
        users=PEOPLE,
        seed=5,
        definitions=["entra_to_jira.yaml", "scim_to_jira.yaml"],
    ) as e2e:
        e2e.add_variant("entra_to_jira.yaml", NUMERIC_ID, {})
        e2e.add_variant("entra_to_jira.yaml", SHARDED, {"schedule:": "shards: 2\nschedule:"})
        e2e.add_variant(
            "entra_to_jira.yaml",
            NOTIFIED,
            {
                "schedule:": "notify:\n  - {kind: webhook, conn_id: failure_webhook, endpoint: /hooks/jirasync}\nschedule:"
            },
        )
        yield e2e


@pytest.fixture
def e2e(world: EndToEnd) -> EndToEnd:
    """The module's world as seeded, with no sync state: each test starts from nothing."""
    world.reset()
    return world


def jira_users(e2e: EndToEnd) -> list[dict[str, Any]]:
    return [u for u in e2e.sandbox.records("jira", "users") if u["accountType"] == "atlassian"]


def properties(e2e: EndToEnd, key: str) -> dict[str, Any]:
    """accountId → the value of property ``key``, for every user that has it."""
    return {
        record["accountId"] if "accountId" in record else record["id"]: record["properties"][key]
        for record in e2e.sandbox.records("jira", "user_properties")
        if key in record["properties"]
    }


def matchable(e2e: EndToEnd, identities: list[dict[str, Any]], email_of: str) -> dict[str, str]:
    """identity id → Jira accountId the sync must find: by visible email, or by search (active users)."""
    by_email: dict[str, str] = {}
    for user in jira_users(e2e):
        email = (user.get("emailAddress") or "").casefold()
        if email and (user["emailVisible"] or user["active"]):
            by_email[email] = user["accountId"]
    return {
        identity["id"]: by_email[identity[email_of].casefold()]
        for identity in identities
        if identity.get(email_of) and identity[email_of].casefold() in by_email
    }


def graph_users(e2e: EndToEnd) -> list[dict[str, Any]]:
    return e2e.sandbox.records("graph", "users")


def test_first_run_writes_the_matched_users_and_a_second_run_only_reads_the_minimum(e2e: EndToEnd) -> None:
    expected = matchable(e2e, graph_users(e2e), "mail")
    first = e2e.run("entra_to_jira")
    written = properties(e2e, PROPERTY)
    assert set(written) == set(expected.values())
    assert first["updated"] == len(expected) == e2e.calls("jira", "PUT /rest/api/3/user/properties")
    assert first["api_calls"] == first["ideal_api_calls"]

    assert e2e.asset_events("entra_to_jira") == 1  # the run changed Jira: dependent DAGs may run

    second = e2e.run("entra_to_jira")
    assert second["updated"] == second["created"] == 0
    assert e2e.asset_events("entra_to_jira") == 1  # nothing changed, no event
    assert e2e.calls("jira") == 0
    assert e2e.calls("graph", "/users/delta") == 1
    assert second["api_calls"] == second["ideal_api_calls"] == 2  # a token, one delta page

    full = e2e.run("entra_to_jira", full_sync=True)
    assert full["updated"] == 0
    # The manager is mapped, and Graph caps pages at 100 when it is expanded.
    assert e2e.calls("graph", "/users/delta") == math.ceil(len(graph_users(e2e)) / 100)
    assert full["api_calls"] == full["ideal_api_calls"]

    e2e.sandbox.mutate("graph", "expire_delta_links")
    resync = e2e.run("entra_to_jira")  # Graph answers 410 to the stored link: a new round reads everyone
    assert resync["updated"] == 0
    assert e2e.calls("graph", "/users/delta") == math.ceil(len(graph_users(e2e)) / 100) + 1
    assert resync["api_calls"] == resync["ideal_api_calls"]


def test_a_run_whose_source_changed_nothing_reads_no_target_skips_check_and_apply_and_says_so(
    e2e: EndToEnd,
) -> None:
    e2e.run("entra_to_jira")
    assert e2e.task_states("entra_to_jira")["apply"] == "success"

    e2e.sandbox.clear_counters()
    result = e2e.attempt("entra_to_jira")
    assert result.succeeded, result.failures()
    assert e2e.task_states("entra_to_jira") == {
        "extract_source": "success",
        "extract_target": "success",
        "plan": "success",
        "check": "skipped",
        "apply": "skipped",
        "report": "success",
        "announce_changes": "skipped",
    }
    idle = e2e.stack.latest_summary("entra_to_jira")
    assert idle is not None
    said = idle["nothing_changed"]
    assert said.startswith("nothing changed since ") and said.endswith(": target not read")
    assert said in result.log_path.read_text()
    assert idle["read_target"] == idle["updated"] == idle["failed"] == 0
    assert e2e.calls("jira") == 0 and idle["api_calls"] == idle["ideal_api_calls"] == 2

    # The idle run kept Graph's new delta link: a user changed after it is read and written.
    changed = sorted(matchable(e2e, graph_users(e2e), "mail"))[0]
    e2e.sandbox.edit("graph", "users", changed, jobTitle="Chief Idler")
    after = e2e.run("entra_to_jira")
    assert after["updated"] == 1 and "nothing_changed" not in after
    assert e2e.task_states("entra_to_jira")["apply"] == "success"


def test_a_sharded_apply_runs_as_mapped_tasks_that_write_each_user_once_between_them(e2e: EndToEnd) -> None:
    """shards: 2 maps the apply over two tasks (on Celery, two workers may take them): each writes its
    half, the report adds them up into the run's summary, and the result is the unsharded sync's."""
    expected = matchable(e2e, graph_users(e2e), "mail")
    summary = e2e.run(SHARDED)
    states = e2e.task_states(SHARDED)
    assert {task: state for task, state in states.items() if task.startswith("apply")} == {
        "apply[0]": "success",
        "apply[1]": "success",
    }
    assert set(properties(e2e, PROPERTY)) == set(expected.values())
    assert summary["updated"] == len(expected) == e2e.calls("jira", "PUT /rest/api/3/user/properties")
    assert summary["api_calls"] == summary["ideal_api_calls"]
    store = StateStore(e2e.stack.state_url)
    shard_rows = store.runs(SHARDED, 2)
    assert sorted(row["summary"]["shard"] for row in shard_rows) == ["1 of 2", "2 of 2"]
    assert all(0 < row["summary"]["updated"] < len(expected) for row in shard_rows)
    assert sum(row["summary"]["updated"] for row in shard_rows) == len(expected)
    # The Sync Center lists each shard's run, with its own writes, linked to the one Airflow run.
    history = run_history(store, SHARDED)
    assert sum(row["updated"] for row in history) == len(expected)
    assert len({row["airflow_run_id"] for row in history}) == 1 and history[0]["airflow_run_id"]
    assert e2e.asset_events(SHARDED) == 1

    assert e2e.run(SHARDED)["updated"] == 0  # nothing changed since: both shards skipped
    written = properties(e2e, PROPERTY)
    e2e.reset()
    unsharded = e2e.run("entra_to_jira")
    assert properties(e2e, PROPERTY) == written
    assert {name: unsharded[name] for name in COUNTED} == {name: summary[name] for name in COUNTED}


def test_a_sync_whose_id_reads_as_a_number_runs_as_itself(e2e: EndToEnd) -> None:
    dry = e2e.run(NUMERIC_ID, dry_run=True)
    assert dry["sync"] == NUMERIC_ID and dry["updated"] > 0


@pytest.mark.parametrize(
    ("conf", "said"),
    [
        ({"only": "not an email"}, "neither an email address nor a record id"),
        ({"only": "two@@example.com"}, "neither an email address nor a record id"),
        ({"revert_run": "entra_to_jira:no-such-run:1"}, "it is not a run of this sync"),
    ],
    ids=["words", "malformed-email", "unknown-run"],
)
def test_a_wrong_trigger_form_value_fails_the_run_at_once_saying_what_to_do(
    e2e: EndToEnd, conf: dict[str, str], said: str
) -> None:
    failed = e2e.run_failing("entra_to_jira", **conf)
    [message] = failed.failures()
    assert "failed at step 'extract_source' (try 1," in message and said in message
    assert "Trigger again" in message or "Copy the run id" in message
    assert e2e.calls("graph") == e2e.calls("jira") == 0  # nothing was read


@pytest.mark.parametrize(
    ("connection", "secret", "step", "said"),
    [
        ("entra_id", "not-the-client-secret", "extract_source", "the credentials were refused"),
        ("jira_default", "not-the-api-token", "extract_target", "the credentials were refused"),
        ("entra_id", None, "extract_source", "the connection does not exist"),
    ],
    ids=["refused-client-secret", "refused-api-token", "missing-connection"],
)
def test_a_refused_secret_or_a_missing_connection_fails_at_once_naming_the_connection(
    e2e: EndToEnd,
    monkeypatch: pytest.MonkeyPatch,
    connection: str,
    secret: str | None,
    step: str,
    said: str,
) -> None:
    variable = f"AIRFLOW_CONN_{connection.upper()}"
    if secret is None:
        monkeypatch.delenv(variable)
    else:
        monkeypatch.setenv(variable, json.dumps({**json.loads(os.environ[variable]), "password": secret}))
    failed = e2e.run_failing("entra_to_jira")
    [message] = failed.failures()  # one task failed, once: no retry of what no retry can fix
    assert f"failed at step '{step}' (try 1," in message
    assert f"Airflow connection '{connection}'" in message and said in message
    assert "What to do: " in message and f"connection '{connection}'" in message.split("What to do: ")[1]
    assert "not-the-" not in message  # the refused secret is never shown
    assert e2e.calls("jira", "PUT ") == 0


def test_a_failure_reaches_the_webhook_the_definition_names(
    e2e: EndToEnd, monkeypatch: pytest.MonkeyPatch
) -> None:
    with webhook_receiver() as webhook:
        monkeypatch.setenv("AIRFLOW_CONN_FAILURE_WEBHOOK", webhook.connection)
        e2e.run_failing(NOTIFIED, only="not an email")
    [(path, sent)] = webhook.received
    assert path == "/hooks/jirasync"
    assert sent["dag_id"] == f"jirasync__{NOTIFIED}" and sent["step"] == "extract_source" and sent["try"] == 1
    assert "neither an email address nor a record id" in sent["error"]


def test_a_change_to_one_percent_of_users_is_written_to_exactly_those_users(e2e: EndToEnd) -> None:
    expected = matchable(e2e, graph_users(e2e), "mail")
    e2e.run("entra_to_jira")
    changed = sorted(expected)[::100]
    before = properties(e2e, PROPERTY)
    for user_id in changed:
        e2e.sandbox.edit("graph", "users", user_id, department="Changed by the IdP")
    run = e2e.run("entra_to_jira")
    assert run["updated"] == len(changed) == e2e.calls("jira", "PUT /rest/api/3/user/properties")
    written = properties(e2e, PROPERTY)
    assert {expected[u] for u in changed} == {
        a for a, v in written.items() if v["department"] == "Changed by the IdP"
    }
    # Graph's delta leaves out what did not change (the manager): the property keeps it.
    assert all(written[expected[u]].get("manager") == before[expected[u]].get("manager") for u in changed)
    assert any(before[expected[u]].get("manager") for u in changed)


def test_users_without_an_email_or_sharing_one_are_skipped_and_named_and_everyone_else_is_written(
    e2e: EndToEnd,
) -> None:
    expected = matchable(e2e, graph_users(e2e), "mail")
    no_mail, first_twin, second_twin = sorted(expected)[:3]
    e2e.sandbox.edit("graph", "users", no_mail, mail=None)
    twin_mail = e2e.sandbox.record("graph", "users", first_twin)["mail"]
    e2e.sandbox.edit("graph", "users", second_twin, mail=twin_mail.upper())

    run = e2e.run("entra_to_jira")
    written = properties(e2e, PROPERTY)
    assert run["updated"] == len(expected) - 3 == len(written)
    assert not {expected[u] for u in (no_mail, first_twin, second_twin)} & set(written)
    named = "\n".join(run["skipped_records"])
    assert f"{no_mail} (no key): the source record has no key" in named
    assert f"{first_twin} ({twin_mail.lower()}): duplicate key on the source" in named
    assert f"{second_twin} ({twin_mail.lower()}): duplicate key on the source" in named


def test_a_value_too_long_for_jira_is_cut_to_fit_once_and_not_refused_on_every_run(e2e: EndToEnd) -> None:
    expected = matchable(e2e, graph_users(e2e), "mail")
    user = sorted(expected)[0]
    e2e.sandbox.edit("graph", "users", user, department="Operations " * 4000)  # 44,000 characters
    first = e2e.run("entra_to_jira")
    assert first["failed"] == 0 and first["updated"] == len(expected)
    written = properties(e2e, PROPERTY)[expected[user]]
    assert written["department"].startswith("Operations") and written["department"].endswith("…")
    assert len(json.dumps(written, separators=(",", ":"), ensure_ascii=False)) <= 32_768
    second = e2e.run("entra_to_jira", full_sync=True)
    assert second["updated"] == second["failed"] == 0


def test_disabled_and_removed_users_follow_the_delete_policy(e2e: EndToEnd) -> None:
    expected = matchable(e2e, graph_users(e2e), "mail")
    e2e.run("entra_to_jira")
    disabled, removed = sorted(expected)[:2]
    e2e.sandbox.edit("graph", "users", disabled, accountEnabled=False)
    e2e.sandbox.mutate("graph", "delete_user", id=removed)
    e2e.run("entra_to_jira")
    written = properties(e2e, PROPERTY)
    # entra_to_jira keeps the property of disabled and removed users, saying they are inactive.
    assert written[expected[disabled]]["active"] is False
    assert written[expected[removed]]["active"] is False

    # scim_to_jira clears the property of disabled users: only active ones get one.
    scim_users = [u for u in e2e.sandbox.records("scim", "users") if u["active"]]
    scim_expected = matchable(e2e, [scim_email(u) for u in scim_users], "email")
    e2e.run("scim_to_jira")
    disabled, removed = sorted(scim_expected)[:2]
    e2e.sandbox.edit("scim", "users", disabled, active=False)
    e2e.sandbox.delete("scim", "users", removed)
    e2e.run("scim_to_jira", full_sync=True)  # SCIM has no tombstones: a full read finds removed users
    written = properties(e2e, SCIM_PROPERTY)
    assert scim_expected[disabled] not in written
    assert scim_expected[removed] not in written
    assert len(written) == len(scim_expected) - 2


def scim_email(user: dict[str, Any]) -> dict[str, Any]:
    work = next((e["value"] for e in user.get("emails", []) if e.get("type") == "work"), None)
    return {"id": user["id"], "email": work}


def test_hidden_emails_are_matched_through_search_or_reported(e2e: EndToEnd) -> None:
    hidden = {
        u["emailAddress"].casefold(): u
        for u in jira_users(e2e)
        if not u["emailVisible"] and u.get("emailAddress")
    }
    identities = {u["mail"].casefold(): u["id"] for u in graph_users(e2e) if u.get("mail")}
    searchable = [u for email, u in hidden.items() if u["active"] and email in identities]
    unfindable = [u for email, u in hidden.items() if not u["active"] and email in identities]
    assert searchable and unfindable, "the seeded world must hold both kinds"
    run = e2e.run("entra_to_jira")
    written = properties(e2e, PROPERTY)
    assert all(u["accountId"] in written for u in searchable)
    assert not any(u["accountId"] in written for u in unfindable)
    assert run["skipped"] >= len(unfindable)
    skipped = {row["key"] for row in e2e.ledger("entra_to_jira") if row["kind"] == "skip"}
    assert {u["emailAddress"].casefold() for u in unfindable} <= skipped


def test_a_dry_run_writes_nothing_and_its_plan_is_what_the_real_run_does(e2e: EndToEnd) -> None:
    dry = e2e.run("entra_to_jira", dry_run=True)
    assert e2e.calls("jira", "PUT ") == 0
    assert properties(e2e, PROPERTY) == {}
    real = e2e.run("entra_to_jira")
    counts = ("created", "updated", "linked", "unlinked", "deleted", "cleared", "skipped", "conflicts")
    assert {k: dry[k] for k in counts} == {k: real[k] for k in counts}
    assert real["updated"] > 0


def test_a_run_for_one_user_by_email_writes_only_that_user(e2e: EndToEnd) -> None:
    expected = matchable(e2e, graph_users(e2e), "mail")
    e2e.run("entra_to_jira")
    one, other = sorted(expected)[:2]
    for user_id in (one, other):
        e2e.sandbox.edit("graph", "users", user_id, jobTitle="Promoted")
    email = e2e.sandbox.record("graph", "users", one)["mail"]
    single = e2e.run("entra_to_jira", only=email.upper())
    assert single["updated"] == 1 == e2e.calls("jira", "PUT /rest/api/3/user/properties")
    assert e2e.calls("graph", "/users/delta") == 0 and e2e.calls("graph", "GET /v1.0/users") == 1
    assert properties(e2e, PROPERTY)[expected[one]]["title"] == "Promoted"
    # The single-user run left the delta link where it was: the next run still sees the other change.
    scheduled = e2e.run("entra_to_jira")
    assert scheduled["updated"] == 1
    assert properties(e2e, PROPERTY)[expected[other]]["title"] == "Promoted"


def test_a_full_sync_with_repair_rewrites_properties_changed_outside_jirasync(e2e: EndToEnd) -> None:
    expected = matchable(e2e, graph_users(e2e), "mail")
    e2e.run("entra_to_jira")
    account = expected[sorted(expected)[0]]
    record = e2e.sandbox.record("jira", "user_properties", account)
    tampered = {
        **record["properties"],
        PROPERTY: {**record["properties"][PROPERTY], "department": "Tampered"},
    }
    e2e.sandbox.edit("jira", "user_properties", account, properties=tampered)

    assert e2e.run("entra_to_jira", full_sync=True)["updated"] == 0  # the base alone cannot see it
    repaired = e2e.run("entra_to_jira", full_sync=True, repair=True)
    assert repaired["updated"] == 1
    assert e2e.calls("jira", "GET /rest/api/3/user/properties") == len(expected)
    assert properties(e2e, PROPERTY)[account]["department"] != "Tampered"


def test_a_run_is_reverted_from_its_run_id(e2e: EndToEnd) -> None:
    expected = matchable(e2e, graph_users(e2e), "mail")
    e2e.run("entra_to_jira")
    before = properties(e2e, PROPERTY)
    changed = sorted(expected)[:5]
    for user_id in changed:
        e2e.sandbox.edit("graph", "users", user_id, department="Reorganised")
    changing_run = e2e.run("entra_to_jira")
    assert changing_run["updated"] == len(changed)

    reverted = e2e.run("entra_to_jira", revert_run=changing_run["run_id"])
    assert reverted["updated"] == len(changed) == e2e.calls("jira", "PUT /rest/api/3/user/properties")
    after = properties(e2e, PROPERTY)
    assert all(after[expected[u]] == before[expected[u]] for u in changed)


def test_a_mass_change_trips_the_breaker_and_on_call_reads_what_failed(e2e: EndToEnd) -> None:
    expected = matchable(e2e, graph_users(e2e), "mail")
    e2e.run("entra_to_jira")
    reorganised = sorted(expected)[: len(expected) * 6 // 10]
    for user_id in reorganised:
        e2e.sandbox.edit("graph", "users", user_id, department="Everyone moved")

    failed = e2e.run_failing("entra_to_jira")
    assert e2e.calls("jira", "PUT ") == 0
    [message] = [line for line in failed.failures() if "'check'" in line]
    assert "sync 'entra_to_jira' failed at step 'check'" in message
    assert "update share" in message and str(len(reorganised)) in message
    assert any(expected[user_id] in message for user_id in reorganised)  # examples of the records
    assert "override" in message  # and what to do

    overridden = e2e.run("entra_to_jira", override_circuit_breaker=True)
    assert overridden["updated"] == len(reorganised)
