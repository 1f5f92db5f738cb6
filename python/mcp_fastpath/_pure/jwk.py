"""JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8037): reading a JWK Set into keys. Twin of
`rust/verify/src/jwk.rs` (see its documentation for the rules; they are the same here).

A key that is not for us is skipped, not fatal (RFC 7517 §5): a `use` other than `sig`, a `kty`
other than `oct`, `OKP`, `RSA`, `EC`, a curve other than `Ed25519` (OKP) or `P-256` (EC), an `alg`
we do not implement, an RSA modulus outside 2048..8192 bits. A key that is for us but broken refuses
the whole set, checks in this order, each message prefixed `JWKS key <i>: `: object; `alg` fitting
the key type when present; `kid` (a public key without one is given its RFC 7638 thumbprint; an HMAC
or private key needs one); the members, strict base64url; the key material. An RSA JWK without `alg`
is an `RS256` key. Writing a JWK is each key's `to_jwk`.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from ..errors import InvalidKey
from .b64url import InvalidBase64, b64url_decode, b64url_encode
from .jcs import is_unicode
from .keys import (
    MAX_KID,
    MODULUS_SIZE,
    EcPublicKey,
    Ed25519PrivateKey,
    Ed25519PublicKey,
    HmacKey,
    Key,
    RsaPublicKey,
)

__all__ = ["NOT_A_JWKS", "key_from_jwk", "read_jwks", "thumbprint"]

NOT_A_JWKS = 'a JWKS is an object with a "keys" array'
_KNOWN_ALGS = frozenset({"HS256", "EdDSA", "Ed25519", "RS256", "PS256", "ES256"})
# The algorithms each key type fits, and its name in messages.
_FITTING = {
    "oct": (("HS256",), "an oct"),
    "OKP": (("EdDSA", "Ed25519"), "an Ed25519"),
    "RSA": (("RS256", "PS256"), "an RSA"),
    "EC": (("ES256",), "an EC"),
}


def read_jwks(jwks: Any) -> list[Key]:
    """The keys of a JWK Set `{"keys": [...]}` (those not for us skipped; duplicate kids are the
    ring's check)."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise InvalidKey(NOT_A_JWKS)
    keys = (key_from_jwk(jwk, i) for i, jwk in enumerate(jwks["keys"]))
    return [key for key in keys if key is not None]


def key_from_jwk(jwk: Any, index: int) -> Key | None:
    """The key of one JWK (the `index`-th of its set, for messages); None when it is not for us."""
    where = f"JWKS key {index}"

    def bad(why: str) -> InvalidKey:
        return InvalidKey(f"{where}: {why}")

    if not isinstance(jwk, dict):
        raise bad("a JWK is an object")
    # Not for us: skipped.
    if "use" in jwk and jwk["use"] != "sig":
        return None
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty not in ("oct", "RSA") and (kty, crv) not in (("OKP", "Ed25519"), ("EC", "P-256")):
        return None
    alg = jwk.get("alg")
    if "alg" in jwk and (not isinstance(alg, str) or alg not in _KNOWN_ALGS):
        return None
    # For us: every check from here on refuses the set.
    fitting, kind = _FITTING[kty]
    if alg is not None and alg not in fitting:
        raise bad(f"'alg' does not fit {kind} key")
    kid = jwk.get("kid")
    if kid is None and "kid" not in jwk and kty != "oct" and "d" not in jwk:
        kid = None  # a public key: its thumbprint, below
    elif not isinstance(kid, str) or not kid or len(kid) > MAX_KID:
        raise bad(f"'kid' must be a non-empty string of at most {MAX_KID} characters")
    elif not is_unicode(kid):
        raise bad("'kid' must be valid Unicode (it holds a lone surrogate)")

    def member(name: str) -> bytes:
        value = jwk.get(name)
        if not isinstance(value, str):
            raise bad(f"{name!r} must be a base64url string")
        try:
            return b64url_decode(value)
        except InvalidBase64:
            raise bad(f"{name!r} is not strict base64url") from None

    def exactly_32(name: str) -> bytes:
        value = member(name)
        if len(value) != 32:
            raise bad(f"{name!r} must be 32 bytes")
        return value

    try:
        if kty == "oct":
            return HmacKey(kid, member("k"))
        if kty == "OKP":
            x = exactly_32("x")
            if "d" in jwk:
                private = Ed25519PrivateKey(kid, member("d"))
                if not hmac.compare_digest(private.public_bytes, x):
                    raise bad("'x' is not the public key of 'd'")
                return private
            return Ed25519PublicKey(kid or _thumbprint_of(crv="Ed25519", kty="OKP", x=b64url_encode(x)), x)
        if kty == "RSA":
            n, e = member("n"), member("e")
            try:
                probe = RsaPublicKey._from_numbers("probe", n, e, alg or "RS256")
            except InvalidKey as exc:
                if str(exc) == MODULUS_SIZE:
                    return None  # out of the range we support (RFC 7517 §5)
                raise
            return RsaPublicKey._from_numbers(kid or thumbprint(probe), n, e, alg or "RS256")
        x, y = exactly_32("x"), exactly_32("y")
        return EcPublicKey._from_coordinates(
            kid or _thumbprint_of(crv="P-256", kty="EC", x=b64url_encode(x), y=b64url_encode(y)), x, y
        )
    except InvalidKey as exc:
        if str(exc).startswith(f"{where}: "):
            raise
        raise bad(str(exc)) from None


def thumbprint(key: Key) -> str | None:
    """The RFC 7638 thumbprint of a public key (None for an HMAC key, whose thumbprint would hash
    its secret)."""
    if isinstance(key, (Ed25519PublicKey, Ed25519PrivateKey)):
        return _thumbprint_of(crv="Ed25519", kty="OKP", x=b64url_encode(key.public_bytes))
    if isinstance(key, (RsaPublicKey, EcPublicKey)):
        jwk = key.to_jwk()
        if isinstance(key, RsaPublicKey):
            return _thumbprint_of(e=jwk["e"], kty="RSA", n=jwk["n"])
        return _thumbprint_of(crv="P-256", kty="EC", x=jwk["x"], y=jwk["y"])
    return None


def _thumbprint_of(**members: str) -> str:
    # RFC 7638 §3: the required members in sorted order, compact JSON (base64url and fixed ASCII
    # values: nothing to escape), SHA-256.
    text = ",".join(f'"{name}":"{value}"' for name, value in sorted(members.items()))
    return b64url_encode(hashlib.sha256(("{" + text + "}").encode()).digest())
