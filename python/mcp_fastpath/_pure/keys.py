"""Keys and key rings. Twin of `rust/verify/src/keys.rs`.

- `HmacKey(kid, secret)`: HMAC-SHA256, secret ≥ 32 bytes. Envelope alg `hmac-sha256`, JWT `HS256`.
- `Ed25519PrivateKey(kid, seed)`: 32-byte seed. Envelope alg `ed25519`, JWT `EdDSA` / `Ed25519`.
- `Ed25519PublicKey(kid, raw_or_pem)`: 32 raw bytes or a `PUBLIC KEY` PEM. A point that is not a
  canonical encoding, not on the curve, or of small order is refused at construction.
- `KeyRing(keys)`, `KeyRing.from_jwks(jwks)`.

Ed25519 verification is libsodium's `crypto_sign_verify_detached` (through PyNaCl): it rejects a
non-canonical `S`, a small-order or non-canonical `R` and `A` — the same acceptance as
ed25519-dalek's `verify_strict` on the native side. HMAC tags are compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Iterable, Iterator
from typing import Any, Union

import nacl.bindings
import nacl.exceptions
import nacl.signing

from ..errors import InvalidKey
from .b64url import InvalidBase64, b64url_decode, b64url_encode

__all__ = [
    "Ed25519PrivateKey",
    "Ed25519PublicKey",
    "HmacKey",
    "Key",
    "KeyRing",
    "JWT_ALGS",
]

MIN_HMAC_SECRET = 32
MAX_KID = 256

ENVELOPE_HMAC = "hmac-sha256"
ENVELOPE_ED25519 = "ed25519"
# JWT alg → the envelope alg (key type) it fits.
JWT_ALGS: dict[str, str] = {"HS256": ENVELOPE_HMAC, "EdDSA": ENVELOPE_ED25519, "Ed25519": ENVELOPE_ED25519}


def _check_kid(kid: Any) -> str:
    if not isinstance(kid, str):
        raise TypeError(f"kid must be a str, not {type(kid).__name__}")
    if not kid or len(kid) > MAX_KID:
        raise InvalidKey(f"kid must be a non-empty string of at most {MAX_KID} characters")
    return str(kid)


def _as_bytes(value: Any, what: str) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what} must be bytes, not {type(value).__name__}")


class _Key:
    __slots__ = ("_kid",)

    #: The envelope algorithm of this key type.
    alg: str = ""

    @property
    def kid(self) -> str:
        return self._kid

    def verify(self, data: bytes, signature: bytes) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def __setattr__(self, name: str, value: Any) -> None:
        if hasattr(self, name):
            raise AttributeError(f"{type(self).__name__} is immutable")
        object.__setattr__(self, name, value)


class HmacKey(_Key):
    """A shared HMAC-SHA256 secret (≥ 32 bytes) under a key id."""

    __slots__ = ("_secret",)
    alg = ENVELOPE_HMAC

    def __init__(self, kid: str, secret: bytes) -> None:
        kid = _check_kid(kid)
        secret = _as_bytes(secret, "an HMAC secret")
        if len(secret) < MIN_HMAC_SECRET:
            raise InvalidKey(f"an HMAC secret must be at least {MIN_HMAC_SECRET} bytes")
        self._kid = kid
        self._secret = secret

    def sign(self, data: bytes) -> bytes:
        """The 32-byte HMAC-SHA256 tag of `data`."""
        return hmac.new(self._secret, bytes(data), hashlib.sha256).digest()

    def verify(self, data: bytes, signature: bytes) -> bool:
        """Whether `signature` is the tag of `data` (constant-time comparison)."""
        return hmac.compare_digest(self.sign(data), bytes(signature))

    def to_jwk(self, private: bool = False) -> dict[str, str]:
        """`{"kty": "oct", ...}`. A symmetric key has no public form: `private=True` is required."""
        if not private:
            raise InvalidKey("an HMAC key has no public JWK; to_jwk(private=True) exports its secret")
        return {"kty": "oct", "kid": self._kid, "alg": "HS256", "use": "sig", "k": b64url_encode(self._secret)}

    def __eq__(self, other: object) -> bool:
        if type(other) is not HmacKey:
            return NotImplemented
        return self._kid == other._kid and hmac.compare_digest(self._secret, other._secret)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"HmacKey(kid={self._kid!r})"


class Ed25519PublicKey(_Key):
    """An Ed25519 public key under a key id: 32 raw bytes, or a `PUBLIC KEY` PEM (str or bytes)."""

    __slots__ = ("_raw", "_verify_key")
    alg = ENVELOPE_ED25519

    def __init__(self, kid: str, raw_or_pem: bytes | str) -> None:
        kid = _check_kid(kid)
        if isinstance(raw_or_pem, str):
            raw = _public_from_pem(raw_or_pem)
        else:
            data = _as_bytes(raw_or_pem, "an Ed25519 public key")
            raw = data if len(data) == 32 else _public_from_pem(data)
        _check_public_point(raw)
        self._kid = kid
        self._raw = raw
        self._verify_key = nacl.signing.VerifyKey(raw)

    @property
    def public_bytes(self) -> bytes:
        """The 32-byte encoding of the public point."""
        return self._raw

    def verify(self, data: bytes, signature: bytes) -> bool:
        """Strict Ed25519 verification (libsodium rules)."""
        signature = bytes(signature)
        if len(signature) != 64:
            return False
        try:
            self._verify_key.verify(bytes(data), signature)
        except nacl.exceptions.BadSignatureError:
            return False
        return True

    def to_jwk(self, private: bool = False) -> dict[str, str]:
        """`{"kty": "OKP", "crv": "Ed25519", "kid", "x", ...}` (a public key has no private form)."""
        if private:
            raise InvalidKey("an Ed25519 public key has no private JWK")
        return {"kty": "OKP", "crv": "Ed25519", "kid": self._kid, "alg": "EdDSA", "use": "sig", "x": b64url_encode(self._raw)}

    def __eq__(self, other: object) -> bool:
        if type(other) is not Ed25519PublicKey:
            return NotImplemented
        return self._kid == other._kid and self._raw == other._raw

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Ed25519PublicKey(kid={self._kid!r}, x={b64url_encode(self._raw)!r})"


class Ed25519PrivateKey(_Key):
    """An Ed25519 signing key (32-byte seed) under a key id."""

    __slots__ = ("_seed", "_signing_key", "_public")
    alg = ENVELOPE_ED25519

    def __init__(self, kid: str, seed: bytes) -> None:
        kid = _check_kid(kid)
        seed = _as_bytes(seed, "an Ed25519 seed")
        if len(seed) != 32:
            raise InvalidKey("an Ed25519 seed is 32 bytes")
        signing_key = nacl.signing.SigningKey(seed)
        self._kid = kid
        self._seed = seed
        self._signing_key = signing_key
        self._public = Ed25519PublicKey(kid, signing_key.verify_key.encode())

    @classmethod
    def generate(cls, kid: str) -> Ed25519PrivateKey:
        """A new key from 32 bytes of `os.urandom`."""
        return cls(kid, os.urandom(32))

    def public_key(self) -> Ed25519PublicKey:
        return self._public

    @property
    def public_bytes(self) -> bytes:
        return self._public.public_bytes

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of `data`."""
        return self._signing_key.sign(bytes(data)).signature

    def verify(self, data: bytes, signature: bytes) -> bool:
        return self._public.verify(data, signature)

    def to_jwk(self, private: bool = False) -> dict[str, str]:
        """The public JWK, plus `d` (the seed) with `private=True`."""
        jwk = self._public.to_jwk()
        if private:
            jwk["d"] = b64url_encode(self._seed)
        return jwk

    def __eq__(self, other: object) -> bool:
        if type(other) is not Ed25519PrivateKey:
            return NotImplemented
        return self._kid == other._kid and hmac.compare_digest(self._seed, other._seed)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Ed25519PrivateKey(kid={self._kid!r}, x={b64url_encode(self.public_bytes)!r})"


Key = Union[HmacKey, Ed25519PublicKey, Ed25519PrivateKey]
_KEY_TYPES = (HmacKey, Ed25519PublicKey, Ed25519PrivateKey)


class KeyRing:
    """Keys by `kid` (several for rotation). Duplicate kids are refused (`InvalidKey`)."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Iterable[Key] = ()) -> None:
        if isinstance(keys, _KEY_TYPES):
            keys = [keys]
        by_kid: dict[str, Key] = {}
        for key in keys:
            if not isinstance(key, _KEY_TYPES):
                raise TypeError(f"a KeyRing holds HmacKey, Ed25519PublicKey or Ed25519PrivateKey, not {type(key).__name__}")
            if key.kid in by_kid:
                raise InvalidKey(f"duplicate kid {key.kid!r} in the key ring")
            by_kid[key.kid] = key
        self._keys = by_kid

    @classmethod
    def from_jwks(cls, jwks: dict[str, Any]) -> KeyRing:
        """A ring from a JWK Set `{"keys": [...]}`; any key that cannot be read refuses the whole set."""
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise InvalidKey('a JWKS is an object with a "keys" array')
        return cls([_key_from_jwk(jwk, i) for i, jwk in enumerate(jwks["keys"])])

    def get(self, kid: str) -> Key | None:
        return self._keys.get(kid) if isinstance(kid, str) else None

    def to_jwks(self, private: bool = False) -> dict[str, list[dict[str, str]]]:
        """`{"keys": [...]}`. Without `private`, HMAC keys (which have no public form) are left out."""
        if private:
            return {"keys": [key.to_jwk(private=True) for key in self._keys.values()]}
        return {"keys": [key.to_jwk() for key in self._keys.values() if not isinstance(key, HmacKey)]}

    def __contains__(self, kid: object) -> bool:
        return isinstance(kid, str) and kid in self._keys

    def __iter__(self) -> Iterator[Key]:
        return iter(list(self._keys.values()))

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"KeyRing({list(self._keys.values())!r})"


def as_keyring(keys: Any) -> KeyRing:
    """A `KeyRing` from a ring, a JWKS dict, one key, or a list/tuple of keys."""
    if isinstance(keys, KeyRing):
        return keys
    if isinstance(keys, dict):
        return KeyRing.from_jwks(keys)
    if isinstance(keys, (*_KEY_TYPES, list, tuple)):
        return KeyRing(keys)
    raise TypeError(f"expected a KeyRing, a JWKS dict or keys, not {type(keys).__name__}")


# ---- JWK ----


def _jwk_member(jwk: dict[str, Any], name: str, where: str) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise InvalidKey(f"{where}: {name!r} must be a base64url string")
    try:
        return b64url_decode(value)
    except InvalidBase64:
        raise InvalidKey(f"{where}: {name!r} is not strict base64url") from None


def _key_from_jwk(jwk: Any, index: int) -> Key:
    where = f"JWKS key {index}"
    if not isinstance(jwk, dict):
        raise InvalidKey(f"{where}: a JWK is an object")
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid or len(kid) > MAX_KID:
        raise InvalidKey(f"{where}: 'kid' must be a non-empty string of at most {MAX_KID} characters")
    if "use" in jwk and jwk["use"] != "sig":
        raise InvalidKey(f"{where}: 'use' must be 'sig'")
    kty = jwk.get("kty")
    alg = jwk.get("alg")
    if kty == "oct":
        if "alg" in jwk and alg != "HS256":
            raise InvalidKey(f"{where}: 'alg' does not fit an oct key")
        return HmacKey(kid, _jwk_member(jwk, "k", where))
    if kty == "OKP":
        if jwk.get("crv") != "Ed25519":
            raise InvalidKey(f"{where}: unsupported OKP curve")
        if "alg" in jwk and alg not in ("EdDSA", "Ed25519"):
            raise InvalidKey(f"{where}: 'alg' does not fit an Ed25519 key")
        x = _jwk_member(jwk, "x", where)
        if len(x) != 32:
            raise InvalidKey(f"{where}: 'x' must be 32 bytes")
        if "d" in jwk:
            private = Ed25519PrivateKey(kid, _jwk_member(jwk, "d", where))
            if not hmac.compare_digest(private.public_bytes, x):
                raise InvalidKey(f"{where}: 'x' is not the public key of 'd'")
            return private
        return Ed25519PublicKey(kid, x)
    raise InvalidKey(f"{where}: unsupported key type")


# ---- PEM (SubjectPublicKeyInfo, id-Ed25519 = 1.3.101.112) ----

_SPKI_ED25519_PREFIX = bytes.fromhex("302a300506032b6570032100")
_PEM_BEGIN = b"-----BEGIN PUBLIC KEY-----"
_PEM_END = b"-----END PUBLIC KEY-----"
# Rust's `u8::is_ascii_whitespace` (no vertical tab), as the native twin uses.
_ASCII_WHITESPACE = b" \t\n\r\x0c"
_NOT_PEM = "an Ed25519 public key is 32 raw bytes or a PEM PUBLIC KEY"


def _public_from_pem(pem: str | bytes) -> bytes:
    """The 32-byte key of a `PUBLIC KEY` PEM: outer ASCII whitespace trimmed, the body's ASCII
    whitespace removed, padded standard base64 (canonical), an Ed25519 SubjectPublicKeyInfo."""
    if isinstance(pem, str):
        try:
            pem = pem.encode("ascii")
        except UnicodeEncodeError:
            raise InvalidKey(_NOT_PEM) from None
    pem = pem.strip(_ASCII_WHITESPACE)
    if not (pem.startswith(_PEM_BEGIN) and pem.endswith(_PEM_END)) or len(pem) < len(_PEM_BEGIN) + len(_PEM_END):
        raise InvalidKey(_NOT_PEM)
    body = pem[len(_PEM_BEGIN) : len(pem) - len(_PEM_END)]
    body = bytes(c for c in body if c not in _ASCII_WHITESPACE)
    if len(body) % 4 or not _STANDARD_B64.fullmatch(body):
        raise InvalidKey(_NOT_PEM)
    der = base64.b64decode(body)
    if base64.b64encode(der) != body:
        raise InvalidKey(_NOT_PEM)
    if len(der) != 44 or not der.startswith(_SPKI_ED25519_PREFIX):
        raise InvalidKey("the PEM is not an Ed25519 SubjectPublicKeyInfo (OID 1.3.101.112)")
    return der[len(_SPKI_ED25519_PREFIX) :]


_STANDARD_B64 = re.compile(rb"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


# ---- Edwards25519 point checks (construction only; verification is libsodium's) ----

_P = 2**255 - 19
_D = (-121665 * pow(121666, -1, _P)) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _decode_point(raw: bytes) -> tuple[int, int] | None:
    """RFC 8032 §5.1.3 decoding, refusing a non-canonical `y` (≥ p); None when invalid."""
    value = int.from_bytes(raw, "little")
    sign = value >> 255
    y = value & ((1 << 255) - 1)
    if y >= _P:
        return None
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P
    x2 = u * pow(v, -1, _P) % _P
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = _P - x
    return x, y


def _double(point: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    # Extended coordinates, a = −1 (RFC 8032 §5.1.4 doubling).
    x1, y1, z1, _ = point
    a = x1 * x1 % _P
    b = y1 * y1 % _P
    c = 2 * z1 * z1 % _P
    h = (a + b) % _P
    e = (h - (x1 + y1) * (x1 + y1)) % _P
    g = (a - b) % _P
    f = (c + g) % _P
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _check_public_point(raw: bytes) -> None:
    decoded = _decode_point(raw)
    if decoded is None:
        raise InvalidKey("not a canonically encoded Ed25519 point on the curve")
    x, y = decoded
    point = (x, y, 1, x * y % _P)
    for _ in range(3):
        point = _double(point)
    x8, y8, z8, _ = point
    if x8 == 0 and y8 == z8:
        raise InvalidKey("an Ed25519 public key of small order is refused")
