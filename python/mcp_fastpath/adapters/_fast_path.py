"""The fast path itself: the stateless-era POST served by mcp-fastpath (see the `adapters.sdk`
module docstring for the steps, and what is bypassed and why that is safe)."""

from __future__ import annotations

import json
import logging
from typing import Any

from mcp.server.connection import Connection
from mcp.server.lowlevel.server import Server
from mcp.server.runner import modern_error_data, serve_one
from mcp.server.transport_security import TransportSecurityMiddleware
from mcp.shared.jsonrpc_dispatcher import progress_token_from_params
from mcp_types import JSONRPCError, JSONRPCResponse

from .. import Notification as _Notification
from .. import Rejection, encode_error, encode_response, http_status, routing_keys
from .._admission import set_admission
from .._sdk import HttpParts, SilentDispatchContext
from ._admit import Admitter
from ._direct import NOT_DIRECT
from ._http import (
    BodyTooLarge,
    Disconnected,
    header,
    read_body,
    replaying_receive,
    route_path,
    send_response,
    stateless_era,
)
from ._legacy import LegacyTraffic
from ._param_headers import SchemaCache
from ._sse import DeferredStreamContext, InlineStreamContext, may_notify, serve_deferred
from ._tracing import serve_one_untraced, tracing_installed
from ._transport_checks import TransportChecks

__all__ = ["FastPath", "FrontDoor", "plain_route"]

logger = logging.getLogger(__name__)

_TOO_LARGE = b"Request body too large"
_TEXT = (b"content-type", b"text/plain; charset=utf-8")
_LISTEN = "subscriptions/listen"


class FastPath:
    """The session manager's request entry with the stateless-era POST served by mcp-fastpath.

    `attach(manager)` installs it in place of `manager.asgi_app` (the entry the app's endpoint
    calls); it then answers as that manager would: with its transport security settings, its
    body limit and its response mode (JSON or SSE)."""

    def __init__(
        self,
        lowlevel: Server[Any],
        *,
        admitter: Admitter,
        legacy: LegacyTraffic | None,
        direct: Any,
        tool_schema_ttl_s: float,
        trace: bool | None,
    ) -> None:
        self.lowlevel = lowlevel
        self.manager: Any = None
        self.sdk_entry: Any = None
        self.admitter = admitter  # decode, or the gate in force + replay check (adapters/_admit.py)
        # At most once: a duplicate of a signed request is answered from the replay cache.
        self.outcomes = admitter.outcomes
        self.legacy = legacy
        self.direct = direct  # `_direct.DirectTools`, `_direct_fastmcp.DirectFastMCPTools` or None
        self.json_response = False
        self.checks: TransportChecks | None = None
        self.max_body = 0
        self.trace = trace
        self.schemas = SchemaCache(lowlevel, tool_schema_ttl_s)

    def attach(self, manager: Any) -> None:
        """Take `manager`'s request entry (`session_manager.asgi_app`, an instance attribute that
        its endpoint calls); everything the fast path does not serve goes to the original."""
        self.sdk_entry = manager.asgi_app
        self.json_response = manager.json_response
        self.checks = TransportChecks(TransportSecurityMiddleware(manager.security_settings))
        self.max_body = manager.max_request_body_size
        self.manager = manager
        manager.asgi_app = self

    # -- ASGI entry ------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and stateless_era(scope["headers"]):
            await self.serve(scope, receive, send)
            return
        if self.legacy is not None:  # a gate: handshake-era traffic is refused or authenticated
            await self.legacy.serve(scope, receive, send, self.sdk_entry)
            return
        await self.sdk_entry(scope, receive, send)

    def _lifespan_state(self) -> Any:
        # The manager enters `server.lifespan` once in `run()` (the Starlette app's lifespan) and
        # keeps the state for its handlers; it has no public accessor in mcp 2.3.
        if self.manager._task_group is None:
            raise RuntimeError("Task group is not initialized. Make sure to use run().")
        return self.manager._lifespan_state

    async def serve(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.outcomes is None:
            await self._serve(scope, receive, send)
            return
        async with self.outcomes.recording(send) as recording:
            await self._serve(scope, receive, recording)

    async def _serve(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        lifespan_state = self._lifespan_state()
        raw_headers = scope["headers"]
        declared = header(raw_headers, b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > self.max_body
            except ValueError:
                too_large = False
            if too_large:
                await send_response(send, 413, _TOO_LARGE, content_type=_TEXT)
                return
        try:
            body = await read_body(receive, self.max_body)
        except BodyTooLarge:
            await send_response(send, 413, _TOO_LARGE, content_type=_TEXT)
            return
        except Disconnected:
            return
        receive = replaying_receive(body, receive)

        checked = await self.checks.check(scope, receive)
        if type(checked) is not tuple:
            await checked(scope, receive, send)  # the SDK's own refusal
            return
        has_json, has_sse = checked
        if not has_json or (not self.json_response and not has_sse):
            await send_response(send, 406)
            return

        try:
            message, principal, signature = await self.admitter.admit(scope, body, send)
        except Rejection as rejection:
            if not has_sse and rejection.code not in (-32700, -32600) and _is_listen(body):
                # The SDK refuses a listen request without the SSE accept before its ladder runs.
                await send_response(send, 406)
                return
            await send_response(send, rejection.http_status, rejection.to_bytes(), rejection.headers)
            return

        if type(message) is _Notification:
            # Acknowledged and dropped, like the SDK (the codec already checked the version).
            await send_response(send, 202)
            return

        set_admission(scope, principal, signature, message)
        method = message.method
        if method == _LISTEN:
            if not has_sse:
                await send_response(send, 406)
                return
            # A notification stream for as long as the client listens: the SDK's own.
            await self.sdk_entry(scope, receive, send)
            return

        parts = HttpParts(scope, receive)  # the Starlette request, made only if something reads it
        params = message.params
        if method == "tools/call":
            param_rejection = await self.schemas.rejection(message, params, raw_headers, parts, lifespan_state)
            if param_rejection is not None:
                await send_response(
                    send, param_rejection.http_status, param_rejection.to_bytes(), param_rejection.headers
                )
                return

        progress_token = progress_token_from_params(params)
        if self.json_response:
            exchange: Any = SilentDispatchContext(message.id, progress_token, parts=parts)
            status, payload = await self._outcome(message, exchange, lifespan_state)
            await send_response(send, status, payload)
        elif may_notify(params, progress_token):
            exchange = DeferredStreamContext(message.id, progress_token, parts=parts)
            await serve_deferred(lambda ex: self._outcome(message, ex, lifespan_state), exchange, receive, send)
        else:
            exchange = InlineStreamContext(message.id, send, progress_token, parts=parts)
            exchange.arm()
            try:
                status, payload = await self._outcome(message, exchange, lifespan_state)
            except BaseException:
                exchange.disarm()
                raise
            await exchange.finish(status, payload)

    async def _outcome(self, message: Any, exchange: Any, lifespan_state: Any) -> tuple[int, bytes]:
        """Dispatch — by plan (`_direct.DirectTools`) where that is the kernel's outcome to the
        byte, else through the SDK's kernel — then the JSON-RPC reply and its HTTP status."""
        traced = self._traced()
        try:
            result = NOT_DIRECT
            if self.direct is not None and message.method == "tools/call" and not traced:
                if not isinstance(exchange, DeferredStreamContext):  # progress/log opt-in: the SDK's
                    result = await self.direct.call(message, exchange, lifespan_state)
            if result is NOT_DIRECT:
                connection = Connection.from_envelope(
                    message.protocol_version, message.client_info, message.client_capabilities
                )
                run = serve_one if traced else serve_one_untraced
                result = await run(
                    self.lowlevel,
                    exchange,
                    message.method,
                    message.params,
                    connection=connection,
                    lifespan_state=lifespan_state,
                )
        except Exception as exc:
            error = modern_error_data(exc)
            try:
                payload = encode_error(message.id, error.code, error.message, error.data)
            except TypeError:
                payload = _sdk_dump(JSONRPCError(jsonrpc="2.0", id=message.id, error=error))
            # An error that names its own status (a task store that is down: 503) keeps it.
            return getattr(exc, "http_status", None) or http_status(error.code), payload
        try:
            return 200, encode_response(message.id, result)
        except TypeError:
            # A custom method's result with values orjson cannot write: the SDK's own JSON dump.
            return 200, _sdk_dump(JSONRPCResponse(jsonrpc="2.0", id=message.id, result=result))

    def _traced(self) -> bool:
        if self.trace is not None:
            return self.trace
        return tracing_installed()


def _is_listen(body: bytes) -> bool:
    try:
        return routing_keys(body).method == _LISTEN
    except Exception:
        return False


def _sdk_dump(message: JSONRPCResponse | JSONRPCError) -> bytes:
    body = message.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(message, JSONRPCError) and message.id is None:
        body["id"] = None
    return json.dumps(body, separators=(",", ":")).encode()


def plain_route(starlette_app: Any, path: str, manager: Any) -> bool:
    """Whether `path` is served by a bare `StreamableHTTPASGIApp` (no auth wrapper) on this manager."""
    from mcp.server.streamable_http_manager import StreamableHTTPASGIApp

    for route in starlette_app.routes:
        if getattr(route, "path", None) == path:
            endpoint = getattr(route, "app", None)
            return isinstance(endpoint, StreamableHTTPASGIApp) and endpoint.session_manager is manager
    return False


class FrontDoor:
    """The Starlette app, with stateless-era POSTs to `path` taken before its middleware stack and
    router (which would only route them, unchanged, to the same entry). Attribute access goes
    through to the Starlette app (`.state`, `.routes`, `.router.lifespan_context`, …)."""

    def __init__(self, app: Any, fast: FastPath, path: str) -> None:
        self._app = app
        self._fast = fast
        self._path = path

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and route_path(scope) == self._path:
            if stateless_era(scope["headers"]):
                if "app" not in scope:
                    scope["app"] = self._app  # what Starlette would have set, for tools that read it
                await self._fast.serve(scope, receive, send)
                return
        await self._app(scope, receive, send)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)
