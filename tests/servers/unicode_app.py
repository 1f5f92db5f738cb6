"""An official-SDK server whose tools hand back text that is not valid Unicode (a lone surrogate),
for `tests/test_unicode_parity.py`. Served over real uvicorn on loopback.

Run as `python -m tests.servers.unicode_app` (with `PYTHONPATH=python:.`). `ADAPTER_MODE`: `fast`
(mcp_fastpath's `fast_http_app`) or `stock` (the SDK's own `streamable_http_app`), both with
`json_response=True`; `MCP_FASTPATH_BACKEND`: native | pure. Prints `PORT <n> <backend>` once
listening.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError

from tests.servers import serve_on_free_port

LONE = "\ud800"


def build_server() -> MCPServer:
    server = MCPServer("unicode-test", version="1.0")

    @server.tool()
    def lone_text() -> str:
        """A text result with a lone surrogate in it."""
        return f"ab{LONE}cd"

    @server.tool()
    def lone_structured() -> dict[str, Any]:
        """Structured output with a lone surrogate in a value and in a key."""
        return {"value": f"x{LONE}", f"key{LONE}": 1}

    @server.tool()
    def lone_error() -> str:
        """Fails with a JSON-RPC error whose message holds a lone surrogate."""
        raise MCPError(-32602, f"bad {LONE}")

    @server.tool()
    def lone_error_data() -> str:
        """Fails with a JSON-RPC error whose data holds a lone surrogate."""
        raise MCPError(-32602, "bad data", {"detail": LONE})

    @server.tool()
    def lone_exception() -> str:
        """Raises a plain exception whose text holds a lone surrogate."""
        raise ValueError(f"kaput {LONE}")

    return server


def build_app() -> Any:
    server = build_server()
    if os.environ.get("ADAPTER_MODE", "fast") == "stock":
        return server.streamable_http_app(json_response=True)
    from mcp_fastpath.adapters.sdk import fast_http_app

    return fast_http_app(server, json_response=True)


async def main() -> None:
    await serve_on_free_port(build_app())


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
