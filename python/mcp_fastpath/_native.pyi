"""Type stub of `mcp_fastpath._native`, the Rust backend.

Same names, signatures and behaviour as the pure twin `mcp_fastpath._pure` (see its modules for
the full documentation); errors are the shared classes of `mcp_fastpath.errors`.
"""

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar, Final, Self, final

from .limits import Limits

__all__ = [
    "Admitted",
    "EcPublicKey",
    "Ed25519PrivateKey",
    "Ed25519PublicKey",
    "EnvelopeSigner",
    "EnvelopeVerifier",
    "ErrorResponse",
    "Gate",
    "HmacKey",
    "InvalidBase64",
    "JwtVerifier",
    "KeyRing",
    "Notification",
    "Principal",
    "Request",
    "Response",
    "RoutingKeys",
    "RsaPublicKey",
    "ScopePolicy",
    "SignatureInfo",
    "b64url_decode",
    "b64url_encode",
    "canonicalize",
    "check_param_headers",
    "decode",
    "decode_header_value",
    "encode_error",
    "encode_header_value",
    "encode_response",
    "http_status",
    "request_headers",
    "routing_keys",
    "sign_jwt",
    "signing_bytes",
]

# How this module was built: version, abi3, python, profile, opt_level, debug_assertions, target,
# rustc. Private and native only (not a twin name: a pure installation has no build);
# `mcp-fastpath --version` prints it.
_BUILD_INFO: Final[dict[str, str | bool]]

_Headers = Mapping[str, str] | Mapping[bytes, bytes] | Iterable[tuple[str | bytes, str | bytes]]
_Body = bytes | bytearray | memoryview

# ---- Decoded messages (twins of `_pure.messages`) --------------------------------------------------

@final
class Request:
    """A 2026-07-28 request that passed every rung of the ladder. A decoded one builds `params`
    and `meta` on first access (the same objects afterwards); `arguments_json` is the JSON of
    `params.arguments` exactly as sent (`None` without that member)."""

    id: Final[int | str]
    method: Final[str]
    params: Final[dict[str, Any]]
    meta: Final[dict[str, Any]]
    protocol_version: Final[str]
    client_info: Final[Any]
    client_capabilities: Final[Any]
    name: Final[str | None]
    arguments_json: Final[bytes | None]
    def __new__(
        cls,
        id: int | str,
        method: str,
        params: dict[str, Any],
        meta: dict[str, Any],
        protocol_version: str,
        client_info: Any,
        client_capabilities: Any,
        name: str | None,
    ) -> Self: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class Notification:
    """A message without an `id`, at a served protocol version."""

    method: Final[str]
    params: Final[dict[str, Any] | None]
    meta: Final[dict[str, Any] | None]
    protocol_version: Final[str]
    def __new__(
        cls, method: str, params: dict[str, Any] | None, meta: dict[str, Any] | None, protocol_version: str
    ) -> Self: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class Response:
    """A result response (decoded only without headers)."""

    id: Final[int | str]
    result: Final[dict[str, Any]]
    def __new__(cls, id: int | str, result: dict[str, Any]) -> Self: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class ErrorResponse:
    """An error response (decoded only without headers)."""

    id: Final[int | str | None]
    code: Final[int]
    message: Final[str]
    data: Final[Any]
    def __new__(cls, id: int | str | None, code: int, message: str, data: Any) -> Self: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class RoutingKeys:
    """What a gateway routes on; each field `None` when absent."""

    method: Final[str | None]
    name: Final[str | None]
    protocol_version: Final[str | None]
    id: Final[int | str | None]
    def __new__(
        cls, method: str | None, name: str | None, protocol_version: str | None, id: int | str | None
    ) -> Self: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

# ---- Codec -------------------------------------------------------------------------------------------

def decode(
    body: _Body,
    headers: _Headers | None = None,
    *,
    limits: Limits | None = None,
    supported_versions: tuple[str, ...] | list[str] | None = None,
) -> Request | Notification | Response | ErrorResponse: ...
def routing_keys(body: _Body, *, limits: Limits | None = None) -> RoutingKeys: ...
def request_headers(method: str, params: Mapping[str, Any] | None) -> dict[str, str]: ...
def encode_header_value(value: str) -> str: ...
def decode_header_value(value: str | None) -> str | None: ...
def check_param_headers(input_schema: Any, arguments: Any, headers: _Headers, *, request_id: Any = None) -> None: ...
def encode_response(request_id: int | str, result: dict[str, Any]) -> bytes: ...
def encode_error(request_id: int | str | None, code: int, message: str, data: Any = None) -> bytes: ...
def http_status(code: int) -> int: ...

# ---- base64url and JCS -------------------------------------------------------------------------------

class InvalidBase64(ValueError):
    """The input is not strict base64url (raised by `b64url_decode`)."""

def b64url_encode(data: bytes | bytearray | memoryview) -> str: ...
def b64url_decode(text: str | bytes | bytearray | memoryview) -> bytes: ...
def canonicalize(value: Any) -> bytes: ...
def signing_bytes(message: dict[str, Any]) -> bytes: ...

# ---- Keys --------------------------------------------------------------------------------------------

@final
class HmacKey:
    """A shared HMAC-SHA256 secret (≥ 32 bytes) under a key id."""

    alg: ClassVar[str]  # "hmac-sha256"
    def __new__(cls, kid: str, secret: bytes | bytearray | memoryview) -> Self: ...
    @property
    def kid(self) -> str: ...
    def sign(self, data: bytes) -> bytes: ...
    def verify(self, data: bytes, signature: bytes) -> bool: ...
    def to_jwk(self, private: bool = False) -> dict[str, str]: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class Ed25519PublicKey:
    """An Ed25519 public key under a key id: 32 raw bytes, or a `PUBLIC KEY` PEM (str or bytes)."""

    alg: ClassVar[str]  # "ed25519"
    def __new__(cls, kid: str, raw_or_pem: bytes | bytearray | memoryview | str) -> Self: ...
    @property
    def kid(self) -> str: ...
    @property
    def public_bytes(self) -> bytes: ...
    def verify(self, data: bytes, signature: bytes) -> bool: ...
    def to_jwk(self, private: bool = False) -> dict[str, str]: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class Ed25519PrivateKey:
    """An Ed25519 signing key (32-byte seed) under a key id."""

    alg: ClassVar[str]  # "ed25519"
    def __new__(cls, kid: str, seed: bytes | bytearray | memoryview) -> Self: ...
    @classmethod
    def generate(cls, kid: str) -> Ed25519PrivateKey: ...
    @property
    def kid(self) -> str: ...
    def public_key(self) -> Ed25519PublicKey: ...
    @property
    def public_bytes(self) -> bytes: ...
    def sign(self, data: bytes) -> bytes: ...
    def verify(self, data: bytes, signature: bytes) -> bool: ...
    def to_jwk(self, private: bool = False) -> dict[str, str]: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class RsaPublicKey:
    """An RSA public key (2048 to 8192 bits) bound to `RS256` or `PS256`: a PEM (`PUBLIC KEY` or
    `RSA PUBLIC KEY`) or a JWK dict; `alg` by default the JWK's own, else `RS256`. JWTs only."""

    def __new__(cls, kid: str, key: str | bytes | dict[str, Any], alg: str | None = None) -> Self: ...
    @property
    def kid(self) -> str: ...
    @property
    def alg(self) -> str: ...
    @property
    def key_size(self) -> int: ...
    def verify(self, data: bytes, signature: bytes) -> bool: ...
    def to_jwk(self, private: bool = False) -> dict[str, str]: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class EcPublicKey:
    """A P-256 public key (`ES256`): a `PUBLIC KEY` PEM or a JWK dict. JWTs only; signatures are
    `r || s` (64 bytes)."""

    alg: ClassVar[str]  # "ES256"
    crv: ClassVar[str]  # "P-256"
    def __new__(cls, kid: str, key: str | bytes | dict[str, Any]) -> Self: ...
    @property
    def kid(self) -> str: ...
    def verify(self, data: bytes, signature: bytes) -> bool: ...
    def to_jwk(self, private: bool = False) -> dict[str, str]: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

_Key = HmacKey | Ed25519PublicKey | Ed25519PrivateKey | RsaPublicKey | EcPublicKey

@final
class KeyRing:
    """Keys by `kid` (several for rotation). Duplicate kids are refused (`InvalidKey`)."""

    def __new__(cls, keys: Iterable[_Key] | _Key = ()) -> Self: ...
    @classmethod
    def from_jwks(cls, jwks: dict[str, Any]) -> KeyRing: ...
    def get(self, kid: str) -> _Key | None: ...
    def to_jwks(self, private: bool = False) -> dict[str, list[dict[str, str]]]: ...
    def __contains__(self, kid: object, /) -> bool: ...
    def __iter__(self) -> Iterator[_Key]: ...
    def __len__(self) -> int: ...

_Keys = KeyRing | dict[str, Any] | _Key | list[_Key] | tuple[_Key, ...]

# ---- Signed envelopes --------------------------------------------------------------------------------

@final
class SignatureInfo:
    """What a verified envelope said; `(kid, nonce)` is what a replay cache remembers."""

    kid: Final[str]
    alg: Final[str]
    iat: Final[int]
    nonce: Final[str]
    aud: Final[str | None]
    def __new__(cls, kid: str, alg: str, iat: int, nonce: str, aud: str | None) -> Self: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class EnvelopeSigner:
    """Signs messages with one private key, optionally for one audience."""

    def __new__(cls, private_key: HmacKey | Ed25519PrivateKey, audience: str | None = None) -> Self: ...
    @property
    def kid(self) -> str: ...
    @property
    def alg(self) -> str: ...
    @property
    def audience(self) -> str | None: ...
    def sign(
        self, message: dict[str, Any], *, now: float | None = None, nonce: bytes | None = None
    ) -> dict[str, Any]: ...
    def sign_response(
        self, response: dict[str, Any], *, now: float | None = None, nonce: bytes | None = None
    ) -> dict[str, Any]: ...
    def sign_bytes(self, message: dict[str, Any], *, now: float | None = None, nonce: bytes | None = None) -> bytes: ...

@final
class EnvelopeVerifier:
    """Verifies `dev.mcp-fastpath/sig` envelopes against a key ring (docs/verification.md)."""

    def __new__(
        cls, keyring: _Keys, *, audience: str | None = None, max_skew_s: float = 60, require: bool = True
    ) -> Self: ...
    @property
    def keyring(self) -> KeyRing: ...
    @property
    def audience(self) -> str | None: ...
    @property
    def max_skew_s(self) -> float: ...
    @property
    def require(self) -> bool: ...
    def verify(self, request: Any, *, now: float | None = None) -> SignatureInfo | None: ...

# ---- JWT ---------------------------------------------------------------------------------------------

@final
class Principal:
    """Who a verified token speaks for."""

    subject: Final[str | None]
    issuer: Final[str]
    audience: Final[str]
    scopes: Final[tuple[str, ...]]
    claims: Final[dict[str, Any]]
    expires_at: Final[float]
    def __new__(
        cls,
        subject: str | None,
        issuer: str,
        audience: str,
        scopes: tuple[str, ...] | list[str],
        claims: dict[str, Any],
        expires_at: float,
    ) -> Self: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class JwtVerifier:
    """Verifies compact JWS tokens (HS256, EdDSA / Ed25519); optional cache of verified tokens."""

    def __new__(
        cls,
        keyring_or_jwks: _Keys,
        *,
        issuer: str,
        audience: str,
        leeway_s: float = 30,
        algorithms: tuple[str, ...] | list[str] = ("HS256", "EdDSA", "Ed25519", "RS256", "PS256", "ES256"),
        cache_size: int = 0,
    ) -> Self: ...
    @property
    def issuer(self) -> str: ...
    @property
    def audience(self) -> str: ...
    @property
    def algorithms(self) -> tuple[str, ...]: ...
    @property
    def keyring(self) -> KeyRing: ...
    def verify(self, token: Any, *, now: float | None = None) -> Principal: ...

def sign_jwt(
    key: HmacKey | Ed25519PrivateKey, claims: dict[str, Any], *, headers: dict[str, Any] | None = None
) -> str: ...

# ---- Policy and Gate ---------------------------------------------------------------------------------

@final
class ScopePolicy:
    """`ScopePolicy({"tools/call:add": ["tools.add"], "tools/list": [], "*": ["mcp"]})`."""

    def __new__(cls, rules: Mapping[str, Iterable[str]]) -> Self: ...
    @property
    def rules(self) -> dict[str, tuple[str, ...]]: ...
    def required(self, method: str, name: str | None = None) -> tuple[str, ...]: ...
    def check(self, principal: Principal | None, request: Any) -> None: ...

@final
class Admitted:
    """An admitted message: the decoded request, the token's principal and the envelope's signature."""

    request: Final[Request | Notification]
    principal: Final[Principal | None]
    signature: Final[SignatureInfo | None]
    def __new__(
        cls, request: Request | Notification, principal: Principal | None, signature: SignatureInfo | None
    ) -> Self: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class Gate:
    """decode (+ ladder) → bearer token → JWT → signed envelope → scope policy, in one call, no I/O."""

    def __new__(
        cls,
        envelope: EnvelopeVerifier | None = None,
        jwt: JwtVerifier | None = None,
        policy: ScopePolicy | None = None,
        require_envelope: bool | None = None,
        require_token: bool | None = None,
        *,
        limits: Limits | None = None,
        supported_versions: tuple[str, ...] | list[str] | None = None,
    ) -> Self: ...
    @property
    def envelope(self) -> EnvelopeVerifier | None: ...
    @property
    def jwt(self) -> JwtVerifier | None: ...
    @property
    def policy(self) -> ScopePolicy | None: ...
    @property
    def require_envelope(self) -> bool: ...
    @property
    def require_token(self) -> bool: ...
    def admit(self, body: _Body, headers: _Headers | None = None, *, now: float | None = None) -> Admitted: ...
