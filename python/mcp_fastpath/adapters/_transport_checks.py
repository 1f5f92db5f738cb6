"""The SDK's transport checks of a POST — Content-Type, Host, Origin (its
`TransportSecurityMiddleware`, DNS-rebinding protection) and Accept (`check_accept_headers`) —
answered from a cache.

They are pure functions of four header values and the app's settings, and a client sends the same
values request after request. So the first request with a given set runs the SDK's own checks on
a Starlette `Request`; a set that passed is remembered (bounded), and the next request with it
only reads those four values off the raw ASGI header list. A set that fails is never cached: the
SDK's code answers it every time (its status, body and log line).
"""

from __future__ import annotations

from typing import Any

from mcp.server.streamable_http import check_accept_headers
from mcp.server.transport_security import TransportSecurityMiddleware
from starlette.requests import Request

__all__ = ["TransportChecks"]

_NAMES = (b"content-type", b"host", b"origin", b"accept")
_CACHE_LIMIT = 4_096


class TransportChecks:
    """`check(scope, receive)` → `(has_json, has_sse)` when the request passes the SDK's checks,
    or the SDK's refusal (a Starlette `Response`) when it does not."""

    __slots__ = ("security", "_passed")

    def __init__(self, security: TransportSecurityMiddleware) -> None:
        self.security = security
        self._passed: dict[tuple[bytes | None, ...], tuple[bool, bool]] = {}

    async def check(self, scope: dict[str, Any], receive: Any) -> tuple[bool, bool] | Any:
        key = _first_values(scope["headers"])
        known = self._passed.get(key)
        if known is not None:
            return known
        request = Request(scope, receive)
        refused = await self.security.validate_request(request, is_post=True)
        if refused is not None:
            return refused
        accepts = check_accept_headers(request)
        if len(self._passed) >= _CACHE_LIMIT:
            self._passed.clear()
        self._passed[key] = accepts
        return accepts


def _first_values(raw_headers: list[tuple[bytes, bytes]]) -> tuple[bytes | None, ...]:
    """The first value of each checked header (what Starlette's `Headers.get` reads), or None."""
    content_type = host = origin = accept = None
    for name, value in raw_headers:
        if len(name) > 12:
            continue
        if name == b"content-type":
            if content_type is None:
                content_type = value
        elif name == b"host":
            if host is None:
                host = value
        elif name == b"origin":
            if origin is None:
                origin = value
        elif name == b"accept" and accept is None:
            accept = value
    return content_type, host, origin, accept
