"""The Tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663) on a shared task store.

Stores (all implement `TaskStore`):
- `MemoryTaskStore()`: one process.
- `SqliteTaskStore(path)`: several worker processes on one machine (one SQLite file, WAL).
- `RedisTaskStore(url)`: a fleet (needs the optional `redis` package; imported on first use).

`open_task_store(spec)` builds one from a string: `memory`, `sqlite:///PATH`, `redis://…`/`rediss://…`.

Serving tasks (needs the `mcp` SDK; imported on first use): `TaskSupport(server, store, tools={...})`
on an official-SDK server (`support.py`: configuration, lifecycle, orphan sweeper; `handlers.py`:
`tools/call` and `tasks/*`; `runner.py`: running a task under a lease), and the tool side
(`tool_api.py`): `TaskTool`, `run_as_task()` / `RunAsTask`, `current_task()`; `TASKS_EXTENSION`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .memory import MemoryTaskStore
from .spec import open_task_store
from .store import STATUSES, TERMINAL, TaskRecord, TaskStore

if TYPE_CHECKING:  # pragma: no cover
    from .redis import RedisTaskStore
    from .sqlite import SqliteTaskStore

__all__ = [
    "STATUSES",
    "TERMINAL",
    "MemoryTaskStore",
    "RedisTaskStore",
    "SqliteTaskStore",
    "TaskRecord",
    "TaskStore",
    "open_task_store",
    # runtime (lazy: needs the mcp SDK)
    "TASKS_EXTENSION",
    "RunAsTask",
    "RunningTask",
    "TaskSupport",
    "TaskTool",
    "current_task",
    "run_as_task",
]

_TOOL_API = frozenset({"RunAsTask", "RunningTask", "TaskTool", "current_task", "run_as_task"})


def __getattr__(name: str) -> Any:
    # Lazy, so that `redis` stays optional (and sqlite3 is only loaded when used).
    if name == "SqliteTaskStore":
        from .sqlite import SqliteTaskStore

        return SqliteTaskStore
    if name == "RedisTaskStore":
        from .redis import RedisTaskStore

        return RedisTaskStore
    if name == "TaskSupport":
        from .support import TaskSupport

        return TaskSupport
    if name == "TASKS_EXTENSION":
        from .._protocol import TASKS_EXTENSION

        return TASKS_EXTENSION
    if name in _TOOL_API:
        from . import tool_api

        return getattr(tool_api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
