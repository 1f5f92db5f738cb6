"""Native ≡ pure, for any call: run `call(backend)` on both backends and compare what happened.

`outcome` turns a call into a backend-neutral, type-exact summary: the returned value walked
recursively (backend objects by their class name and public state, floats by `repr`, containers
with their order), or the exception's class and text (a `Rejection` by its code, HTTP status,
message, data, request id and challenge headers). `same` asserts that both backends give one
summary and returns it.

The one part of an outcome not compared: the text of a parse error (-32700), which names where
the parser stopped in each parser's own words (not part of the twins' contract; the code, status
and everything else are).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from mcp_fastpath.errors import Rejection

PARSE_ERROR = -32700

_MESSAGE_FIELDS = {
    "Request": ("id", "method", "params", "meta", "protocol_version", "client_info", "client_capabilities", "name"),
    "Notification": ("method", "params", "meta", "protocol_version"),
    "Response": ("id", "result"),
    "ErrorResponse": ("id", "code", "message", "data"),
    "RoutingKeys": ("method", "name", "protocol_version", "id"),
    "Principal": ("subject", "issuer", "audience", "scopes", "claims", "expires_at"),
    "SignatureInfo": ("kid", "alg", "iat", "nonce", "aud"),
    "Admitted": ("request", "principal", "signature"),
    "JwtVerifier": ("issuer", "audience", "algorithms", "keyring"),
    "EnvelopeVerifier": ("keyring", "audience", "max_skew_s", "require"),
    "EnvelopeSigner": ("kid", "alg", "audience"),
    "ScopePolicy": ("rules",),
    "Gate": ("envelope", "jwt", "policy", "require_envelope", "require_token"),
}


def normalise(value: Any) -> Any:
    """A comparable description of `value`, the same for the twin objects of both backends."""
    kind = type(value)
    name = kind.__name__
    if value is None or kind in (bool, str, bytes, int):
        return (name, value)
    if kind is float:
        return (name, repr(value))
    if kind in (list, tuple):
        return (name, [normalise(item) for item in value])
    if kind is dict:
        return (name, [(normalise(k), normalise(v)) for k, v in value.items()])
    if name in _MESSAGE_FIELDS:
        fields = [(field, normalise(getattr(value, field))) for field in _MESSAGE_FIELDS[name]]
        if name == "Request":
            fields.append(("arguments_json", _arguments(value.arguments_json)))
        return (name, fields)
    if name == "KeyRing":
        return (name, len(value), [normalise(key) for key in value])
    if name in ("HmacKey", "Ed25519PrivateKey"):
        return (name, value.kid, value.alg, normalise(value.to_jwk(private=True)))
    if name in ("Ed25519PublicKey", "RsaPublicKey", "EcPublicKey"):
        return (name, value.kid, value.alg, normalise(value.to_jwk()))
    if kind in (bytearray, memoryview):
        return (name, bytes(value))
    if not kind.__module__.startswith("mcp_fastpath"):
        # A value passed through as given (complex, frozenset, a str subclass, a caller's object):
        # its type and repr, without a memory address.
        return (name, re.sub(r" at 0x[0-9a-f]+", "", repr(value)))
    raise AssertionError(f"no normal form for a {kind.__module__}.{name}")


def _arguments(raw: bytes | None) -> Any:
    """Native gives `arguments_json` as the body's own bytes, pure as orjson's encoding: compare
    them as JSON (read by orjson, which reads both alike)."""
    import orjson

    return None if raw is None else normalise(orjson.loads(raw))


def outcome(call: Callable[[], Any]) -> tuple:
    try:
        result = call()
    except Rejection as exc:
        message = None if exc.code == PARSE_ERROR else exc.message
        return (
            "rejection",
            type(exc).__name__,
            exc.code,
            exc.http_status,
            message,
            normalise(exc.data),
            normalise(exc.request_id),
            normalise(exc.headers),
        )
    except Exception as exc:
        return ("raised", type(exc).__name__, str(exc))
    return ("returned", normalise(result))


def same(call: Callable[[Any], Any], native: Any, pure: Any) -> tuple:
    """Run `call(backend)` on both backends; assert one outcome and return it."""
    left = outcome(lambda: call(native))
    right = outcome(lambda: call(pure))
    assert left == right, f"\nnative: {left}\npure:   {right}"
    return left
