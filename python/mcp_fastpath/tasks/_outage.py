"""A task store that cannot be reached, on the wire: `tasks/*` (and a task-creating `tools/call`)
answer -32603 "task store unavailable" with HTTP 503 and `Retry-After: 1`, nothing done, and no
traceback logged per request (the store logs its outage once)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from mcp.shared.exceptions import MCPError

from ._wire import INTERNAL_ERROR
from .store import StoreUnavailable

__all__ = ["TaskStoreUnavailable", "store_outage_is_503"]

H = TypeVar("H", bound=Callable[..., Awaitable[Any]])


class TaskStoreUnavailable(MCPError):
    """-32603 on the wire; `http_status` 503 (the fast path answers an error that names its own
    status with it, and every 503 of the adapters carries `Retry-After`)."""

    http_status = 503

    def __init__(self) -> None:
        super().__init__(INTERNAL_ERROR, "task store unavailable: retry shortly")


def store_outage_is_503(handler: H) -> H:
    """A request handler whose `StoreUnavailable` becomes `TaskStoreUnavailable`."""

    @functools.wraps(handler)
    async def handle(*args: Any, **kwargs: Any) -> Any:
        try:
            return await handler(*args, **kwargs)
        except StoreUnavailable:
            raise TaskStoreUnavailable() from None

    return handle  # type: ignore[return-value]
