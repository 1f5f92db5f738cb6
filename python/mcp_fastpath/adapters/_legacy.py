"""Handshake-era traffic at a gated endpoint.

A gate makes every 2026-07-28 request prove who sent it. A client that falls back to the
`initialize` handshake (protocol 2025-11-25 or older, or no `MCP-Protocol-Version` at all) would
otherwise reach the same tools through the SDK's own session transport, unauthenticated: the
official client in its default `auto` mode does exactly that after a 401. So with a gate, every
request to the MCP endpoint that is not a 2026-07-28 POST goes through `LegacyTraffic` first:

- `legacy="refuse"` (the default): nothing handshake-era is served. A POST gets HTTP 400 with
  the modern `UnsupportedProtocolVersionError` (-32022) naming the versions served, as the
  2026-07-28 versioning rules ask a modern-only server to answer `initialize`, and a message that
  says to use 2026-07-28 with credentials; a GET or DELETE (the old session stream and its end)
  gets 405 with the same error body. OPTIONS passes (CORS preflights carry no credentials).
- `legacy="bearer"`: served by the SDK, but only with a valid `Authorization: Bearer` JWT on
  every HTTP request, checked by the gate's `JwtVerifier`; the gate's scope policy applies to the
  JSON-RPC method (and target name) of each POST, and its `*` rule to GET and DELETE. The token
  becomes the SDK's `AccessToken` (`get_access_token()` in tools, session ownership in the
  SDK's session manager) and `current_admission()` carries the principal. A body our strict
  parser refuses is refused (two parsers must not disagree on what was authorised).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from .. import Rejection, Unauthenticated, routing_keys
from .._admission import set_admission
from .._protocol import MODERN_VERSION
from ._admit import Admitter
from ._http import BodyTooLarge, Disconnected, header, read_body, replaying_receive, send_response
from ._identity import access_token_for, bearer_token

__all__ = ["LEGACY_MODES", "LegacyTraffic"]

LEGACY_MODES = ("refuse", "bearer")
_UNSUPPORTED = -32022
_REFUSED = (
    "This server serves MCP 2026-07-28 only, with authentication on every request; handshake-era "
    "requests (initialize, protocol 2025-11-25 and older) are refused. Use a 2026-07-28 client and "
    "send credentials."
)
_ALLOW_POST = {"Allow": "POST"}

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class _Target:
    """What the scope policy needs of a request: its method, target name and id."""

    __slots__ = ("method", "name", "id")

    def __init__(self, method: str, name: str | None, request_id: Any) -> None:
        self.method = method
        self.name = name
        self.id = request_id


class LegacyTraffic:
    """The rule for handshake-era requests at a gated endpoint (see the module docstring)."""

    def __init__(self, mode: str, admitter: Admitter, *, max_body: int) -> None:
        if mode not in LEGACY_MODES:
            raise ValueError(f"legacy must be one of {LEGACY_MODES}, not {mode!r}")
        if mode == "bearer" and not admitter.gates.checks_tokens:
            raise ValueError('legacy="bearer" needs a gate with a JwtVerifier (jwt=...)')
        self.mode = mode
        self.admitter = admitter  # the gate in force, its key refresh and its challenges
        self.max_body = max_body
        self.supported = [MODERN_VERSION]

    async def serve(self, scope: dict[str, Any], receive: Any, send: Any, app: App) -> None:
        """Answer (refuse) or hand `app` a handshake-era request to the MCP endpoint."""
        method = scope.get("method", "")
        if scope["type"] != "http" or method == "OPTIONS":
            await app(scope, receive, send)
            return
        if self.mode == "refuse":
            await self._refuse(scope, receive, send)
            return
        await self._bearer(scope, receive, send, app)

    # -- refuse ------------------------------------------------------------------------------------

    async def _refuse(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        requested = header(scope["headers"], b"mcp-protocol-version")
        request_id = None
        if scope["method"] == "POST":
            try:
                body = await read_body(receive, self.max_body)
            except Disconnected:
                return
            except BodyTooLarge:
                body = b""
            request_id, proposed = _id_and_version(body)
            requested = requested or proposed
        data: dict[str, Any] = {"supported": self.supported}
        if requested is not None:
            data["requested"] = requested
        refusal = Rejection(_UNSUPPORTED, _REFUSED, data, request_id=request_id)
        if scope["method"] == "POST":
            await send_response(send, 400, refusal.to_bytes())
        else:
            await send_response(send, 405, refusal.to_bytes(), _ALLOW_POST)

    # -- bearer ------------------------------------------------------------------------------------

    async def _bearer(self, scope: dict[str, Any], receive: Any, send: Any, app: App) -> None:
        body: bytes | None = None
        try:
            token = bearer_token(scope["headers"])
            if token is None:
                missing = Unauthenticated(-32010, "authentication required", headers={"WWW-Authenticate": "Bearer"})
                raise self.admitter.challenged(missing, scope, None)
            principal, gate = await self.admitter.verify_bearer(scope, token)
            if scope["method"] == "POST":
                try:
                    body = await read_body(receive, self.max_body)
                except Disconnected:
                    return
                except BodyTooLarge:
                    await send_response(send, 413, b"Request body too large", content_type=None)
                    return
                keys = routing_keys(body)
                target = _Target(keys.method or "", keys.name, keys.id)
            else:
                target = _Target("*", None, None)
            if gate.policy is not None:
                try:
                    gate.policy.check(principal, target)
                except Rejection as refused:
                    raise self.admitter.challenged(refused, scope, None, gate) from None
        except Rejection as rejection:
            await send_response(send, rejection.http_status, rejection.to_bytes(), rejection.headers)
            return

        from mcp.server.auth.middleware.auth_context import auth_context_var
        from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser

        user = AuthenticatedUser(access_token_for(principal, token))
        scope = dict(scope)
        scope["user"] = user  # what the SDK's bearer middleware sets: session ownership reads it
        set_admission(scope, principal, None, None)
        reset = auth_context_var.set(user)  # `get_access_token()` in tools (it follows the session's messages)
        try:
            await app(scope, replaying_receive(body, receive) if body is not None else receive, send)
        finally:
            auth_context_var.reset(reset)


def _id_and_version(body: bytes) -> tuple[Any, str | None]:
    """The request id (an int or str, else None) and an `initialize`'s proposed protocol version, read
    leniently: they only make the refusal more useful."""
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(message, dict):
        return None, None
    request_id = message.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, int | str):
        request_id = None
    elif isinstance(request_id, int) and not -(2**63) <= request_id < 2**63:
        request_id = None
    params = message.get("params")
    proposed = params.get("protocolVersion") if isinstance(params, dict) else None
    return request_id, proposed if isinstance(proposed, str) else None
