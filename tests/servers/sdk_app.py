"""A small official-SDK server for the adapter tests, served over real uvicorn on loopback.

Run as `python -m tests.servers.sdk_app` (with `PYTHONPATH=python:.`). Configured by env:
- `ADAPTER_MODE`: `fast` (mcp_fastpath's `fast_http_app`, default), `stock` (the SDK's own
  `streamable_http_app`), both with the SDK's defaults (SSE responses); `fast-json` / `stock-json`
  the same with `json_response=True`; `guard` (the stock JSON-mode app behind `EnvelopeGuard`).
- `ADAPTER_GATE=1`: a Gate (HMAC envelope + HS256 JWT, `tests.servers.sdk_app.SECRET`) with a memory
  replay cache.
- `MCP_FASTPATH_BACKEND`: native | pure.
- `ADAPTER_SSE_PING`: seconds, the SSE keepalive interval of both apps (the SDK's 15 s otherwise).
The server binds 127.0.0.1 port 0 itself and prints `PORT <n>` on stdout once listening.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from tests.servers import serve_on_free_port

SECRET = b"k" * 32
KID = "k1"
ISSUER = "https://auth.test"
AUDIENCE = "https://mcp.test"


# tick(key): how many times this process ran it for `key` (a side effect a duplicate must not repeat).
_TICKS: dict[str, int] = {}


def build_server() -> MCPServer:
    server = MCPServer("adapter-test", version="1.0")

    @server.tool()
    def tick(key: str) -> int:
        """Counts its own executions per key, in this process."""
        _TICKS[key] = _TICKS.get(key, 0) + 1
        return _TICKS[key]

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

    @server.tool()
    async def steps(ctx: Context, n: int = 3) -> str:
        """Reports progress 1..n of n (with a progressToken), then answers."""
        for i in range(1, n + 1):
            await ctx.report_progress(progress=i, total=n, message=f"step {i} of {n}")
            await asyncio.sleep(0.01)
        return f"{n} steps"

    @server.tool()
    async def chatty(ctx: Context) -> str:
        """Logs at four levels (delivered from the request's `_meta` log level up)."""
        await ctx.debug("debug line")
        await ctx.info("info line")
        await ctx.warning("warning line")
        await ctx.error({"error": "line", "n": 4})
        return "logged"

    @server.tool()
    async def nudge(ctx: Context) -> str:
        """A request-scoped notification the request did not ask for (an SDK API allows it)."""
        await ctx.request_context.session.send_progress_notification(
            "unasked", 1, total=2, related_request_id=ctx.request_id
        )
        return "nudged"

    @server.tool()
    async def sleepy(ctx: Context, seconds: float, early: bool = False) -> str:
        """Silent for `seconds` (after one progress report when `early`): the SSE keepalive."""
        if early:
            await ctx.report_progress(progress=0, total=1)
        await asyncio.sleep(seconds)
        return "rested"

    @server.tool()
    async def body_size(ctx: Context) -> int:
        """The raw request body's length, as the tool sees it."""
        await ctx.report_progress(progress=1)
        return len(await ctx.request_context.request.body())

    @server.tool()
    async def fail_late(ctx: Context) -> str:
        """Reports progress, then fails with a JSON-RPC error."""
        from mcp.shared.exceptions import MCPError

        await ctx.report_progress(progress=1, total=2)
        raise MCPError(-32602, "late failure")

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
    ping = os.environ.get("ADAPTER_SSE_PING")
    if ping:
        import mcp.server._streamable_http_modern as sdk_modern
        from mcp_fastpath.adapters import _sse

        sdk_modern._SSE_PING_INTERVAL = _sse.SSE_PING_INTERVAL = float(ping)
    mode, _, variant = os.environ.get("ADAPTER_MODE", "fast").partition("-")
    options = {"json_response": True} if variant == "json" else {}
    server = build_server()
    gate = build_gate() if os.environ.get("ADAPTER_GATE") == "1" else None
    if mode == "stock":
        return server.streamable_http_app(**options)
    if mode == "guard":
        import mcp_fastpath as fp
        from mcp_fastpath.adapters.asgi import EnvelopeGuard

        return EnvelopeGuard(
            server.streamable_http_app(json_response=True), gate=gate or build_gate(), replay=fp.MemoryReplayCache()
        )
    import mcp_fastpath as fp
    from mcp_fastpath.adapters.sdk import fast_http_app

    return fast_http_app(server, gate=gate, replay=fp.MemoryReplayCache() if gate else None, **options)


async def main() -> None:
    await serve_on_free_port(build_app())


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
