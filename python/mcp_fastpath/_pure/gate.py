"""`Gate`: the one-call admission pipeline the adapters use. Twin of the native `Gate`.

decode (+ ladder) → bearer token (`Authorization: Bearer <t>`, else `_meta["dev.mcp-fastpath/token"]`)
→ JWT → signed envelope → scope policy. No I/O: the replay check on the returned
`SignatureInfo` is the caller's (`mcp_fastpath.replay.admit_once`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import Rejection, Unauthenticated
from ..limits import Limits
from .envelope import EnvelopeVerifier, SignatureInfo
from .headers import header_pairs
from .jcs import SIG_KEY
from .jwt import JwtVerifier, Principal
from .ladder import decode, served_versions
from .messages import Notification, Request
from .policy import ScopePolicy

__all__ = ["Admitted", "Gate", "TOKEN_KEY"]

TOKEN_KEY = "dev.mcp-fastpath/token"
_NOT_ONE_MESSAGE = "Body must be a single JSON-RPC request or notification object"
_NO_TOKEN = object()


class Admitted:
    """An admitted message: the decoded `request` (a `Request`, or a `Notification` with both
    other fields `None`), the token's `principal` (or None) and the envelope's `signature`
    (`SignatureInfo`, or None)."""

    __slots__ = ("request", "principal", "signature")

    def __init__(
        self, request: Request | Notification, principal: Principal | None, signature: SignatureInfo | None
    ) -> None:
        object.__setattr__(self, "request", request)
        object.__setattr__(self, "principal", principal)
        object.__setattr__(self, "signature", signature)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Admitted is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is not Admitted:
            return NotImplemented
        return (self.request, self.principal, self.signature) == (other.request, other.principal, other.signature)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Admitted(request={self.request!r}, principal={self.principal!r}, signature={self.signature!r})"


class Gate:
    """`Gate(envelope=EnvelopeVerifier(...), jwt=JwtVerifier(...), policy=ScopePolicy(...))`.

    `require_envelope` / `require_token` default to True when that verifier is given (and must
    not be True without it). With `require_envelope=False` an unsigned request passes with
    `signature=None`, a signed one is still verified; likewise for tokens.
    `limits` and `supported_versions` are passed to `decode`.
    """

    __slots__ = ("_envelope", "_jwt", "_policy", "_require_envelope", "_require_token", "_limits", "_supported")

    def __init__(
        self,
        envelope: EnvelopeVerifier | None = None,
        jwt: JwtVerifier | None = None,
        policy: ScopePolicy | None = None,
        require_envelope: bool | None = None,
        require_token: bool | None = None,
        *,
        limits: Limits | None = None,
        supported_versions: tuple[str, ...] | list[str] | None = None,
    ) -> None:
        if envelope is not None and not isinstance(envelope, EnvelopeVerifier):
            raise TypeError(f"envelope must be an EnvelopeVerifier, not {type(envelope).__name__}")
        if jwt is not None and not isinstance(jwt, JwtVerifier):
            raise TypeError(f"jwt must be a JwtVerifier, not {type(jwt).__name__}")
        if policy is not None and not isinstance(policy, ScopePolicy):
            raise TypeError(f"policy must be a ScopePolicy, not {type(policy).__name__}")
        if limits is not None and not isinstance(limits, Limits):
            raise TypeError("limits must be a Limits")
        require_envelope = envelope is not None if require_envelope is None else bool(require_envelope)
        require_token = jwt is not None if require_token is None else bool(require_token)
        if require_envelope and envelope is None:
            raise ValueError("require_envelope=True needs an EnvelopeVerifier")
        if require_token and jwt is None:
            raise ValueError("require_token=True needs a JwtVerifier")
        self._envelope = envelope
        self._jwt = jwt
        self._policy = policy
        self._require_envelope = require_envelope
        self._require_token = require_token
        self._limits = limits
        self._supported = served_versions(supported_versions)  # refused here, as the native Gate does

    @property
    def envelope(self) -> EnvelopeVerifier | None:
        return self._envelope

    @property
    def jwt(self) -> JwtVerifier | None:
        return self._jwt

    @property
    def policy(self) -> ScopePolicy | None:
        return self._policy

    @property
    def require_envelope(self) -> bool:
        return self._require_envelope

    @property
    def require_token(self) -> bool:
        return self._require_token

    def admit(self, body: bytes, headers: Any = None, *, now: float | None = None) -> Admitted:
        """Decode and verify one POST body. Raises `Rejection` (decode), `Unauthenticated`,
        `Forbidden`; every rejection after decoding carries the request id."""
        if isinstance(headers, Iterator):
            # Read twice below (routing headers, then the token): a one-shot iterator is read once.
            headers = list(headers)
        message = decode(body, headers, limits=self._limits, supported_versions=self._supported)
        if isinstance(message, Notification):
            return Admitted(message, None, None)
        if not isinstance(message, Request):
            # Only reachable with headers=None (a response posted on a non-HTTP transport).
            raise Rejection(-32600, _NOT_ONE_MESSAGE)
        request_id = message.id

        principal: Principal | None = None
        if self._jwt is not None:
            token = _bearer_token(message, headers, request_id)
            if token is _NO_TOKEN:
                if self._require_token:
                    raise Unauthenticated(
                        -32010, "authentication required", request_id=request_id, headers={"WWW-Authenticate": "Bearer"}
                    )
            else:
                try:
                    principal = self._jwt.verify(token, now=now)
                except Rejection as exc:
                    raise exc.with_request_id(request_id) from None

        signature: SignatureInfo | None = None
        if self._envelope is not None:
            if SIG_KEY in message.meta or self._require_envelope:
                if SIG_KEY not in message.meta:
                    raise Unauthenticated(
                        -32010, "request is not signed", request_id=request_id, headers={"WWW-Authenticate": "Bearer"}
                    )
                try:
                    signature = self._envelope.verify(message, now=now)
                except Rejection as exc:
                    raise exc.with_request_id(request_id) from None

        if self._policy is not None:
            self._policy.check(principal, message)
        return Admitted(message, principal, signature)

    def __repr__(self) -> str:
        return (
            f"Gate(envelope={self._envelope!r}, jwt={self._jwt!r}, policy={self._policy!r}, "
            f"require_envelope={self._require_envelope!r}, require_token={self._require_token!r})"
        )


def _bearer_token(request: Request, headers: Any, request_id: Any) -> Any:
    """The presented token: `Authorization: Bearer <t>` (scheme case-insensitive), else the
    `_meta` token member (any JSON value: a non-string is then a malformed token), else `_NO_TOKEN`.
    Two `Authorization` headers are refused (a proxy may have read the other one)."""
    if headers is not None:
        values = [value for name, value in header_pairs(headers) if name == "authorization"]
        if len(values) > 1:
            raise Unauthenticated(
                -32010,
                "malformed token",
                request_id=request_id,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if values:
            scheme, _, rest = values[0].strip(" \t").partition(" ")
            if scheme.lower() == "bearer":
                return rest.lstrip(" ")
    if TOKEN_KEY in request.meta:
        return request.meta[TOKEN_KEY]
    return _NO_TOKEN
