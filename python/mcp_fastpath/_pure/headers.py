"""Routing headers and `Mcp-Param-*`: the `=?base64?…?=` value codec and the body/header checks.

Twin of `rust/codec/src/headers.rs`. Outcomes match the official SDK (`mcp.shared.inbound`, mcp 2.3.0):
same acceptance, same codes, same messages.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import Rejection

__all__ = [
    "HEADER_MISMATCH",
    "NAME_KEYS",
    "ROUTING_HEADERS",
    "check_param_headers",
    "decode_header_value",
    "encode_header_value",
    "header_pairs",
    "routing_headers",
    "request_headers",
]

HEADER_MISMATCH = -32020
PROTOCOL_VERSION_KEY = "io.modelcontextprotocol/protocolVersion"

# Method → the params member mirrored in `Mcp-Name`. `tasks/*` is the Tasks extension's rule
# (ext-tasks "Mcp-Name = params.taskId"); the SDK has no Tasks extension and does not check it.
NAME_KEYS: dict[str, str] = {
    "tools/call": "name",
    "prompts/get": "name",
    "resources/read": "uri",
    "tasks/get": "taskId",
    "tasks/update": "taskId",
    "tasks/cancel": "taskId",
}
ROUTING_HEADERS = ("mcp-protocol-version", "mcp-method", "mcp-name")

_SENTINEL_PREFIX = "=?base64?"
_SENTINEL_SUFFIX = "?="
_PLAIN_SAFE = re.compile(r"[\x20-\x7e]*")
_HEADER_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CANONICAL_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
# RFC 9110 §5.5: a field value does not include the optional whitespace (SP / HTAB) around it.
# h11 strips it, httptools does not; other whitespace (VT, FF, NBSP, ...) is part of the value.
_OWS = " \t"
# A `str` header name or value with a lone surrogate: no HTTP server produces one and it has no
# UTF-8 form, so both backends refuse it as a caller error.
_NOT_UNICODE = "header names and values must be valid Unicode (no lone surrogates)"


def _unicode(text: str) -> str:
    """`text` as a plain `str` (a subclass's text, as the native twin reads it: a `str, Enum`
    member is its value, not its `str()`), checked to be valid Unicode (no lone surrogate); else
    TypeError."""
    if type(text) is not str:
        text = str.__str__(text)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise TypeError(_NOT_UNICODE) from None
    return text


def _is_sentinel(value: str) -> bool:
    # `^=\?base64\?.*\?=$` where `.` stops at a newline.
    return (
        len(value) >= len(_SENTINEL_PREFIX) + len(_SENTINEL_SUFFIX)
        and value.startswith(_SENTINEL_PREFIX)
        and value.endswith(_SENTINEL_SUFFIX)
        and "\n" not in value
    )


def encode_header_value(value: str) -> str:
    """`value` as a header value: verbatim when it is plain printable ASCII without edge spaces,
    else (or when it already looks like a sentinel) `=?base64?<base64 of UTF-8>?=`."""
    if not isinstance(value, str):
        raise TypeError(f"header values are str, not {type(value).__name__}")
    value = _unicode(value)
    if _PLAIN_SAFE.fullmatch(value) and value == value.strip(" ") and not _is_sentinel(value):
        return value
    return _SENTINEL_PREFIX + base64.b64encode(value.encode("utf-8")).decode("ascii") + _SENTINEL_SUFFIX


def decode_header_value(value: str | None) -> str | None:
    """Inverse of `encode_header_value`. A malformed sentinel (bad or non-canonical base64, bad UTF-8)
    gives `None`, so a corrupt header never matches a body value; `None` gives `None`."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"header values are str, not {type(value).__name__}")
    value = _unicode(value)
    if not _is_sentinel(value):
        return value
    payload = value[len(_SENTINEL_PREFIX) : -len(_SENTINEL_SUFFIX)]
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None
    if base64.b64encode(raw).decode("ascii") != payload:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def header_pairs(headers: Any) -> list[tuple[str, str]]:
    """Headers as `(lowercase name, value)` pairs; `bytes` are read as Latin-1 (as ASGI servers do).

    Accepts a mapping (its `.items()`; a multi-dict such as Starlette's yields every raw line) or an
    iterable of `(name, value)` pairs.
    """
    items: Iterable[Any] = headers.items() if hasattr(headers, "items") else headers
    pairs = []
    for item in items:
        name, value = _pair(item)
        pairs.append((_header_text(name).lower(), _header_text(value)))
    return pairs


def _header_text(part: Any) -> str:
    """A header name or value: `bytes` read as Latin-1, a `str` that must be Unicode. (A line is
    checked name first, then value, each wholly: the native twin's order.)"""
    if isinstance(part, (bytes, bytearray)):
        return bytes(part).decode("latin-1")
    if not isinstance(part, str):
        raise TypeError("header names and values must be str or bytes")
    return _unicode(part)


def _subclass_text(part: Any) -> str | bytes:
    """A header part of a `str`/`bytes`/`bytearray` subclass, as its plain text; else TypeError."""
    if isinstance(part, str):
        return str.__str__(part)
    if isinstance(part, (bytes, bytearray)):
        return bytes(part)
    raise TypeError("header names and values must be str or bytes")


def _pair(item: Any) -> tuple[Any, Any] | list[Any]:
    """One header line: a `(name, value)` pair, a tuple or a list (as ASGI allows); never a
    two-character `str` or any other iterable of two."""
    if not isinstance(item, (tuple, list)):
        raise TypeError(f"header lines are (name, value) pairs, not {type(item).__name__}")
    if len(item) != 2:
        raise ValueError(f"header lines are (name, value) pairs, not {len(item)} items")
    return item[0], item[1]


class RoutingHeaders:
    """The routing headers of one request: the first copy of each, and the first one repeated."""

    __slots__ = ("values", "duplicated")

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.duplicated: str | None = None


_ROUTING_BY_NAME: dict[Any, str] = {}
for _name in ROUTING_HEADERS:
    _ROUTING_BY_NAME[_name] = _name
    _ROUTING_BY_NAME[_name.encode()] = _name
_ROUTING_NAME_LENGTHS = frozenset(len(name) for name in ROUTING_HEADERS)
_TEXT_TYPES = (str, bytes, bytearray)


def routing_headers(headers: Any) -> RoutingHeaders:
    """Like `header_pairs`, but reads only what the ladder needs: other lines are type-checked and
    skipped; routing values are kept without the SP/HTAB around them. (The hot path: an ASGI
    server hands over lowercase `bytes` names.)"""
    items: Iterable[Any] = (
        headers if type(headers) in (list, tuple) or not hasattr(headers, "items") else headers.items()
    )
    found = RoutingHeaders()
    for item in items:
        name, value = item if type(item) is tuple and len(item) == 2 else _pair(item)
        # Name, then value, each checked wholly (type, then Unicode): the native twin's order.
        if type(name) not in _TEXT_TYPES:
            name = _subclass_text(name)
        if type(name) is bytearray:
            name = bytes(name)
        elif type(name) is str:
            _unicode(name)
        if type(value) not in _TEXT_TYPES:
            value = _subclass_text(value)
        if type(value) is str:
            _unicode(value)
        key = _ROUTING_BY_NAME.get(name)
        if key is None:
            if len(name) not in _ROUTING_NAME_LENGTHS:
                continue
            key = _ROUTING_BY_NAME.get(name.lower())
            if key is None:
                continue
        if key in found.values:
            found.duplicated = found.duplicated or key
            continue
        found.values[key] = (value if type(value) is str else bytes(value).decode("latin-1")).strip(_OWS)
    return found


def request_headers(method: str, params: Mapping[str, Any] | None) -> dict[str, str]:
    """The routing headers a client sends with a 2026-07-28 request: `MCP-Protocol-Version`
    (from `params._meta`), `Mcp-Method`, and `Mcp-Name` for name-bearing methods."""
    if not isinstance(method, str):
        raise TypeError("method must be a str")
    method = _unicode(method)
    meta = params.get("_meta") if isinstance(params, Mapping) else None
    version = meta.get(PROTOCOL_VERSION_KEY) if isinstance(meta, Mapping) else None
    if not isinstance(version, str):
        raise ValueError(f"params._meta[{PROTOCOL_VERSION_KEY!r}] must be a str to derive MCP-Protocol-Version")
    headers = {"MCP-Protocol-Version": _unicode(version), "Mcp-Method": method}
    name_key = NAME_KEYS.get(method)
    if name_key is not None:
        name = params.get(name_key) if isinstance(params, Mapping) else None
        if isinstance(name, str):
            headers["Mcp-Name"] = encode_header_value(name)
    return headers


# ---- Mcp-Param-* (tools/call arguments mirrored in headers, declared by `x-mcp-header`) ----

_SINGLE_SCHEMA_KEYWORDS = frozenset(
    {
        "items",
        "contains",
        "unevaluatedItems",
        "additionalProperties",
        "propertyNames",
        "unevaluatedProperties",
        "not",
        "if",
        "then",
        "else",
        "contentSchema",
    }
)
_LIST_SCHEMA_KEYWORDS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_MAP_SCHEMA_KEYWORDS = frozenset({"patternProperties", "dependentSchemas", "$defs", "definitions"})
_HEADER_TYPES = frozenset({"string", "integer", "boolean"})


def _schema_positions(root: Any):
    """Every subschema of `root` with its chain of `properties` keys (None once another
    applicator was crossed). Depth-first, last child first; no `$ref` is followed."""
    stack: list[tuple[tuple[str, ...] | None, Any]] = [((), root)]
    while stack:
        path, node = stack.pop()
        if not isinstance(node, dict):
            continue
        yield path, node
        for keyword, value in node.items():
            if keyword == "properties" and isinstance(value, dict):
                for prop, sub in value.items():
                    stack.append(((*path, prop) if path is not None else None, sub))
            elif keyword in _SINGLE_SCHEMA_KEYWORDS:
                stack.append((None, value))
            elif keyword in _LIST_SCHEMA_KEYWORDS and isinstance(value, list):
                stack.extend((None, sub) for sub in value)
            elif keyword in _MAP_SCHEMA_KEYWORDS and isinstance(value, dict):
                stack.extend((None, sub) for sub in value.values())


def _schema_is_valid(schema: Any) -> bool:
    """False when any `x-mcp-header` annotation is misplaced, malformed, on a non-scalar
    property or repeated (case-insensitively): such a tool declares no headers at all."""
    seen: set[str] = set()
    for path, node in _schema_positions(schema):
        if "x-mcp-header" not in node:
            continue
        token = node["x-mcp-header"]
        if not path or not isinstance(token, str) or not _HEADER_TOKEN.fullmatch(token):
            return False
        schema_type = node.get("type")
        if not isinstance(schema_type, str) or schema_type not in _HEADER_TYPES:
            return False
        if token.lower() in seen:
            return False
        seen.add(token.lower())
    return True


def _value_at(arguments: Any, path: tuple[str, ...]) -> Any:
    node = arguments
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _render_scalar(value: Any) -> str | None:
    """How a client mirrors an argument into a header; None when it cannot be mirrored."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        try:
            return str(value)
        except ValueError:  # an int beyond Python's int→str digit limit
            return None
    return None


def _matches(schema_type: Any, value: Any, rendered: str, decoded: str) -> bool:
    integral = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if schema_type == "integer" and not isinstance(value, bool) and integral and _CANONICAL_DECIMAL.fullmatch(decoded):
        whole, _, fraction = decoded.partition(".")
        if fraction.strip("0"):
            return False
        try:
            return int(whole) == int(value)
        except ValueError:
            return False
    return decoded == rendered


def _mismatch(message: str, request_id: Any) -> Rejection:
    return Rejection(HEADER_MISMATCH, message, http_status=400, request_id=request_id)


def check_param_headers(input_schema: Any, arguments: Any, headers: Any, *, request_id: Any = None) -> None:
    """Raise `Rejection(-32020)` unless every `Mcp-Param-*` header a tool's `inputSchema` declares
    agrees with its argument: present together and equal after decoding, or absent together
    (`null` counts as absent). Header values are compared without the SP/HTAB around them. A
    schema with an invalid declaration validates nothing (the headers are read, and refused if
    they are not header lines, all the same: the native twin's order)."""
    lines = header_pairs(headers)
    if not _schema_is_valid(input_schema):
        return
    folded: dict[str, str] = {}
    repeated: set[str] = set()
    for name, value in lines:
        if name in folded:
            repeated.add(name)
        folded[name] = value.strip(_OWS)
    if not isinstance(arguments, dict):  # (as the native twin reads it: another mapping is no arguments)
        arguments = {}
    for path, node in _schema_positions(input_schema):
        token = node.get("x-mcp-header")
        if not path or not isinstance(token, str):
            continue
        header = f"Mcp-Param-{token}"
        key = header.lower()
        raw = folded.get(key)
        value = _value_at(arguments, path)
        argument = ".".join(path)
        if raw is not None and key in repeated:
            raise _mismatch(f"{header} header appears more than once", request_id)
        if value is None:
            if raw is not None:
                raise _mismatch(
                    f"{header} header is present but the request body's {argument!r} argument is absent", request_id
                )
            continue
        rendered = _render_scalar(value)
        if rendered is None:
            if raw is not None:
                raise _mismatch(f"{header} header does not match the request body's {argument!r} argument", request_id)
            continue
        if raw is None:
            raise _mismatch(
                f"{header} header is missing but the request body's {argument!r} argument is present", request_id
            )
        decoded = decode_header_value(raw)
        if decoded is None:
            raise _mismatch(f"{header} header carries a malformed base64 sentinel value", request_id)
        if not _matches(node.get("type"), value, rendered, decoded):
            raise _mismatch(f"{header} header does not match the request body's {argument!r} argument", request_id)
