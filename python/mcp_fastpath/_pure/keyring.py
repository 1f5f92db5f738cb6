"""The key ring: keys by `kid`, several per ring for rotation. Twin of `rust/verify/src/keyring.rs`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from ..errors import InvalidKey
from .jwk import read_jwks
from .keys import KEY_TYPES, HmacKey, Key

__all__ = ["KeyRing", "as_keyring"]


class KeyRing:
    """Keys by `kid` (several for rotation). Duplicate kids are refused (`InvalidKey`)."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Iterable[Key] = ()) -> None:
        if isinstance(keys, KEY_TYPES):
            keys = [keys]
        by_kid: dict[str, Key] = {}
        for key in keys:
            if not isinstance(key, KEY_TYPES):
                raise TypeError(
                    f"a KeyRing holds HmacKey, Ed25519PublicKey, Ed25519PrivateKey, RsaPublicKey or EcPublicKey, not {type(key).__name__}"
                )
            if key.kid in by_kid:
                raise InvalidKey(f"duplicate kid {orjson.dumps(key.kid).decode()} in the key ring")
            by_kid[key.kid] = key
        self._keys = by_kid

    @classmethod
    def from_jwks(cls, jwks: dict[str, Any]) -> KeyRing:
        """A ring from a JWK Set `{"keys": [...]}`; any key that cannot be read refuses the whole set."""
        return cls(read_jwks(jwks))

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
    if isinstance(keys, (*KEY_TYPES, list, tuple)):
        return KeyRing(keys)
    raise TypeError(f"expected a KeyRing, a JWKS dict or keys, not {type(keys).__name__}")
