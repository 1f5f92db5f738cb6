"""SSE mode of the fast path: the SDK's `text/event-stream` response (mcp 2.3,
`mcp.server._streamable_http_modern`), frame for frame, and the two dispatch contexts that write it.

Which one serves a request is decided by `may_notify` (see the `adapters.sdk` module docstring):
- `InlineStreamContext`: the request cannot emit a request-scoped notification by the protocol;
  dispatched inline, the stream committed lazily only if the handler emits anyway or runs silent
  past `SSE_PING_INTERVAL`;
- `DeferredStreamContext` + `serve_deferred`: the request may be sent progress or log
  notifications; the SDK's deferral step for step.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
from mcp_types import JSONRPCNotification

from .._protocol import LOG_LEVEL_META
from .._sdk import Exchange, HttpParts
from ._http import send_response

__all__ = [
    "SSE_PING_INTERVAL",
    "DeferredStreamContext",
    "InlineStreamContext",
    "may_notify",
    "serve_deferred",
]

logger = logging.getLogger(__name__)

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


class InlineStreamContext(Exchange):
    """SSE mode, a request that cannot emit a request-scoped notification by the protocol (see
    `may_notify`): dispatched inline in the request's task, like JSON mode, with no task group
    and no stream. The SDK's SSE behaviour is still kept, lazily:
    - should the handler emit a notification anyway (`ctx.notify`, `send_notification(...,
      related_request_id=...)`), the first one commits `text/event-stream` right here, from the
      handler's task, and every frame is written as the SDK writes it (nothing is dropped);
    - should it run silent for `SSE_PING_INTERVAL` (`arm`: watched by the loop's `_SilenceWatch`
      until the reply is written), a keepalive task commits the stream and writes `: ping`
      after every interval without a write, as the SDK's writer does.
    Writes are serialized (`lock`, created on the first one), in order. Not kept: the SDK
    cancels the handler when the client disconnects; here it runs to the end (what it writes
    then is discarded by the server), as in JSON mode."""

    __slots__ = ("send", "started", "finished", "lock", "last_write", "watch", "keepalive", "__weakref__")

    def __init__(
        self, request_id: Any, send: Any, progress_token: Any = None, *, parts: HttpParts | None = None
    ) -> None:
        super().__init__(request_id, progress_token, parts=parts)
        self.send = send
        self.started = False
        self.finished = False
        self.lock: anyio.Lock | None = None
        self.last_write = 0.0
        self.watch: _SilenceWatch | None = None
        self.keepalive: Any = None

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
        """Watch for silence (asyncio only: under another event loop, no keepalive)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self.last_write = time.monotonic()
        self.watch = _SilenceWatch.of(loop)
        self.watch.add(self)

    def _silent(self, loop: asyncio.AbstractEventLoop) -> None:
        self.watch = None
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
        if self.watch is not None:
            self.watch.discard(self)
            self.watch = None
        if self.keepalive is not None:
            self.keepalive.cancel()

    async def finish(self, status: int, payload: bytes) -> None:
        """The reply: plain JSON with its status if nothing was written, else the last frame."""
        if self.watch is not None:
            self.watch.discard(self)
            self.watch = None
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


class _SilenceWatch:
    """The silence timer of every inline exchange on one event loop: one periodic check instead
    of a timer per request (a timer costs a few µs to set and cancel, on every request, for the
    rare one that runs silent for `SSE_PING_INTERVAL`). The check runs every eighth of the
    interval while an exchange is watched, so a silent one commits its stream between one and
    one and an eighth intervals after its last write (the SDK: at one interval)."""

    __slots__ = ("loop", "exchanges", "handle", "__weakref__")
    _by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _SilenceWatch] = weakref.WeakKeyDictionary()

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.exchanges: set[InlineStreamContext] = set()
        self.handle: asyncio.TimerHandle | None = None

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> _SilenceWatch:
        watch = cls._by_loop.get(loop)
        if watch is None:
            watch = cls._by_loop[loop] = cls(loop)
        return watch

    def add(self, exchange: InlineStreamContext) -> None:
        self.exchanges.add(exchange)
        if self.handle is None:
            self.handle = self.loop.call_later(_check_every(), self._check)

    def discard(self, exchange: InlineStreamContext) -> None:
        self.exchanges.discard(exchange)

    def _check(self) -> None:
        self.handle = None
        now = time.monotonic()
        for exchange in [e for e in self.exchanges if now - e.last_write >= SSE_PING_INTERVAL]:
            self.exchanges.discard(exchange)
            exchange._silent(self.loop)
        if self.exchanges:
            self.handle = self.loop.call_later(_check_every(), self._check)


def _check_every() -> float:
    return max(0.005, SSE_PING_INTERVAL / 8)


class DeferredStreamContext(Exchange):
    """SSE mode, a request that may emit request-scoped notifications: the handler runs as a
    sibling task and its notifications go through `sink` (a zero-buffer stream) to the response
    writer, which defers committing to `text/event-stream` exactly as the SDK does."""

    __slots__ = ("sink",)

    def __init__(self, request_id: Any, progress_token: Any = None, *, parts: HttpParts | None = None) -> None:
        super().__init__(request_id, progress_token, parts=parts)
        self.sink: Any = None

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


def may_notify(params: Any, progress_token: Any) -> bool:
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
    return isinstance(meta, Mapping) and meta.get(LOG_LEVEL_META) is not None


async def serve_deferred(
    outcome_of: Callable[[DeferredStreamContext], Awaitable[tuple[int, bytes]]],
    exchange: DeferredStreamContext,
    receive: Any,
    send: Any,
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
            outcome.append(await outcome_of(exchange))

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
