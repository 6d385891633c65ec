"""The ``jirasync`` command: the demo, the Airflow UI on the sandbox, definitions checked, a sync's
plan previewed, its links and ledger shown, and state-store upkeep."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jirasync.local_stack import LocalStack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jirasync", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run every sync once against the sandbox and print a summary")
    demo.add_argument("--users", type=int, default=2000, help="people in the sandbox's world")
    demo.add_argument("--seed", type=int, default=7, help="random seed of the sandbox's world")
    celery = commands.add_parser(
        "celery-demo",
        help="run every sync on the CeleryExecutor (PostgreSQL, Redis, two workers) and compare with the demo",
    )
    celery.add_argument("--users", type=int, default=500, help="people in each of the two sandbox worlds")
    celery.add_argument("--seed", type=int, default=7)
    celery.add_argument("--port", type=int, default=8080, help="port of the Airflow api-server")
    ui = commands.add_parser("airflow", help="airflow standalone with the project's DAGs on the sandbox")
    ui.add_argument("--users", type=int, default=2000)
    ui.add_argument("--seed", type=int, default=7)
    ui.add_argument("--port", type=int, default=8080, help="port of the Airflow UI and API")
    check = commands.add_parser("check", help="validate sync definitions as Airflow will, without Airflow")
    check.add_argument("folder", nargs="?", help="the definitions' folder (default: include/syncs)")
    plan = commands.add_parser(
        "plan", help="read both sides and print what the next run would change; writes nothing, anywhere"
    )
    plan.add_argument("sync", help="the sync's id (its definition file's name)")
    plan.add_argument(
        "--dry-run", action="store_true", help="the only mode: the plan is printed and nothing is written"
    )
    plan.add_argument("--full-sync", action="store_true", help="read everything, as a full sync does")
    plan.add_argument("--only", default="", help="one record: an email address or a record id")
    plan.add_argument("--limit", type=int, default=5, help="changes shown per kind (default 5)")
    plan.add_argument(
        "--connections",
        type=Path,
        help="a JSON file of Airflow connections ({conn_id: {conn_type, host, login, password, extra}}); "
        "default: the AIRFLOW_CONN_* variables",
    )
    links = commands.add_parser(
        "links", help="a sync's links (source record = target record) in the state store"
    )
    links.add_argument("sync")
    links.add_argument("--search", default="", help="only links whose key or ids contain this text")
    links.add_argument("--limit", type=int, default=50, help="links shown (default 50)")
    ledger = commands.add_parser("ledger", help="what a run of a sync changed, field by field")
    ledger.add_argument("sync")
    ledger.add_argument("--run", help="the run's id, from its summary (default: the sync's latest run)")
    ledger.add_argument("--limit", type=int, default=50, help="changes shown (default 50)")
    for command in (plan, links, ledger):
        command.add_argument("--folder", type=Path, help="the definitions' folder (default: include/syncs)")
        command.add_argument(
            "--state",
            help="the state store's SQLAlchemy URL or SQLite file (default: where the DAGs keep it)",
        )
    webhooks = commands.add_parser(
        "webhooks",
        help="a sync's events (events: true) on each vendor: Jira's webhook, Zoho's notification channel, "
        "Salesforce's outbound message; register (or update), list, remove",
    )
    webhooks.add_argument("action", choices=["register", "list", "remove"])
    webhooks.add_argument("sync", help="the sync's id")
    webhooks.add_argument(
        "--airflow-url",
        help="register: Airflow's api-server as the vendors reach it, e.g. https://airflow.example.com",
    )
    webhooks.add_argument("--folder", type=Path, help="the definitions' folder (default: include/syncs)")
    webhooks.add_argument(
        "--connections",
        type=Path,
        help="a JSON file of Airflow connections (default: the AIRFLOW_CONN_* variables)",
    )
    state = commands.add_parser("state", help="jirasync's state store")
    state.add_argument("action", choices=["migrate"], help="migrate: bring the schema to the newest version")
    args = parser.parse_args(argv)

    if args.command == "demo":
        from jirasync.demo import run_demo

        return run_demo(args.users, args.seed)
    if args.command == "celery-demo":
        from jirasync.celery_demo import run_celery_demo

        try:
            return run_celery_demo(args.users, args.seed, args.port)
        except KeyboardInterrupt:
            print("\nInterrupted: every process it started is stopped.", file=sys.stderr)
            return 130
    if args.command == "check":
        return check_definitions(args.folder)
    if args.command in ("plan", "links", "ledger"):
        return show(args)
    if args.command == "webhooks":
        return manage_webhooks(args)
    if args.command == "airflow":
        from jirasync.local_stack import LocalStack

        stack = LocalStack.from_environment(users=args.users, seed=args.seed, api_port=args.port)
        stack.prepare_airflow()
        with stack.sandbox() as sandbox:
            stack.import_connections()
            print(welcome(stack, sandbox.url))
            with contextlib.suppress(KeyboardInterrupt):
                stack.airflow("standalone")
        return 0
    from jirasync.engine.store import StateStore
    from jirasync.hooks.state import state_store_location

    store = StateStore(state_store_location())  # opening migrates
    print(f"state store at {store!r} is at the newest schema")
    store.close()
    return 0


def welcome(stack: LocalStack, sandbox_url: str) -> str:
    """What ``make airflow`` prints before the UI starts: where it is and how to log in."""
    user, password = stack.login()
    return (
        f"Airflow UI: http://localhost:{stack.api_port}  (log in as {user!r} with password {password!r}, "
        f"kept in {stack.password_file})\n"
        f"Sandbox: {sandbox_url}\n"
        "The syncs start paused: switch a DAG's toggle on to let its schedule run. Ctrl-C stops both."
    )


def check_definitions(folder: str | None) -> int:
    """Print each definition that can run and every problem of each one that cannot; 1 if any cannot."""
    from jirasync.syncs.catalog import checked_definitions, syncs_dir

    found = checked_definitions(Path(folder) if folder else syncs_dir())
    for definition in found.definitions:
        print(
            f"ok      {definition.id} ({definition.family}: {definition.source.system} → {definition.target.system})"
        )
    for error in found.errors:
        print(f"FAILED  {error}")
    print(f"{len(found.definitions)} definition(s) can run, {len(found.errors)} cannot")
    return 1 if found.errors else 0


def show(args: argparse.Namespace) -> int:
    """``plan``, ``links`` or ``ledger`` of one sync; 1 with the reason when it cannot be shown."""
    from jirasync.engine.store import StateStore
    from jirasync.preview import PreviewFailed, use_connections_file

    # Opening the store migrates it, and Alembic says so on the output this command prints to.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        if args.command == "plan" and args.connections:
            use_connections_file(args.connections)
        definition = _definition(args.sync, args.folder)
        store = StateStore(args.state or _state_location())
    except (PreviewFailed, LookupError) as error:
        print(f"jirasync {args.command}: {error}", file=sys.stderr)
        return 1
    try:
        if args.command == "plan":
            return print_plan(definition, store, args)
        if args.command == "links":
            return print_links(definition.id, store, args.search, args.limit)
        return print_ledger(definition.id, store, args.run, args.limit)
    except (PreviewFailed, LookupError) as error:
        print(f"jirasync {args.command}: {error}", file=sys.stderr)
        return 1
    finally:
        store.close()


def manage_webhooks(args: argparse.Namespace) -> int:
    """``jirasync webhooks register|list|remove SYNC``, through the sync's connections."""
    import datetime as dt

    from airflow.sdk import BaseHook

    from jirasync.connectors.errors import ApiError
    from jirasync.events import registration
    from jirasync.operators.connectors import connector_for
    from jirasync.preview import PreviewFailed, use_connections_file

    # Airflow warns, on this command's output, of each connection value too short to mask (a data centre).
    logging.getLogger("airflow.sdk._shared.secrets_masker.secrets_masker").setLevel(logging.ERROR)
    try:
        if args.connections:
            use_connections_file(args.connections)
        definition = _definition(args.sync, args.folder)
        if args.action == "list":
            for found in registration.registrations(definition, connector_for):
                print(f"{found.vendor:<10}  {found.id}  {found.says}")
            return 0
        if args.action == "remove":
            removed = registration.remove(definition, connector_for)
            print(f"removed from {definition.id}: " + ", ".join(f"{n} on {v}" for v, n in removed.items()))
            return 0
        if not args.airflow_url:
            raise registration.RegistrationError(
                "register needs --airflow-url: Airflow's api-server as the vendors reach it"
            )
        said = registration.register(
            definition, args.airflow_url, connector_for, BaseHook.get_connection, dt.datetime.now(dt.UTC)
        )
        print("\n".join(said))
        return 0
    except (PreviewFailed, LookupError, registration.RegistrationError, ApiError) as error:
        print(f"jirasync webhooks: {error}", file=sys.stderr)
        return 1


def print_plan(definition: Any, store: Any, args: argparse.Namespace) -> int:
    from jirasync.engine.render import render_plan
    from jirasync.preview import preview_plan

    preview = preview_plan(definition, store, full_sync=args.full_sync, only=args.only.strip())
    source, target = definition.source, definition.target
    print(
        f"Dry run of {definition.id}: nothing is written. Read {len(preview.source.frame)} record(s) of "
        f"{source.system} (connection '{source.conn_id}') and {len(preview.target.frame)} of "
        f"{target.system} (connection '{target.conn_id}') in {preview.calls} API call(s)."
    )
    print(render_plan(preview.changes, sync_id=definition.id, sample=args.limit))
    for stream, planned in preview.streams.items():
        print(f"{stream} of the linked pairs: {len(planned)} to write")
        for line in planned[: args.limit]:
            print(f"  {line}")
        if len(planned) > args.limit:
            print(f"  ... and {len(planned) - args.limit} more")
    return 0


def print_links(sync_id: str, store: Any, search: str, limit: int) -> int:
    links = store.links(sync_id)
    if search:
        text = links[["key", "source_id", "target_id"]].fillna("").agg(" ".join, axis=1)
        links = links[text.str.contains(search, case=False, regex=False)]
    for link in links.sort_values("key").head(limit).itertuples(index=False):
        print(f"{link.key}  source {link.source_id} = target {link.target_id}  ({link.origin})")
    shown = min(limit, len(links))
    matching = f" matching {search!r}" if search else ""
    print(f"{len(links)} link(s) of {sync_id}{matching}" + (f", {shown} shown" if shown < len(links) else ""))
    return 0


def print_ledger(sync_id: str, store: Any, run_id: str | None, limit: int) -> int:
    run = store.run(run_id) if run_id else next(iter(store.runs(sync_id, 1)), None)
    if run is None or run["sync_id"] != sync_id:
        raise LookupError(
            f"sync '{sync_id}' has no run {run_id!r}; runs: {[r['run_id'] for r in store.runs(sync_id, 5)]}"
            if run_id
            else f"sync '{sync_id}' has not run yet"
        )
    kind = "dry run" if run["dry_run"] else "run"
    print(
        f"{kind} {run['run_id']} of {sync_id}: {run['status']}, started {run['started_at']:%Y-%m-%d %H:%M:%S}"
    )
    ledger = store.ledger(run["run_id"])
    for change in ledger.head(limit).itertuples(index=False):
        record = f"{change.kind} {change.key or '(no key)'}"
        field = (
            f" {change.field}: {_value(change.before)} → {_value(change.after)}"
            if _given(change.field)
            else ""
        )
        why = (
            f" ({change.error})"
            if _given(change.error)
            else f" ({change.reason})"
            if _given(change.reason)
            else ""
        )
        print(f"  {change.outcome:8} {record}{field}{why}")
    more = len(ledger) - min(limit, len(ledger))
    print(f"{len(ledger)} change(s) recorded" + (f", {more} more not shown (--limit)" if more else ""))
    return 0


def _definition(sync_id: str, folder: Path | None) -> Any:
    from jirasync.syncs.catalog import checked_definitions, syncs_dir

    return checked_definitions(folder or syncs_dir()).find(sync_id)


def _state_location() -> str:
    from jirasync.hooks.state import state_store_location

    return state_store_location()


def _given(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _value(value: Any) -> str:
    from jirasync.engine.render import shortened

    return shortened(value if _given(value) else None)


if __name__ == "__main__":
    sys.exit(main())
