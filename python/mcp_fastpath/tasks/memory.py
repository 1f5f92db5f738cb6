"""`MemoryTaskStore`: the task store of one process (tests, single-node servers, `--tasks memory`).

Every operation runs synchronously under one lock with no `await` in between, so it is atomic for
the coroutines of an event loop and for threads alike. Records are copied in and out (the JSON
fields go through orjson), so a caller mutating a returned record's `arguments` or `result` does
not change the stored task, and a value SQLite or Redis could not store is refused here too.
Nothing survives the process; use `SqliteTaskStore` or `RedisTaskStore` to share tasks.
"""

from __future__ import annotations

import threading
from typing import Any

import orjson

from . import _rules
from .store import TaskRecord

__all__ = ["MemoryTaskStore"]


def _copy_json(value: Any) -> Any:
    return None if value is None else orjson.loads(orjson.dumps(value))


def _detach(record: TaskRecord) -> TaskRecord:
    return record.evolve(**{name: _copy_json(getattr(record, name)) for name in _rules.JSON_FIELDS})


class MemoryTaskStore:
    """An in-process `TaskStore`."""

    def __init__(self) -> None:
        self._tasks: dict[str, TaskRecord] = {}
        self._active: set[str] = set()  # non-terminal task ids (claim_orphans candidates)
        self._finished: dict[str, int] = {}  # task id → expiry (purge candidates)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._tasks)

    def _put(self, record: TaskRecord) -> None:
        task_id = record.task_id
        self._tasks[task_id] = record
        if record.terminal:
            self._active.discard(task_id)
            self._finished[task_id] = _rules.expires_at(record)  # type: ignore[assignment]
        else:
            self._active.add(task_id)

    def _live(self, task_id: str, now_ms: int) -> TaskRecord | None:
        record = self._tasks.get(task_id)
        if record is None or _rules.expired(record, now_ms):
            return None
        return record

    async def create(self, record: TaskRecord) -> None:
        _rules.check_record(record)
        record = _detach(record)
        with self._lock:
            if record.task_id in self._tasks:
                raise ValueError(f"task {record.task_id!r} already exists")
            self._put(record)

    async def get(self, task_id: str, *, now_ms: int) -> TaskRecord | None:
        with self._lock:
            record = self._live(task_id, now_ms)
        return None if record is None else _detach(record)

    async def transition(
        self, task_id: str, *, now_ms: int, expect: frozenset[str] | None = None, **changes: Any
    ) -> TaskRecord | None:
        _rules.check_changes(changes)
        changes = {name: _copy_json(value) if name in _rules.JSON_FIELDS else value for name, value in changes.items()}
        with self._lock:
            record = self._live(task_id, now_ms)
            new = None if record is None else _rules.transition(record, now_ms, expect, changes)
            if new is not None:
                self._put(new)
        return None if new is None else _detach(new)

    async def add_input_responses(self, task_id: str, responses: dict[str, Any], *, now_ms: int) -> TaskRecord | None:
        responses = _copy_json(dict(responses))
        with self._lock:
            record = self._live(task_id, now_ms)
            new = None if record is None else _rules.add_input_responses(record, responses, now_ms)
            if new is not None:
                self._put(new)
        return None if new is None else _detach(new)

    async def take_input_responses(self, task_id: str, *, now_ms: int) -> dict[str, Any]:
        with self._lock:
            record = self._live(task_id, now_ms)
            if record is None or record.terminal or not record.input_responses:
                return {}
            self._put(record.evolve(input_responses=None))
            return record.input_responses

    async def request_cancel(self, task_id: str, *, now_ms: int) -> TaskRecord | None:
        with self._lock:
            record = self._live(task_id, now_ms)
            if record is None:
                return None
            new = _rules.request_cancel(record, now_ms)
            if new is not None:
                self._put(new)
                record = new
        return _detach(record)

    async def renew_lease(self, task_id: str, node_id: str, *, lease_ms: int, now_ms: int) -> TaskRecord | None:
        _rules.check_lease_args(node_id, lease_ms)
        with self._lock:
            record = self._live(task_id, now_ms)
            new = None if record is None else _rules.renew_lease(record, node_id, lease_ms, now_ms)
            if new is not None:
                self._put(new)
        return None if new is None else _detach(new)

    async def claim_orphans(self, node_id: str, *, lease_ms: int, now_ms: int, limit: int = 100) -> list[TaskRecord]:
        _rules.check_lease_args(node_id, lease_ms)
        claimed: list[TaskRecord] = []
        if limit < 1:
            return claimed
        with self._lock:
            orphans = [self._tasks[i] for i in self._active if _rules.orphaned(self._tasks[i], now_ms)]
            orphans.sort(key=lambda r: (r.lease_expires_ms, r.created_at_ms, r.task_id))
            for record in orphans[:limit]:
                new = _rules.claim(record, node_id, lease_ms, now_ms)
                self._put(new)
                claimed.append(new)
        return [_detach(r) for r in claimed]

    async def purge(self, *, now_ms: int) -> int:
        with self._lock:
            gone = [task_id for task_id, at in self._finished.items() if at <= now_ms]
            for task_id in gone:
                del self._finished[task_id]
                del self._tasks[task_id]
        return len(gone)

    async def close(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"MemoryTaskStore({len(self._tasks)} tasks)"
