"""The ``jirasync`` command: the demo, the Airflow UI on the sandbox, and state-store upkeep."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jirasync.local_stack import LocalStack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jirasync", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run every sync once against the sandbox and print a summary")
    demo.add_argument("--users", type=int, default=2000, help="people in the sandbox's world")
    demo.add_argument("--seed", type=int, default=7, help="random seed of the sandbox's world")
    ui = commands.add_parser("airflow", help="airflow standalone with the project's DAGs on the sandbox")
    ui.add_argument("--users", type=int, default=2000)
    ui.add_argument("--seed", type=int, default=7)
    ui.add_argument("--port", type=int, default=8080, help="port of the Airflow UI and API")
    check = commands.add_parser("check", help="validate sync definitions as Airflow will, without Airflow")
    check.add_argument("folder", nargs="?", help="the definitions' folder (default: include/syncs)")
    state = commands.add_parser("state", help="jirasync's state store")
    state.add_argument("action", choices=["migrate"], help="migrate: bring the schema to the newest version")
    args = parser.parse_args(argv)

    if args.command == "demo":
        from jirasync.demo import run_demo

        return run_demo(args.users, args.seed)
    if args.command == "check":
        return check_definitions(args.folder)
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
    from jirasync.operators.sync_dag import checked_definitions, syncs_dir

    found = checked_definitions(Path(folder) if folder else syncs_dir())
    for definition in found.definitions:
        print(
            f"ok      {definition.id} ({definition.family}: {definition.source.system} → {definition.target.system})"
        )
    for error in found.errors:
        print(f"FAILED  {error}")
    print(f"{len(found.definitions)} definition(s) can run, {len(found.errors)} cannot")
    return 1 if found.errors else 0


if __name__ == "__main__":
    sys.exit(main())
