"""`jirasync plan`: what the next run would change, from the command line, against the sandbox."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import sqlalchemy as sa
from tests.project.cli_runs import connections_of, jirasync, sync_once

from sandbox.testing import RunningSandbox

SYNC = "jira_to_zoho_contacts"


def written(sandbox: RunningSandbox) -> dict[str, int]:
    """Requests that could have changed something in a vendor (token requests and the searches
    sent as POST aside)."""
    return {
        endpoint: count
        for endpoint, count in sandbox.counters().items()
        if endpoint.split(" ")[1] in ("POST", "PUT", "PATCH", "DELETE")
        and "token" not in endpoint
        and not endpoint.endswith(("/search/jql", "/coql"))
    }


def connections_file(tmp_path: Path, sandbox: RunningSandbox, **changed: dict[str, str]) -> Path:
    connections = connections_of(sandbox)
    for conn_id, fields in changed.items():
        connections[conn_id].update(fields)
    path = tmp_path / "connections.json"
    path.write_text(json.dumps(connections))
    return path


def test_the_plan_is_printed_with_counts_and_first_changes_and_nothing_is_written(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    connections = connections_file(tmp_path, fresh_sandbox)
    state = tmp_path / "state.db"
    result = jirasync(
        "plan", SYNC, "--dry-run", "--connections", str(connections), "--state", str(state), "--limit", "2",
        home=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(
        rf"^Dry run of {SYNC}: nothing is written\. Read \d+ record\(s\) of jira \(connection 'jira_default'\) "
        r"and \d+ of zoho_crm \(connection 'zoho_crm'\) in \d+ API call\(s\)\.$",
        out,
        re.MULTILINE,
    ), out
    counts = re.search(r"^  (.*) \(records\)$", out, re.MULTILINE)
    assert counts and re.search(r"\d+ to create", counts[1]) and re.search(r"\d+ to link", counts[1]), out
    creates = int(re.search(r"^create \((\d+)\):$", out, re.MULTILINE)[1])
    assert f"  ... and {creates - 2} more" in out  # two shown, as --limit asked
    assert re.search(r"^      Last_Name: \S.* -> target$", out, re.MULTILINE), out
    assert written(fresh_sandbox) == {}
    with sa.create_engine(f"sqlite:///{state}").connect() as db:  # no run recorded either
        assert db.execute(sa.text("SELECT count(*) FROM runs")).scalar() == 0
    secrets = [c["password"] for c in connections_of(fresh_sandbox).values() if c.get("password")]
    assert not [s for s in secrets if s in out + result.stderr]


def test_once_a_run_applied_the_plan_the_next_plan_changes_nothing(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    state = tmp_path / "state.db"
    sync_once(SYNC, state, fresh_sandbox, run_id="run-1")
    connections = connections_file(tmp_path, fresh_sandbox)
    result = jirasync("plan", SYNC, "--connections", str(connections), "--state", str(state), home=tmp_path)
    assert result.returncode == 0, result.stderr
    counts = re.search(r"^  (.*) \(records\)$", result.stdout, re.MULTILINE)
    assert counts and set(re.findall(r"to (\w+)", counts[1])) <= {"skip"}, result.stdout


def test_the_state_store_is_where_the_dags_keep_it_by_default(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    sync_once(SYNC, tmp_path / "jirasync" / "state.db", fresh_sandbox, run_id="run-1")
    connections = connections_file(tmp_path, fresh_sandbox)
    result = jirasync("plan", SYNC, "--connections", str(connections), home=tmp_path)  # AIRFLOW_HOME=tmp_path
    assert result.returncode == 0, result.stderr
    assert "to create" not in result.stdout and "to link" not in result.stdout


def test_connections_come_from_airflow_conn_variables_too(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    variables = {f"AIRFLOW_CONN_{i.upper()}": json.dumps(c) for i, c in connections_of(fresh_sandbox).items()}
    result = jirasync("plan", SYNC, "--state", str(tmp_path / "state.db"), home=tmp_path, env=variables)
    assert result.returncode == 0, result.stderr
    assert "to create" in result.stdout


def test_a_connection_not_defined_is_named_with_the_way_to_give_it(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    result = jirasync("plan", SYNC, "--state", str(tmp_path / "state.db"), home=tmp_path)
    assert result.returncode == 1
    assert (
        f"jirasync plan: sync '{SYNC}': jira through the Airflow connection 'jira_default': the connection is "
        "not defined; set AIRFLOW_CONN_JIRA_DEFAULT or pass --connections with a file that has it"
    ) in result.stderr


def test_refused_credentials_fail_naming_the_connection_and_never_the_secret(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    wrong = "not-the-client-secret-4711"
    connections = connections_file(tmp_path, fresh_sandbox, zoho_crm={"password": wrong})
    result = jirasync(
        "plan", SYNC, "--connections", str(connections), "--state", str(tmp_path / "state.db"), home=tmp_path
    )
    assert result.returncode == 1
    assert (
        f"sync '{SYNC}': zoho_crm through the Airflow connection 'zoho_crm': AuthenticationError"
        in result.stderr
    )
    assert wrong not in result.stdout + result.stderr


def test_a_sync_without_a_usable_definition_says_so(tmp_path: Path) -> None:
    result = jirasync("plan", "jira_to_zoho", "--state", str(tmp_path / "state.db"), home=tmp_path)
    assert result.returncode == 1
    assert "jirasync plan: sync 'jira_to_zoho': no definition of that id in " in result.stderr


def test_the_plan_of_linked_records_lists_the_notes_and_files_it_would_write(
    fresh_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    sync, state = "zoho_deals_to_jira", tmp_path / "state.db"
    sync_once(sync, state, fresh_sandbox, run_id="run-1")  # links the deals to issues, no notes yet
    with sa.create_engine(f"sqlite:///{state}").connect() as db:
        deal, issue = db.execute(sa.text("SELECT source_id, target_id FROM links LIMIT 1")).one()
    fresh_sandbox.mutate("zoho", "add_note", module="Deals", record_id=deal, content="Rückruf erbeten ✓")
    content = base64.b64encode(b"%PDF-1.7 quote").decode()
    fresh_sandbox.mutate(
        "zoho", "add_attachment", module="Deals", record_id=deal, file_name="Angebot.pdf", content=content
    )
    connections = connections_file(tmp_path, fresh_sandbox)
    before = written(fresh_sandbox)
    result = jirasync(
        "plan", sync, "--connections", str(connections), "--state", str(state), "--limit", "100000",
        home=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"^comments of the linked pairs: [1-9]\d* to write$", out, re.MULTILINE), out
    assert re.search(rf"^  .*{deal}.*{issue}.*would post.*Rückruf erbeten ✓", out, re.MULTILINE), out
    assert re.search(r"^attachments of the linked pairs: [1-9]\d* to write$", out, re.MULTILINE), out
    assert re.search(
        rf"^  record {deal} \(issue {issue}\): would upload 'Angebot.pdf' \(14 bytes\) → Jira$",
        out,
        re.MULTILINE,
    ), out
    assert written(fresh_sandbox) == before  # nothing posted, uploaded or linked
