"""The OpenTelemetry bypass: the SDK's per-request kernel without its server span while no tracer
provider is installed (the span is then non-recording: it only costs). See the `adapters.sdk`
module docstring for when it applies."""

from __future__ import annotations

from typing import Any

from mcp.server.runner import ServerRunner, aclose_shielded

__all__ = ["serve_one_untraced", "tracing_installed"]


try:
    from opentelemetry import trace as _trace
except ImportError:  # pragma: no cover - the SDK depends on opentelemetry-api
    _trace = None

# (provider, verdict) of the last check: the global provider rarely changes, so the verdict is
# recomputed only when it is a different object.
_last: tuple[Any, bool] = (None, False)


def tracing_installed() -> bool:
    """True once an OpenTelemetry SDK tracer provider is installed (the API alone gives a proxy
    provider whose spans are non-recording). Checked per request, cheaply."""
    global _last
    if _trace is None:  # pragma: no cover
        return False
    provider = _trace.get_tracer_provider()
    if provider is _last[0]:
        return _last[1]
    verdict = not isinstance(provider, (_trace.ProxyTracerProvider, _trace.NoOpTracerProvider))
    _last = (provider, verdict)
    return verdict


class _Runner(ServerRunner):
    """`ServerRunner` whose middleware chain leaves out the SDK's `OpenTelemetryMiddleware`
    (only used while tracing is off, see the module docstring); everything else is the SDK's."""

    def _compose_server_middleware(self, inner: Any) -> Any:
        from mcp.server._otel import OpenTelemetryMiddleware

        middleware = self.server.middleware
        if not any(isinstance(m, OpenTelemetryMiddleware) for m in middleware):
            return super()._compose_server_middleware(inner)
        call = inner
        for m in reversed(middleware):
            if not isinstance(m, OpenTelemetryMiddleware):
                call = _bind(m, call)
        return call


def _bind(middleware: Any, call_next: Any) -> Any:
    async def call(ctx: Any) -> Any:
        return await middleware(ctx, call_next)

    return call


async def serve_one_untraced(
    server: Any, dctx: Any, method: str, params: Any, *, connection: Any, lifespan_state: Any
) -> Any:
    """`serve_one` (mcp.server.runner) with `_Runner`: same kernel, same teardown."""
    runner = _Runner(server, connection, lifespan_state)
    try:
        return await runner.on_request(dctx, method, params)
    finally:
        await aclose_shielded(connection)
