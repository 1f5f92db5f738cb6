"""`fast_http_app`: the official MCP SDK's (`mcp` ≥ 2.3, < 2.4) HTTP app with mcp-fastpath's
request path for stateless (2026-07-28) POSTs.

```python
from mcp_fastpath.adapters.sdk import fast_http_app
app = fast_http_app(mcp_server)                       # an MCPServer or a lowlevel Server
app = fast_http_app(mcp_server, gate=fp.Gate(...), replay=fp.MemoryReplayCache())
uvicorn.run(app)
```

What goes where
- A POST to `path` whose `MCP-Protocol-Version` header names a stateless-era version (anything but
  the handshake revisions; the SDK session manager's own routing rule) takes the fast path below.
- Everything else is the SDK's own `streamable_http_app` (same settings), untouched: handshake-era
  clients and `initialize`, sessions, GET / DELETE, the SDK's auth middleware and routes, custom
  routes, lifespan. The fast path is installed *inside* that app, in place of the session
  manager's request entry (`session_manager.asgi_app`): Starlette routing and any SDK auth
  middleware (`token_verifier`) still run first, exactly as for the stock app.
- `subscriptions/listen` (a notification stream for as long as the client listens) is admitted
  and verified here, then handed to the SDK's own stateless-era handler with the body replayed.

Responses: JSON or SSE, as the SDK's app with the same `json_response` (default False, the SDK's
default: SSE mode). In JSON mode every reply is one JSON object and request-scoped notifications
are dropped, as the SDK drops them. In SSE mode the SDK (`handle_modern_request`) runs the handler
and answers plain JSON (with the mapped status) when it finishes within the deferral window
(`SSE_PING_INTERVAL`, the SDK's 15 s) without emitting a notification; on the first notification,
or once the window elapses, it commits `text/event-stream`: one `event: message` frame per
notification, a `: ping` comment after every silent interval, the reply as the last frame (status
200). Here, by what the request lets the server send (`_may_notify`):
- a request that may receive request-scoped notifications — `params._meta.progressToken` set
  (basic/patterns/progress; `ctx.report_progress`) or the `io.modelcontextprotocol/logLevel`
  `_meta` key present (server/utilities/logging: no `notifications/message` without it;
  `ctx.log`/`ctx.info`/…) — runs the SDK's deferral step for step (`_serve_deferred`: handler task,
  zero-buffer notification stream, disconnect watch that cancels the handler);
- any other request is dispatched inline, as in JSON mode (`_InlineStreamContext`): no task
  group, one loop timer. If its handler emits a notification anyway (list-change notifications
  are `subscriptions/listen` goods at this revision and the SDK drops them on a request's
  connection channel, but `ctx.notify(...)` / `send_notification(..., related_request_id=...)`
  still reach the request's stream), the stream is committed from the handler's task; if it runs
  silent for the window, a keepalive task commits it and pings. Same bytes either way. The one
  difference from the SDK: a client disconnect does not cancel that handler (it runs to the end;
  what it writes is discarded), as in JSON mode.
Frames are the SDK's: its headers (`text/event-stream`, `no-cache, no-transform`, `keep-alive`,
`X-Accel-Buffering: no`), notifications dumped as its `JSONRPCNotification`, the reply from the
codec (ASCII-identical to the SDK's `json.dumps`; non-ASCII text is written as UTF-8 where the SDK
escapes it, in JSON mode too). `tests/test_adapter_sdk.py` compares status, headers and bytes with
the stock app for progress, logging, errors after a notification, and the keepalive.

The fast path, step by step (the SDK's `handle_modern_request` order):
1. body read with the SDK's limit (`max_request_body_size`, 413 "Request body too large");
2. Content-Type, Host and Origin checks: the SDK's own `TransportSecurityMiddleware` with the same
   `TransportSecuritySettings` as the stock app (DNS-rebinding protection on by default for a
   loopback `host`); then the Accept check (406), the SDK's `check_accept_headers`;
3. `fp.decode(body, headers)` — or `gate.admit(body, headers)` with a `Gate` (+ `admit_once` on the
   replay cache): JSON parse, JSON-RPC shape, the 2026-07-28 ladder (duplicate routing headers,
   `_meta`, header/body agreement, version) in one call, instead of `json.loads`, two pydantic
   envelope models, `find_duplicated_routing_header` and `classify_inbound_request`;
   a `Rejection` is answered with its status, `Rejection.headers` and `to_bytes()`;
4. `Mcp-Param-*`: `fp.check_param_headers` with a per-tool input-schema cache (see `_SchemaCache`);
5. dispatch: `mcp.server.runner.serve_one` — the SDK's own per-request kernel (spec-method params
   validation, the server middleware chain incl. request-state sealing and user middleware,
   handler lookup, tool-argument validation, result sieve, `serverInfo` stamp);
6. the reply: `fp.encode_response` / `fp.encode_error` with `fp.http_status`, errors mapped by
   the SDK's `modern_error_data` (so handler internals never reach the wire); in SSE mode,
   framed as above once the stream has been committed.

What is bypassed, and why that is safe
- Starlette's `Request`/`Response` objects and the pydantic `JSONRPCRequest`/`JSONRPCResponse`
  round trips on the request path: replaced by the codec, which enforces the same rules (and is
  stricter on duplicate keys, NaN, depth; DESIGN §5). Tools still get a Starlette `Request` as
  `ctx.request_context.request` (built lazily-cheap from the scope; `await request.body()` works).
- The `RequestBodyLimitMiddleware` buffer-and-replay: the body is read once, with the same limit.
- The `tools/list` walk the SDK runs per `tools/call` when a lowlevel server has no
  `get_tool_input_schema`: cached only when `tool_schema_ttl_s > 0` (see `_SchemaCache`).
- The OpenTelemetry server span (`OpenTelemetryMiddleware`, first in `server.middleware`), only
  while no OpenTelemetry SDK tracer provider is installed (the API's proxy/no-op provider: the
  span is never recorded, it only costs). Once a real provider is set, or with `trace=True`, the
  span runs as in the SDK; `trace=False` always skips it. Checked per request, cheaply.
Not bypassed: tool-argument validation (the tool's own pydantic model), params validation of spec
methods, every server middleware but that no-op span, the worker-thread hop for sync tools (a
sync tool may block; running it on the event loop would stall every other request).

Who called: with a `gate`, the principal (JWT) and signature (envelope) reach the tool as
`ctx.request_context.request.scope["mcp_fastpath"]` (`{"principal", "signature", "request"}`) and
through `mcp_fastpath.adapters.current_admission()` (a context variable, also set in the worker
thread of a sync tool). Without a gate both are None.

`FastTokenVerifier`: the SDK's `TokenVerifier` on `fp.JwtVerifier`, for servers that keep the SDK's
own transport and auth middleware (`MCPServer(token_verifier=FastTokenVerifier(...), auth=...)`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
from mcp.server.auth.provider import AccessToken
from mcp.server.connection import Connection
from mcp.server.lowlevel.server import Server
from mcp.server.runner import ServerRunner, aclose_shielded, modern_error_data, serve_one
from mcp.server.streamable_http import check_accept_headers
from mcp.server.transport_security import (
    DEFAULT_MAX_REQUEST_BODY_SIZE,
    TransportSecurityMiddleware,
    TransportSecuritySettings,
)
from mcp.shared.exceptions import NoBackChannelError
from mcp.shared.jsonrpc_dispatcher import progress_token_from_params
from mcp.shared.message import ServerMessageMetadata
from mcp.shared.transport_context import TransportContext
from mcp_types import CLIENT_CAPABILITIES_META_KEY, CLIENT_INFO_META_KEY, LOG_LEVEL_META_KEY, PROTOCOL_VERSION_META_KEY
from mcp_types import JSONRPCError, JSONRPCNotification, JSONRPCResponse
from starlette.requests import Request

from .. import Rejection, admit_once, check_param_headers, decode, encode_error, encode_response, http_status
from .. import Notification as _Notification
from ._asgi import (
    HANDSHAKE_VERSIONS,
    BodyTooLarge,
    Disconnected,
    header,
    read_body,
    replaying_receive,
    route_path,
    send_response,
)
from ._context import set_admission

__all__ = ["FastTokenVerifier", "fast_http_app"]

logger = logging.getLogger(__name__)

_TOO_LARGE = b"Request body too large"
_TEXT = (b"content-type", b"text/plain; charset=utf-8")
_LISTEN = "subscriptions/listen"
_LIST_PAGE_CAP = 100
SIGNED_ENVELOPE_EXTENSION = "dev.mcp-fastpath/signed-envelope"


def _lowlevel(server: Any) -> Server[Any]:
    if isinstance(server, Server):
        return server
    inner = getattr(server, "_lowlevel_server", None)  # MCPServer keeps its lowlevel Server here
    if isinstance(inner, Server):
        return inner
    raise TypeError(f"fast_http_app needs an MCPServer or a lowlevel Server, not {type(server).__name__}")


def _security_settings(security: TransportSecuritySettings | None, host: str) -> TransportSecuritySettings | None:
    # The SDK's own default (Server.streamable_http_app): DNS-rebinding protection for loopback hosts.
    if security is None and host in ("127.0.0.1", "localhost", "::1"):
        return TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
            allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
        )
    return security


# ---------------------------------------------------------------------------------------------
# Dispatch contexts for one exchange (the SDK's DispatchContext protocol).

# The SDK's SSE response (mcp.server._streamable_http_modern, mcp 2.3): these headers, one
# `event: message` frame per JSON-RPC message, a `: ping` comment after every interval of silence.
SSE_PING_INTERVAL: float = 15.0
_SSE_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"connection", b"keep-alive"),
    (b"x-accel-buffering", b"no"),
]
_SSE_PING = b": ping\r\n\r\n"


def _frame(payload: bytes) -> bytes:
    return b"event: message\r\ndata: " + payload + b"\r\n\r\n"


def _notification_frame(method: str, params: Any) -> bytes:
    """A notification as the SDK frames it (its JSONRPCNotification dump): rare path, exact bytes."""
    import json

    body = dict(params) if params is not None else None
    dumped = JSONRPCNotification(jsonrpc="2.0", method=method, params=body).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    return _frame(json.dumps(dumped, separators=(",", ":")).encode())


def _progress_params(token: Any, progress: float, total: float | None, message: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"progressToken": token, "progress": progress}
    if total is not None:
        params["total"] = total
    if message is not None:
        params["message"] = message
    return params


@dataclass(slots=True)
class SilentDispatchContext:
    """A `DispatchContext` with no back-channel (2026-07-28 servers send no requests) and nowhere
    for notifications to go: one HTTP exchange answered with one JSON reply (JSON mode drops
    notifications, as the SDK does), or a task's tool call (a task has no response stream)."""

    transport: TransportContext
    request_id: Any
    message_metadata: ServerMessageMetadata
    progress_token: Any = None
    cancel_requested: anyio.Event = field(default_factory=anyio.Event)
    can_send_request: bool = False

    async def send_raw_request(self, method: str, params: Any, opts: Any = None) -> dict[str, Any]:
        raise NoBackChannelError(method)

    async def notify(self, method: str, params: Any, opts: Any = None) -> None:
        return None

    async def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        return None


@dataclass(slots=True)
class _InlineStreamContext:
    """SSE mode, a request that cannot emit a request-scoped notification by the protocol (see
    `_may_notify`): dispatched inline in the request's task, like JSON mode, with no task group
    and no stream. The SDK's SSE behaviour is still kept, lazily:
    - should the handler emit a notification anyway (`ctx.notify`, `send_notification(...,
      related_request_id=...)`), the first one commits `text/event-stream` right here, from the
      handler's task, and every frame is written as the SDK writes it (nothing is dropped);
    - should it run silent for `SSE_PING_INTERVAL` (`arm`: one loop timer, cancelled when the
      reply is written), a keepalive task commits the stream and writes `: ping` after every
      interval without a write, as the SDK's writer does.
    Writes are serialized (`lock`, created on the first one), in order. Not kept: the SDK
    cancels the handler when the client disconnects; here it runs to the end (what it writes
    then is discarded by the server), as in JSON mode."""

    transport: TransportContext
    request_id: Any
    message_metadata: ServerMessageMetadata
    send: Any
    progress_token: Any = None
    cancel_requested: anyio.Event = field(default_factory=anyio.Event)
    can_send_request: bool = False
    started: bool = False
    finished: bool = False
    lock: anyio.Lock | None = None
    last_write: float = 0.0
    timer: Any = None
    keepalive: Any = None

    async def send_raw_request(self, method: str, params: Any, opts: Any = None) -> dict[str, Any]:
        raise NoBackChannelError(method)

    async def notify(self, method: str, params: Any, opts: Any = None) -> None:
        frame = _notification_frame(method, params)
        if self.lock is None:
            self.lock = anyio.Lock()
        async with self.lock:  # one writer at a time, in order (the SDK's zero-buffer stream)
            if self.finished:
                logger.debug("dropped %s: response stream closed", method)
                return
            await self._write(frame)

    async def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        if self.progress_token is None:
            return
        await self.notify("notifications/progress", _progress_params(self.progress_token, progress, total, message))

    async def _write(self, body: bytes) -> None:
        if not self.started:
            self.started = True
            await self.send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
        await self.send({"type": "http.response.body", "body": body, "more_body": True})
        self.last_write = time.monotonic()

    # -- keepalive -----------------------------------------------------------------------------

    def arm(self) -> None:
        """Start the silence timer (asyncio only: under another event loop, no keepalive)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self.last_write = time.monotonic()
        self.timer = loop.call_later(SSE_PING_INTERVAL, self._silent, loop)

    def _silent(self, loop: asyncio.AbstractEventLoop) -> None:
        self.timer = None
        if not self.finished:
            self.keepalive = loop.create_task(self._ping())

    async def _ping(self) -> None:
        if self.lock is None:
            self.lock = anyio.Lock()
        try:
            while True:
                wait = self.last_write + SSE_PING_INTERVAL - time.monotonic()
                if wait > 0:
                    await anyio.sleep(wait)
                    continue
                async with self.lock:
                    if self.finished:
                        return
                    if time.monotonic() - self.last_write >= SSE_PING_INTERVAL or not self.started:
                        await self._write(_SSE_PING)
        except Exception:  # the client is gone, or the server shuts down: the reply path decides
            logger.debug("SSE keepalive stopped", exc_info=True)

    def disarm(self) -> None:
        self.finished = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.keepalive is not None:
            self.keepalive.cancel()

    async def finish(self, status: int, payload: bytes) -> None:
        """The reply: plain JSON with its status if nothing was written, else the last frame."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.lock is None:  # nothing was written, and nothing is writing
            self.finished = True
            await send_response(self.send, status, payload)
            return
        async with self.lock:
            self.finished = True
            if self.started:
                await self.send({"type": "http.response.body", "body": _frame(payload), "more_body": False})
            else:
                await send_response(self.send, status, payload)
        if self.keepalive is not None:
            self.keepalive.cancel()


@dataclass(slots=True)
class _DeferredStreamContext:
    """SSE mode, a request that may emit request-scoped notifications: the handler runs as a
    sibling task and its notifications go through `sink` (a zero-buffer stream) to the response
    writer, which defers committing to `text/event-stream` exactly as the SDK does."""

    transport: TransportContext
    request_id: Any
    message_metadata: ServerMessageMetadata
    progress_token: Any = None
    sink: Any = None
    cancel_requested: anyio.Event = field(default_factory=anyio.Event)
    can_send_request: bool = False

    async def send_raw_request(self, method: str, params: Any, opts: Any = None) -> dict[str, Any]:
        raise NoBackChannelError(method)

    async def notify(self, method: str, params: Any, opts: Any = None) -> None:
        if self.sink is None:
            return
        frame = _notification_frame(method, params)
        try:
            await self.sink.send(frame)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            logger.debug("dropped %s: response stream closed", method)

    async def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        if self.progress_token is None:
            return
        await self.notify("notifications/progress", _progress_params(self.progress_token, progress, total, message))


def _may_notify(params: Any, progress_token: Any) -> bool:
    """Whether, by the 2026-07-28 protocol, the server may emit a notification on this request's
    stream: a `progressToken` in `params._meta` (basic/patterns/progress: progress only for a
    request that carries one; the SDK's `ctx.report_progress` is a no-op without it), or the
    `io.modelcontextprotocol/logLevel` `_meta` key (server/utilities/logging: no
    `notifications/message` for a request without it; the SDK's `ctx.log` drops them then).
    List-change and resource-update notifications belong to `subscriptions/listen` streams (the SDK
    drops them on a request's connection channel), so they do not count."""
    if progress_token is not None:
        return True
    meta = params.get("_meta") if isinstance(params, Mapping) else None
    return isinstance(meta, Mapping) and meta.get(LOG_LEVEL_META_KEY) is not None


# ---------------------------------------------------------------------------------------------
# Mcp-Param-* input-schema cache.


def _declares_headers(schema: Any) -> bool:
    """Whether any subschema carries `x-mcp-header`: without one, `Mcp-Param-*` headers validate
    nothing (SDK: `validate_mcp_param_headers` walks annotated positions only), so the check
    can be skipped."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "x-mcp-header" in node:
                return True
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


class _SchemaCache:
    """Per-tool input schemas for the `Mcp-Param-*` check, keyed by tool name.

    - With `get_tool_input_schema` (every `MCPServer`; a lowlevel `Server` that passes one) the
      registry lookup itself is a dict read, so it runs on every call; what is cached is the derived
      fact "does this schema declare any `x-mcp-header`", keyed by tool name and valid while the
      registry returns the *same schema object* (`is`). Adding, replacing or removing a tool gives
      a new object (or None), so the entry refreshes itself the next call: no stale schema, and no
      schema walk per call.
    - Without it, the SDK asks the server's own `tools/list` handler on every `tools/call` (through
      `serve_one`, so a caller-scoped catalog answers for this caller). That stays the default
      here (`ttl_s=0`). With `ttl_s > 0` the listing's schemas are kept, by tool name, for that many
      seconds and the whole cache is dropped when it expires — only for servers whose catalog is
      the same for every caller; a changed tool list is seen within `ttl_s`.
    """

    __slots__ = ("_lookup", "_flags", "_ttl_s", "_listed", "_listed_at")

    def __init__(self, lookup: Any, ttl_s: float) -> None:
        self._lookup = lookup
        self._flags: dict[str, tuple[Any, bool]] = {}
        self._ttl_s = ttl_s
        self._listed: dict[str, Any] = {}
        self._listed_at = 0.0

    def declared(self, name: str, schema: Any) -> bool:
        entry = self._flags.get(name)
        if entry is not None and entry[0] is schema:
            return entry[1]
        flag = _declares_headers(schema)
        if len(self._flags) > 10_000:
            self._flags.clear()
        self._flags[name] = (schema, flag)
        return flag

    async def schema(self, app: _FastPath, name: str, exchange: Any) -> Any:
        if self._lookup is not None:
            try:
                return self._lookup(name)
            except Exception:
                # Fail-open like the SDK: header validation must never break a working call path.
                logger.exception("Mcp-Param header validation skipped: get_tool_input_schema raised")
                return None
        if self._ttl_s > 0:
            now = time.monotonic()
            if now - self._listed_at > self._ttl_s:
                self._listed = {}
                self._listed_at = now
            elif name in self._listed:
                return self._listed[name]
            schema = await app.list_schema(name, exchange, self._listed)
            self._listed.setdefault(name, schema)
            return schema
        return await app.list_schema(name, exchange, None)


# ---------------------------------------------------------------------------------------------
# The OpenTelemetry bypass.


def _tracing_installed() -> bool:
    """True once an OpenTelemetry SDK tracer provider is installed (the API alone gives a proxy
    provider whose spans are non-recording)."""
    try:
        from opentelemetry import trace
    except ImportError:  # pragma: no cover - the SDK depends on opentelemetry-api
        return False
    provider = trace.get_tracer_provider()
    return not isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider))


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


async def _serve_one_untraced(server: Any, dctx: Any, method: str, params: Any, *, connection: Any, lifespan_state: Any) -> Any:
    """`serve_one` (mcp.server.runner) with `_Runner`: same kernel, same teardown."""
    runner = _Runner(server, connection, lifespan_state)
    try:
        return await runner.on_request(dctx, method, params)
    finally:
        await aclose_shielded(connection)


# ---------------------------------------------------------------------------------------------
# The fast path.


class _FastPath:
    """The session manager's request entry with the stateless-era POST served by mcp-fastpath."""

    def __init__(
        self,
        lowlevel: Server[Any],
        manager: Any,
        sdk_entry: Any,
        *,
        gate: Any,
        replay: Any,
        max_skew_s: float,
        json_response: bool,
        security: TransportSecuritySettings | None,
        max_body: int,
        limits: Any,
        tool_schema_ttl_s: float,
        trace: bool | None,
    ) -> None:
        self.lowlevel = lowlevel
        self.manager = manager
        self.sdk_entry = sdk_entry
        self.gate = gate
        self.replay = replay
        self.max_skew_s = max_skew_s
        self.json_response = json_response
        self.security = TransportSecurityMiddleware(security)
        self.max_body = max_body
        self.limits = limits
        self.trace = trace
        self.schemas = _SchemaCache(lowlevel.get_tool_input_schema, tool_schema_ttl_s)

    # -- ASGI entry ------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            version = header(scope["headers"], b"mcp-protocol-version")
            if version is not None and version not in HANDSHAKE_VERSIONS:
                await self.serve(scope, receive, send)
                return
        await self.sdk_entry(scope, receive, send)

    def _lifespan_state(self) -> Any:
        # The manager enters `server.lifespan` once in `run()` (the Starlette app's lifespan) and
        # keeps the state for its handlers; it has no public accessor in mcp 2.3.
        if self.manager._task_group is None:
            raise RuntimeError("Task group is not initialized. Make sure to use run().")
        return self.manager._lifespan_state

    async def serve(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
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

        request = Request(scope, receive)
        refused = await self.security.validate_request(request, is_post=True)
        if refused is not None:
            await refused(scope, receive, send)
            return
        has_json, has_sse = check_accept_headers(request)
        if not has_json or (not self.json_response and not has_sse):
            await send_response(send, 406)
            return

        try:
            if self.gate is not None:
                admitted = self.gate.admit(body, raw_headers)
                message = admitted.request
                principal, signature = admitted.principal, admitted.signature
                if signature is not None and self.replay is not None:
                    await admit_once(self.replay, signature, self.max_skew_s, request_id=message.id)
            elif self.limits is not None:
                message = decode(body, raw_headers, limits=self.limits)
                principal = signature = None
            else:
                message = decode(body, raw_headers)
                principal = signature = None
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

        params = message.params
        if method == "tools/call":
            param_rejection = await self._param_rejection(message, params, raw_headers, request, lifespan_state)
            if param_rejection is not None:
                await send_response(send, param_rejection.http_status, param_rejection.to_bytes(), param_rejection.headers)
                return

        transport = TransportContext(kind="streamable-http", can_send_request=False, headers=request.headers)
        metadata = ServerMessageMetadata(request_context=request)
        progress_token = progress_token_from_params(params)
        if self.json_response:
            exchange: Any = SilentDispatchContext(transport, message.id, metadata, progress_token)
            status, payload = await self._outcome(message, exchange, lifespan_state)
            await send_response(send, status, payload)
        elif _may_notify(params, progress_token):
            exchange = _DeferredStreamContext(transport, message.id, metadata, progress_token)
            await self._serve_deferred(message, exchange, lifespan_state, receive, send)
        else:
            exchange = _InlineStreamContext(transport, message.id, metadata, send, progress_token)
            exchange.arm()
            try:
                status, payload = await self._outcome(message, exchange, lifespan_state)
            except BaseException:
                exchange.disarm()
                raise
            await exchange.finish(status, payload)

    async def _outcome(self, message: Any, exchange: Any, lifespan_state: Any) -> tuple[int, bytes]:
        """Dispatch through the SDK's kernel: the JSON-RPC reply and its HTTP status."""
        connection = Connection.from_envelope(message.protocol_version, message.client_info, message.client_capabilities)
        run = serve_one if self._traced() else _serve_one_untraced
        try:
            result = await run(self.lowlevel, exchange, message.method, message.params, connection=connection, lifespan_state=lifespan_state)
        except Exception as exc:
            error = modern_error_data(exc)
            try:
                payload = encode_error(message.id, error.code, error.message, error.data)
            except TypeError:
                payload = _sdk_dump(JSONRPCError(jsonrpc="2.0", id=message.id, error=error))
            return http_status(error.code), payload
        try:
            return 200, encode_response(message.id, result)
        except TypeError:
            # A custom method's result with values orjson cannot write: the SDK's own JSON dump.
            return 200, _sdk_dump(JSONRPCResponse(jsonrpc="2.0", id=message.id, result=result))

    async def _serve_deferred(
        self, message: Any, exchange: _DeferredStreamContext, lifespan_state: Any, receive: Any, send: Any
    ) -> None:
        """The SDK's SSE-mode exchange (`handle_modern_request`), step for step: the handler runs as
        a sibling task; if it finishes within `SSE_PING_INTERVAL` without emitting, the reply is
        plain JSON with its mapped status; on its first notification, or when the window elapses,
        the response commits to `text/event-stream`: every notification is a frame, every silent
        interval a `: ping` comment, the reply the last frame (status 200 whatever the outcome).
        A client disconnect cancels the handler."""
        # The disconnect watch reads `receive` while the handler runs: take the replayed body into
        # the Request's cache first, so a tool's `await request.body()` does not wait on the socket.
        await exchange.message_metadata.request_context.body()
        send_ch, recv_ch = anyio.create_memory_object_stream[bytes](0)
        exchange.sink = send_ch
        outcome: list[tuple[int, bytes]] = []

        async def run_handler() -> None:
            async with send_ch:
                outcome.append(await self._outcome(message, exchange, lifespan_state))

        async def watch_disconnect(cancel_scope: anyio.CancelScope) -> None:
            while (await receive()).get("type") != "http.disconnect":
                pass
            cancel_scope.cancel()

        async with recv_ch, anyio.create_task_group() as tg:
            tg.start_soon(run_handler)
            tg.start_soon(watch_disconnect, tg.cancel_scope)
            event: bytes | None = None
            done = False
            with anyio.move_on_after(SSE_PING_INTERVAL):
                try:
                    event = await recv_ch.receive()
                except anyio.EndOfStream:
                    done = True
            if done:
                await send_response(send, *outcome[0])
            else:
                await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
                while not done:
                    await send({"type": "http.response.body", "body": event or _SSE_PING, "more_body": True})
                    event = None
                    with anyio.move_on_after(SSE_PING_INTERVAL):
                        try:
                            event = await recv_ch.receive()
                        except anyio.EndOfStream:
                            done = True
                await send({"type": "http.response.body", "body": _frame(outcome[0][1]), "more_body": False})
            tg.cancel_scope.cancel()

    def _traced(self) -> bool:
        if self.trace is not None:
            return self.trace
        return _tracing_installed()

    # -- Mcp-Param-* -----------------------------------------------------------------------------

    async def _param_rejection(
        self, message: Any, params: Mapping[str, Any], raw_headers: Any, request: Request, lifespan_state: Any
    ) -> Rejection | None:
        lowlevel = self.lowlevel
        if lowlevel.get_tool_input_schema is None and lowlevel.get_request_handler("tools/list") is None:
            return None
        name = params.get("name")
        if not isinstance(name, str):
            return None
        arguments = params.get("arguments")
        if arguments is None:
            arguments = {}
        elif not isinstance(arguments, Mapping):
            return None
        if not arguments and not any(key.startswith(b"mcp-param-") for key, _ in raw_headers):
            return None
        schema = await self.schemas.schema(self, name, (message, request, lifespan_state))
        if schema is None or not self.schemas.declared(name, schema):
            return None
        try:
            check_param_headers(schema, arguments, raw_headers)
        except Rejection as rejection:
            return rejection.with_request_id(message.id) if rejection.request_id is None else rejection
        return None

    async def list_schema(self, name: str, exchange: Any, into: dict[str, Any] | None) -> Any:
        """`name`'s inputSchema from the server's own `tools/list` handler (the SDK's fallback when
        there is no `get_tool_input_schema`); fail-open. `into` collects every listed schema."""
        message, request, lifespan_state = exchange
        # The SDK's own listing context: no progress token, no sink (what the listing emits is dropped).
        dctx = SilentDispatchContext(
            TransportContext(kind="streamable-http", can_send_request=False, headers=request.headers),
            message.id,
            ServerMessageMetadata(request_context=request),
        )
        meta: dict[str, Any] = {
            PROTOCOL_VERSION_META_KEY: message.protocol_version,
            CLIENT_CAPABILITIES_META_KEY: message.client_capabilities,
        }
        if message.client_info is not None:
            meta[CLIENT_INFO_META_KEY] = message.client_info
        list_params: dict[str, Any] = {"_meta": meta}
        seen: set[str] = set()
        found = None
        for _ in range(_LIST_PAGE_CAP):
            connection = Connection.from_envelope(message.protocol_version, message.client_info, message.client_capabilities)
            try:
                result = await serve_one(
                    self.lowlevel, dctx, "tools/list", list_params, connection=connection, lifespan_state=lifespan_state
                )
            except Exception:
                logger.debug("Mcp-Param header validation skipped: the tools/list listing failed", exc_info=True)
                return None
            for tool in result.get("tools", []):
                if into is not None and isinstance(tool.get("name"), str):
                    into.setdefault(tool["name"], tool.get("inputSchema"))
                if tool.get("name") == name and found is None:
                    found = tool.get("inputSchema")
                    if into is None:
                        return found
            cursor = result.get("nextCursor")
            if not isinstance(cursor, str) or cursor in seen:
                return found
            seen.add(cursor)
            list_params = {"_meta": meta, "cursor": cursor}
        return found


def _is_listen(body: bytes) -> bool:
    from .. import routing_keys

    try:
        return routing_keys(body).method == _LISTEN
    except Exception:
        return False


def _sdk_dump(message: JSONRPCResponse | JSONRPCError) -> bytes:
    import json

    body = message.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(message, JSONRPCError) and message.id is None:
        body["id"] = None
    return json.dumps(body, separators=(",", ":")).encode()


def fast_http_app(
    server: Any,
    *,
    gate: Any = None,
    replay: Any = None,
    max_skew_s: float = 60,
    json_response: bool = False,
    security: TransportSecuritySettings | None = None,
    path: str = "/mcp",
    host: str = "127.0.0.1",
    max_request_body_size: int = DEFAULT_MAX_REQUEST_BODY_SIZE,
    limits: Any = None,
    tool_schema_ttl_s: float = 0.0,
    trace: bool | None = None,
    inline_sync_tools: bool | Iterable[str] = False,
    task_store: Any = None,
    **sdk_options: Any,
) -> Any:
    """The SDK's `streamable_http_app` for `server` (an `MCPServer` or a lowlevel `Server`) with
    stateless-era POSTs served by mcp-fastpath (see the module docstring).

    - `gate`: a `Gate` (JWT / signed envelope / scope policy) run on every stateless-era POST;
      `replay`: a replay cache for signed requests (`MemoryReplayCache`, `RedisReplayCache`), with
      `max_skew_s` the envelope verifier's window (entries live 2 × `max_skew_s`).
    - `json_response` (default False, the SDK's: SSE responses, see the module docstring),
      `path` (`streamable_http_path`), `host`, `max_request_body_size` and
      `security` (`transport_security`) are the SDK's `streamable_http_app` options, shared by both
      paths; any other SDK option (`stateless_http`, `event_store`, `session_idle_timeout`, …, and
      for a lowlevel `Server` `auth` / `token_verifier`) goes through `**sdk_options`.
    - `limits`: `fp.Limits` for decoding without a gate (a gate carries its own).
    - `tool_schema_ttl_s`: see `_SchemaCache` (lowlevel servers without `get_tool_input_schema`).
    - `trace`: None = the OpenTelemetry span only when a tracer provider is installed;
      True = always (exactly the SDK); False = never.
    - `inline_sync_tools`: opt-in, `True` or a set of tool names (an `MCPServer`'s tools registered
      by now): run those *sync* tools on the event loop instead of the SDK's worker-thread hop.
      Only for tools that never block (pure computation, well under a millisecond): a blocking
      tool run inline stalls every request this process serves. Applies on both paths (the tool
      itself is wrapped).
    - `task_store`: where the server's tasks live (`io.modelcontextprotocol/tasks`): a `TaskStore`
      or a spec (`memory`, `sqlite:///PATH`, `redis://…`). The server declares its task tools with
      `mcp_fastpath.tasks.TaskSupport(server, tools={...})`, which serves the extension on both
      paths (it is SDK request handlers); this only picks the store (default: process memory).

    The result is the SDK's Starlette app. When it has no middleware of its own (no SDK auth),
    a wrapper in front of it serves the fast path without Starlette's routing; otherwise the fast
    path runs inside it, behind the SDK's auth middleware.
    """
    if replay is not None and gate is None:
        raise ValueError("replay needs a gate (it checks the signatures the gate verified)")
    # The SDK's own spellings are accepted too, so `streamable_http_app(**options)` ports as is.
    path = sdk_options.pop("streamable_http_path", path)
    security = sdk_options.pop("transport_security", security)
    lowlevel = _lowlevel(server)
    if task_store is not None:
        from ..tasks.runtime import TaskSupport

        TaskSupport.bind_store(server, task_store)
    envelope = getattr(gate, "envelope", None)
    if envelope is not None:
        # DESIGN §6: servers that verify signed envelopes say so in `server/discover`.
        lowlevel.extensions[SIGNED_ENVELOPE_EXTENSION] = {
            "algorithms": ["hmac-sha256", "ed25519"],
            "maxSkewMs": int(envelope.max_skew_s * 1000),
            "required": bool(gate.require_envelope),
            **({"audience": envelope.audience} if envelope.audience else {}),
        }
    settings = _security_settings(security, host)
    starlette_app = server.streamable_http_app(
        streamable_http_path=path,
        json_response=json_response,
        transport_security=settings,
        host=host,
        max_request_body_size=max_request_body_size,
        **sdk_options,
    )
    manager = lowlevel.session_manager
    fast = _FastPath(
        lowlevel,
        manager,
        manager.asgi_app,
        gate=gate,
        replay=replay,
        max_skew_s=max_skew_s,
        json_response=json_response,
        security=settings,
        max_body=max_request_body_size,
        limits=limits,
        tool_schema_ttl_s=tool_schema_ttl_s,
        trace=trace,
    )
    # The seam: `StreamableHTTPASGIApp` (the route's endpoint) calls `session_manager.asgi_app`, an
    # instance attribute; ours serves stateless-era POSTs and hands everything else to the original.
    manager.asgi_app = fast
    starlette_app.state.mcp_fastpath = fast
    if inline_sync_tools:
        _inline_sync_tools(server, inline_sync_tools)
    if not starlette_app.user_middleware and _plain_route(starlette_app, path, manager):
        return _FrontDoor(starlette_app, fast, path)
    return starlette_app


def _plain_route(starlette_app: Any, path: str, manager: Any) -> bool:
    """Whether `path` is served by a bare `StreamableHTTPASGIApp` (no auth wrapper) on this manager."""
    from mcp.server.streamable_http_manager import StreamableHTTPASGIApp

    for route in starlette_app.routes:
        if getattr(route, "path", None) == path:
            endpoint = getattr(route, "app", None)
            return isinstance(endpoint, StreamableHTTPASGIApp) and endpoint.session_manager is manager
    return False


class _FrontDoor:
    """The Starlette app, with stateless-era POSTs to `path` taken before its middleware stack and
    router (which would only route them, unchanged, to the same entry). Attribute access goes
    through to the Starlette app (`.state`, `.routes`, `.router.lifespan_context`, …)."""

    def __init__(self, app: Any, fast: _FastPath, path: str) -> None:
        self._app = app
        self._fast = fast
        self._path = path

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and route_path(scope) == self._path:
            version = header(scope["headers"], b"mcp-protocol-version")
            if version is not None and version not in HANDSHAKE_VERSIONS:
                if "app" not in scope:
                    scope["app"] = self._app  # what Starlette would have set, for tools that read it
                await self._fast.serve(scope, receive, send)
                return
        await self._app(scope, receive, send)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)


def _inline_sync_tools(server: Any, which: Any) -> None:
    manager = getattr(server, "_tool_manager", None)  # MCPServer's tool registry
    if manager is None:
        raise TypeError("inline_sync_tools needs an MCPServer (a lowlevel Server has no tool registry)")
    names = None if which is True else set(which)
    for tool in manager.list_tools():
        if tool.is_async or (names is not None and tool.name not in names):
            continue
        tool.fn = _on_loop(tool.fn)
        tool.is_async = True


def _on_loop(fn: Any) -> Any:
    async def run_inline(**kwargs: Any) -> Any:
        return fn(**kwargs)

    return run_inline


# ---------------------------------------------------------------------------------------------
# TokenVerifier for the SDK's own transport.


class FastTokenVerifier:
    """The SDK's `TokenVerifier` protocol (`mcp.server.auth.provider`) on `fp.JwtVerifier`.

    ```python
    verifier = FastTokenVerifier(fp.JwtVerifier(keyring, issuer=..., audience=...))
    MCPServer(..., token_verifier=verifier, auth=AuthSettings(issuer_url=..., resource_server_url=...))
    ```
    A token that does not verify (any `Rejection`) gives None: the SDK's bearer middleware then
    answers 401 with its own `WWW-Authenticate`. The `AccessToken` carries `client_id` (the
    `client_id` / `azp` claim, else `sub`, else ""), `scopes`, `expires_at` (int seconds),
    `resource` (the audience we verified against), `subject` and the full `claims`.
    """

    def __init__(self, verifier: Any) -> None:
        self.verifier = verifier

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            principal = self.verifier.verify(token)
        except Rejection:
            return None
        claims = dict(principal.claims)
        client_id = claims.get("client_id") or claims.get("azp") or principal.subject or ""
        return AccessToken(
            token=token,
            client_id=str(client_id),
            scopes=list(principal.scopes),
            expires_at=int(principal.expires_at) if principal.expires_at is not None else None,
            resource=principal.audience if isinstance(principal.audience, str) else None,
            subject=principal.subject,
            claims=claims,
        )
