"""At most once, without losing the answer: the adapters' side of the replay cache's outcome
memory (see `mcp_fastpath.replay` for the model and what a duplicate is answered).

Both adapters serve a gated request inside `Outcomes.recording(send)`, and admit a signed one with
`Outcomes.admit(signature, request, send)` instead of the bare replay check:
- a first copy (`NEW`) arms the recording: every ASGI message the request sends goes through it;
  just before the last body chunk goes out, the reply is kept in the cache (`settle`) — so a
  duplicate that arrives after the client has its answer always finds it. A 503 reply (nothing was
  dispatched) `release`s the claim instead; a request that ends without a complete reply (an
  exception, a client that left a stream) is `abandon`ed ("abandoned");
- a duplicate is answered from the cache: the kept reply (its status and body, with
  `Mcp-Fastpath-Outcome: stored`), 409 `IN_FLIGHT` + `Retry-After: 1` while the first copy runs,
  409 `OUTCOME_UNKNOWN` when its reply was not kept, -32012 for another message with the same nonce.

What is kept of a reply: a JSON body as sent (status + bytes); of an SSE stream, the JSON-RPC reply
(its last event's data) with status 200 — the notifications before it (progress, logs) are not
kept, and a duplicate gets the reply as plain JSON; an empty body (202) as is; anything else
(a non-JSON error page from an app behind `EnvelopeGuard`) is not kept ("not-json").

`subscriptions/listen` (a stream for as long as the client listens, not a request with an answer)
keeps the plain replay check: a duplicate is refused (-32012).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import anyio

from .. import Rejection
from ..replay import (
    ANSWERED,
    BEFORE_EPOCH,
    DEFAULT_MAX_OUTCOME_BYTES,
    IN_FLIGHT,
    NEW,
    OUTCOME_UNKNOWN,
    RUNNING,
    SEEN,
    admit_once,
    before_epoch,
    replay_ttl_ms,
    replayed,
)

__all__ = ["OUTCOME_HEADER", "Outcomes", "Recording"]

logger = logging.getLogger(__name__)

SIG_META = "dev.mcp-fastpath/sig"
OUTCOME_HEADER = "Mcp-Fastpath-Outcome"
_LISTEN = "subscriptions/listen"
_CONTENT_TYPE = b"content-type"

_UNKNOWN_MESSAGES = {
    "node-stopped": "the node serving this request stopped before it answered: it may or may not have run",
    "abandoned": "this request ended without an answer: it may or may not have run",
    "too-large": "this request was answered, but its answer was too large to keep",
    "dropped": "this request was answered, but its answer was dropped from a full replay memory",
    "not-json": "this request was answered, but its answer was not JSON-RPC and was not kept",
}


class StoredAnswer(Rejection):
    """Not an error: the kept reply of a request answered before, sent as it was (status, body).
    A `Rejection` so that the adapters' one "answer now, serve nothing" path sends it."""

    def __init__(self, status: int, body: bytes, request_id: Any) -> None:
        super().__init__(0, "answered before", http_status=status, request_id=request_id)
        self.headers = {OUTCOME_HEADER: "stored"}
        self.body = body

    def to_bytes(self) -> bytes:
        return self.body


def _signature_value(request: Any) -> str | None:
    """The envelope's `sig` member: names the exact signed message (with its kid and nonce)."""
    params = getattr(request, "params", None)
    meta = params.get("_meta") if isinstance(params, Mapping) else None
    envelope = meta.get(SIG_META) if isinstance(meta, Mapping) else None
    sig = envelope.get("sig") if isinstance(envelope, Mapping) else None
    return sig if isinstance(sig, str) else None


class Outcomes:
    """One adapter's outcome memory: `cache` (a replay cache) and the gate's replay window."""

    def __init__(self, cache: Any, max_skew_s: float) -> None:
        self.cache = cache
        self.max_skew_s = max_skew_s
        self.ttl_ms = replay_ttl_ms(max_skew_s)
        self.claims = callable(getattr(cache, "claim", None)) and bool(getattr(cache, "outcomes", False))
        self.max_bytes = int(getattr(cache, "max_outcome_bytes", DEFAULT_MAX_OUTCOME_BYTES))

    def recording(self, send: Any) -> Recording:
        """`async with outcomes.recording(send) as send:` around serving one request."""
        return Recording(self, send)

    async def admit(self, signature: Any, request: Any, send: Any) -> None:
        """The replay check of a signed, verified request (see the module docstring). Returns when
        it is to be served (a first copy: `send`, the recording, now keeps its reply); raises a
        `Rejection` to answer instead (`StoredAnswer` for a kept reply)."""
        request_id = getattr(request, "id", None)
        sig = _signature_value(request)
        if not self.claims or sig is None or getattr(request, "method", None) == _LISTEN:
            await admit_once(self.cache, signature, self.max_skew_s, request_id=request_id)
            return
        claim = await self.cache.claim(
            signature.kid, signature.nonce, self.ttl_ms, iat_ms=getattr(signature, "iat", None), signature=sig
        )
        verdict = claim.verdict
        if verdict == NEW:
            if isinstance(send, Recording):
                send.claim = claim
            else:  # nobody would settle it: duplicates get "unknown" rather than "running" for ever
                await self.cache.abandon(claim, "abandoned")
            return
        if verdict == ANSWERED:
            raise StoredAnswer(claim.status or 200, claim.body or b"", request_id)
        if verdict == RUNNING:
            raise Rejection(
                IN_FLIGHT,
                "request still running: send the same bytes again for its answer",
                http_status=409,
                request_id=request_id,
                headers={"Retry-After": "1"},
            )
        if verdict == SEEN:
            raise replayed(request_id)
        if verdict == BEFORE_EPOCH:
            raise before_epoch(request_id)
        reason = claim.reason or "abandoned"
        raise Rejection(
            OUTCOME_UNKNOWN,
            _UNKNOWN_MESSAGES.get(reason, f"the outcome of this request is unknown ({reason})"),
            {"reason": reason},
            http_status=409,
            request_id=request_id,
        )


class Recording:
    """An ASGI `send` that keeps the reply of an armed claim (see the module docstring); before a
    claim is armed, and after the reply is kept, it only passes messages on."""

    __slots__ = ("_chunks", "_kind", "_last_event", "_send", "_size", "_status", "_tail", "claim", "done", "outcomes")

    def __init__(self, outcomes: Outcomes, send: Any) -> None:
        self.outcomes = outcomes
        self._send = send
        self.claim: Any = None
        self.done = False
        self._status = 0
        self._kind = "empty"
        self._chunks: list[bytes] = []
        self._size = 0
        self._tail = b""
        self._last_event: bytes | None = None

    async def __aenter__(self) -> Recording:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self.claim is not None and not self.done:
            self.done = True
            # The request is over, maybe cancelled: keep that from cancelling the bookkeeping.
            with anyio.move_on_after(2, shield=True):
                try:
                    await self.outcomes.cache.abandon(self.claim, "abandoned")
                except Exception:
                    logger.warning("could not record an abandoned request in the replay cache", exc_info=True)

    async def __call__(self, message: dict[str, Any]) -> None:
        if self.claim is None or self.done:
            await self._send(message)
            return
        kind = message["type"]
        if kind == "http.response.start":
            self._status = message["status"]
            ctype = b""
            for name, value in message.get("headers") or ():
                if name.lower() == _CONTENT_TYPE:
                    ctype = value.lower()
            if ctype.startswith(b"application/json"):
                self._kind = "json"
            elif ctype.startswith(b"text/event-stream"):
                self._kind = "sse"
            else:
                self._kind = "empty" if not ctype else "other"
        elif kind == "http.response.body":
            self._take(message.get("body", b""))
            if not message.get("more_body", False):
                self.done = True
                await self._keep()
        await self._send(message)

    def _take(self, chunk: bytes) -> None:
        if not chunk:
            return
        if self._kind == "sse":
            events = (self._tail + chunk).replace(b"\r\n", b"\n").split(b"\n\n")
            self._tail = events.pop()
            for event in events:
                data = b"\n".join(line[5:].lstrip(b" ") for line in event.split(b"\n") if line.startswith(b"data:"))
                if data:
                    self._last_event = data
            return
        self._size += len(chunk)
        if self._size <= self.outcomes.max_bytes:
            self._chunks.append(chunk)
        else:
            self._chunks.clear()

    async def _keep(self) -> None:
        cache, claim, status = self.outcomes.cache, self.claim, self._status
        try:
            if status == 503:
                await cache.release(claim)  # nothing was dispatched
            elif self._kind == "sse":
                if self._last_event is None:
                    await cache.abandon(claim, "abandoned")
                else:
                    await cache.settle(claim, 200, self._last_event)
            elif self._kind == "other" or (self._kind == "empty" and self._size):
                await cache.abandon(claim, "not-json")
            elif self._size > self.outcomes.max_bytes:
                await cache.abandon(claim, "too-large")
            else:
                await cache.settle(claim, status, b"".join(self._chunks))
        except Exception:  # the reply still goes out; a duplicate will find the claim unsettled
            logger.warning("could not keep a reply in the replay cache", exc_info=True)
