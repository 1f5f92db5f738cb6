"""A small official-SDK server for the adapter tests, served over real uvicorn on loopback.

Run as `python -m tests.servers.sdk_app` (with `PYTHONPATH=python:.`). Configured by env:
- `ADAPTER_MODE`: `fast` (mcp_fastpath's `fast_http_app`, default), `stock` (the SDK's own
  `streamable_http_app`), `guard` (the stock app behind `EnvelopeGuard`).
- `ADAPTER_GATE=1`: a Gate (HMAC envelope + HS256 JWT, `tests.servers.sdk_app.SECRET`) with a memory
  replay cache.
- `MCP_FASTPATH_BACKEND`: native | pure.
The server binds 127.0.0.1 port 0 itself and prints `PORT <n>` on stdout once listening.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from typing import Annotated, Any

from pydantic import Field

from mcp.server.mcpserver import Context, MCPServer

SECRET = b"k" * 32
KID = "k1"
ISSUER = "https://auth.test"
AUDIENCE = "https://mcp.test"


def build_server() -> MCPServer:
    server = MCPServer("adapter-test", version="1.0")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool()
    async def route(region: Annotated[str, Field(json_schema_extra={"x-mcp-header": "Region"})], n: int = 1) -> str:
        """Echo a region mirrored in the Mcp-Param-Region header."""
        return region * n

    @server.tool()
    async def whoami(ctx: Context) -> dict[str, Any]:
        """What the adapter handed this request: principal subject and signature kid."""
        from mcp_fastpath.adapters import current_admission

        admission = current_admission()
        scope_info = ctx.request_context.request.scope.get("mcp_fastpath") if ctx.request_context.request else None
        return {
            "subject": admission.principal.subject if admission and admission.principal else None,
            "kid": admission.signature.kid if admission and admission.signature else None,
            "scope_subject": scope_info["principal"].subject if scope_info and scope_info["principal"] else None,
        }

    @server.tool()
    def boom() -> str:
        """Always fails."""
        raise ValueError("kaput")

    @server.resource("res://greeting")
    def greeting() -> str:
        return "hello"

    @server.prompt()
    def ask(topic: str) -> str:
        return f"Tell me about {topic}"

    return server


def build_gate():
    import mcp_fastpath as fp

    key = fp.HmacKey(KID, SECRET)
    ring = fp.KeyRing([key])
    return fp.Gate(
        envelope=fp.EnvelopeVerifier(ring, audience=AUDIENCE, max_skew_s=60),
        jwt=fp.JwtVerifier(ring, issuer=ISSUER, audience=AUDIENCE),
        policy=fp.ScopePolicy({"tools/call:add": ["tools.add"], "*": []}),
    )


def build_app():
    mode = os.environ.get("ADAPTER_MODE", "fast")
    server = build_server()
    gate = build_gate() if os.environ.get("ADAPTER_GATE") == "1" else None
    if mode == "stock":
        return server.streamable_http_app(json_response=True)
    if mode == "guard":
        import mcp_fastpath as fp
        from mcp_fastpath.adapters.asgi import EnvelopeGuard

        return EnvelopeGuard(server.streamable_http_app(json_response=True), gate=gate or build_gate(),
                             replay=fp.MemoryReplayCache())
    import mcp_fastpath as fp
    from mcp_fastpath.adapters.sdk import fast_http_app

    return fast_http_app(server, gate=gate, replay=fp.MemoryReplayCache() if gate else None)


async def main() -> None:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    config = uvicorn.Config(build_app(), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    port = sock.getsockname()[1]

    async def announce() -> None:
        while not server.started:
            await asyncio.sleep(0.01)
        import mcp_fastpath

        print(f"PORT {port} {mcp_fastpath.BACKEND}", flush=True)

    asyncio.get_running_loop().create_task(announce())
    await server.serve(sockets=[sock])


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
