"""Adapters that put mcp-fastpath in front of real MCP servers.

- `mcp_fastpath.adapters.sdk`: `fast_http_app(server, ...)` for an official-SDK (`mcp` ≥ 2.3)
  server or a FastMCP (4.2) server, and `FastTokenVerifier` for the SDK's own transport (needs
  `pip install mcp-fastpath[sdk]`, or `[fastmcp]`).
- `mcp_fastpath.adapters.asgi`: `EnvelopeGuard(app, gate=...)`, ASGI middleware for any MCP app.

What a tool sees: both adapters hand the verified identity on in two places,
- `scope["mcp_fastpath"] = {"principal": Principal | None, "signature": SignatureInfo | None,
  "request": Request}` (in an SDK tool: `ctx.request_context.request.scope["mcp_fastpath"]`), and
- the context variable read by `current_admission()` → `Admission(principal, signature, request)`
  or `None` outside an admitted request (it follows the request into worker threads that anyio
  starts for sync tools, since anyio copies the context).
"""

from __future__ import annotations

from typing import Any

from .._admission import Admission, current_admission

__all__ = ["Admission", "EnvelopeGuard", "FastTokenVerifier", "current_admission", "fast_http_app"]


def __getattr__(name: str) -> Any:
    # Lazy: `sdk` imports the `mcp` package, which the guard does not need.
    if name in ("fast_http_app", "FastTokenVerifier"):
        from . import sdk

        return getattr(sdk, name)
    if name == "EnvelopeGuard":
        from .asgi import EnvelopeGuard

        return EnvelopeGuard
    raise AttributeError(name)
