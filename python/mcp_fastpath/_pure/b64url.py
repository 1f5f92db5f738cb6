"""Strict base64url (RFC 4648 §5). Twin of `rust/verify/src/b64url.rs`.

Alphabet `A-Z a-z 0-9 - _` only, no padding, no whitespace, and canonical (the unused bits of the
last character are zero), so every byte string has exactly one accepted encoding. Used for envelope
nonces and signatures, JWT segments and JWK members.
"""

from __future__ import annotations

import base64
import binascii
import re

__all__ = ["InvalidBase64", "b64url_decode", "b64url_encode"]

_URL_SAFE = re.compile(r"[A-Za-z0-9_-]*")


class InvalidBase64(ValueError):
    """The input is not strict base64url."""

    def __init__(self) -> None:
        super().__init__("invalid base64url")


def b64url_encode(data: bytes) -> str:
    """Base64url of `data`, without padding."""
    return base64.urlsafe_b64encode(bytes(data)).rstrip(b"=").decode("ascii")


def b64url_decode(text: str | bytes) -> bytes:
    """Decode strict base64url; anything else (padding, `+/`, whitespace, a 4n+1 length,
    non-zero trailing bits, non-ASCII) raises `InvalidBase64`. `""` decodes to `b""`."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        try:
            text = bytes(text).decode("ascii")
        except UnicodeDecodeError:
            raise InvalidBase64() from None
    elif not isinstance(text, str):
        raise TypeError(f"base64url input is str or bytes, not {type(text).__name__}")
    if len(text) % 4 == 1 or not _URL_SAFE.fullmatch(text):
        raise InvalidBase64()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):  # pragma: no cover - excluded by the checks above
        raise InvalidBase64() from None
    # Canonical: the unused trailing bits must be zero, i.e. re-encoding gives the input back.
    if len(text) % 4 and b64url_encode(raw) != text:
        raise InvalidBase64()
    return raw
