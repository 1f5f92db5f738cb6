"""Direct dispatch of a FastMCP server's `tools/call`: FastMCP's own handler, run without the SDK's
per-request kernel (`serve_one`), only where the outcome is the kernel's to the byte.

What the kernel does for a `tools/call` on a FastMCP 4 server (mcp 2.3), and what is kept here:
1. params validation — the SDK's surface model, then the handler's `CallToolRequestParams`: the
   surface check is remembered per `_meta` (`_direct.EnvelopeCheck`, as for `MCPServer`), and
   `CallToolRequestParams` validates the params here exactly as the kernel does (it is what
   FastMCP's handler receives);
2. the lowlevel middleware chain, which FastMCP sets to its `FastMCPServerMiddleware` and then the
   SDK's `RequestStateBoundary`:
   - `FastMCPServerMiddleware` re-applies the lifespan's shared context (`Shared()`
     dependencies), binds FastMCP's request context (`get_context()`, `get_http_request()`,
     `get_access_token()` …), opens the request's SERVER span (FastMCP's "seam"), and for a
     component method hands over to the handler, running FastMCP middleware's outer pass itself
     only when the request fails before the handler. All of it is kept, through the
     middleware's own methods, except the seam span, which is left out only where it is a
     no-op a tool cannot see: no OpenTelemetry SDK tracer provider is installed (its spans are
     non-recording), the current span is non-recording, and `_meta` carries no trace context
     (`traceparent`/`tracestate`, which the span would attach as the tool's parent context);
   - `RequestStateBoundary`: called as is (a request without `requestState` passes through;
     an `input_required` result is sealed);
3. FastMCP's handler (`_on_call_tool`), untouched: FastMCP's middleware chain (`on_message`,
   `on_request`, `on_call_tool`: a middleware that rewrites, answers or refuses a call is
   honoured as on the kernel), tool lookup through its providers with transforms, session
   visibility and per-component auth, the tool run (argument validation, dependency injection,
   the worker-thread hop of sync tools, timeouts), result conversion and error mapping;
4. the kernel's result sieve and `serverInfo` stamp (`ServerRunner._serialize`) and the teardown
   of the request's `Connection` (`aclose_shielded`, when a callback was pushed on its exit stack:
   FastMCP's proxy provider and ping middleware do).

What this saves is the kernel's own plumbing and, where it is a no-op, the seam span; FastMCP's
dispatch (3.) is most of a FastMCP tool call and is FastMCP's to keep.

`NOT_DIRECT` (before anything ran, the kernel then serves the request) when: the server's
`tools/call` route is not FastMCP's own (another handler, other lowlevel middleware, a cache hint
on `tools/call`), params hold members other than `name`, `arguments` and `_meta` (`requestState`,
`inputResponses`, `task`, …), `arguments` is not an object, `_meta` fails the params envelope or
carries trace context, or a tracer is recording.
"""

from __future__ import annotations

from typing import Any

from mcp.server._otel import OpenTelemetryMiddleware
from mcp.server.connection import Connection
from mcp.server.request_state import RequestStateBoundary
from mcp.server.runner import ServerRunner, _dump_result, _extract_meta, aclose_shielded
from mcp.shared.exceptions import MCPError
from mcp_types import ErrorData
from opentelemetry import trace as _trace

from ._direct import NOT_DIRECT, EnvelopeCheck
from ._tracing import tracing_installed

__all__ = ["DirectFastMCPTools"]

_METHOD = "tools/call"
_ALLOWED_PARAMS = frozenset({"name", "arguments", "_meta"})
_TRACE_KEYS = ("traceparent", "tracestate")  # what FastMCP's seam span reads from `_meta`


class DirectFastMCPTools:
    """`tools/call` of one FastMCP server, dispatched without the kernel (see the module docstring)."""

    def __init__(self, server: Any, lowlevel: Any) -> None:
        from fastmcp.server.dependencies import bind_request_context
        from fastmcp.server.low_level import FastMCPServerMiddleware
        from fastmcp.server.mixins.mcp_operations import MCPOperationsMixin

        self.server = server
        self.lowlevel = lowlevel
        self.envelopes = EnvelopeCheck(lowlevel)
        self._bind_request_context = bind_request_context
        self._fastmcp_middleware_type = FastMCPServerMiddleware
        self._on_call_tool = MCPOperationsMixin._on_call_tool
        self.served = 0  # tools/call requests this dispatcher ran (tests check that it did)

    @classmethod
    def of(cls, server: Any, lowlevel: Any) -> DirectFastMCPTools:
        return cls(server, lowlevel)

    # -- eligibility ---------------------------------------------------------------------------

    def _route(self) -> tuple[Any, Any, Any] | None:
        """`(FastMCP's middleware, the request-state boundary, the handler entry)` when the
        kernel's route for `tools/call` is FastMCP's own, else None."""
        entry = self.lowlevel.get_request_handler(_METHOD)
        if entry is None:
            return None
        handler = entry.handler  # FastMCP registers its bound method `_on_call_tool`
        function, bound_to = getattr(handler, "__func__", None), getattr(handler, "__self__", None)
        if function is not self._on_call_tool or bound_to is not self.server:
            return None
        if _METHOD in self.lowlevel.cache_hints:
            return None
        # The SDK's OpenTelemetry middleware (FastMCP removes it) is bypassed while nothing traces,
        # on the kernel path too (`_tracing.serve_one_untraced`).
        chain = [m for m in self.lowlevel.middleware if type(m) is not OpenTelemetryMiddleware]
        if len(chain) != 2:
            return None
        outer, boundary = chain
        if type(outer) is not self._fastmcp_middleware_type or type(boundary) is not RequestStateBoundary:
            return None
        if outer._ref() is not self.server:
            return None
        return outer, boundary, entry

    # -- the call ------------------------------------------------------------------------------

    async def call(self, message: Any, exchange: Any, lifespan_state: Any) -> Any:
        """The `tools/call` result dict as `serve_one` returns it, raising what it raises; or
        `NOT_DIRECT` (before anything ran) when the kernel must serve this request."""
        params = message.params
        if type(params) is not dict or not params.keys() <= _ALLOWED_PARAMS:
            return NOT_DIRECT
        arguments = params.get("arguments")
        if (arguments is not None and type(arguments) is not dict) or not isinstance(params.get("name"), str):
            return NOT_DIRECT  # the kernel's params validation answers
        route = self._route()
        if route is None:
            return NOT_DIRECT
        meta = message.meta
        version = message.protocol_version
        if any(key in meta for key in _TRACE_KEYS) or not self.envelopes.valid(meta, version):
            return NOT_DIRECT
        if tracing_installed() or _trace.get_current_span().is_recording():
            return NOT_DIRECT  # FastMCP's seam span would record, or parent the tool's spans
        outer, boundary, entry = route
        self.served += 1

        connection = Connection.from_envelope(version, message.client_info, message.client_capabilities)
        runner = ServerRunner(self.lowlevel, connection, lifespan_state)
        ctx = runner._make_context(exchange, _METHOD, params, _extract_meta(params), version)

        async def handler(ctx: Any) -> Any:
            # The kernel's `_inner` for a `tools/call` whose envelope passed (see `EnvelopeCheck`).
            typed = entry.params_type.model_validate(ctx.params, by_name=False)
            result = await entry.handler(ctx, typed)
            if isinstance(result, ErrorData):
                raise MCPError.from_error_data(result)
            return runner._serialize(_METHOD, version, result)

        async def boundary_then_handler(ctx: Any) -> Any:
            return await boundary(ctx, handler)

        server = self.server
        try:
            # `FastMCPServerMiddleware.__call__` for a component request, but the seam span.
            with outer._apply_shared_context(server), self._bind_request_context(ctx):
                result = await outer._dispatch_component(server, ctx, boundary_then_handler)
            return _dump_result(result)
        finally:
            # `serve_one`'s teardown; an exit stack nothing was pushed on has nothing to unwind.
            if connection.exit_stack._exit_callbacks:
                await aclose_shielded(connection)
