"""FastMCP (4.2) servers for the FastMCP tests (tests/test_fastmcp.py), served over real uvicorn.

`build_server()`: one tool per shape FastMCP treats differently — sync or async, pydantic models
in and out, primitives wrapped as structured output (`x-fastmcp-wrap-result`), no output schema,
`None`, an `Image`, content blocks, a returned `ToolResult` or `CallToolResult`, a `Context` (sync
and async), HTTP headers through `get_http_headers()`, a timeout, versions, a tool of a mounted
server, a disabled tool, `input_required` (SEP-2322), and failures (`ToolError`, a crash whose
details FastMCP masks or not, an `MCPError`, a non-finite float). Every tool is deterministic, so
two instances answer alike. `build_server(middleware=True)` adds FastMCP middleware that rewrites,
answers, refuses and stamps calls (`MIDDLEWARE_EFFECTS`).

Run as `python -m tests.servers.fastmcp_app` (with `PYTHONPATH=python:.`): one uvicorn server
hosting every variant below under `/<variant>/mcp`, each a fresh server instance, all sharing
one lifespan; it prints `PORT <port> <backend>` once listening. `GET /served/<variant>` answers
how many `tools/call` requests that variant's direct dispatcher ran. With `FASTMCP_APP_TRACING=1`
an OpenTelemetry SDK tracer provider records spans in memory (`GET /spans` answers and clears
them).
- `stock[-json]`: FastMCP's own `http_app()` (SSE responses, or `json_response=True`);
- `direct[-json]`: `fast_http_app(server)`, direct dispatch on (the default);
- `kernel[-json]`: `fast_http_app(server, direct=False)`: every call through the SDK's kernel;
- the same three with `-mw` (`build_server(middleware=True)`), JSON mode;
- `stock-auth`, `direct-auth`: the server with FastMCP's own auth (its `JWTVerifier`, HS256), JSON mode;
- `guard`: FastMCP's own `http_app(json_response=True)` behind `EnvelopeGuard` (a JWT gate);
- `gated`: `fast_http_app(server, gate=...)` with the same gate.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import enum
import os
import sys
from collections.abc import AsyncIterator
from typing import Any, Literal

import mcp_types
from fastmcp import Context, FastMCP
from fastmcp.exceptions import ToolError
from fastmcp.server.dependencies import get_http_headers
from fastmcp.server.middleware import Middleware
from fastmcp.tools.base import ToolResult
from fastmcp.utilities.types import Image
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel, Field

from tests.servers import serve_on_free_port

SECRET = b"f" * 32
KID = "fm1"
ISSUER = "https://auth.fastmcp.test"
AUDIENCE = "https://mcp.fastmcp.test"
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005050200"
    "5fc8f1d20000000049454e44ae426082"
)
VARIANTS = [
    "stock",
    "stock-json",
    "direct",
    "direct-json",
    "kernel",
    "kernel-json",
    "stock-mw",
    "direct-mw",
    "kernel-mw",
    "stock-auth",
    "direct-auth",
    "guard",
    "gated",
]


class Place(BaseModel):
    city: str = Field(description="City name")
    days: int = Field(default=1, ge=1, le=7)


class Forecast(BaseModel):
    city: str
    days: int
    high_c: float
    tags: list[str] = []


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


def build_server(*, middleware: bool = False, auth: Any = None) -> FastMCP:
    sub = FastMCP("sub")

    @sub.tool
    def shout(text: str) -> str:
        """A mounted server's tool (listed as sub_shout)."""
        return text.upper()

    server = FastMCP("fastmcp-proof", version="1.0", middleware=[*_middleware()] if middleware else None, auth=auth)
    server.mount(sub, namespace="sub")

    @server.tool
    def add(a: int, b: int) -> int:
        """Add two integers (sync: FastMCP's worker-thread hop)."""
        return a + b

    @server.tool
    async def forecast(place: Place) -> Forecast:
        """A pydantic model in and out."""
        return Forecast(city=place.city, days=place.days, high_c=10.5 + place.days, tags=["mild"])

    @server.tool
    def echo(text: str, times: int = 1, sep: str = " ") -> str:
        return sep.join([text] * times)

    @server.tool
    def optional_text(note: str | None = None) -> str:
        return f"note={note!r}"

    @server.tool
    def anything(value: Any = None) -> Any:
        return value

    @server.tool
    def choose(colour: Colour, mode: Literal["fast", "safe"] = "fast", flag: bool = False) -> dict[str, Any]:
        return {"colour": colour.value, "mode": mode, "flag": flag}

    @server.tool
    def when(at: dt.datetime, offset_s: float = 0.0) -> str:
        return (at + dt.timedelta(seconds=offset_s)).isoformat()

    @server.tool
    def numbers(values: list[int], scale: float = 1.0) -> list[float]:
        return [v * scale for v in values]

    @server.tool
    def mapping(data: dict[str, int]) -> dict[str, int]:
        return {k: v * 2 for k, v in data.items()}

    @server.tool(output_schema=None)
    def unstructured(x: str = "q") -> dict[str, str]:
        return {"x": x}

    @server.tool
    def nothing() -> None:
        return None

    @server.tool
    def image() -> Image:
        return Image(data=PNG_1X1, format="png")

    @server.tool
    def blocks() -> list[mcp_types.TextContent | mcp_types.ImageContent]:
        return [
            mcp_types.TextContent(type="text", text="first"),
            Image(data=PNG_1X1, format="png").to_image_content(),
        ]

    @server.tool
    def tool_result() -> ToolResult:
        return ToolResult(content="summary", structured_content={"n": 1}, meta={"note": "kept"})

    @server.tool
    def raw_result() -> mcp_types.CallToolResult:
        return mcp_types.CallToolResult(content=[mcp_types.TextContent(type="text", text="raw")], is_error=False)

    @server.tool
    def unicode_text(text: str = "héllo ✓") -> str:
        return f"{text} · 日本語"

    @server.tool
    def tool_error(why: str = "nope") -> str:
        raise ToolError(f"refused: {why}")

    @server.tool
    async def crash() -> str:
        raise RuntimeError("secret internals")

    @server.tool
    def protocol_error() -> str:
        raise MCPError(-32042, "custom protocol error", {"x": 1})

    @server.tool
    def nonfinite() -> float:
        return float("nan")

    @server.tool
    async def with_context(label: str, ctx: Context) -> dict[str, Any]:
        await ctx.info(f"working on {label}")  # a log notification nobody asked for: dropped
        return {"label": label, "request_id": ctx.request_id, "server": ctx.fastmcp.name}

    @server.tool
    def sync_context(ctx: Context) -> str:
        return f"sync {ctx.request_id}"

    @server.tool
    async def headers() -> dict[str, str]:
        """What FastMCP's dependency helpers see of the HTTP request."""
        return {k: v for k, v in get_http_headers().items() if k.startswith("mcp-")}

    @server.tool
    async def steps(ctx: Context, n: int = 3) -> str:
        """Reports progress 1..n of n (sent only with a progressToken), then answers."""
        for i in range(1, n + 1):
            await ctx.report_progress(progress=i, total=n, message=f"step {i} of {n}")
        return f"{n} steps"

    @server.tool
    async def chatty(ctx: Context) -> str:
        """Logs at three levels (sent from the request's `_meta` log level up)."""
        await ctx.debug("debug line")
        await ctx.info("info line")
        await ctx.error("error line")
        return "logged"

    @server.tool
    def whoami() -> dict[str, Any]:
        """Who the gate admitted (`current_admission()`), as a sync tool on its worker thread sees it."""
        from mcp_fastpath.adapters import current_admission

        admission = current_admission()
        principal = admission.principal if admission is not None else None
        return {"subject": principal.subject if principal is not None else None}

    @server.tool(timeout=5.0)
    async def timed(x: int = 1) -> int:
        await asyncio.sleep(0)
        return x

    @server.tool(name="versioned", version="1")
    def versioned_v1() -> str:
        return "v1"

    @server.tool(name="versioned", version="2")
    def versioned_v2() -> str:
        return "v2"

    @server.tool
    def hidden() -> str:
        return "never listed"

    server.disable(names={"hidden"})

    @server.tool
    async def ask(ctx: Context) -> str | mcp_types.InputRequiredResult:
        """SEP-2322: asks for input first, answers once the client sent it."""
        if ctx.input_responses:
            return "thanks"
        return mcp_types.InputRequiredResult(
            input_requests={
                "who": mcp_types.ElicitRequest(
                    params=mcp_types.ElicitRequestFormParams(
                        message="Who are you?", requested_schema={"type": "object", "properties": {}}
                    )
                )
            },
            request_state="round-1",
        )

    @server.custom_route("/health", methods=["GET"])
    async def health(request: Any) -> Any:
        from starlette.responses import PlainTextResponse

        return PlainTextResponse("ok")

    return server


# ---- FastMCP middleware whose effects the tests check ----------------------------------------

MIDDLEWARE_EFFECTS = {
    "add": "arguments rewritten: b becomes 100",
    "echo": "answered by the middleware without calling the tool",
    "crash": "refused by the middleware (ToolError: an isError result)",
    "nothing": "refused by the middleware (MCPError: a JSON-RPC error)",
    "forecast": "result stamped with _meta by the middleware",
}


def _middleware() -> list[Middleware]:
    from fastmcp.server.middleware import MiddlewareContext

    class Rewrite(Middleware):
        async def on_call_tool(self, context: MiddlewareContext, call_next: Any) -> Any:
            message = context.message
            if message.name == "add":
                arguments = {**(message.arguments or {}), "b": 100}
                context = context.copy(message=message.model_copy(update={"arguments": arguments}))
            return await call_next(context)

    class Answer(Middleware):
        async def on_call_tool(self, context: MiddlewareContext, call_next: Any) -> Any:
            if context.message.name == "echo":
                return ToolResult(content="answered by middleware")
            return await call_next(context)

    class Refuse(Middleware):
        async def on_request(self, context: MiddlewareContext, call_next: Any) -> Any:
            name = getattr(context.message, "name", None)
            if name == "crash":
                raise ToolError("refused by policy")
            if name == "nothing":
                raise MCPError(-32003, "forbidden by policy")
            return await call_next(context)

    class Stamp(Middleware):
        async def on_call_tool(self, context: MiddlewareContext, call_next: Any) -> Any:
            result = await call_next(context)
            if context.message.name == "forecast":
                result.meta = {**(result.meta or {}), "stamped": "by middleware"}
            return result

    return [Rewrite(), Answer(), Refuse(), Stamp()]


# ---- the app: every variant under one server ------------------------------------------------


def build_gate() -> Any:
    import mcp_fastpath as fp

    ring = fp.KeyRing([fp.HmacKey(KID, SECRET)])
    return fp.Gate(jwt=fp.JwtVerifier(ring, issuer=ISSUER, audience=AUDIENCE))


def fastmcp_auth() -> Any:
    """FastMCP's own bearer auth: its `JWTVerifier` with the HS256 secret the tests sign with."""
    from fastmcp.server.auth.providers.jwt import JWTVerifier

    return JWTVerifier(public_key=SECRET.decode(), algorithm="HS256", issuer=ISSUER, audience=AUDIENCE)


def build_variant(name: str) -> Any:
    from mcp_fastpath.adapters.asgi import EnvelopeGuard
    from mcp_fastpath.adapters.sdk import fast_http_app

    kind, _, mode = name.partition("-")
    server = build_server(middleware=mode == "mw", auth=fastmcp_auth() if mode == "auth" else None)
    json_response = mode in ("json", "mw", "auth")
    if kind == "stock":
        return server.http_app(json_response=json_response)
    if kind == "guard":
        return EnvelopeGuard(server.http_app(json_response=True), gate=build_gate())
    if kind == "gated":
        return fast_http_app(server, gate=build_gate(), json_response=True)
    return fast_http_app(server, json_response=json_response, direct=kind == "direct")


def build_app() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Mount, Route

    exporter = _record_spans() if os.environ.get("FASTMCP_APP_TRACING") == "1" else None
    variants = {name: build_variant(name) for name in VARIANTS}

    def inner(app: Any) -> Any:
        while not hasattr(app, "state") and hasattr(app, "app"):  # EnvelopeGuard and its lifespan hooks
            app = app.app
        return app

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        from tests.asgi_driver import lifespan as run_lifespan

        async with contextlib.AsyncExitStack() as stack:
            for variant in variants.values():  # each through the ASGI lifespan protocol, wrappers included
                await stack.enter_async_context(run_lifespan(variant))
            yield

    async def served(request: Any) -> Any:
        fast = getattr(inner(variants[request.path_params["variant"]]).state, "mcp_fastpath", None)
        return JSONResponse({"served": fast.direct.served if fast is not None and fast.direct is not None else None})

    async def spans(request: Any) -> Any:
        if exporter is None:
            return JSONResponse([])
        finished = exporter.get_finished_spans()
        exporter.clear()
        return JSONResponse([{"name": s.name, "kind": s.kind.name, **dict(s.attributes or {})} for s in finished])

    routes = [Route("/served/{variant}", served), Route("/spans", spans)]
    routes += [Mount(f"/{name}", app=app) for name, app in variants.items()]
    return Starlette(routes=routes, lifespan=lifespan)


def _record_spans() -> Any:
    """An OpenTelemetry SDK tracer provider with an in-memory exporter (`FASTMCP_APP_TRACING=1`):
    FastMCP's spans are recorded, so the direct path must leave them to the kernel."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


async def main() -> None:
    await serve_on_free_port(build_app())


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
