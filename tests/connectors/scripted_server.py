"""A real HTTP server on a loopback port that answers from a script, for testing the HTTP layer.

Real sockets, so retries, dropped connections and headers go through requests and
urllib3 exactly as in production; the script only decides what the server says.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


DROP = "drop the connection without answering"


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Script = Reply | str | Callable[[SeenRequest], Reply]


class ScriptedServer:
    def __init__(self) -> None:
        self.scripts: dict[str, deque[Script]] = {}
        self.requests: list[SeenRequest] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def script(self, path: str, *replies: Script) -> None:
        """Answer requests to ``path`` (without query) with ``replies`` in turn; the last one repeats."""
        self.scripts[path] = deque(replies)

    def seen(self, path: str) -> list[SeenRequest]:
        return [r for r in self.requests if r.path.split("?")[0] == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, request: SeenRequest) -> Script:
        queue = self.scripts.get(request.path.split("?")[0])
        if not queue:
            return Reply(404, {"errorMessages": [f"nothing scripted for {request.path}"]})
        return queue.popleft() if len(queue) > 1 else queue[0]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                seen = SeenRequest(self.command, self.path, dict(self.headers), self.rfile.read(length))
                server.requests.append(seen)
                script = server._next(seen)
                if script == DROP:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                reply = script(seen) if callable(script) else script
                payload = b"" if reply.body is None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
