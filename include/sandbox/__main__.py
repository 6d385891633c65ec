"""``python -m sandbox``: serve every vendor API on one port."""

from __future__ import annotations

import argparse
from pathlib import Path

from sandbox.config import DEFAULT_PORT, SandboxConfig
from sandbox.registry import load_vendors, served_routes
from sandbox.server import uvicorn_server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--data-dir", type=Path, default=Path(".sandbox-data"))
    parser.add_argument("--seed", type=int, default=1, help="random seed of the world (first start only)")
    parser.add_argument("--users", type=int, default=1000, help="people in the world (first start only)")
    parser.add_argument("--site", default="jirasync", help="Jira site: answers as <site>.atlassian.net")
    parser.add_argument(
        "--tls", action="store_true", help="serve HTTPS; the CA to trust is <data-dir>/ca.pem"
    )
    parser.add_argument(
        "--routes",
        action="store_true",
        help="list each vendor's prefix, real hosts and the routes it serves, then exit",
    )
    args = parser.parse_args(argv)
    if args.routes:
        print_routes()
        return
    config = SandboxConfig(
        data_dir=args.data_dir, seed=args.seed, users=args.users, site=args.site, tls=args.tls
    )
    sandbox, server = uvicorn_server(config, args.host, args.port)
    scheme = "https" if args.tls else "http"
    print(f"sandbox serving {', '.join(sandbox.vendors)} on {scheme}://{args.host}:{args.port}", flush=True)
    server.run()


def print_routes() -> None:
    """What the sandbox covers, per vendor: where it answers and every method and path it serves."""
    for name, vendor in load_vendors().items():
        hosts = ", ".join(vendor.hosts) or "none (prefix only)"
        print(f"{name}: prefix {vendor.prefix}, real hosts {hosts}")
        if vendor.paths:
            print(f"  owns the paths {', '.join(vendor.paths)} there")
        for method, path in served_routes(vendor):
            print(f"  {method:<7}{path}")
        print()


if __name__ == "__main__":
    main()
