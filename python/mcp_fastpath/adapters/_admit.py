"""Admission, as both adapters run it: decode (no gate), or the gate in force + the replay check;
one retry after a key refetch when a token names a key the gate does not hold; challenges that
name the resource metadata; and the request's facts for the access log and metrics.

The gate comes from a provider (`mcp_fastpath.gates`) per request, so keys that rotate (a JWKS,
a reloaded key file) take effect without a restart. A token signed with a key id the gate lacks
is refused with "unknown key id"; the provider is then asked for newer keys (a rate-limited JWKS
refetch, or a key file that changed) and, when it has them, the request is admitted once more
with the new gate. So the request that first meets a rotated key waits for that one fetch
(bounded by `JwksSource.unknown_key_wait_s`) instead of failing.
"""

from __future__ import annotations

from typing import Any

from .. import Rejection, Unauthenticated, decode
from ..replay import StoreUnavailable
from . import _observe
from ._outcomes import Outcomes

__all__ = ["Admitter", "UNKNOWN_KEY"]

# The message both backends give a token whose key id the key ring lacks (docs/verification.md).
UNKNOWN_KEY = "unknown key id"


class Admitter:
    """`await admitter.admit(scope, body)` → `(message, principal, signature)`, or a `Rejection`
    ready to send (challenge headers included).

    `gates`: a gate provider or None (decode only, with `limits`); `replay`: the replay cache;
    `metadata`: a `ResourceMetadataService` or None; `metrics`: a `Metrics` or None; `observed`:
    whether an `ObservedApp` runs around the app (then the request's `Record` is filled in)."""

    __slots__ = ("gates", "replay", "limits", "metadata", "metrics", "observed", "outcomes")

    def __init__(
        self,
        gates: Any,
        *,
        replay: Any = None,
        limits: Any = None,
        metadata: Any = None,
        metrics: Any = None,
        observed: bool = False,
    ):
        self.gates = gates
        self.replay = replay
        self.limits = limits
        self.metadata = metadata
        self.metrics = metrics
        self.observed = observed
        # At most once (adapters/_outcomes.py): the replay check of a signed request that keeps its
        # answer for duplicates. The window is the envelope verifier's (a provider's gates share it).
        envelope = gates.envelope if gates is not None else None
        window = envelope.max_skew_s if envelope is not None else 0.0
        self.outcomes = Outcomes(replay, window) if replay is not None else None

    async def admit(self, scope: dict[str, Any], body: bytes, send: Any) -> tuple[Any, Any, Any]:
        """`send` is the request's (a `Recording` when `outcomes` is on: through it, a first copy's
        answer is kept)."""
        headers = scope["headers"]
        record = scope.get(_observe.RECORD_KEY) if self.observed else None
        gates = self.gates
        if gates is None:
            try:
                message = decode(body, headers) if self.limits is None else decode(body, headers, limits=self.limits)
            except Rejection as rejection:
                if record is not None:
                    record.rejected(rejection, body)
                raise
            if record is not None:
                record.admitted_at, record.message = _observe.now(), message
            return message, None, None

        gate = gates.current()
        try:
            try:
                admitted = gate.admit(body, headers)
            except Unauthenticated as rejection:
                if rejection.message != UNKNOWN_KEY or not await gates.refresh_unknown_key(gate):
                    raise
                gate = gates.current()
                admitted = gate.admit(body, headers)  # once, with the newer keys
            message = admitted.request
            signature = admitted.signature
            if signature is not None and self.outcomes is not None:
                await self._check_replay(signature, message, send)
        except Rejection as rejection:
            if record is not None:
                record.rejected(rejection, body)
            if self.metadata is not None:
                raise self.metadata.challenge(rejection, scope, body, gate) from None
            raise
        principal = admitted.principal
        if record is not None:
            # The record's fields, set here rather than through a method: this runs per request.
            record.admitted_at = _observe.now()
            record.message, record.principal, record.signature = message, principal, signature
        return message, principal, signature

    async def _check_replay(self, signature: Any, message: Any, send: Any) -> None:
        try:
            await self.outcomes.admit(signature, message, send)  # type: ignore[union-attr]
        except StoreUnavailable:
            self._replay_error()
            raise
        except Rejection:
            raise  # a replay, a kept answer, a request still running: the cache did its job
        except Exception:
            self._replay_error()  # the cache itself failed
            raise

    def _replay_error(self) -> None:
        if self.metrics is not None:
            self.metrics.replay_cache_errors.inc()

    async def verify_bearer(self, scope: dict[str, Any], token: str) -> tuple[Any, Any]:
        """A handshake-era request's bearer token (`legacy="bearer"`): `(principal, gate)`, with
        the same unknown-key retry; a `Rejection` carries the challenge headers."""
        gate = self.gates.current()
        try:
            try:
                return gate.jwt.verify(token), gate
            except Unauthenticated as rejection:
                if rejection.message != UNKNOWN_KEY or not await self.gates.refresh_unknown_key(gate):
                    raise
                gate = self.gates.current()
                return gate.jwt.verify(token), gate
        except Rejection as rejection:
            raise self.challenged(rejection, scope, None, gate) from None

    def challenged(self, rejection: Any, scope: dict[str, Any], body: bytes | None, gate: Any = None) -> Any:
        """`rejection` with the resource-metadata challenge (unchanged without metadata)."""
        if self.metadata is None:
            return rejection
        return self.metadata.challenge(rejection, scope, body, gate if gate is not None else self.gates.current())
