"""`HealthCheck`: liveness and readiness endpoints in front of any ASGI app, for load balancers and
orchestrators.

```python
from mcp_fastpath.adapters.health import HealthCheck
app = HealthCheck(app, checks={"replay": replay_cache.ping, "tasks": task_store.ping})
```

- `GET /livez` (`live_path`): 200 `{"status": "ok"}` while the process serves HTTP at all. No I/O:
  a liveness probe that failed when Redis is down would restart every node of a fleet at once.
- `GET /healthz` (`ready_path`): readiness. Runs every check (a zero-argument coroutine function
  that raises when its store cannot be used, e.g. `RedisReplayCache.ping`, `RedisTaskStore.ping`)
  concurrently, each within `timeout_s`, and answers 200 `{"status": "ok", "checks": {"replay":
  "ok", …}}` or 503 `{"status": "unavailable", "checks": {"replay": "unavailable: …", …}}` with
  `Retry-After: 1`. Take a node out of rotation on 503; every signed request it would serve
  needs the replay cache. `HEAD` answers the same status without a body.
- Both answer `Cache-Control: no-store`. Any other request goes to `app`, untouched.

`mcp-fastpath serve` installs it with the replay cache and task store it opened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson

from ._http import send_response

__all__ = ["HealthCheck"]

Check = Callable[[], Awaitable[Any]]


class HealthCheck:
    """ASGI middleware: `HealthCheck(app, checks={name: async_fn}, ready_path="/healthz",
    live_path="/livez", timeout_s=1.0)`; see the module docstring."""

    def __init__(
        self,
        app: Any,
        *,
        checks: Mapping[str, Check] | None = None,
        ready_path: str = "/healthz",
        live_path: str = "/livez",
        timeout_s: float = 1.0,
    ) -> None:
        self.app = app
        self.checks = dict(checks or {})
        self.ready_path = ready_path
        self.live_path = live_path
        self.timeout_s = timeout_s

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)  # `.state`, `.routes`, … of the app behind

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            path = scope["path"]
            if path == self.live_path:
                await self._answer(scope, send, 200, {"status": "ok"})
                return
            if path == self.ready_path:
                results = await self.run_checks()
                ready = all(value == "ok" for value in results.values())
                body = {"status": "ok" if ready else "unavailable", "checks": results}
                await self._answer(scope, send, 200 if ready else 503, body)
                return
        await self.app(scope, receive, send)

    async def run_checks(self) -> dict[str, str]:
        """Every check's verdict: "ok" or "unavailable: <why>"."""
        names = list(self.checks)
        outcomes = await asyncio.gather(*(self._one(self.checks[name]) for name in names))
        return dict(zip(names, outcomes, strict=True))

    async def _one(self, check: Check) -> str:
        try:
            await asyncio.wait_for(check(), self.timeout_s)
        except TimeoutError:
            return f"unavailable: no answer within {self.timeout_s:g} s"
        except Exception as exc:
            return f"unavailable: {getattr(exc, 'message', None) or type(exc).__name__}"
        return "ok"

    @staticmethod
    async def _answer(scope: dict[str, Any], send: Any, status: int, body: dict[str, Any]) -> None:
        payload = orjson.dumps(body)
        headers = {"Cache-Control": "no-store"}
        if status == 503:
            headers["Retry-After"] = "1"
        if scope["method"] == "HEAD":
            await send({"type": "http.response.start", "status": status, "headers": _raw(headers, len(payload))})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        await send_response(send, status, payload, headers)


def _raw(headers: dict[str, str], length: int) -> list[tuple[bytes, bytes]]:
    raw = [(b"content-length", str(length).encode()), (b"content-type", b"application/json")]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    return raw
