"""Run the sandbox app under uvicorn, over HTTP or HTTPS with the sandbox's own CA."""

from __future__ import annotations

import uvicorn

from sandbox.app import Sandbox
from sandbox.config import SandboxConfig
from sandbox.tls import ensure_certificates

KEEP_ALIVE_S = 30


def uvicorn_server(config: SandboxConfig, host: str, port: int) -> tuple[Sandbox, uvicorn.Server]:
    sandbox = Sandbox(config)
    tls: dict[str, str] = {}
    if config.tls:
        _ca, cert, key = ensure_certificates(config.data_dir)
        tls = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
    server_config = uvicorn.Config(
        sandbox.app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        # Longer than clients keep an idle connection (httpx and urllib3: 5 s): with uvicorn's own
        # 5 s, a client reusing a connection as the server closed it got "connection reset by peer".
        timeout_keep_alive=KEEP_ALIVE_S,
        **tls,
    )
    return sandbox, uvicorn.Server(server_config)
