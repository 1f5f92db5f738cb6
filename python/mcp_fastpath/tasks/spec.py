"""`open_task_store(spec)`: a task store from a string, as `serve --task-store` and
`fast_http_app(task_store=...)` take it."""

from __future__ import annotations

from typing import Any

from .memory import MemoryTaskStore
from .store import TaskStore

__all__ = ["open_task_store"]


def open_task_store(spec: str, **options: Any) -> TaskStore:
    """A task store from a spec string; `options` go to the store's constructor.

    - `memory` → `MemoryTaskStore()`
    - `sqlite:///relative/path.db`, `sqlite:////absolute/path.db` → `SqliteTaskStore(path)`
    - `redis://…`, `rediss://…`, `unix://…` → `RedisTaskStore(spec)` (the URL goes to redis-py as is);
      `redis+cluster://host:port` (or `rediss+cluster://`) → `RedisTaskStore` on Redis Cluster
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
    if lowered.startswith(("redis://", "rediss://", "unix://", "redis+cluster://", "rediss+cluster://")):
        from .redis import RedisTaskStore

        return RedisTaskStore(text, **options)
    raise ValueError(f"unknown task store {spec!r}: expected 'memory', 'sqlite:///PATH' or 'redis://HOST:PORT/DB'")
