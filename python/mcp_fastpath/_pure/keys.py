"""Keys bound to one algorithm each. Twin of `rust/verify/src/keys.rs` (the ring is `keyring`,
JWK reading `jwk`).

- `HmacKey(kid, secret)`: HMAC-SHA256, secret ≥ 32 bytes. Envelope alg `hmac-sha256`, JWT `HS256`.
- `Ed25519PrivateKey(kid, seed)`: 32-byte seed. Envelope alg `ed25519`, JWT `EdDSA` / `Ed25519`.
- `Ed25519PublicKey(kid, raw_or_pem)`: 32 raw bytes or a `PUBLIC KEY` PEM. A point that is not a
  canonical encoding, not on the curve, or of small order is refused at construction.
- `RsaPublicKey(kid, pem_or_jwk, alg=None)`: JWT `RS256` or `PS256` (one of them), 2048 to 8192 bits.
- `EcPublicKey(kid, pem_or_jwk)`: P-256, JWT `ES256`.

RSA and P-256 verification is pyca `cryptography`'s (OpenSSL), behind the same checks as the native
twin's: the key numbers at construction, a signature exactly as long as the modulus (RSA) or
`r || s` of 64 bytes (ES256, high or low S).

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
from typing import Any

import nacl.bindings
import nacl.exceptions
import nacl.signing
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from ..errors import InvalidKey
from . import der
from .b64url import InvalidBase64, b64url_decode, b64url_encode
from .jcs import is_unicode

__all__ = [
    "EcPublicKey",
    "Ed25519PrivateKey",
    "Ed25519PublicKey",
    "HmacKey",
    "JWT_ALGORITHMS",
    "KEY_TYPES",
    "Key",
    "MAX_KID",
    "RsaPublicKey",
]

MIN_HMAC_SECRET = 32
MAX_KID = 256

ENVELOPE_HMAC = "hmac-sha256"
ENVELOPE_ED25519 = "ed25519"
# Every JWS algorithm implemented; each key verifies some of them (`_jwt_algs`).
JWT_ALGORITHMS = ("HS256", "EdDSA", "Ed25519", "RS256", "PS256", "ES256")


# A kid travels in JSON (JWK, JWT header, envelope), which cannot hold a lone surrogate.
_KID_NOT_UNICODE = "kid must be valid Unicode (it holds a lone surrogate)"


def _check_kid(kid: Any) -> str:
    if not isinstance(kid, str):
        raise TypeError(f"kid must be a str, not {type(kid).__name__}")
    if not kid or len(kid) > MAX_KID:
        raise InvalidKey(f"kid must be a non-empty string of at most {MAX_KID} characters")
    if not is_unicode(kid):
        raise InvalidKey(_KID_NOT_UNICODE)
    return str.__str__(kid)  # a subclass's text (a `str, Enum` member's value, not its `str()`)


def _as_bytes(value: Any, what: str) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what} must be bytes, not {type(value).__name__}")


class _Key:
    __slots__ = ("_kid",)

    #: The algorithm the key is bound to: the envelope algorithm of the keys that serve both
    #: envelopes and JWTs (HMAC, Ed25519), the JWT algorithm of the JWT-only keys (RSA, P-256).
    alg: str = ""
    #: The envelope algorithm (None: the key takes no part in envelopes).
    _envelope_alg: str | None = None
    #: The JWT algorithms the key verifies.
    _jwt_algs: tuple[str, ...] = ()

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
    alg = _envelope_alg = ENVELOPE_HMAC
    _jwt_algs = ("HS256",)

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
    alg = _envelope_alg = ENVELOPE_ED25519
    _jwt_algs = ("EdDSA", "Ed25519")

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
        data, signature = bytes(data), bytes(signature)  # both read first, as the native twin does
        if len(signature) != 64:
            return False
        try:
            self._verify_key.verify(data, signature)
        except nacl.exceptions.BadSignatureError:
            return False
        return True

    def to_jwk(self, private: bool = False) -> dict[str, str]:
        """`{"kty": "OKP", "crv": "Ed25519", "kid", "x", ...}` (a public key has no private form)."""
        if private:
            raise InvalidKey("an Ed25519 public key has no private JWK")
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "kid": self._kid,
            "alg": "EdDSA",
            "use": "sig",
            "x": b64url_encode(self._raw),
        }

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
    alg = _envelope_alg = ENVELOPE_ED25519
    _jwt_algs = ("EdDSA", "Ed25519")

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


# ---- RSA and P-256 (JWT only) ----

MIN_MODULUS_BITS = 2048
MAX_MODULUS_BITS = 8192
MODULUS_SIZE = "an RSA key must have a modulus of 2048 to 8192 bits"
NOT_RSA = "not a valid RSA public key"
NOT_RSA_PEM = "an RSA public key is a PEM (PUBLIC KEY or RSA PUBLIC KEY) or a JWK"
NOT_A_POINT = "an EC key must be a point on P-256"
NOT_EC_PEM = "an EC public key is a PEM (PUBLIC KEY) or a JWK"
_RSA_ALGS = ("RS256", "PS256")


def _magnitude(value: bytes) -> bytes:
    return value.lstrip(b"\0")


def _pem_bytes(pem: Any, not_pem: str) -> bytes:
    if isinstance(pem, str):
        if not pem.isascii():
            raise InvalidKey(not_pem)
        return pem.encode("ascii")
    return _as_bytes(pem, "a PEM")


def _member_bytes(jwk: dict[str, Any], name: str) -> bytes:
    """A strict base64url member of a JWK given on its own (no `JWKS key <i>` prefix)."""
    value = jwk.get(name)
    if not isinstance(value, str):
        raise InvalidKey(f"'{name}' must be a base64url string")
    try:
        return b64url_decode(value)
    except InvalidBase64:
        raise InvalidKey(f"'{name}' is not strict base64url") from None


class RsaPublicKey(_Key):
    """An RSA public key under a key id, bound to `RS256` or `PS256` (`alg`; by default a JWK's own
    `alg`, else `RS256`): a PEM (`PUBLIC KEY` or `RSA PUBLIC KEY`, str or bytes) or a JWK dict.
    Verifies JWTs only; a modulus under 2048 bits is refused."""

    __slots__ = ("_n", "_e", "_alg", "_public")

    def __init__(self, kid: str, key: str | bytes | dict[str, Any], alg: str | None = None) -> None:
        kid = _check_kid(kid)
        if alg is not None and (not isinstance(alg, str) or alg not in _RSA_ALGS):
            raise InvalidKey("an RSA key's alg is RS256 or PS256")
        if isinstance(key, dict):
            n, e, alg = _rsa_from_jwk(key, alg)
        else:
            n, e = _rsa_from_pem(_pem_bytes(key, NOT_RSA_PEM))
        self._init(kid, n, e, alg or "RS256")

    @classmethod
    def _from_numbers(cls, kid: str, n: bytes, e: bytes, alg: str) -> RsaPublicKey:
        key = cls.__new__(cls)
        key._init(_check_kid(kid), n, e, alg)
        return key

    def _init(self, kid: str, n: bytes, e: bytes, alg: str) -> None:
        n, e = _magnitude(n), _magnitude(e)
        n_int, e_int = int.from_bytes(n, "big"), int.from_bytes(e, "big")
        if not MIN_MODULUS_BITS <= n_int.bit_length() <= MAX_MODULUS_BITS:
            raise InvalidKey(MODULUS_SIZE)
        if not (n_int & 1 and e_int & 1 and 2 <= e_int.bit_length() <= 33):
            raise InvalidKey(NOT_RSA)
        try:
            public = rsa.RSAPublicNumbers(e_int, n_int).public_key()
        except ValueError:
            raise InvalidKey(NOT_RSA) from None
        object.__setattr__(self, "_kid", kid)
        object.__setattr__(self, "_n", n)
        object.__setattr__(self, "_e", e)
        object.__setattr__(self, "_alg", alg)
        object.__setattr__(self, "_public", public)

    @property
    def alg(self) -> str:  # type: ignore[override]
        """`RS256` or `PS256`: the one JWT algorithm this key verifies."""
        return self._alg

    @property
    def _jwt_algs(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self._alg,)

    @property
    def key_size(self) -> int:
        """The modulus length in bits."""
        return int.from_bytes(self._n, "big").bit_length()

    def verify(self, data: bytes, signature: bytes) -> bool:
        """Whether `signature` is this key's signature of `data` in its scheme; a signature is
        exactly as long as the modulus."""
        data, signature = bytes(data), bytes(signature)  # both read first, as the native twin does
        if len(signature) != len(self._n):
            return False
        scheme = (
            padding.PKCS1v15()
            if self._alg == "RS256"
            else padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        )
        try:
            self._public.verify(signature, data, scheme, hashes.SHA256())
        except InvalidSignature:
            return False
        return True

    def to_jwk(self, private: bool = False) -> dict[str, str]:
        """`{"kty": "RSA", "kid", "alg", "use": "sig", "n", "e"}` (a public key has no private form)."""
        if private:
            raise InvalidKey("an RSA public key has no private JWK")
        return {
            "kty": "RSA",
            "kid": self._kid,
            "alg": self._alg,
            "use": "sig",
            "n": b64url_encode(self._n),
            "e": b64url_encode(self._e),
        }

    def __eq__(self, other: object) -> bool:
        if type(other) is not RsaPublicKey:
            return NotImplemented
        return (self._kid, self._n, self._e, self._alg) == (other._kid, other._n, other._e, other._alg)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RsaPublicKey(kid={self._kid!r}, alg={self._alg!r}, key_size={self.key_size!r})"


def _rsa_from_pem(pem: bytes) -> tuple[bytes, bytes]:
    label = der.pem_label(pem)
    try:
        if label == "PUBLIC KEY":
            body = der.pem_body(pem, "PUBLIC KEY")
        elif label == "RSA PUBLIC KEY":
            return der.rsa_public_key(der.pem_body(pem, "RSA PUBLIC KEY"))
        else:
            raise InvalidKey(NOT_RSA_PEM)
    except der.Malformed:
        raise InvalidKey(NOT_RSA_PEM) from None
    try:
        info = der.spki(body)
    except der.Malformed:
        info = ("other",)
    if info[0] != "rsa":
        raise InvalidKey("the PEM is not an RSA SubjectPublicKeyInfo")
    return info[1], info[2]


def _rsa_from_jwk(jwk: dict[str, Any], alg: str | None) -> tuple[bytes, bytes, str | None]:
    if jwk.get("kty") != "RSA":
        raise InvalidKey(NOT_RSA_PEM)
    if "alg" in jwk:
        own = jwk["alg"]
        if not isinstance(own, str) or own not in _RSA_ALGS:
            raise InvalidKey("'alg' does not fit an RSA key")
        if alg is not None and own != alg:
            raise InvalidKey("the JWK's 'alg' is not the alg given")
        alg = own
    return _member_bytes(jwk, "n"), _member_bytes(jwk, "e"), alg


class EcPublicKey(_Key):
    """A P-256 public key under a key id (`ES256`): a `PUBLIC KEY` PEM (str or bytes) or a JWK dict.
    Verifies JWTs only; signatures are `r || s` (64 bytes), high or low S."""

    __slots__ = ("_x", "_y", "_public")
    alg = "ES256"
    crv = "P-256"
    _jwt_algs = ("ES256",)

    def __init__(self, kid: str, key: str | bytes | dict[str, Any]) -> None:
        kid = _check_kid(kid)
        if isinstance(key, dict):
            if key.get("kty") != "EC" or key.get("crv") != "P-256":
                raise InvalidKey(NOT_EC_PEM)
            if "alg" in key and key["alg"] != "ES256":
                raise InvalidKey("'alg' does not fit an EC key")
            x, y = _member_bytes(key, "x"), _member_bytes(key, "y")
        else:
            try:
                body = der.pem_body(_pem_bytes(key, NOT_EC_PEM), "PUBLIC KEY")
            except der.Malformed:
                raise InvalidKey(NOT_EC_PEM) from None
            try:
                info = der.spki(body)
            except der.Malformed:
                info = ("other",)
            if info[0] != "p256":
                raise InvalidKey("the PEM is not a P-256 SubjectPublicKeyInfo")
            point = info[1]
            if len(point) != 65 or point[0] != 4:
                raise InvalidKey(NOT_A_POINT)
            x, y = point[1:33], point[33:]
        self._init(kid, x, y)

    @classmethod
    def _from_coordinates(cls, kid: str, x: bytes, y: bytes) -> EcPublicKey:
        key = cls.__new__(cls)
        key._init(_check_kid(kid), x, y)
        return key

    def _init(self, kid: str, x: bytes, y: bytes) -> None:
        if len(x) != 32 or len(y) != 32:
            raise InvalidKey(NOT_A_POINT)
        try:
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + x + y)
        except ValueError:
            raise InvalidKey(NOT_A_POINT) from None
        object.__setattr__(self, "_kid", kid)
        object.__setattr__(self, "_x", bytes(x))
        object.__setattr__(self, "_y", bytes(y))
        object.__setattr__(self, "_public", public)

    def verify(self, data: bytes, signature: bytes) -> bool:
        """Whether `signature` (`r || s`, 64 bytes; DER is refused) is this key's ES256 signature."""
        data, signature = bytes(data), bytes(signature)  # both read first, as the native twin does
        if len(signature) != 64:
            return False
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        try:
            self._public.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True

    def to_jwk(self, private: bool = False) -> dict[str, str]:
        """`{"kty": "EC", "crv": "P-256", "kid", "alg": "ES256", "use": "sig", "x", "y"}`."""
        if private:
            raise InvalidKey("an EC public key has no private JWK")
        return {
            "kty": "EC",
            "crv": "P-256",
            "kid": self._kid,
            "alg": "ES256",
            "use": "sig",
            "x": b64url_encode(self._x),
            "y": b64url_encode(self._y),
        }

    def __eq__(self, other: object) -> bool:
        if type(other) is not EcPublicKey:
            return NotImplemented
        return (self._kid, self._x, self._y) == (other._kid, other._x, other._y)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"EcPublicKey(kid={self._kid!r}, crv='P-256', x={b64url_encode(self._x)!r})"


Key = HmacKey | Ed25519PublicKey | Ed25519PrivateKey | RsaPublicKey | EcPublicKey
KEY_TYPES = (HmacKey, Ed25519PublicKey, Ed25519PrivateKey, RsaPublicKey, EcPublicKey)


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
