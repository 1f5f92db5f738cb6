"""`EnvelopeGuard`: per-request verification in front of any ASGI MCP app.

```python
from mcp_fastpath.adapters.asgi import EnvelopeGuard
app = EnvelopeGuard(inner_app, gate=fp.Gate(...), replay=fp.MemoryReplayCache())
```

For a POST whose `MCP-Protocol-Version` header names a stateless-era version (anything but the
handshake revisions 2024-11-05 … 2025-11-25, the SDK's own routing rule), the guard buffers the
body, runs `gate.admit(body, headers)` (decode + ladder + JWT + envelope + scope policy, one call)
and the replay check (`admit_once`, with the gate's `EnvelopeVerifier` window), and then either
answers the `Rejection` itself (its HTTP status, its headers such as `WWW-Authenticate`,
`to_bytes()` as the body) without running the app, or hands the request on with
`scope["mcp_fastpath"] = {"principal", "signature", "request"}` (also readable through
`mcp_fastpath.adapters.current_admission()` when the app serves the request in the same task) and
the buffered body replayed to the app, unchanged (the routing and `Mcp-Param-*` header values
reach it without the SP/HTAB around them, as the gate read them).

`gate` may be a gate provider (`mcp_fastpath.gates`: a JWKS, a reloaded key file); the guard's
lifespan then starts and closes it, and a token with a key id the gate lacks is admitted once
more after a key refresh. When the gate checks JWTs, the guard also serves OAuth 2.0 Protected
Resource Metadata (RFC 9728) at `/.well-known/oauth-protected-resource[<path>]` and names it in
every 401 (`resource_metadata=` in `WWW-Authenticate`; `resource_metadata=False` turns it off, a
`ResourceMetadata` configures it, see `fast_http_app`).

Every other request to the MCP endpoint (`path`, default `/mcp`; `path=None` for every path) is
handshake-era traffic — `initialize` and its session's POSTs, GET streams, DELETE — and meets the
`legacy` rule of `adapters/_legacy.py`: `"refuse"` (the default: 400 with -32022 naming the
versions served, 405 for GET/DELETE) or `"bearer"` (handed to the app only with a valid bearer JWT
on every request, checked by the gate's `JwtVerifier`, the scope policy applied). Requests to
other paths (health checks, OAuth metadata), OPTIONS preflights, lifespan and websocket scopes pass
through untouched.
"""

from __future__ import annotations

from typing import Any

from .. import Limits, Rejection
from .._admission import set_admission
from ..gates import as_gate_provider
from ._admit import Admitter
from ._http import (
    BodyTooLarge,
    Disconnected,
    read_body,
    replaying_receive,
    route_path,
    send_response,
    stateless_era,
)
from ._legacy import LegacyTraffic
from ._lifespan import LifespanHooks
from ._resource_metadata import metadata_service

__all__ = ["EnvelopeGuard"]


class EnvelopeGuard:
    """ASGI middleware: `EnvelopeGuard(app, gate=Gate(...), replay=None, legacy="refuse", path="/mcp")`.

    `replay`: a replay cache (`MemoryReplayCache`, `RedisReplayCache`); None skips the replay check
    (then a captured signed request can be replayed within the signature's time window).
    `legacy`: `"refuse"` or `"bearer"`, see the module docstring. `path`: the MCP endpoint (below
    `root_path`), or None when every path is one.
    `max_body_bytes`: bodies beyond it are refused with 413 before they are buffered whole
    (default: `Limits().max_body_bytes`, the codec's own limit). `resource_metadata`: see the
    module docstring.
    """

    def __init__(
        self,
        app: Any,
        *,
        gate: Any,
        replay: Any = None,
        legacy: str = "refuse",
        path: str | None = "/mcp",
        max_body_bytes: int | None = None,
        resource_metadata: Any = None,
    ) -> None:
        if gate is None:
            raise ValueError("EnvelopeGuard needs a gate")
        self.gates = as_gate_provider(gate)
        self.app = LifespanHooks(app, self.gates.start, self.gates.aclose)
        self.replay = replay
        self.path = path
        self.max_body_bytes = Limits().max_body_bytes if max_body_bytes is None else int(max_body_bytes)
        self.metadata = metadata_service(resource_metadata, self.gates, path or "")
        # The gate in force per request, the replay check (the gate's envelope window), challenges.
        self.admitter = Admitter(self.gates, replay=replay, metadata=self.metadata)
        # At most once: a duplicate of a signed request is answered from the replay cache.
        self.outcomes = self.admitter.outcomes
        self.legacy = LegacyTraffic(legacy, self.admitter, max_body=self.max_body_bytes)

    def _modern_post(self, scope: dict[str, Any]) -> bool:
        return scope["method"] == "POST" and stateless_era(scope["headers"])

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        elif self._modern_post(scope):
            if self.outcomes is None:
                await self._admit(scope, receive, send)
            else:
                async with self.outcomes.recording(send) as recording:
                    await self._admit(scope, receive, recording)
        elif self.metadata is not None and self.metadata.matches(scope):
            await self.metadata.serve(scope, receive, send)
        elif self.path is None or route_path(scope) == self.path:
            await self.legacy.serve(scope, receive, send, self.app)
        else:
            await self.app(scope, receive, send)

    async def _admit(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            body = await read_body(receive, self.max_body_bytes)
        except Disconnected:
            return
        except BodyTooLarge:
            rejection = Rejection(-32600, f"Request body exceeds {self.max_body_bytes} bytes", http_status=413)
            await send_response(send, 413, rejection.to_bytes())
            return
        try:
            request, principal, signature = await self.admitter.admit(scope, body, send)
        except Rejection as rejection:
            await send_response(send, rejection.http_status, rejection.to_bytes(), rejection.headers)
            return
        scope = dict(scope)  # the app's scope, not the server's: ours to extend
        scope["headers"] = _trimmed_routing_headers(scope["headers"])
        set_admission(scope, principal, signature, request)
        await self.app(scope, replaying_receive(body, receive), send)


_ROUTING = (b"mcp-protocol-version", b"mcp-method", b"mcp-name")


def _trimmed_routing_headers(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The header list with SP/HTAB trimmed around the routing and `Mcp-Param-*` values, as the gate
    read them (RFC 9110 §5.5): the app sees what was verified, whatever the HTTP parser kept
    (httptools keeps such whitespace; the SDK's own ladder then refuses the request)."""
    if not any(
        (name in _ROUTING or name.startswith(b"mcp-param-")) and value != value.strip(b" \t") for name, value in raw
    ):
        return raw
    return [
        (name, value.strip(b" \t") if name in _ROUTING or name.startswith(b"mcp-param-") else value)
        for name, value in raw
    ]
