"""Running a gate provider's `start()` / `aclose()` with the app's lifespan: the first JWKS fetch
before the server accepts requests, the background refresh and the SIGHUP handler while it runs.

- `hook_starlette(app, start, stop)`: for the SDK's Starlette app (`fast_http_app`), around its
  own lifespan (`router.lifespan_context`), so it also runs wherever that context is entered.
- `LifespanHooks(app, start, stop)`: for any ASGI app (`EnvelopeGuard`): the `lifespan` scope's
  startup runs `start()` before the app's own startup, shutdown runs `stop()` after the app's
  (the hooks ride on the app's own lifespan handling: an app that ignores lifespan events gets
  none; every MCP server framework's Starlette app handles them).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

__all__ = ["LifespanHooks", "hook_starlette"]

Hook = Callable[[], Awaitable[None]]


def hook_starlette(app: Any, start: Hook, stop: Hook) -> None:
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(scope_app: Any) -> AsyncIterator[Any]:
        await start()
        try:
            async with inner(scope_app) as state:
                yield state
        finally:
            await stop()

    app.router.lifespan_context = lifespan


class LifespanHooks:
    """`app` whose lifespan runs `start` first and `stop` last (see the module docstring)."""

    def __init__(self, app: Any, start: Hook, stop: Hook) -> None:
        self.app = app
        self.start = start
        self.stop = stop

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        started = False
        failed = False

        async def hooked_receive() -> dict[str, Any]:
            nonlocal started, failed
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.start()
                except Exception as exc:
                    failed = True
                    await send({"type": "lifespan.startup.failed", "message": f"{type(exc).__name__}: {exc}"})
                    raise
                started = True
            elif message["type"] == "lifespan.shutdown" and started:
                started = False
                await self.stop()
            return message

        try:
            await self.app(scope, hooked_receive, send)
        except Exception:
            if failed:
                return
            raise
        finally:
            if started:  # the app returned without a shutdown message (no lifespan support)
                await self.stop()
