"""A local HTTP server that takes what is posted to it: the sandbox's pushes (webhooks,
notifications, outbound messages) in the tests of each vendor's, the failure notifiers' posts in
the end-to-end tests; and a wait until the sandbox has sent all it had to."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple

from sandbox.deliveries import DELIVERIES


class Delivery(NamedTuple):
    path: str
    headers: dict[str, str]
    body: bytes


class Received:
    """What the server got: each delivery, in arrival order."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []


@contextmanager
def receiving() -> Iterator[tuple[str, Received]]:
    """The server's URL and what it receives; it answers every POST with 202."""
    got = Received()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.deliveries.append(Delivery(self.path, dict(self.headers), body))
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/events", got
    finally:
        server.shutdown()


def delivered() -> None:
    """Wait until the sandbox has sent what it had to send."""
    deadline = time.monotonic() + 10
    while not DELIVERIES.idle():
        assert time.monotonic() < deadline, "deliveries still waiting after 10 s"
        time.sleep(0.02)
