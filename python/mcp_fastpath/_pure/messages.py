"""The decoded message types. Twin of the native module's `Request`, `Notification`, … classes."""

from __future__ import annotations

from typing import Any

__all__ = ["Request", "Notification", "Response", "ErrorResponse", "RoutingKeys"]


class _Message:
    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__ if name != "params")
        return f"{type(self).__name__}({fields})"


class Request(_Message):
    """A 2026-07-28 request that passed every rung of the ladder.

    `meta` is `params._meta`; `name` is the routing name mirrored in `Mcp-Name` (`params.name` for
    `tools/call` and `prompts/get`, `params.uri` for `resources/read`, `params.taskId` for
    `tasks/*`) when it is a string, else `None`.
    """

    __slots__ = ("id", "method", "params", "meta", "protocol_version", "client_info", "client_capabilities", "name")

    def __init__(
        self,
        id: int | str,
        method: str,
        params: dict[str, Any],
        meta: dict[str, Any],
        protocol_version: str,
        client_info: Any,
        client_capabilities: Any,
        name: str | None,
    ) -> None:
        self.id = id
        self.method = method
        self.params = params
        self.meta = meta
        self.protocol_version = protocol_version
        self.client_info = client_info
        self.client_capabilities = client_capabilities
        self.name = name


class Notification(_Message):
    """A message without an `id`, at a served protocol version (HTTP 202, nothing to answer)."""

    __slots__ = ("method", "params", "meta", "protocol_version")

    def __init__(self, method: str, params: dict[str, Any] | None, meta: dict[str, Any] | None, protocol_version: str) -> None:
        self.method = method
        self.params = params
        self.meta = meta
        self.protocol_version = protocol_version


class Response(_Message):
    """A result response (decoded only without headers: stdio, queues, a client reading replies)."""

    __slots__ = ("id", "result")

    def __init__(self, id: int | str, result: dict[str, Any]) -> None:
        self.id = id
        self.result = result


class ErrorResponse(_Message):
    """An error response (decoded only without headers)."""

    __slots__ = ("id", "code", "message", "data")

    def __init__(self, id: int | str | None, code: int, message: str, data: Any) -> None:
        self.id = id
        self.code = code
        self.message = message
        self.data = data


class RoutingKeys(_Message):
    """What a gateway routes on; each field is `None` when the body does not carry it as expected."""

    __slots__ = ("method", "name", "protocol_version", "id")

    def __init__(self, method: str | None, name: str | None, protocol_version: str | None, id: int | str | None) -> None:
        self.method = method
        self.name = name
        self.protocol_version = protocol_version
        self.id = id
