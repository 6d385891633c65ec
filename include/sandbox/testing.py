"""Run the real sandbox server in a background thread for tests, and drive its admin API."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from sandbox.app import Sandbox
from sandbox.config import SandboxConfig
from sandbox.server import uvicorn_server
from sandbox.tls import ensure_certificates

STARTUP_TIMEOUT_S = 60


class RunningSandbox:
    """A started sandbox: where it listens, the credentials of each vendor, and admin helpers."""

    def __init__(self, sandbox: Sandbox, port: int) -> None:
        self.sandbox = sandbox
        self.port = port
        self.config = sandbox.config
        scheme = "https" if self.config.tls else "http"
        self.base_url = f"{scheme}://127.0.0.1:{port}"
        self.ca_path: Path | None = ensure_certificates(self.config.data_dir)[0] if self.config.tls else None
        self.credentials: dict[str, dict[str, str]] = {
            name: dict(vendor.credentials) for name, vendor in sandbox.vendors.items()
        }
        self._admin = httpx.Client(
            base_url=f"{self.base_url}/_sandbox",
            verify=str(self.ca_path) if self.ca_path else True,
            timeout=60,
        )

    def url(self, vendor_prefix: str) -> str:
        """The base URL of a vendor at its prefix, e.g. ``url("/jira")``."""
        return f"{self.base_url}/{vendor_prefix.strip('/')}"

    def host_url(self, host: str) -> str:
        """A vendor at its real host name, e.g. ``host_url(config.jira_host)``; the test resolves the name."""
        scheme = "https" if self.config.tls else "http"
        return f"{scheme}://{host}:{self.port}"

    def reset(self) -> None:
        """Back to the seeded world, no faults, zero counters: cheap enough to call before every test."""
        self._call("POST", "/reset")

    def seed(self, seed: int, users: int) -> None:
        self._call("POST", "/seed", json={"seed": seed, "users": users})

    def export(self, vendor: str | None = None) -> dict[str, Any]:
        return self._call("GET", "/export", params={"vendor": vendor} if vendor else None)

    def counters(self) -> dict[str, int]:
        """Requests answered per ``"<vendor> <METHOD> <route>"``, e.g. ``"jira GET /rest/api/3/myself"``."""
        return self._call("GET", "/counters")

    def request_log(self, limit: int = 1000) -> list[dict[str, Any]]:
        return self._call("GET", "/log", params={"limit": limit})

    def clear_counters(self) -> None:
        self._call("DELETE", "/counters")

    def add_fault(self, vendor: str, kind: str, **options: Any) -> dict[str, Any]:
        """Inject a fault (see ``sandbox.faults.Fault`` for the options: route, count, retry_after, ...)."""
        return self._call("POST", "/faults", json={"vendor": vendor, "kind": kind, **options})

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def limit(self, vendor: str, **limits: Any) -> dict[str, Any]:
        """Set a vendor's rate limits (``sandbox.limits.Limit``: ``per_second``, ``concurrent``)."""
        return self._call("PUT", f"/limits/{vendor}", json=limits)

    def records(self, vendor: str, collection: str, limit: int = 100_000) -> list[dict[str, Any]]:
        return self._call("GET", f"/data/{vendor}/{collection}", params={"limit": limit})

    def record(self, vendor: str, collection: str, record_id: str) -> dict[str, Any]:
        return self._call("GET", f"/data/{vendor}/{collection}/{record_id}")

    def put(self, vendor: str, collection: str, record_id: str, record: dict[str, Any]) -> dict[str, Any]:
        return self._call("PUT", f"/data/{vendor}/{collection}/{record_id}", json=record)

    def edit(self, vendor: str, collection: str, record_id: str, **changes: Any) -> dict[str, Any]:
        return self._call("PATCH", f"/data/{vendor}/{collection}/{record_id}", json=changes)

    def delete(self, vendor: str, collection: str, record_id: str) -> None:
        self._call("DELETE", f"/data/{vendor}/{collection}/{record_id}")

    def mutate(self, vendor: str, action: str, **payload: Any) -> Any:
        """A vendor's own change, e.g. ``mutate("jira", "transition", issue="SUP-1", to="Done")``."""
        return self._call("POST", f"/actions/{vendor}/{action}", json=payload)

    def close(self) -> None:
        self._admin.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._admin.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(
                f"sandbox admin {method} {path} answered {response.status_code}: {response.text}"
            )
        return response.json() if response.content else None


@contextmanager
def running_sandbox(
    data_dir: Path, seed: int = 1, users: int = 200, tls: bool = False, site: str = "jirasync"
) -> Iterator[RunningSandbox]:
    """Start the real server (uvicorn, background thread, free port); stop it on exit.

    The data dir keeps the world: a second ``running_sandbox`` on it starts from what the
    first one left, which is how tests show persistence across a restart.
    """
    config = SandboxConfig(data_dir=Path(data_dir), seed=seed, users=users, site=site, tls=tls)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    sandbox, server = uvicorn_server(config, "127.0.0.1", port)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True, name="sandbox")
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the sandbox on port {port} did not start; see the log above")
        time.sleep(0.01)
    running = RunningSandbox(sandbox, port)
    try:
        yield running
    finally:
        running.close()
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()
        sandbox.store.close()
