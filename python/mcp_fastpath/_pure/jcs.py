"""RFC 8785 JSON Canonicalization Scheme: the bytes a signed envelope covers.

Twin of `rust/verify/src/jcs.rs`. Object members sorted by the UTF-16 code units of their keys, no
whitespace, strings with the minimal escapes, numbers as ECMAScript `Number.prototype.toString`
writes them. Only I-JSON values can be written: an integer beyond ±(2^53 − 1) or a non-finite float
is refused (-32010 "message is not I-JSON: …"), because two implementations would disagree on its
canonical form.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from ..errors import Unauthenticated

__all__ = [
    "NotIJson",
    "SIG_KEY",
    "SIGNING_PREFIX",
    "canonicalize",
    "is_unicode",
    "signing_bytes",
    "sig_path",
    "not_i_json",
]

MAX_SAFE_INTEGER = 2**53 - 1
SIG_KEY = "dev.mcp-fastpath/sig"
SIGNING_PREFIX = b"mcp-fastpath/sig/v1\n"

# The `why` texts of the Rust crate (`NotIJson`'s Display).
_INTEGER_OUT_OF_RANGE = "integer beyond \u00b1(2^53 \u2212 1)"
_NON_FINITE = "non-finite number"
_NOT_UNICODE = "string is not valid Unicode"


class NotIJson(ValueError):
    """Why a value cannot be canonicalized (`str()` is the reason)."""


def is_unicode(text: str) -> bool:
    """Whether `text` can be written as UTF-8, i.e. holds no lone surrogate (JSON text cannot)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def not_i_json(exc: NotIJson) -> Unauthenticated:
    """The -32010 rejection for a message that is not I-JSON."""
    return Unauthenticated(-32010, f"message is not I-JSON: {exc}", headers={"WWW-Authenticate": "Bearer"})


def canonicalize(value: Any) -> bytes:
    """The RFC 8785 canonical form of a JSON value (dict with str keys, list/tuple, str, int,
    float, bool, None). Raises `Unauthenticated` (-32010, "message is not I-JSON: …") for an
    integer beyond ±(2^53 − 1), a non-finite float or a lone surrogate; `TypeError` for a value
    that is not JSON. With several such failures, the first in document order of what cannot be
    read as JSON text (TypeError, lone surrogate) wins, then the first number in canonical order."""
    fast = _orjson_form(value)
    if fast is not None:
        return fast
    out: list[bytes] = []
    try:
        _check_text(value)
        _write(value, None, out)
    except NotIJson as exc:
        raise not_i_json(exc) from None
    return b"".join(out)


def sig_path(message: Any) -> tuple[str, str]:
    """Where a message carries its envelope: `("params", "_meta")` for requests (and anything with
    a `method`), `("result", "_meta")` for result responses."""
    if isinstance(message, dict) and "method" not in message and "result" in message:
        return ("result", "_meta")
    return ("params", "_meta")


def signing_bytes(message: dict[str, Any]) -> bytes:
    """`b"mcp-fastpath/sig/v1\\n" + JCS(message)` with only the `sig` member of the envelope
    (`params._meta["dev.mcp-fastpath/sig"]`, or `result._meta[...]` for a response) left out.
    The caller's dict is not modified; a path that leads nowhere omits nothing."""
    if not isinstance(message, dict):
        raise TypeError(f"a message is a dict, not {type(message).__name__}")
    outer, meta = sig_path(message)
    fast = _orjson_form(_without_sig(message, outer, meta))
    if fast is not None:
        return SIGNING_PREFIX + fast
    out: list[bytes] = [SIGNING_PREFIX]
    try:
        _check_text(message)
        _write(message, (outer, meta, SIG_KEY, "sig"), out)
    except NotIJson as exc:
        raise not_i_json(exc) from None
    return b"".join(out)


def _without_sig(message: dict[str, Any], outer: str, meta: str) -> dict[str, Any]:
    """`message` with only `<outer>.<meta>["dev.mcp-fastpath/sig"]["sig"]` left out (shallow copies
    along that path; the caller's dict is untouched)."""
    carrier = message.get(outer)
    if not isinstance(carrier, dict) or not isinstance(carrier.get(meta), dict):
        return message
    envelope = carrier[meta].get(SIG_KEY)
    if not isinstance(envelope, dict) or "sig" not in envelope:
        return message
    envelope = {k: v for k, v in envelope.items() if k != "sig"}
    return {**message, outer: {**carrier, meta: {**carrier[meta], SIG_KEY: envelope}}}


_FAST_SCALARS = frozenset({str, bool, type(None)})


def _orjson_form(value: Any) -> bytes | None:
    """The canonical bytes straight from orjson when that is exactly RFC 8785, else None.

    It is when every key is ASCII (then code-point, UTF-8 and UTF-16 orders agree, and orjson's
    OPT_SORT_KEYS sorts as JCS does), every float is one orjson and ECMAScript write alike
    (non-integral, 1e-5 ≤ |x| < 1e16) and every integer is within ±(2^53 − 1); orjson's string
    escapes are JCS's. One cheap walk decides; anything else takes the exact writer below."""
    stack = [value]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is dict:
            for key in node:
                if type(key) is not str or not key.isascii():
                    return None
            stack.extend(node.values())
        elif kind is list or kind is tuple:
            stack.extend(node)
        elif kind is int:
            if not -MAX_SAFE_INTEGER <= node <= MAX_SAFE_INTEGER:
                return None
        elif kind is float:
            # Both write the shortest round-trip digits in plain notation here; outside this range,
            # or for integral values ("1.0" vs "1"), their texts differ.
            if node.is_integer() or not 1e-5 <= abs(node) < 1e16:
                return None
        elif kind not in _FAST_SCALARS:
            return None  # subclasses, non-JSON values: the exact writer decides
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # a lone surrogate: the exact writer names it
        return None


def _check_text(value: Any) -> None:
    """Phase one of the slow path: refuse, in document order (members in insertion order, a key
    before its value), the first thing that cannot be written as JSON text at all: a key that is
    not a str or a value of no JSON type (TypeError), a lone surrogate (not I-JSON). The number
    rules are `_write`'s, in canonical order, once this passed."""
    if value is None or value is True or value is False or isinstance(value, (int, float)):
        return
    if isinstance(value, str):
        if not is_unicode(value):
            raise NotIJson(_NOT_UNICODE)
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys are str, not {type(key).__name__}")
            if not is_unicode(key):
                raise NotIJson(_NOT_UNICODE)
            _check_text(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_text(item)
    else:
        raise TypeError(f"{type(value).__name__} is not a JSON value")


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def _write(value: Any, omit: tuple[str, ...] | None, out: list[bytes]) -> None:
    """Append the canonical form of `value`; `omit` is the remaining key path to the one member
    to leave out (None once off that path)."""
    if value is None:
        out.append(b"null")
    elif value is True:
        out.append(b"true")
    elif value is False:
        out.append(b"false")
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, int):  # True and False were taken above (bool cannot be subclassed)
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            out.append(str(int(value)).encode("ascii"))
        else:
            raise NotIJson(_INTEGER_OUT_OF_RANGE)
    elif isinstance(value, float):
        out.append(number(value).encode("ascii"))
    elif isinstance(value, dict):
        keys = list(value)
        for key in keys:
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys are str, not {type(key).__name__}")
        if all(key.isascii() for key in keys):
            keys.sort()
        else:
            keys.sort(key=_utf16_key)
        out.append(b"{")
        first = True
        for key in keys:
            child: tuple[str, ...] | None = None
            if omit is not None and key == omit[0]:
                if len(omit) == 1:
                    continue
                child = omit[1:]
            if not first:
                out.append(b",")
            first = False
            out.append(_string(key))
            out.append(b":")
            _write(value[key], child, out)
        out.append(b"}")
    elif isinstance(value, (list, tuple)):
        out.append(b"[")
        for i, item in enumerate(value):
            if i:
                out.append(b",")
            _write(item, None, out)
        out.append(b"]")
    else:
        raise TypeError(f"{type(value).__name__} is not a JSON value")


def _string(text: str) -> bytes:
    # orjson writes exactly RFC 8785's string form: `\"`, `\\`, `\b \f \n \r \t`, other controls
    # as lowercase `\u00xx`, everything else (DEL, U+2028, non-ASCII) as UTF-8.
    try:
        return orjson.dumps(str.__str__(text))  # a subclass's text (a `str, Enum` member's value)
    except orjson.JSONEncodeError:
        raise NotIJson(_NOT_UNICODE) from None


def number(x: float) -> str:
    """`x` as ECMAScript `Number::toString(x)` writes it (ECMA-262 §6.1.6.1.20, radix 10): the
    shortest round-tripping digits, plain for 1e-7 ≤ |x| < 1e21, else `d.ddde±n`; `-0` is `0`."""
    if not math.isfinite(x):
        raise NotIJson(_NON_FINITE)
    if x == 0.0:
        return "0"
    sign = "-" if x < 0 else ""
    digits, n = _shortest_digits(repr(abs(float(x))))
    k = len(digits)
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        body = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e > 0 else "-") + str(abs(e))
    return sign + body


def _shortest_digits(text: str) -> tuple[str, int]:
    """From Python's shortest repr of a positive finite double (`"1.5"`, `"1e+16"`,
    `"1.2345e-07"`, `"0.001"`, `"100.0"`): the significant digits `s` (no leading or trailing
    zeros) and `n` such that the value is `0.s × 10^n`."""
    mantissa, _, exponent = text.partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    all_digits = int_part + frac_part
    stripped = all_digits.lstrip("0")
    leading = len(all_digits) - len(stripped)
    n = (int(exponent) if exponent else 0) + len(int_part) - leading
    return stripped.rstrip("0"), n
