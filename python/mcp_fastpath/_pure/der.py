"""Public-key PEM and the little DER they hold. Twin of `rust/verify/src/der.rs`.

X.690 distinguished encoding, strict: a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) of an RSA, P-256
or Ed25519 key, and a PKCS#1 `RSAPublicKey` (RFC 8017 §A.1.1). Every length, integer and bit string
must have its one DER form and nothing may follow the structure, so that a key has one accepted
encoding on both backends.
"""

from __future__ import annotations

import base64
import re

__all__ = ["Malformed", "pem_body", "pem_label", "rsa_public_key", "spki"]

_OID_RSA = bytes.fromhex("2a864886f70d010101")
_OID_EC = bytes.fromhex("2a8648ce3d0201")
_OID_P256 = bytes.fromhex("2a8648ce3d030107")
_OID_ED25519 = bytes.fromhex("2b6570")
# Rust's `u8::is_ascii_whitespace` (no vertical tab), as the native twin uses.
_ASCII_WHITESPACE = b" \t\n\r\x0c"
_STANDARD_B64 = re.compile(rb"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


class Malformed(ValueError):
    """A PEM that is not one of ours, or DER that is not strictly what we read."""


def pem_body(pem: bytes, label: str) -> bytes:
    """The DER inside `-----BEGIN <label>-----` … `-----END <label>-----`: outer ASCII whitespace
    trimmed, the body's ASCII whitespace removed, padded standard base64 with canonical bits."""
    begin = f"-----BEGIN {label}-----".encode()
    end = f"-----END {label}-----".encode()
    pem = pem.strip(_ASCII_WHITESPACE)
    if not (pem.startswith(begin) and pem.endswith(end)) or len(pem) < len(begin) + len(end):
        raise Malformed
    body = bytes(c for c in pem[len(begin) : len(pem) - len(end)] if c not in _ASCII_WHITESPACE)
    if len(body) % 4 or not _STANDARD_B64.fullmatch(body):
        raise Malformed
    der = base64.b64decode(body)
    if base64.b64encode(der) != body:
        raise Malformed
    return der


def pem_label(pem: bytes) -> str | None:
    """The label of a PEM block (`PUBLIC KEY`, `RSA PUBLIC KEY`, …), read from its first line."""
    pem = pem.strip(_ASCII_WHITESPACE)
    if not pem.startswith(b"-----BEGIN "):
        return None
    rest = pem[len(b"-----BEGIN ") :]
    end = rest.find(b"-----")
    if end < 0:
        return None
    try:
        return rest[:end].decode("utf-8")
    except UnicodeDecodeError:
        return None


class _Reader:
    __slots__ = ("_data",)

    def __init__(self, data: bytes) -> None:
        self._data = data

    def element(self, tag: int) -> bytes:
        data = self._data
        if len(data) < 2 or data[0] != tag:
            raise Malformed
        length, rest = data[1], data[2:]
        if length >= 0x80:
            # Long form: 1 or 2 length octets, minimal (no leading zero, not < 128).
            count = length & 0x7F
            if not 1 <= count <= 2 or len(rest) < count or rest[0] == 0:
                raise Malformed
            length = int.from_bytes(rest[:count], "big")
            rest = rest[count:]
            if length < 0x80:
                raise Malformed
        if len(rest) < length:
            raise Malformed
        self._data = rest[length:]
        return rest[:length]

    def unsigned(self) -> bytes:
        """A non-negative INTEGER in minimal form, as big-endian bytes without the sign octet."""
        value = self.element(0x02)
        if not value or value[0] & 0x80:
            raise Malformed
        if len(value) > 1 and value[0] == 0:
            if not value[1] & 0x80:
                raise Malformed  # a needless zero
            return value[1:]
        return value

    def bit_string(self) -> bytes:
        """A BIT STRING with no unused bits."""
        value = self.element(0x03)
        if not value or value[0] != 0:
            raise Malformed
        return value[1:]

    def end(self) -> None:
        if self._data:
            raise Malformed


def rsa_public_key(der: bytes) -> tuple[bytes, bytes]:
    """A PKCS#1 `RSAPublicKey`: `SEQUENCE { INTEGER n, INTEGER e }` → `(n, e)`."""
    outer = _Reader(der)
    key = _Reader(outer.element(0x30))
    outer.end()
    n, e = key.unsigned(), key.unsigned()
    key.end()
    return n, e


def spki(der: bytes) -> tuple[str, ...]:
    """A SubjectPublicKeyInfo: `("rsa", n, e)`, `("p256", point)`, `("ed25519", key)` or
    `("other",)` for another algorithm or curve."""
    outer = _Reader(der)
    info = _Reader(outer.element(0x30))
    outer.end()
    algorithm = _Reader(info.element(0x30))
    key = info.bit_string()
    info.end()
    oid = algorithm.element(0x06)
    if oid == _OID_RSA:
        if algorithm.element(0x05):  # NULL
            raise Malformed
        result: tuple = ("rsa", *rsa_public_key(key))
    elif oid == _OID_EC:
        if algorithm.element(0x06) != _OID_P256:
            return ("other",)
        result = ("p256", key)
    elif oid == _OID_ED25519:
        result = ("ed25519", key)
    else:
        return ("other",)
    algorithm.end()
    return result
