"""The decoded message types. Twin of the native module's `Request`, `Notification`, … classes."""

from __future__ import annotations

from typing import Any

from .encode import json_bytes

__all__ = ["Request", "Notification", "Response", "ErrorResponse", "RoutingKeys"]


class _Message:
    __slots__ = ()
    _FIELDS: tuple[str, ...] = ()  # the constructor's arguments: what equality and repr read

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self._FIELDS)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._FIELDS if name != "params")
        return f"{type(self).__name__}({fields})"


_UNSET: Any = object()


class Request(_Message):
    """A 2026-07-28 request that passed every rung of the ladder.

    `meta` is `params._meta`; `name` is the routing name mirrored in `Mcp-Name` (`params.name` for
    `tools/call` and `prompts/get`, `params.uri` for `resources/read`, `params.taskId` for
    `tasks/*`) when it is a string, else `None`.

    `arguments_json` is the JSON text (`bytes`) of `params.arguments`, `None` when `params` has no
    such member: what a tool's argument model can validate directly (pydantic's
    `model_validate_json`). The native backend gives the bytes exactly as sent and builds `params`
    only when it is read; this twin gives orjson's encoding of the parsed value, equal as JSON.
    """

    _FIELDS = ("id", "method", "params", "meta", "protocol_version", "client_info", "client_capabilities", "name")
    __slots__ = (*_FIELDS, "_arguments_json")

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
        self._arguments_json = _UNSET

    @property
    def arguments_json(self) -> bytes | None:
        cached = self._arguments_json
        if cached is _UNSET:
            params = self.params
            if isinstance(params, dict) and "arguments" in params:
                cached = json_bytes(params["arguments"])
            else:
                cached = None
            self._arguments_json = cached
        return cached

    def __reduce__(self) -> tuple[Any, ...]:
        return (Request, tuple(getattr(self, name) for name in self._FIELDS))


class Notification(_Message):
    """A message without an `id`, at a served protocol version (HTTP 202, nothing to answer)."""

    __slots__ = _FIELDS = ("method", "params", "meta", "protocol_version")

    def __init__(
        self, method: str, params: dict[str, Any] | None, meta: dict[str, Any] | None, protocol_version: str
    ) -> None:
        self.method = method
        self.params = params
        self.meta = meta
        self.protocol_version = protocol_version


class Response(_Message):
    """A result response (decoded only without headers: stdio, queues, a client reading replies)."""

    __slots__ = _FIELDS = ("id", "result")

    def __init__(self, id: int | str, result: dict[str, Any]) -> None:
        self.id = id
        self.result = result


class ErrorResponse(_Message):
    """An error response (decoded only without headers)."""

    __slots__ = _FIELDS = ("id", "code", "message", "data")

    def __init__(self, id: int | str | None, code: int, message: str, data: Any) -> None:
        self.id = id
        self.code = code
        self.message = message
        self.data = data


class RoutingKeys(_Message):
    """What a gateway routes on; each field is `None` when the body does not carry it as expected."""

    __slots__ = _FIELDS = ("method", "name", "protocol_version", "id")

    def __init__(
        self, method: str | None, name: str | None, protocol_version: str | None, id: int | str | None
    ) -> None:
        self.method = method
        self.name = name
        self.protocol_version = protocol_version
        self.id = id
