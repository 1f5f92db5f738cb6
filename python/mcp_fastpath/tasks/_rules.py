"""The `TaskStore` rules as pure functions on `TaskRecord`s (shared by the memory and SQLite stores).

Each function takes the current record and the caller's `now_ms` and returns the new record, or
None when the operation must not write. The stores only add atomicity around them (a lock, or an
SQLite write transaction); the Redis store implements the same rules in Lua.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from .store import STATUSES, TaskRecord

FIELDS = tuple(f.name for f in fields(TaskRecord))
# `task_id` is the key; `finished_at_ms` follows the status (set when it becomes terminal).
IMMUTABLE = frozenset({"task_id", "finished_at_ms"})
MUTABLE = frozenset(FIELDS) - IMMUTABLE
JSON_FIELDS = ("arguments", "result", "error", "input_requests", "input_responses")


_INTS = ("created_at_ms", "updated_at_ms", "ttl_ms", "poll_interval_ms", "lease_expires_ms")
_STRS = ("tool",)
_OPTIONAL_STRS = ("owner", "status_message", "lease_owner")
_BOOLS = ("idempotent", "cancel_requested")
_OPTIONAL_DICTS = ("result", "error", "input_requests", "input_responses")


def check_field(name: str, value: Any) -> None:
    """Refuse a value no store could keep (the same rule for all three stores)."""
    if name == "status":
        if value not in STATUSES:
            raise ValueError(f"unknown task status {value!r}")
    elif name in _INTS:
        if type(value) is not int or value < 0:
            raise ValueError(f"{name} must be a non-negative int")
    elif name == "finished_at_ms":
        if value is not None and (type(value) is not int or value < 0):
            raise ValueError("finished_at_ms must be None or a non-negative int")
    elif name in _STRS:
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str")
    elif name in _OPTIONAL_STRS:
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} must be a str or None")
    elif name in _BOOLS:
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be a bool")
    elif name == "arguments":
        if not isinstance(value, dict):
            raise TypeError("arguments must be a dict")
    elif name in _OPTIONAL_DICTS:
        if value is not None and not isinstance(value, dict):
            raise TypeError(f"{name} must be a dict or None")


def check_record(record: TaskRecord) -> None:
    if not isinstance(record, TaskRecord):
        raise TypeError("record must be a TaskRecord")
    if not isinstance(record.task_id, str) or not record.task_id:
        raise ValueError("task_id must be a non-empty str")
    for name in FIELDS:
        check_field(name, getattr(record, name))
    if record.terminal and record.finished_at_ms is None:
        raise ValueError("a terminal record needs finished_at_ms")


def check_changes(changes: dict[str, Any]) -> None:
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise TypeError(f"not TaskRecord fields: {sorted(unknown)}")
    fixed = set(changes) & IMMUTABLE
    if fixed:
        raise ValueError(f"transition cannot change {sorted(fixed)}")
    for name, value in changes.items():
        check_field(name, value)


def expires_at(record: TaskRecord) -> int | None:
    """When a finished task expires (Unix ms), None while it is not finished."""
    if record.finished_at_ms is None:
        return None
    return record.finished_at_ms + record.ttl_ms


def expired(record: TaskRecord, now_ms: int) -> bool:
    at = expires_at(record)
    return at is not None and at <= now_ms


def lease_live(record: TaskRecord, now_ms: int) -> bool:
    return record.lease_owner is not None and record.lease_expires_ms > now_ms


def orphaned(record: TaskRecord, now_ms: int) -> bool:
    return not record.terminal and not lease_live(record, now_ms)


def finish(record: TaskRecord, now_ms: int) -> TaskRecord:
    """Set `finished_at_ms` when the record just became terminal."""
    if record.terminal and record.finished_at_ms is None:
        return record.evolve(finished_at_ms=now_ms)
    return record


def transition(
    record: TaskRecord, now_ms: int, expect: frozenset[str] | None, changes: dict[str, Any]
) -> TaskRecord | None:
    if record.terminal or (expect is not None and record.status not in expect):
        return None
    new = record.evolve(**{"updated_at_ms": now_ms, **changes})
    return finish(new, now_ms)


def add_input_responses(record: TaskRecord, responses: dict[str, Any], now_ms: int) -> TaskRecord | None:
    if record.terminal:
        return None
    merged = dict(record.input_responses or {})
    merged.update(responses)
    return record.evolve(input_responses=merged, updated_at_ms=now_ms)


def request_cancel(record: TaskRecord, now_ms: int) -> TaskRecord | None:
    """The record after a cancel request, or None when nothing changes (terminal, or already
    requested while the lease is live)."""
    if record.terminal:
        return None
    live = lease_live(record, now_ms)
    if record.cancel_requested and live:
        return None
    new = record.evolve(cancel_requested=True, updated_at_ms=now_ms)
    if not live:
        new = finish(new.evolve(status="cancelled"), now_ms)
    return new


def renew_lease(record: TaskRecord, node_id: str, lease_ms: int, now_ms: int) -> TaskRecord | None:
    if record.terminal or record.lease_owner != node_id:
        return None
    return record.evolve(lease_expires_ms=now_ms + lease_ms)


def claim(record: TaskRecord, node_id: str, lease_ms: int, now_ms: int) -> TaskRecord:
    return record.evolve(lease_owner=node_id, lease_expires_ms=now_ms + lease_ms)


def check_lease_args(node_id: Any, lease_ms: Any) -> None:
    if not isinstance(node_id, str) or not node_id:
        raise ValueError("node_id must be a non-empty str")
    if type(lease_ms) is not int or lease_ms < 1:
        raise ValueError("lease_ms must be a positive int")
