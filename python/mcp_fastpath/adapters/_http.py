"""Small raw-ASGI helpers shared by the adapters (no Starlette on the hot path)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from .._protocol import HANDSHAKE_VERSIONS

__all__ = [
    "BodyTooLarge",
    "Disconnected",
    "header",
    "read_body",
    "replaying_receive",
    "route_path",
    "send_response",
    "stateless_era",
]

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class BodyTooLarge(Exception):
    pass


class Disconnected(Exception):
    pass


def header(raw: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    """The first value of header `name` (lowercase bytes), Latin-1 decoded, or None."""
    for key, value in raw:
        if key == name:
            return value.decode("latin-1")
    return None


def stateless_era(raw: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether a POST's `MCP-Protocol-Version` names a stateless-era version: present, and not one
    of the handshake revisions (the SDK session manager's routing rule). SP/HTAB around the value
    are not part of it (RFC 9110 §5.5; h11 strips them, httptools does not)."""
    version = header(raw, b"mcp-protocol-version")
    return version is not None and version.strip(" \t") not in HANDSHAKE_VERSIONS


def route_path(scope: dict[str, Any]) -> str:
    """The path below `root_path` (Starlette's rule), so a mounted app matches like a Route."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if not root or not path.startswith(root):
        return path
    if path == root:
        return ""
    return path[len(root) :] if path[len(root)] == "/" else path


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body; `BodyTooLarge` past `limit` bytes, `Disconnected` if the client left."""
    message = await receive()
    if message["type"] != "http.request":
        raise Disconnected
    body = message.get("body", b"")
    if not message.get("more_body", False):
        if len(body) > limit:
            raise BodyTooLarge
        return body
    chunks = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replaying_receive(body: bytes, receive: Receive) -> Receive:
    """A `receive` that yields `body` once as the whole request, then defers to the real one
    (which reports `http.disconnect`)."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


_JSON = (b"content-type", b"application/json")
_RETRY_AFTER = (b"retry-after", b"1")


async def send_response(
    send: Send,
    status: int,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    content_type: tuple[bytes, bytes] | None = _JSON,
) -> None:
    raw: list[tuple[bytes, bytes]] = [(b"content-length", str(len(body)).encode("ascii"))]
    if content_type is not None and body:
        raw.append(content_type)
    if headers:
        raw.extend((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items())
    if status == 503 and not (headers and any(name.lower() == "retry-after" for name in headers)):
        # Every 503 from the adapters means "nothing was dispatched, come back shortly".
        raw.append(_RETRY_AFTER)
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})
