"""Wire facts the Tasks modules share: error codes and texts, timestamps, the SDK error type."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from .._protocol import TASKS_EXTENSION

MISSING_CAPABILITY = -32021
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
NOT_FOUND = "Failed to retrieve task: Task not found"


def now_ms() -> int:
    return int(time.time() * 1000)


def iso(ms: int) -> str:
    """Unix milliseconds as the ISO 8601 UTC timestamp the extension's `createdAt` uses."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def required_data() -> dict[str, Any]:
    """The -32021 `data` naming the missing client capability: the tasks extension."""
    return {"requiredCapabilities": {"extensions": {TASKS_EXTENSION: {}}}}


def mcp_error(code: int, message: str, data: Any = None) -> Exception:
    from mcp.shared.exceptions import MCPError

    return MCPError(code=code, message=message, data=data)
