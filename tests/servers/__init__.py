"""Server apps the tests run as real uvicorn subprocesses (see tests/adapter_helpers.py)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any


async def serve_on_free_port(app: Any) -> None:
    """Serve `app` with uvicorn on a free loopback port and print `PORT <port> <backend>` once it
    listens (the parent process reads that line)."""
    import mcp_fastpath
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    port = sock.getsockname()[1]

    async def announce() -> None:
        while not server.started:
            await asyncio.sleep(0.01)
        print(f"PORT {port} {mcp_fastpath.BACKEND}", flush=True)

    asyncio.get_running_loop().create_task(announce())
    await server.serve(sockets=[sock])
