"""Response encoding. Twin of `rust/codec/src/encode.rs`: compact JSON, UTF-8, orjson's layout."""

from __future__ import annotations

import operator
from typing import Any

import orjson

from ..errors import HTTP_STATUS

__all__ = ["dumps", "encode_error", "encode_response", "http_status", "json_bytes"]


def _dumps(message: Any) -> bytes:
    try:
        return dumps(message)
    except orjson.JSONEncodeError as exc:
        raise TypeError(f"cannot encode as JSON: {exc}") from None


def dumps(value: Any) -> bytes:
    """`orjson.dumps(value)`, reading subclasses as the native twin does: a `float` subclass
    (`numpy.float64`…) is written as its float, and an object key of a `str` subclass (a
    `str, Enum` member) as its text, where orjson refuses both. Errors are orjson's own."""
    try:
        return orjson.dumps(value, default=_plain_float)
    except orjson.JSONEncodeError as exc:
        if str(exc) != "Dict key must be str":
            raise
    return orjson.dumps(_plain_keys(value, 0), default=_plain_float)  # (raises again if still refused)


def _plain_float(value: Any) -> float:
    if isinstance(value, float):
        return float(value)
    raise TypeError


def _plain_keys(value: Any, depth: int) -> Any:
    if depth > 256:  # deeper than orjson writes: left for it to refuse
        return value
    if isinstance(value, dict):
        return {
            (str.__str__(key) if isinstance(key, str) else key): _plain_keys(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_plain_keys(item, depth + 1) for item in value]
    return value


def json_bytes(value: Any) -> bytes:
    """A JSON value on its own as compact JSON bytes (orjson's layout); `TypeError` as the encoders."""
    return _dumps(value)


def _check_id(request_id: Any, *, nullable: bool) -> None:
    if request_id is None and nullable:
        return
    if type(request_id) is str or (type(request_id) is int and -(2**63) <= request_id < 2**63):
        return
    raise TypeError(f"a JSON-RPC id is an int64 or a str, not {request_id!r}")


def encode_response(request_id: int | str, result: dict[str, Any]) -> bytes:
    """`{"jsonrpc":"2.0","id":…,"result":…}` as bytes. `result` must be a dict of JSON values."""
    _check_id(request_id, nullable=False)
    if type(result) is not dict:
        raise TypeError("a JSON-RPC result is a dict")
    return _dumps({"jsonrpc": "2.0", "id": request_id, "result": result})


def encode_error(request_id: int | str | None, code: int, message: str, data: Any = None) -> bytes:
    """A JSON-RPC error response as bytes; `data` is left out when `None`."""
    _check_id(request_id, nullable=True)
    if type(code) is not int or type(message) is not str:
        raise TypeError("an error has an int code and a str message")
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return _dumps({"jsonrpc": "2.0", "id": request_id, "error": error})


def http_status(code: int) -> int:
    """The HTTP status that carries a JSON-RPC error `code` (200 for codes with no mapping).

    `code` is read as the native twin reads it, a 64-bit int: anything else is a `TypeError` (a
    `float` too: `-32600.0` is no JSON-RPC code), beyond 64 bits an `OverflowError`."""
    code = operator.index(code)
    if not _I64_MIN <= code <= _I64_MAX:
        raise OverflowError("Python int too large to convert to C long")
    return HTTP_STATUS.get(code, 200)


_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1
