"""`decode`: body + headers → a validated 2026-07-28 message, or a `Rejection`.

Twin of `rust/codec/src/ladder.rs`. The order of checks is the official SDK's handling of a
2026-07-28 POST (`handle_modern_request` + `classify_inbound_request`, mcp 2.3.0), first failure wins:
size → JSON → one object → notification arm / JSON-RPC request shape → duplicated routing header →
rung 1 (`_meta` envelope) → rung 2 (headers) → rung 3 (version).
"""

from __future__ import annotations

from typing import Any

from ..errors import Rejection
from ..limits import DEFAULT_LIMITS, Limits
from .headers import (
    HEADER_MISMATCH,
    NAME_KEYS,
    PROTOCOL_VERSION_KEY,
    RoutingHeaders,
    decode_header_value,
    routing_headers,
)
from .json import JsonError, parse
from .messages import ErrorResponse, Notification, Request, Response, RoutingKeys

__all__ = ["decode", "routing_keys"]

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INVALID_PARAMS = -32602
UNSUPPORTED_PROTOCOL_VERSION = -32022
CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities"
CLIENT_INFO_KEY = "io.modelcontextprotocol/clientInfo"

# JSON-RPC ids travel as int64 everywhere else in the ecosystem; a bigger one is refused rather
# than risk two components reading different ids (the SDK accepts any Python int).
DEFAULT_VERSIONS = ("2026-07-28",)
_ID_MIN = -(2**63)
_ID_MAX = 2**63 - 1

_NOT_ONE_MESSAGE = "Body must be a single JSON-RPC request or notification object"
_MISSING_META = f"params._meta must be an object carrying the required {PROTOCOL_VERSION_KEY!r} and {CAPABILITIES_KEY!r} envelope keys"


def _read_body(body: Any, limits: Limits) -> Any:
    if isinstance(body, memoryview):
        body = body.tobytes()
    elif not isinstance(body, (bytes, bytearray)):
        raise TypeError(f"body must be bytes, not {type(body).__name__}")
    if len(body) > limits.max_body_bytes:
        raise Rejection(INVALID_REQUEST, f"Request body exceeds {limits.max_body_bytes} bytes", http_status=413)
    try:
        return parse(body, limits)
    except JsonError as exc:
        raise Rejection(PARSE_ERROR, f"Parse error: {exc}") from None


def _valid_id(value: Any) -> bool:
    if type(value) is int:
        return _ID_MIN <= value <= _ID_MAX
    return type(value) is str


def _shape(message: dict[str, Any], *, request_id: Any = None) -> Rejection:
    return Rejection(INVALID_REQUEST, _NOT_ONE_MESSAGE, request_id=request_id)


def _unsupported(requested: str, supported: tuple[str, ...], request_id: Any) -> Rejection:
    return Rejection(
        UNSUPPORTED_PROTOCOL_VERSION,
        "Unsupported protocol version",
        {"supported": list(supported), "requested": requested},
        request_id=request_id,
    )


def served_versions(versions: Any) -> tuple[str, ...]:
    """The `supported_versions` argument as a tuple (None: the versions this package serves);
    `TypeError` for anything but str versions."""
    if versions is None or versions is DEFAULT_VERSIONS:
        return DEFAULT_VERSIONS
    supported = tuple(versions)
    for version in supported:
        if not isinstance(version, str) or not (version.isascii() or _is_unicode(version)):
            raise TypeError("supported_versions must hold str (valid Unicode) versions")
    if any(type(version) is not str for version in supported):  # a subclass's text, as native reads it
        supported = tuple(str.__str__(version) for version in supported)
    return supported


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def decode(
    body: bytes,
    headers: Any = None,
    *,
    limits: Limits | None = None,
    supported_versions: tuple[str, ...] | list[str] | None = None,
) -> Request | Notification | Response | ErrorResponse:
    """Decode and validate one message. Raises `Rejection` for anything not served (the wire rules of README.md and docs/architecture.md).

    `headers` (a mapping or `(name, value)` pairs, names any case) turns on the header rung and
    means "an HTTP POST to a server": a posted response is then refused. `headers=None` (stdio,
    queues, a client reading replies) skips the header rung and lets responses through.
    """
    supported = served_versions(supported_versions)
    message = _read_body(body, limits or DEFAULT_LIMITS)
    if type(message) is not dict:
        raise _shape(message)
    routing = routing_headers(headers) if headers is not None else None
    if "id" not in message:
        return _notification(message, routing, supported)
    if routing is None and "method" not in message and ("result" in message or "error" in message):
        return _response(message)

    request_id = message["id"]
    method = message.get("method")
    params = message.get("params")
    if message.get("jsonrpc") != "2.0" or type(message.get("jsonrpc")) is not str or not _valid_id(request_id):
        raise _shape(message)
    if type(method) is not str or not (params is None or type(params) is dict):
        raise _shape(message)

    if routing is not None and routing.duplicated is not None:
        raise Rejection(HEADER_MISMATCH, f"{routing.duplicated} header appears more than once", request_id=request_id)

    meta = params.get("_meta") if params is not None else None
    if type(meta) is not dict:
        raise Rejection(INVALID_PARAMS, _MISSING_META, request_id=request_id)
    missing = [key for key in (PROTOCOL_VERSION_KEY, CAPABILITIES_KEY) if key not in meta]
    if missing:
        raise Rejection(
            INVALID_PARAMS,
            f"params._meta is missing the required envelope key(s): {', '.join(missing)}",
            request_id=request_id,
        )
    version = meta[PROTOCOL_VERSION_KEY]
    name_key = NAME_KEYS.get(method)

    if routing is not None:
        header_version = routing.values.get("mcp-protocol-version")
        if header_version is None or header_version != version:
            raise Rejection(
                HEADER_MISMATCH,
                "mcp-protocol-version header does not match the request envelope's protocol version",
                request_id=request_id,
            )
        if routing.values.get("mcp-method") != method:
            raise Rejection(
                HEADER_MISMATCH, "mcp-method header does not match the request body's method", request_id=request_id
            )
        if name_key is not None:
            body_name = params.get(name_key)  # type: ignore[union-attr]
            if body_name is not None and decode_header_value(routing.values.get("mcp-name")) != body_name:
                raise Rejection(
                    HEADER_MISMATCH,
                    f"mcp-name header does not match the request body's {name_key!r} parameter",
                    request_id=request_id,
                )

    if type(version) is not str:
        raise Rejection(INVALID_PARAMS, "the protocol-version envelope value must be a string", request_id=request_id)
    if version not in supported:
        raise _unsupported(version, supported, request_id)

    name = params.get(name_key) if name_key is not None else None  # type: ignore[union-attr]
    return Request(
        request_id,
        method,
        params,  # type: ignore[arg-type]
        meta,
        version,
        meta.get(CLIENT_INFO_KEY),
        meta[CAPABILITIES_KEY],
        name if type(name) is str else None,
    )


def _notification(message: dict[str, Any], routing: RoutingHeaders | None, supported: tuple[str, ...]) -> Notification:
    method = message.get("method")
    params = message.get("params")
    if message.get("jsonrpc") != "2.0" or type(message.get("jsonrpc")) is not str or type(method) is not str:
        raise _shape(message)
    if not (params is None or type(params) is dict):
        raise _shape(message)
    meta = params.get("_meta") if params is not None else None
    if type(meta) is not dict:
        meta = None
    if routing is not None:
        # Like the SDK: only the header that routed the POST here is read (its first copy).
        version = routing.values.get("mcp-protocol-version", "")
    else:
        body_version = meta.get(PROTOCOL_VERSION_KEY) if meta is not None else None
        version = body_version if type(body_version) is str else ""
    if version not in supported:
        raise _unsupported(version, supported, None)
    return Notification(method, params, meta, version)


def _response(message: dict[str, Any]) -> Response | ErrorResponse:
    request_id = message["id"]
    if message.get("jsonrpc") != "2.0" or type(message.get("jsonrpc")) is not str:
        raise _shape(message)
    if "result" in message and "error" not in message:
        result = message["result"]
        if _valid_id(request_id) and type(result) is dict:
            return Response(request_id, result)
        raise _shape(message)
    error = message.get("error")
    if "result" not in message and type(error) is dict and (request_id is None or _valid_id(request_id)):
        code = error.get("code")
        text = error.get("message")
        if type(code) is int and type(text) is str:
            return ErrorResponse(request_id, code, text, error.get("data"))
    raise _shape(message)


def routing_keys(body: bytes, *, limits: Limits | None = None) -> RoutingKeys:
    """The routing keys of a body (method, `Mcp-Name` value, protocol version, id), each `None`
    when absent or of the wrong type. Raises `Rejection` only when the body is not one JSON object."""
    message = _read_body(body, limits or DEFAULT_LIMITS)
    if type(message) is not dict:
        raise _shape(message)
    method = message.get("method")
    method = method if type(method) is str else None
    params = message.get("params")
    params = params if type(params) is dict else {}
    meta = params.get("_meta")
    version = meta.get(PROTOCOL_VERSION_KEY) if type(meta) is dict else None
    name_key = NAME_KEYS.get(method) if method is not None else None
    name = params.get(name_key) if name_key is not None else None
    request_id = message.get("id")
    return RoutingKeys(
        method,
        name if type(name) is str else None,
        version if type(version) is str else None,
        request_id if _valid_id(request_id) else None,
    )
