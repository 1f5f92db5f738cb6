"""What a tool sees of the Tasks extension: how it is declared (`TaskTool`), the task it runs in
(`current_task()`, `RunningTask`), and how a `sync_first` tool continues as a task
(`run_as_task()`, `RunAsTask`). Needs the `mcp` SDK."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any, Literal

from mcp.shared.exceptions import MCPError

from ._wire import MISSING_CAPABILITY, now_ms, required_data

__all__ = ["RunAsTask", "RunningTask", "Support", "TaskTool", "current_task", "run_as_task"]

Support = Literal["optional", "required"]


@dataclass(frozen=True)
class TaskTool:
    """How one tool runs as a task.

    - `support`: "optional" (a task when the request declares the extension, else synchronous) or
      "required" (a task, else -32021);
    - `idempotent`: may be re-run from the start on another node when its node dies (else such a
      task settles `failed`);
    - `sync_first`: call the tool synchronously first (MRTR rounds on `tools/call`); it becomes a
      task when it calls `run_as_task()` (see the `mcp_fastpath.tasks.support` docstring)."""

    support: Support = "optional"
    idempotent: bool = False
    sync_first: bool = False

    def __post_init__(self) -> None:
        if self.support not in ("optional", "required"):
            raise ValueError(f"task support must be 'optional' or 'required', not {self.support!r}")


class RunAsTask(MCPError):
    """Raised by `run_as_task()` in a `sync_first` tool: "continue as a task". An `MCPError`
    (-32021, the tasks `requiredCapabilities`) so that where no `TaskSupport` catches it the
    client is told what it is missing."""

    def __init__(self, message: str = "This tool call can only continue as a task") -> None:
        super().__init__(code=MISSING_CAPABILITY, message=message, data=required_data())


@dataclass(slots=True)
class RunningTask:
    """The task a tool is running in (`current_task()`)."""

    task_id: str
    tool: str
    store: Any  # the TaskStore the task lives in

    async def set_status_message(self, message: str | None) -> None:
        """Publish a `statusMessage` for this task (seen by the next `tasks/get`)."""
        await self.store.transition(
            self.task_id, now_ms=now_ms(), expect=frozenset({"working", "input_required"}), status_message=message
        )


CURRENT: contextvars.ContextVar[RunningTask | None] = contextvars.ContextVar("mcp_fastpath_task", default=None)


def current_task() -> RunningTask | None:
    """The task the calling tool runs in, or None when it runs for a plain request."""
    return CURRENT.get()


def run_as_task() -> None:
    """In a `sync_first` task tool: continue this call as a task. Raises `RunAsTask` when the tool
    runs for a plain request; returns (and the tool goes on) when it already runs in its task."""
    if CURRENT.get() is None:
        raise RunAsTask()
