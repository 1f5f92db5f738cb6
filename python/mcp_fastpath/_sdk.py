"""What the adapters and the Tasks runtime share about an official-SDK (`mcp` 2.3) server: the
lowlevel `Server` behind an `MCPServer`, and the dispatch context of an exchange that has no
stream to write to."""

from __future__ import annotations

from typing import Any

import anyio
from mcp.server.lowlevel.server import Server
from mcp.shared.exceptions import NoBackChannelError
from mcp.shared.message import ServerMessageMetadata
from mcp.shared.transport_context import TransportContext
from starlette.requests import Request

__all__ = ["Exchange", "HttpParts", "SilentDispatchContext", "lowlevel_server"]


def lowlevel_server(server: Any, user: str) -> Server[Any]:
    """The lowlevel `Server` of `server` (an `MCPServer` or a lowlevel `Server`); `TypeError`
    naming `user` (the API that needs it) for anything else."""
    if isinstance(server, Server):
        return server
    inner = getattr(server, "_lowlevel_server", None)  # MCPServer keeps its lowlevel Server here
    if isinstance(inner, Server):
        return inner
    raise TypeError(f"{user} needs an MCPServer or a lowlevel Server, not {type(server).__name__}")


class HttpParts:
    """One HTTP exchange's Starlette `Request`, made on first use from the ASGI scope."""

    __slots__ = ("scope", "receive", "_request")

    def __init__(self, scope: dict[str, Any], receive: Any) -> None:
        self.scope = scope
        self.receive = receive
        self._request: Request | None = None

    @property
    def request(self) -> Request:
        if self._request is None:
            self._request = Request(self.scope, self.receive)
        return self._request


class Exchange:
    """The SDK's `DispatchContext` protocol for one exchange, minus how notifications travel
    (subclasses say). `transport`, `message_metadata` and `cancel_requested` are built on first
    use — from `parts` for an HTTP exchange — since a tool served by plan without a `Context`
    never reads them, and building them is a good part of a small request's cost."""

    __slots__ = ("request_id", "progress_token", "_parts", "_transport", "_metadata", "_cancel")
    can_send_request = False  # 2026-07-28 servers send no requests

    def __init__(
        self,
        request_id: Any,
        progress_token: Any = None,
        *,
        parts: HttpParts | None = None,
        transport: TransportContext | None = None,
        message_metadata: ServerMessageMetadata | None = None,
    ) -> None:
        self.request_id = request_id
        self.progress_token = progress_token
        self._parts = parts
        self._transport = transport
        self._metadata = message_metadata
        self._cancel: anyio.Event | None = None

    @property
    def transport(self) -> TransportContext:
        if self._transport is None:
            headers = self._parts.request.headers if self._parts is not None else None
            self._transport = TransportContext(kind="streamable-http", can_send_request=False, headers=headers)
        return self._transport

    @property
    def message_metadata(self) -> ServerMessageMetadata:
        if self._metadata is None:
            request = self._parts.request if self._parts is not None else None
            self._metadata = ServerMessageMetadata(request_context=request)
        return self._metadata

    @property
    def cancel_requested(self) -> anyio.Event:
        if self._cancel is None:
            self._cancel = anyio.Event()
        return self._cancel

    async def send_raw_request(self, method: str, params: Any, opts: Any = None) -> dict[str, Any]:
        raise NoBackChannelError(method)


class SilentDispatchContext(Exchange):
    """An exchange with nowhere for notifications to go: one HTTP exchange answered with one JSON
    reply (JSON mode drops notifications, as the SDK does), or a task's tool call (a task has no
    response stream)."""

    __slots__ = ()

    async def notify(self, method: str, params: Any, opts: Any = None) -> None:
        return None

    async def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        return None
