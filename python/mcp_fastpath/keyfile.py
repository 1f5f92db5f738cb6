"""Key files: one JSON document that configures both ends of per-request verification.

The CLI (`serve --keys`, `sign`, `verify`, `call --keys`, `keygen`) and `demo` read and write it::

    {
      "format": "mcp-fastpath/keys/v1",
      "jwks": {"keys": [ <JWK>, ... ]},     # required: oct (HS256 / hmac-sha256) and OKP Ed25519 keys;
                                                #   RSA and P-256 public keys verify JWTs
      "audience": "https://mcp.example.com",   # optional: envelope `aud` (signed and required) and
                                                #   the JWT audience
      "issuer": "https://auth.example.com",    # optional: turns JWT checking on (needs "audience")
      "envelope": true,                        # optional (default true): require a signed envelope
      "token": true,                           # optional (default: true when "issuer" is set)
      "max_skew_s": 60,                        # optional: envelope time window (and replay TTL / 2)
      "leeway_s": 30,                          # optional: JWT exp/nbf/iat leeway
      "policy": {"tools/call:add": ["tools.add"], "*": []},   # optional: ScopePolicy rules
      "signing_kid": "k1"                      # optional: the key a client signs with (default: the
                                                #   first key that can sign)
    }

A server needs the verification keys: for HMAC the shared secret (`"k"`), for Ed25519 only the
public `"x"`. A client needs a signing key: the HMAC secret or an Ed25519 JWK with `"d"`.
`keygen` writes a file with private keys; `to_public()` drops what a server does not need.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import FastpathError

__all__ = ["FORMAT", "KeyFile", "KeyFileError", "generate", "load"]

FORMAT = "mcp-fastpath/keys/v1"
_MEMBERS = {
    "format",
    "jwks",
    "audience",
    "issuer",
    "envelope",
    "token",
    "max_skew_s",
    "leeway_s",
    "policy",
    "signing_kid",
}


class KeyFileError(FastpathError, ValueError):
    """A key file that cannot be used (its path and the reason are in the message)."""


@dataclass
class KeyFile:
    jwks: dict[str, Any]
    audience: str | None = None
    issuer: str | None = None
    envelope: bool = True
    token: bool | None = None
    max_skew_s: float = 60
    leeway_s: float = 30
    policy: dict[str, list[str]] | None = None
    signing_kid: str | None = None
    source: str = field(default="<key file>", compare=False)

    # ---- reading and writing -------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "<key file>") -> KeyFile:
        def bad(why: str) -> KeyFileError:
            return KeyFileError(f"{source}: {why}")

        if not isinstance(data, dict):
            raise bad("a key file is a JSON object")
        unknown = sorted(set(data) - _MEMBERS)
        if unknown:
            raise bad(f"unknown member(s) {', '.join(map(repr, unknown))}")
        if data.get("format", FORMAT) != FORMAT:
            raise bad(f"format must be {FORMAT!r}")
        jwks = data.get("jwks")
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
            raise bad('"jwks" must be a JWK Set with at least one key: {"keys": [...]}')
        for name in ("audience", "issuer", "signing_kid"):
            if data.get(name) is not None and not isinstance(data[name], str):
                raise bad(f'"{name}" must be a string')
        for name in ("envelope", "token"):
            if data.get(name) is not None and not isinstance(data[name], bool):
                raise bad(f'"{name}" must be true or false')
        for name in ("max_skew_s", "leeway_s"):
            value = data.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise bad(f'"{name}" must be a non-negative number of seconds')
        policy = data.get("policy")
        if policy is not None:
            if not isinstance(policy, dict) or not all(
                isinstance(v, list) and all(isinstance(s, str) for s in v) for v in policy.values()
            ):
                raise bad('"policy" maps "<method>[:<name>]" or "*" to a list of scope strings')
        kf = cls(
            jwks=jwks,
            audience=data.get("audience"),
            issuer=data.get("issuer"),
            envelope=data.get("envelope", True),
            token=data.get("token"),
            max_skew_s=data.get("max_skew_s", 60),
            leeway_s=data.get("leeway_s", 30),
            policy=policy,
            signing_kid=data.get("signing_kid"),
            source=source,
        )
        if kf.wants_token and (kf.issuer is None or kf.audience is None):
            raise bad('JWT checking ("token": true) needs "issuer" and "audience"')
        kf.keyring()  # every key must be readable
        return kf

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": FORMAT, "jwks": self.jwks}
        for name in ("audience", "issuer", "token", "policy", "signing_kid"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        out["envelope"] = self.envelope
        out["max_skew_s"] = self.max_skew_s
        out["leeway_s"] = self.leeway_s
        return out

    def dumps(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the file readable by its owner only (it holds secrets)."""
        path = Path(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(self.dumps())
        return path

    def to_public(self) -> KeyFile:
        """The same settings with only what a server needs: Ed25519 private keys become public
        keys (HMAC secrets stay: they are the verification key too)."""
        keys = []
        for jwk in self.jwks["keys"]:
            jwk = dict(jwk)
            if jwk.get("kty") == "OKP":
                jwk.pop("d", None)
            keys.append(jwk)
        return KeyFile(**{**self.__dict__, "jwks": {"keys": keys}, "signing_kid": None})

    # ---- using it ------------------------------------------------------------------------

    @property
    def wants_token(self) -> bool:
        return self.token if self.token is not None else self.issuer is not None

    def keyring(self) -> Any:
        from . import KeyRing

        try:
            return KeyRing.from_jwks(self.jwks)
        except FastpathError as exc:
            raise KeyFileError(f"{self.source}: {exc}") from None

    def signing_key(self) -> Any:
        """The key a client signs with (envelopes and, for `mint_token`, JWTs)."""
        from . import Ed25519PrivateKey, HmacKey

        ring = self.keyring()
        if self.signing_kid is not None:
            key = ring.get(self.signing_kid)
            if key is None:
                raise KeyFileError(f"{self.source}: signing_kid {self.signing_kid!r} is not in the JWKS")
            if not isinstance(key, (HmacKey, Ed25519PrivateKey)):
                raise KeyFileError(f"{self.source}: key {self.signing_kid!r} is a public key and cannot sign")
            return key
        for key in ring:
            if isinstance(key, (HmacKey, Ed25519PrivateKey)):
                return key
        raise KeyFileError(f'{self.source}: no key that can sign (an oct key, or an OKP key with "d")')

    def signer(self) -> Any:
        from . import EnvelopeSigner

        return EnvelopeSigner(self.signing_key(), audience=self.audience)

    def envelope_verifier(self, *, require: bool | None = None) -> Any:
        from . import EnvelopeVerifier

        return EnvelopeVerifier(
            self.keyring(),
            audience=self.audience,
            max_skew_s=self.max_skew_s,
            require=self.envelope if require is None else require,
        )

    def jwt_verifier(self) -> Any:
        from . import JwtVerifier

        if self.issuer is None or self.audience is None:
            raise KeyFileError(f'{self.source}: JWT checking needs "issuer" and "audience"')
        return JwtVerifier(self.keyring(), issuer=self.issuer, audience=self.audience, leeway_s=self.leeway_s)

    def gate(self) -> Any:
        """The server-side `Gate` this file describes."""
        from . import Gate, ScopePolicy

        return Gate(
            envelope=self.envelope_verifier(require=self.envelope),
            jwt=self.jwt_verifier() if self.wants_token else None,
            policy=ScopePolicy(self.policy) if self.policy else None,
            require_envelope=self.envelope,
            require_token=self.wants_token,
        )

    def mint_token(
        self,
        *,
        subject: str = "mcp-fastpath-cli",
        scopes: list[str] | tuple[str, ...] = (),
        ttl_s: float = 300,
        **claims: Any,
    ) -> str:
        """A JWT for this file's issuer and audience, signed with the signing key (a dev/test
        convenience: in production the authorization server mints tokens)."""
        from . import sign_jwt

        if self.issuer is None or self.audience is None:
            raise KeyFileError(f'{self.source}: minting a token needs "issuer" and "audience"')
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": now,
            "exp": now + int(ttl_s),
        }
        if scopes:
            body["scope"] = " ".join(scopes)
        body.update(claims)
        return sign_jwt(self.signing_key(), body)


def load(path: str | os.PathLike[str]) -> KeyFile:
    """Read and check a key file (`KeyFileError` says what is wrong)."""
    source = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise KeyFileError(f"{source}: cannot read the key file: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise KeyFileError(f"{source}: not JSON: {exc}") from None
    return KeyFile.from_dict(data, source=source)


def generate(
    alg: str = "hmac",
    kid: str = "k1",
    *,
    audience: str | None = None,
    issuer: str | None = None,
    policy: dict[str, list[str]] | None = None,
) -> KeyFile:
    """A fresh key file with one private key: `alg` `hmac` (32-byte secret) or `ed25519`."""
    from . import Ed25519PrivateKey, HmacKey

    if alg == "hmac":
        key: Any = HmacKey(kid, os.urandom(32))
    elif alg == "ed25519":
        key = Ed25519PrivateKey(kid, os.urandom(32))
    else:
        raise KeyFileError(f"unknown algorithm {alg!r} (hmac or ed25519)")
    return KeyFile(
        jwks={"keys": [key.to_jwk(private=True)]},
        audience=audience,
        issuer=issuer,
        policy=policy,
        signing_kid=kid,
        source="<generated>",
    )
