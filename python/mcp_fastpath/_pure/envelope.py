"""The signed envelope `dev.mcp-fastpath/sig`. Twin of `rust/verify/src/envelope.rs`.

Carried in `params._meta` of a request (or `result._meta` of a signed response):
`{"v": 1, "alg", "kid", "iat": <unix ms>, "nonce": b64url(16 bytes), "aud"?: str, "sig": b64url}`
over `b"mcp-fastpath/sig/v1\\n" + JCS(message without sig.sig)`. See docs/verification.md for the
check order; the first failure wins.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

from ..errors import InvalidKey, Unauthenticated
from .b64url import InvalidBase64, b64url_decode, b64url_encode
from .encode import dumps
from .jcs import SIG_KEY, is_unicode, sig_path, signing_bytes
from .keyring import as_keyring
from .keys import KEY_TYPES, Ed25519PrivateKey, HmacKey
from .messages import Request, Response

__all__ = ["EnvelopeSigner", "EnvelopeVerifier", "SignatureInfo"]

NONCE_BYTES = 16
_MEMBERS = frozenset({"v", "alg", "kid", "iat", "nonce", "aud", "sig"})
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def _unauthenticated(message: str) -> Unauthenticated:
    return Unauthenticated(-32010, message, headers=dict(_CHALLENGE))


def _check_audience(audience: Any) -> None:
    if audience is not None and not isinstance(audience, str):
        raise TypeError("audience must be a str or None")
    if audience is not None and not is_unicode(audience):
        raise ValueError("audience must be valid Unicode (it holds a lone surrogate)")


def _now_ms(now: float | int | None) -> int:
    if now is None:
        return time.time_ns() // 1_000_000
    if isinstance(now, bool) or not isinstance(now, (int, float)) or not math.isfinite(now):
        raise TypeError("now is a finite number of seconds since the Unix epoch")
    return math.floor(now * 1000)


class SignatureInfo:
    """What a verified envelope said: `kid`, `alg`, `iat` (unix ms), `nonce` (its base64url text)
    and `aud` (or None). `(kid, nonce)` is what a replay cache remembers."""

    __slots__ = ("kid", "alg", "iat", "nonce", "aud")

    def __init__(self, kid: str, alg: str, iat: int, nonce: str, aud: str | None) -> None:
        object.__setattr__(self, "kid", kid)
        object.__setattr__(self, "alg", alg)
        object.__setattr__(self, "iat", iat)
        object.__setattr__(self, "nonce", nonce)
        object.__setattr__(self, "aud", aud)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("SignatureInfo is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is not SignatureInfo:
            return NotImplemented
        return (self.kid, self.alg, self.iat, self.nonce, self.aud) == (
            other.kid,
            other.alg,
            other.iat,
            other.nonce,
            other.aud,
        )

    def __hash__(self) -> int:
        return hash((self.kid, self.alg, self.iat, self.nonce, self.aud))

    def __repr__(self) -> str:
        return f"SignatureInfo(kid={self.kid!r}, alg={self.alg!r}, iat={self.iat!r}, nonce={self.nonce!r}, aud={self.aud!r})"


class EnvelopeSigner:
    """Signs messages with one private key (`HmacKey` or `Ed25519PrivateKey`), optionally for one
    audience (the server URI)."""

    __slots__ = ("_key", "_audience")

    def __init__(self, private_key: HmacKey | Ed25519PrivateKey, audience: str | None = None) -> None:
        if not isinstance(private_key, KEY_TYPES):
            raise TypeError(
                f"an EnvelopeSigner needs an HmacKey or Ed25519PrivateKey, not {type(private_key).__name__}"
            )
        if not isinstance(private_key, (HmacKey, Ed25519PrivateKey)):
            raise InvalidKey("a public key cannot sign")
        _check_audience(audience)
        self._key = private_key
        self._audience = None if audience is None else str.__str__(audience)  # a subclass's text

    @property
    def kid(self) -> str:
        return self._key.kid

    @property
    def alg(self) -> str:
        return self._key.alg

    @property
    def audience(self) -> str | None:
        return self._audience

    def sign(self, message: dict[str, Any], *, now: float | None = None, nonce: bytes | None = None) -> dict[str, Any]:
        """A copy of `message` with `params._meta["dev.mcp-fastpath/sig"]` set (`result._meta`
        for a response: a message with `result` and no `method`), creating `params`/`_meta` when
        absent and replacing an envelope already there (re-signing gives a fresh nonce). `now` is
        unix seconds, `nonce` 16 bytes (random by default). Raises `Unauthenticated` (-32010) for
        a message that cannot be signed ("message is not I-JSON: …", "message cannot be signed: …")."""
        return self._sign(message, now, nonce)

    def sign_response(
        self, response: dict[str, Any], *, now: float | None = None, nonce: bytes | None = None
    ) -> dict[str, Any]:
        """A copy of the result `response` with `result._meta["dev.mcp-fastpath/sig"]` set."""
        if not isinstance(response, dict) or not isinstance(response.get("result"), dict) or "method" in response:
            raise ValueError("sign_response signs a JSON-RPC result response (a dict with a dict 'result')")
        return self._sign(response, now, nonce)

    def sign_bytes(self, message: dict[str, Any], *, now: float | None = None, nonce: bytes | None = None) -> bytes:
        """`sign(message)` serialized as compact JSON (the body to send)."""
        return dumps(self.sign(message, now=now, nonce=nonce))

    def _sign(self, message: dict[str, Any], now: float | None, nonce: bytes | None) -> dict[str, Any]:
        if not isinstance(message, dict):
            raise _unauthenticated("message cannot be signed: not a JSON object")
        outer = sig_path(message)[0]
        if nonce is None:
            nonce = os.urandom(NONCE_BYTES)
        elif not isinstance(nonce, (bytes, bytearray)) or len(nonce) != NONCE_BYTES:
            raise ValueError(f"nonce must be {NONCE_BYTES} bytes")
        signed = dict(message)
        container = signed.get(outer)
        if container is None:
            container = {}
        elif not isinstance(container, dict):
            raise _unauthenticated(f"message cannot be signed: {outer} is not an object")
        container = dict(container)
        meta = container.get("_meta")
        if meta is None:
            meta = {}
        elif not isinstance(meta, dict):
            raise _unauthenticated("message cannot be signed: _meta is not an object")
        meta = dict(meta)
        envelope: dict[str, Any] = {
            "v": 1,
            "alg": self._key.alg,
            "kid": self._key.kid,
            "iat": _now_ms(now),
            "nonce": b64url_encode(bytes(nonce)),
        }
        if self._audience is not None:
            envelope["aud"] = self._audience
        meta[SIG_KEY] = envelope
        container["_meta"] = meta
        signed[outer] = container
        envelope["sig"] = b64url_encode(self._key.sign(signing_bytes(signed)))
        return signed

    def __repr__(self) -> str:
        return f"EnvelopeSigner(kid={self._key.kid!r}, alg={self._key.alg!r}, audience={self._audience!r})"


class EnvelopeVerifier:
    """Verifies `dev.mcp-fastpath/sig` envelopes against a key ring (docs/verification.md)."""

    __slots__ = ("_keyring", "_audience", "_max_skew_ms", "_max_skew_s", "_require")

    def __init__(
        self, keyring: Any, *, audience: str | None = None, max_skew_s: float = 60, require: bool = True
    ) -> None:
        _check_audience(audience)
        if (
            isinstance(max_skew_s, bool)
            or not isinstance(max_skew_s, (int, float))
            or not math.isfinite(max_skew_s)
            or max_skew_s < 0
        ):
            raise ValueError("max_skew_s must be a non-negative number of seconds")
        self._keyring = as_keyring(keyring)
        self._audience = None if audience is None else str.__str__(audience)  # a subclass's text
        self._max_skew_s = max_skew_s
        self._max_skew_ms = math.floor(max_skew_s * 1000)
        self._require = bool(require)

    @property
    def keyring(self) -> Any:
        return self._keyring

    @property
    def audience(self) -> str | None:
        return self._audience

    @property
    def max_skew_s(self) -> float:
        return self._max_skew_s

    @property
    def require(self) -> bool:
        return self._require

    def verify(self, request: Any, *, now: float | None = None) -> SignatureInfo | None:
        """Check the envelope of a decoded `Request` (or `Response`), or of a plain message dict
        (a request or a result response). Returns `SignatureInfo`, or `None` for an unsigned
        message when `require=False`; raises `Unauthenticated` (-32010) otherwise."""
        message, envelope = _locate(request)
        if envelope is _ABSENT:
            if self._require:
                raise _unauthenticated("request is not signed")
            return None
        fields = _shape(envelope)
        kid, alg, iat, nonce, aud, sig = fields
        key = self._keyring.get(kid)
        if key is None:
            raise _unauthenticated("unknown key id")
        if alg != key._envelope_alg:
            raise _unauthenticated("algorithm does not match the key")
        data = signing_bytes(message)  # raises "message is not I-JSON: …"
        if not key.verify(data, sig):
            raise _unauthenticated("bad signature")
        if abs(_now_ms(now) - iat) > self._max_skew_ms:
            raise _unauthenticated("signature is stale or from the future")
        if self._audience is not None and aud != self._audience:
            raise _unauthenticated("wrong audience")
        return SignatureInfo(kid, alg, iat, nonce, aud)

    def __repr__(self) -> str:
        return (
            f"EnvelopeVerifier(keys={len(self._keyring)}, audience={self._audience!r}, "
            f"max_skew_s={self._max_skew_s!r}, require={self._require!r})"
        )


_ABSENT = object()


def envelope_of(message: Any) -> Any:
    """The `dev.mcp-fastpath/sig` member of a message dict, or `_ABSENT`."""
    outer = "result" if "method" not in message and "result" in message else "params"
    container = message.get(outer)
    meta = container.get("_meta") if type(container) is dict else None
    if type(meta) is not dict or SIG_KEY not in meta:
        return _ABSENT
    return meta[SIG_KEY]


def _locate(request: Any) -> tuple[dict[str, Any], Any]:
    if isinstance(request, Request):
        message = {"jsonrpc": "2.0", "id": request.id, "method": request.method, "params": request.params}
    elif isinstance(request, Response):
        message = {"jsonrpc": "2.0", "id": request.id, "result": request.result}
    elif isinstance(request, dict):
        message = request
    else:
        raise TypeError(f"verify takes a decoded Request or Response, or a message dict, not {type(request).__name__}")
    return message, envelope_of(message)


def _malformed(member: str) -> Unauthenticated:
    return _unauthenticated(f"malformed signature envelope: {member}")


def _b64(value: Any, member: str) -> bytes:
    if type(value) is not str:
        raise _malformed(member)
    try:
        return b64url_decode(value)
    except InvalidBase64:
        raise _malformed(member) from None


def _shape(envelope: Any) -> tuple[str, str, int, str, str | None, bytes]:
    """Step 2: the envelope's exact shape, naming the first member found wrong."""
    if type(envelope) is not dict:
        raise _malformed(SIG_KEY)
    if not _MEMBERS.issuperset(envelope):
        raise _malformed("unexpected member")
    v = envelope.get("v")
    if type(v) is not int or v != 1:
        raise _malformed("v")
    alg = envelope.get("alg")
    if type(alg) is not str or not is_unicode(alg):
        raise _malformed("alg")
    kid = envelope.get("kid")
    if type(kid) is not str or not is_unicode(kid):
        raise _malformed("kid")
    iat = envelope.get("iat")
    if type(iat) is not int:
        raise _malformed("iat")
    nonce = envelope.get("nonce")
    if len(_b64(nonce, "nonce")) != NONCE_BYTES:
        raise _malformed("nonce")
    aud = envelope.get("aud")
    if "aud" in envelope and (type(aud) is not str or not is_unicode(aud)):
        raise _malformed("aud")
    if "sig" not in envelope:
        raise _malformed("sig")
    sig = _b64(envelope["sig"], "sig")
    return kid, alg, iat, nonce, aud, sig
