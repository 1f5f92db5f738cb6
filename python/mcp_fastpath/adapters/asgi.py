"""`EnvelopeGuard`: per-request verification in front of any ASGI MCP app.

```python
from mcp_fastpath.adapters.asgi import EnvelopeGuard
app = EnvelopeGuard(inner_app, gate=fp.Gate(...), replay=fp.MemoryReplayCache())
```

For a POST whose `MCP-Protocol-Version` header names a stateless-era version (anything but the
handshake revisions 2024-11-05 … 2025-11-25, the SDK's own routing rule), the guard buffers the
body, runs `gate.admit(body, headers)` (decode + ladder + JWT + envelope + scope policy, one call)
and the replay check (`admit_once`), and then either answers the `Rejection` itself (its HTTP
status, its headers such as `WWW-Authenticate`, `to_bytes()` as the body) without running the
app, or hands the request on with `scope["mcp_fastpath"] = {"principal", "signature",
"request"}` (also readable through `mcp_fastpath.adapters.current_admission()` when the app
serves the request in the same task) and the buffered body replayed to the app, unchanged.

Everything else (GET, DELETE, OPTIONS, lifespan and websocket scopes, handshake-era POSTs and POSTs
without the header) passes through untouched: the guard verifies the stateless protocol only.
Put handshake-era traffic behind the app's own authentication (for the SDK: its `token_verifier`,
see `mcp_fastpath.adapters.sdk.FastTokenVerifier`), or pass `guard_all_posts=True` to run the gate on
every POST to the app (then a handshake-era client must send 2026-07-28 bodies, which it cannot).
"""

from __future__ import annotations

from typing import Any

from .. import Limits, Rejection, admit_once
from ._asgi import HANDSHAKE_VERSIONS, BodyTooLarge, Disconnected, header, read_body, replaying_receive, send_response
from ._context import set_admission

__all__ = ["EnvelopeGuard"]


class EnvelopeGuard:
    """ASGI middleware: `EnvelopeGuard(app, gate=Gate(...), replay=None, max_skew_s=60)`.

    `replay`: a replay cache (`MemoryReplayCache`, `RedisReplayCache`); None skips the replay check
    (then a captured signed request can be replayed within the signature's time window).
    `max_body_bytes`: bodies beyond it are refused with 413 before they are buffered whole
    (default: `Limits().max_body_bytes`, the codec's own limit).
    """

    def __init__(
        self,
        app: Any,
        *,
        gate: Any,
        replay: Any = None,
        max_skew_s: float = 60,
        max_body_bytes: int | None = None,
        guard_all_posts: bool = False,
    ) -> None:
        if gate is None:
            raise ValueError("EnvelopeGuard needs a gate")
        self.app = app
        self.gate = gate
        self.replay = replay
        self.max_skew_s = max_skew_s
        self.max_body_bytes = Limits().max_body_bytes if max_body_bytes is None else int(max_body_bytes)
        self.guard_all_posts = guard_all_posts

    def _guarded(self, scope: dict[str, Any]) -> bool:
        if scope["type"] != "http" or scope["method"] != "POST":
            return False
        if self.guard_all_posts:
            return True
        version = header(scope["headers"], b"mcp-protocol-version")
        return version is not None and version not in HANDSHAKE_VERSIONS

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not self._guarded(scope):
            await self.app(scope, receive, send)
            return
        try:
            body = await read_body(receive, self.max_body_bytes)
        except Disconnected:
            return
        except BodyTooLarge:
            rejection = Rejection(-32600, f"Request body exceeds {self.max_body_bytes} bytes", http_status=413)
            await send_response(send, 413, rejection.to_bytes())
            return
        try:
            admitted = self.gate.admit(body, scope["headers"])
            request = admitted.request
            if admitted.signature is not None and self.replay is not None:
                await admit_once(self.replay, admitted.signature, self.max_skew_s, request_id=request.id)
        except Rejection as rejection:
            await send_response(send, rejection.http_status, rejection.to_bytes(), rejection.headers)
            return
        scope = dict(scope)  # the app's scope, not the server's: ours to extend
        set_admission(scope, admitted.principal, admitted.signature, request)
        await self.app(scope, replaying_receive(body, receive), send)
