"""The Tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663) on a shared task store.

Stores (all implement `TaskStore`):
- `MemoryTaskStore()`: one process.
- `SqliteTaskStore(path)`: several worker processes on one machine (one SQLite file, WAL).
- `RedisTaskStore(url)`: a fleet (needs the optional `redis` package; imported on first use).

`open_task_store(spec)` builds one from a string: `memory`, `sqlite:///PATH`, `redis://…`/`rediss://…`.

Serving tasks (`runtime.py`, needs the `mcp` SDK; imported on first use): `TaskSupport(server, store,
tools={...})` on an official-SDK server, `TaskTool`, `run_as_task()` / `RunAsTask`, `current_task()`,
`TASKS_EXTENSION`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .memory import MemoryTaskStore
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

_RUNTIME = frozenset({"TASKS_EXTENSION", "RunAsTask", "RunningTask", "TaskSupport", "TaskTool", "current_task", "run_as_task"})


def __getattr__(name: str) -> Any:
    # Lazy, so that `redis` stays optional (and sqlite3 is only loaded when used).
    if name == "SqliteTaskStore":
        from .sqlite import SqliteTaskStore

        return SqliteTaskStore
    if name == "RedisTaskStore":
        from .redis import RedisTaskStore

        return RedisTaskStore
    if name in _RUNTIME:
        from . import runtime

        return getattr(runtime, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_task_store(spec: str, **options: Any) -> TaskStore:
    """A task store from a spec string; `options` go to the store's constructor.

    - `memory` → `MemoryTaskStore()`
    - `sqlite:///relative/path.db`, `sqlite:////absolute/path.db` → `SqliteTaskStore(path)`
    - `redis://…`, `rediss://…`, `unix://…` → `RedisTaskStore(spec)` (the URL goes to redis-py as is)
    """
    if not isinstance(spec, str):
        raise TypeError("the task store spec is a str")
    text = spec.strip()
    lowered = text.lower()
    if lowered == "memory":
        if options:
            raise TypeError(f"MemoryTaskStore takes no options: {sorted(options)}")
        return MemoryTaskStore()
    if lowered.startswith("sqlite://"):
        if not lowered.startswith("sqlite:///"):
            raise ValueError(f"task store {spec!r}: use sqlite:///relative.db or sqlite:////absolute/path.db")
        path = text[len("sqlite:///") :]
        if not path or path == ":memory:" or path.startswith("file:") or "?" in path:
            raise ValueError(
                f"task store {spec!r}: needs a file path (sqlite:///tasks.db); for one process use 'memory'"
            )
        from .sqlite import SqliteTaskStore

        return SqliteTaskStore(path, **options)
    if lowered.startswith(("redis://", "rediss://", "unix://")):
        from .redis import RedisTaskStore

        return RedisTaskStore(text, **options)
    raise ValueError(f"unknown task store {spec!r}: expected 'memory', 'sqlite:///PATH' or 'redis://HOST:PORT/DB'")
