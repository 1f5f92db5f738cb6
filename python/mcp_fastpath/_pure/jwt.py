"""JWT verification (HS256, EdDSA / Ed25519) and minting. Twin of `rust/verify/src/jwt.rs`.

The check order and messages are docs/verification.md's; the first failure wins. Nothing about a
token (its text, signature or claims) is echoed in an error message.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from typing import Any

from ..errors import InvalidKey, Unauthenticated
from ..limits import Limits
from .b64url import InvalidBase64, b64url_decode, b64url_encode
from .encode import dumps
from .jcs import NotIJson, is_unicode, not_i_json
from .json import JsonError, parse
from .keyring import as_keyring
from .keys import JWT_ALGORITHMS, KEY_TYPES, Ed25519PrivateKey, HmacKey

__all__ = ["JwtVerifier", "Principal", "sign_jwt"]

MAX_TOKEN_CHARS = 8192
DEFAULT_ALGORITHMS = JWT_ALGORITHMS
_KNOWN_ALGORITHMS = frozenset(JWT_ALGORITHMS)
_INVALID_TOKEN = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
# A token is at most 8 KiB, so its JSON is small; the depth limit is the codec's default.
_JSON_LIMITS = Limits(max_body_bytes=MAX_TOKEN_CHARS, max_depth=64, max_string_bytes=MAX_TOKEN_CHARS)


def _reject(message: str) -> Unauthenticated:
    return Unauthenticated(-32010, message, headers=dict(_INVALID_TOKEN))


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


class Principal:
    """Who a verified token speaks for: `subject` (`sub`, or None), `issuer`, `audience` (the
    verifier's), `scopes` (a tuple), `claims` (the whole payload) and `expires_at` (`exp`, seconds)."""

    __slots__ = ("subject", "issuer", "audience", "scopes", "claims", "expires_at")

    def __init__(
        self,
        subject: str | None,
        issuer: str,
        audience: str,
        scopes: tuple[str, ...] | list[str],
        claims: dict[str, Any],
        expires_at: float,
    ) -> None:
        object.__setattr__(self, "subject", subject)
        object.__setattr__(self, "issuer", issuer)
        object.__setattr__(self, "audience", audience)
        object.__setattr__(self, "scopes", tuple(scopes))
        object.__setattr__(self, "claims", claims)
        object.__setattr__(self, "expires_at", float(expires_at))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Principal is immutable")

    def _fields(self) -> tuple[Any, ...]:
        return (self.subject, self.issuer, self.audience, self.scopes, self.claims, self.expires_at)

    def __eq__(self, other: object) -> bool:
        if type(other) is not Principal:
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Principal(subject={self.subject!r}, issuer={self.issuer!r}, audience={self.audience!r}, "
            f"scopes={self.scopes!r}, expires_at={self.expires_at!r})"
        )


class JwtVerifier:
    """Verifies compact JWS tokens (docs/verification.md, JWT). `keyring_or_jwks`: a `KeyRing` or
    a JWKS dict (or a key, or a list of keys). `cache_size > 0` keeps up to that many verified
    tokens (by SHA-256), never past their `exp`; the time checks still run on a hit."""

    __slots__ = ("_keyring", "_issuer", "_audience", "_leeway", "_algorithms", "_cache_size", "_cache", "_lock")

    def __init__(
        self,
        keyring_or_jwks: Any,
        *,
        issuer: str,
        audience: str,
        leeway_s: float = 30,
        algorithms: tuple[str, ...] | list[str] = DEFAULT_ALGORITHMS,
        cache_size: int = 0,
    ) -> None:
        if not isinstance(issuer, str) or not isinstance(audience, str):
            raise TypeError("issuer and audience must be str")
        if not (is_unicode(issuer) and is_unicode(audience)):
            raise ValueError("issuer and audience must be valid Unicode (no lone surrogates)")
        if (
            isinstance(leeway_s, bool)
            or not isinstance(leeway_s, (int, float))
            or not math.isfinite(leeway_s)
            or leeway_s < 0
        ):
            raise ValueError("leeway_s must be a non-negative number of seconds")
        if isinstance(algorithms, str):
            raise TypeError("algorithms is a sequence of algorithm names")
        algorithms = tuple(algorithms)
        for alg in algorithms:
            if alg not in _KNOWN_ALGORITHMS:
                raise ValueError(f"unsupported JWT algorithm {alg!r} (allowed: {', '.join(DEFAULT_ALGORITHMS)})")
        if type(cache_size) is not int or cache_size < 0:
            raise ValueError("cache_size must be a non-negative int")
        self._keyring = as_keyring(keyring_or_jwks)
        self._issuer = str.__str__(issuer)  # a subclass's text, as the native twin keeps it
        self._audience = str.__str__(audience)
        self._leeway = leeway_s
        self._algorithms = algorithms
        self._cache_size = cache_size
        self._cache: OrderedDict[bytes, Principal] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def issuer(self) -> str:
        return self._issuer

    @property
    def audience(self) -> str:
        return self._audience

    @property
    def algorithms(self) -> tuple[str, ...]:
        return self._algorithms

    @property
    def keyring(self) -> Any:
        return self._keyring

    def verify(self, token: Any, *, now: float | None = None) -> Principal:
        """The `Principal` of a valid token; `Unauthenticated` (-32010) otherwise."""
        if now is None:
            now = time.time()
        elif isinstance(now, bool) or not isinstance(now, (int, float)) or not math.isfinite(now):
            raise TypeError("now is a finite number of seconds since the Unix epoch")
        if self._cache_size and type(token) is str and len(token) <= MAX_TOKEN_CHARS:
            digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
            with self._lock:
                cached = self._cache.get(digest)
                if cached is not None:
                    self._cache.move_to_end(digest)
            if cached is not None:
                try:
                    self._check_times(cached.claims, now)
                except Unauthenticated:
                    with self._lock:
                        self._cache.pop(digest, None)
                    raise
                return cached
            principal = self._verify(token, now)
            with self._lock:
                self._cache[digest] = principal
                self._cache.move_to_end(digest)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
            return principal
        return self._verify(token, now)

    def _verify(self, token: Any, now: float) -> Principal:
        # 1. Three non-empty strict base64url segments, at most 8192 characters.
        if type(token) is not str or len(token) > MAX_TOKEN_CHARS:
            raise _reject("malformed token")
        parts = token.split(".")
        if len(parts) != 3 or not all(parts):
            raise _reject("malformed token")
        try:
            header_raw, payload_raw, signature = (b64url_decode(part) for part in parts)
        except InvalidBase64:
            raise _reject("malformed token") from None
        # 2. Header.
        header = _json_object(header_raw)
        alg = header.get("alg")
        if type(alg) is not str or alg == "none" or alg not in self._algorithms:
            raise _reject("algorithm not allowed")
        if "crit" in header:
            raise _reject("unsupported critical header")
        kid = header.get("kid")
        if "kid" in header and type(kid) is not str:
            raise _reject("malformed token")
        # 3. Key.
        if kid is not None:
            key = self._keyring.get(kid)
            if key is None:
                raise _reject("unknown key id")
        else:
            fitting = [candidate for candidate in self._keyring if alg in candidate._jwt_algs]
            if len(fitting) > 1:
                raise _reject("token has no kid")
            if not fitting:
                raise _reject("unknown key id")
            key = fitting[0]
        if alg not in key._jwt_algs:
            raise _reject("algorithm does not match the key")
        # 4. Signature over the first two segments as sent.
        signing_input = (parts[0] + "." + parts[1]).encode("ascii")
        if not key.verify(signing_input, signature):
            raise _reject("bad signature")
        # 5. Payload.
        claims = _json_object(payload_raw)
        # 6. Times.
        self._check_times(claims, now)
        # 7. Issuer and audience.
        iss = claims.get("iss")
        if type(iss) is not str or iss != self._issuer:
            raise _reject("wrong issuer")
        aud = claims.get("aud")
        if type(aud) is str:
            audience_ok = aud == self._audience
        elif type(aud) is list:
            audience_ok = any(type(item) is str and item == self._audience for item in aud)
        else:
            audience_ok = False
        if not audience_ok:
            raise _reject("wrong audience")
        # 8. Scopes.
        sub = claims.get("sub")
        return Principal(
            sub if type(sub) is str else None,
            iss,
            self._audience,
            _scopes(claims),
            claims,
            claims["exp"],
        )

    def _check_times(self, claims: dict[str, Any], now: float) -> None:
        # Compared as IEEE doubles, like the native twin (NumericDate may be fractional).
        leeway = float(self._leeway)
        now = float(now)
        exp = claims.get("exp")
        if not _is_number(exp):
            raise _reject("token has no exp")
        if not now < float(exp) + leeway:
            raise _reject("token expired")
        if "nbf" in claims:
            nbf = claims["nbf"]
            if not _is_number(nbf):
                raise _reject("malformed token")
            if not now + leeway >= float(nbf):
                raise _reject("token not yet valid")
        if "iat" in claims:
            iat = claims["iat"]
            if not _is_number(iat):
                raise _reject("malformed token")
            if not float(iat) <= now + leeway:
                raise _reject("token issued in the future")

    def __repr__(self) -> str:
        return (
            f"JwtVerifier(keys={len(self._keyring)}, issuer={self._issuer!r}, audience={self._audience!r}, "
            f"leeway_s={self._leeway!r}, algorithms={self._algorithms!r}, cache_size={self._cache_size!r})"
        )


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = parse(raw, _JSON_LIMITS)
    except JsonError:
        raise _reject("malformed token") from None
    if type(value) is not dict:
        raise _reject("malformed token")
    return value


def _scopes(claims: dict[str, Any]) -> tuple[str, ...]:
    scope = claims.get("scope")
    if type(scope) is str:
        return tuple(part for part in scope.split(" ") if part)
    scp = claims.get("scp")
    if type(scp) is list and all(type(item) is str for item in scp):
        return tuple(scp)
    return ()


def sign_jwt(key: HmacKey | Ed25519PrivateKey, claims: dict[str, Any], *, headers: dict[str, Any] | None = None) -> str:
    """A compact JWS of `claims` signed with `key`: HS256 for an `HmacKey`, EdDSA for an
    `Ed25519PrivateKey` (`headers={"alg": "Ed25519"}` picks the RFC 9864 name). The header is
    `{"alg", "typ": "JWT", "kid"}` updated with `headers` (a `None` value removes a member);
    header and claims are written compactly in member order (orjson's layout).

    `InvalidKey` for a public key or an `alg` that does not fit the key; `Unauthenticated`
    ("message is not I-JSON: non-finite number") for a NaN or infinity."""
    if not isinstance(key, KEY_TYPES):
        raise TypeError(f"sign_jwt needs an HmacKey or Ed25519PrivateKey, not {type(key).__name__}")
    header: dict[str, Any] = {"alg": key._jwt_algs[0], "typ": "JWT", "kid": key.kid}
    if headers:
        header.update(headers)
        # `None` removes a member (e.g. `headers={"kid": None}` mints a token without a kid).
        header = {name: value for name, value in header.items() if value is not None}
    chosen = header.get("alg")
    if type(chosen) is not str or chosen not in key._jwt_algs:
        raise InvalidKey("algorithm does not match the key")
    if not isinstance(key, (HmacKey, Ed25519PrivateKey)):
        raise InvalidKey("a public key cannot sign")
    if not isinstance(claims, dict):
        raise InvalidKey("a JWT header and claims are JSON objects")
    if _has_non_finite(header) or _has_non_finite(claims):
        raise not_i_json(NotIJson("non-finite number"))
    signing_input = b64url_encode(dumps(header)) + "." + b64url_encode(dumps(claims))
    signature = key.sign(signing_input.encode("ascii"))
    return signing_input + "." + b64url_encode(signature)


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):  # (a float subclass too: it is written as its float)
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_non_finite(item) for item in value)
    return False
