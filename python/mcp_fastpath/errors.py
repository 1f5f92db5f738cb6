"""The one error hierarchy both backends raise.

The native module raises these same classes (it imports this module), so callers never need to know
which backend is active.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = [
    "FastpathError",
    "Rejection",
    "Unauthenticated",
    "Forbidden",
    "Replayed",
    "InvalidKey",
    "BackendUnavailable",
]


class FastpathError(Exception):
    """Base class of every error mcp-fastpath raises on purpose."""


class Rejection(FastpathError):
    """A request refused on the wire: a JSON-RPC error code, its message and data, and the HTTP status.

    `to_bytes()` is the JSON-RPC error response to send back (with `request_id`, or `null` when the
    id could not be read).
    """

    def __init__(
        self,
        code: int,
        message: str,
        data: Any = None,
        *,
        http_status: int | None = None,
        request_id: int | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.http_status = http_status if http_status is not None else _status_for(code)
        self.request_id = request_id
        # Extra HTTP response headers the rejection calls for (e.g. `WWW-Authenticate`).
        self.headers = headers or {}

    def with_request_id(self, request_id: int | str | None) -> Rejection:
        """A copy answering `request_id` (for checks that run where the id is not known)."""
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.args = self.args
        clone.request_id = request_id
        return clone

    def to_bytes(self) -> bytes:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return orjson.dumps({"jsonrpc": "2.0", "id": self.request_id, "error": error})

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code}, message={self.message!r}, "
            f"http_status={self.http_status}, request_id={self.request_id!r})"
        )


class Unauthenticated(Rejection):
    """-32010: no valid proof of identity (HTTP 401 with `WWW-Authenticate: Bearer`)."""


class Forbidden(Rejection):
    """-32011: authenticated, but missing a required scope (HTTP 403, `insufficient_scope`)."""


class Replayed(Rejection):
    """-32012: this `(kid, nonce)` was already seen inside the replay window (HTTP 401)."""


class InvalidKey(FastpathError, ValueError):
    """Key material refused at construction: short HMAC secret, malformed seed, PEM or JWK."""


class BackendUnavailable(FastpathError, ImportError):
    """`MCP_FASTPATH_BACKEND=native` was asked for but the native module is not built."""


# JSON-RPC code → HTTP status (docs/architecture.md, "Wire rules"). Codes not listed answer 200, like the SDK.
HTTP_STATUS: dict[int, int] = {
    -32700: 400,
    -32600: 400,
    -32602: 400,
    -32020: 400,
    -32021: 400,
    -32022: 400,
    -32601: 404,
    -32010: 401,
    -32011: 403,
    -32012: 401,
}


def _status_for(code: int) -> int:
    return HTTP_STATUS.get(code, 200)
