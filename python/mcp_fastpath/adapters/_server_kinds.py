"""The kinds of server `fast_http_app` serves, and what the fast path needs of each.

The fast path is one design for every kind: the kind's own Starlette app (its routes, its auth,
its lifespan) is built as its users would build it, and the fast path takes the place of the
session manager's request entry inside it (`session_manager.asgi_app`, the instance attribute
the app's endpoint calls). What differs per kind is in a `ServerKind`:

- `lowlevel`: the SDK lowlevel `Server` whose kernel (`serve_one`) runs the requests;
- `http_app(...)`: the kind's own HTTP app, with the options shared by every kind;
- `on_session_manager(app, path, attach)`: `attach(manager)` whenever a session manager is ready
  to serve (once for the SDK, at every lifespan start for FastMCP);
- `direct_dispatcher(sync_hop)`: the `tools/call` dispatcher by plan, or None;
- `stock_app(...)`: the kind's own app without the fast path (what `serve --sdk` runs).

Kinds:
- `SdkKind`: the official SDK's `MCPServer` or lowlevel `Server` (`streamable_http_app`; its
  session manager exists as soon as the app does).
- `FastMCPKind`: a FastMCP 4 server (`fastmcp.FastMCP`). Its lowlevel server is
  `server._mcp_server` (FastMCP's `LowLevelServer`, a subclass of the SDK's `Server` carrying
  FastMCP's middleware), its app is `server.http_app()`, whose lifespan makes a new session
  manager each time it starts; FastMCP checks Host and Origin in its own middleware, and turns the
  SDK's transport check off in its session manager, so the fast path does the same (it takes the
  manager's own settings).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from mcp.server.lowlevel.server import Server
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, TransportSecuritySettings

from .._sdk import lowlevel_server
from ._sync_hop import SyncHop

__all__ = ["FastMCPKind", "SdkKind", "ServerKind", "is_fastmcp", "server_kind"]

Attach = Callable[[Any], None]


class ServerKind:
    """What the fast path needs of one kind of server (see the module docstring)."""

    name: str
    server: Any
    lowlevel: Server[Any]

    def http_app(
        self,
        *,
        path: str,
        json_response: bool | None,
        security: TransportSecuritySettings | None,
        host: str,
        max_body: int,
        options: dict[str, Any],
    ) -> Any:
        raise NotImplementedError

    def on_session_manager(self, app: Any, path: str, attach: Attach) -> None:
        raise NotImplementedError

    def direct_dispatcher(self, sync_hop: SyncHop) -> Any:
        return None

    stock_description: str

    def stock_app(
        self, *, path: str, host: str, security: TransportSecuritySettings | None, options: dict[str, Any]
    ) -> Any:
        raise NotImplementedError

    def inline_sync_tools(self, which: bool | Iterable[str]) -> None:
        raise TypeError(f"inline_sync_tools needs an MCPServer, not a {self.name}")


class SdkKind(ServerKind):
    """An official-SDK `MCPServer` or lowlevel `Server`."""

    def __init__(self, server: Any, lowlevel: Server[Any]) -> None:
        self.server = server
        self.lowlevel = lowlevel
        self.name = type(server).__name__

    def http_app(
        self,
        *,
        path: str,
        json_response: bool | None,
        security: TransportSecuritySettings | None,
        host: str,
        max_body: int,
        options: dict[str, Any],
    ) -> Any:
        return self.server.streamable_http_app(
            streamable_http_path=path,
            json_response=bool(json_response),  # the SDK's default: False (SSE responses)
            transport_security=_security_settings(security, host),
            host=host,
            max_request_body_size=max_body,
            **options,
        )

    def on_session_manager(self, app: Any, path: str, attach: Attach) -> None:
        attach(self.lowlevel.session_manager)  # made by streamable_http_app, for the app's lifetime

    def direct_dispatcher(self, sync_hop: SyncHop) -> Any:
        from ._direct import DirectTools

        return DirectTools.of(self.server, self.lowlevel, sync_hop=sync_hop)

    stock_description = "the SDK's stock streamable_http_app"

    def stock_app(
        self, *, path: str, host: str, security: TransportSecuritySettings | None, options: dict[str, Any]
    ) -> Any:
        return self.server.streamable_http_app(
            streamable_http_path=path, host=host, transport_security=security, **options
        )

    def inline_sync_tools(self, which: bool | Iterable[str]) -> None:
        manager = getattr(self.server, "_tool_manager", None)  # MCPServer's tool registry
        if manager is None:
            raise TypeError("inline_sync_tools needs an MCPServer (a lowlevel Server has no tool registry)")
        names = None if which is True else set(which)  # type: ignore[arg-type]
        for tool in manager.list_tools():
            if tool.is_async or (names is not None and tool.name not in names):
                continue
            tool.fn = _on_loop(tool.fn)
            tool.is_async = True


class FastMCPKind(ServerKind):
    """A FastMCP 4 server (`fastmcp.FastMCP`)."""

    name = "FastMCP server"

    def __init__(self, server: Any) -> None:
        lowlevel = getattr(server, "_mcp_server", None)  # FastMCP's LowLevelServer (an SDK Server)
        if not isinstance(lowlevel, Server):
            raise TypeError("this FastMCP server has no SDK lowlevel server (_mcp_server)")
        self.server = server
        self.lowlevel = lowlevel

    def http_app(
        self,
        *,
        path: str,
        json_response: bool | None,
        security: TransportSecuritySettings | None,
        host: str,
        max_body: int,
        options: dict[str, Any],
    ) -> Any:
        # FastMCP guards Host and Origin in its own middleware (http_app's `host_origin_protection`,
        # `allowed_hosts`, `allowed_origins`, passed through `options`) and has no body-size option.
        if security is not None:
            raise TypeError(
                "a FastMCP server checks Host/Origin itself: pass host_origin_protection=, allowed_hosts=, "
                "allowed_origins= (FastMCP.http_app's options) instead of security="
            )
        if max_body != DEFAULT_MAX_REQUEST_BODY_SIZE:
            raise TypeError("FastMCP.http_app has no request body limit option: max_request_body_size does not apply")
        if options.get("transport", "http") not in ("http", "streamable-http"):
            raise TypeError("fast_http_app serves FastMCP's streamable HTTP app, not transport='sse'")
        return self.server.http_app(path=path, json_response=json_response, **options)

    def on_session_manager(self, app: Any, path: str, attach: Attach) -> None:
        endpoint = _fastmcp_endpoint(app, path)
        original = app.router.lifespan_context

        @contextlib.asynccontextmanager
        async def lifespan(starlette_app: Any) -> AsyncIterator[Any]:
            async with original(starlette_app) as state:
                # FastMCP's lifespan has made this run's session manager and entered its `run()`;
                # no request reaches the endpoint before startup completes.
                attach(endpoint.session_manager)
                yield state

        # Starlette reads `router.lifespan_context` when the lifespan starts, and FastMCP's
        # `StarletteWithLifespan.lifespan` (for mounting the app in another one) returns it too.
        app.router.lifespan_context = lifespan

    def direct_dispatcher(self, sync_hop: SyncHop) -> Any:
        from ._direct_fastmcp import DirectFastMCPTools

        return DirectFastMCPTools.of(self.server, self.lowlevel)

    stock_description = "FastMCP's own http_app"

    def stock_app(
        self, *, path: str, host: str, security: TransportSecuritySettings | None, options: dict[str, Any]
    ) -> Any:
        if security is not None:
            raise TypeError("a FastMCP server checks Host/Origin itself (http_app's host_origin_protection=...)")
        return self.server.http_app(path=path, **options)

    def inline_sync_tools(self, which: bool | Iterable[str]) -> None:
        raise TypeError(
            "inline_sync_tools is for MCPServer tools; a FastMCP tool runs on the event loop with "
            "FastMCP's own @mcp.tool(run_in_thread=False)"
        )


def is_fastmcp(server: Any) -> bool:
    """Whether `server` is a FastMCP server (without importing FastMCP: an object can only be one
    if FastMCP was imported)."""
    module = sys.modules.get("fastmcp.server.server")
    cls = getattr(module, "FastMCP", None)
    return cls is not None and isinstance(server, cls)


def server_kind(server: Any, user: str) -> ServerKind:
    """The `ServerKind` of `server`; `TypeError` naming `user` (the API that needs it) for
    anything else."""
    if is_fastmcp(server):
        return FastMCPKind(server)
    try:
        lowlevel = lowlevel_server(server, user)
    except TypeError:
        raise TypeError(
            f"{user} needs an MCPServer, a lowlevel Server or a FastMCP server, not {type(server).__name__}"
        ) from None
    return SdkKind(server, lowlevel)


def _security_settings(security: TransportSecuritySettings | None, host: str) -> TransportSecuritySettings | None:
    # The SDK's own default (Server.streamable_http_app): DNS-rebinding protection for loopback hosts.
    if security is None and host in ("127.0.0.1", "localhost", "::1"):
        return TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
            allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
        )
    return security


def _fastmcp_endpoint(app: Any, path: str) -> Any:
    """FastMCP's `StreamableHTTPASGIApp` at `path` (behind its `RequireAuthMiddleware` when the
    server has auth): the object whose `session_manager` each lifespan run replaces."""
    from fastmcp.server.http import StreamableHTTPASGIApp

    for route in app.routes:
        if getattr(route, "path", None) != path:
            continue
        endpoint = getattr(route, "endpoint", None)
        for _ in range(4):  # auth wrappers keep the app they guard as `.app`
            if isinstance(endpoint, StreamableHTTPASGIApp):
                return endpoint
            endpoint = getattr(endpoint, "app", None)
    raise TypeError(f"FastMCP's http_app has no streamable HTTP endpoint at {path!r}")


def _on_loop(fn: Any) -> Any:
    async def run_inline(**kwargs: Any) -> Any:
        return fn(**kwargs)

    return run_inline
