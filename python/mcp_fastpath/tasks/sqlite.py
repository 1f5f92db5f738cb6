"""`SqliteTaskStore`: the embedded task store for several worker processes on one machine.

One SQLite file in WAL mode, shared by every process that opens it (uvicorn/gunicorn workers,
a supervisor's restarts). Standard library `sqlite3` only.

- Durability: `synchronous=FULL` by default. In WAL mode FULL fsyncs the WAL on every commit, so
  when `create` returns the task survives a process crash *and* an OS crash or power loss — the
  spec forbids answering `CreateTaskResult` before the task is durable, and clients are told to
  persist task ids and resume polling after a restart. `synchronous="NORMAL"` (an fsync only at
  checkpoints) survives process crashes but may lose the last commits on power loss; it is
  faster for write-heavy loads (every lease renewal is a commit) and is offered as an option.
- Concurrency: every read-modify-write runs in `BEGIN IMMEDIATE` (the database write lock is
  taken before the row is read), so compare-and-set transitions, lease renewal and orphan claims
  are atomic across processes; `busy_timeout` makes a writer wait for the lock instead of failing.
  Readers never wait for writers (WAL). The file must be on a local file system (WAL uses shared
  memory), not NFS.
- The event loop never blocks: each store has one dedicated thread owning one connection, and
  every call is handed to it (`run_in_executor`). Calls of one store object run one at a time.
- Indexes: `orphan_at_ms` (non-terminal tasks by lease expiry, for `claim_orphans`) and
  `expires_at_ms` (finished tasks by expiry, for `purge`), both partial.
- A database still locked after `busy_timeout_ms`, or a file that cannot be read or written (a
  full or failing disk), raises `StoreUnavailable` (HTTP 503 for `tasks/*`): the call may be
  retried; a runner keeps its task while its lease lasts.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import orjson

from . import _rules
from .store import StoreUnavailable, TaskRecord

__all__ = ["SqliteTaskStore"]

T = TypeVar("T")

SCHEMA_VERSION = 1
_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY,
    owner TEXT,
    status TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    ttl_ms INTEGER NOT NULL,
    poll_interval_ms INTEGER NOT NULL,
    tool TEXT NOT NULL,
    arguments BLOB NOT NULL,
    idempotent INTEGER NOT NULL,
    status_message TEXT,
    result BLOB,
    error BLOB,
    input_requests BLOB,
    input_responses BLOB,
    cancel_requested INTEGER NOT NULL,
    lease_owner TEXT,
    lease_expires_ms INTEGER NOT NULL,
    finished_at_ms INTEGER,
    -- derived, for the indexes: when a non-terminal task becomes an orphan (0 when unleased),
    -- and when a finished task expires (NULL otherwise)
    orphan_at_ms INTEGER,
    expires_at_ms INTEGER
)""",
    "CREATE INDEX IF NOT EXISTS tasks_orphan_at ON tasks (orphan_at_ms) WHERE orphan_at_ms IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS tasks_expires_at ON tasks (expires_at_ms) WHERE expires_at_ms IS NOT NULL",
)

_COLUMNS = _rules.FIELDS + ("orphan_at_ms", "expires_at_ms")
_SELECT = f"SELECT {', '.join(_rules.FIELDS)} FROM tasks"
_INSERT = f"INSERT INTO tasks ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"
_UPDATE = f"UPDATE tasks SET {', '.join(f'{c} = ?' for c in _COLUMNS[1:])} WHERE task_id = ?"
_JSON = frozenset(_rules.JSON_FIELDS)
_BOOL = frozenset({"idempotent", "cancel_requested"})


def _dumps(value: Any) -> bytes | None:
    return None if value is None else orjson.dumps(value)


def _row(record: TaskRecord) -> list[Any]:
    values: list[Any] = []
    for name in _rules.FIELDS:
        value = getattr(record, name)
        if name in _JSON:
            value = _dumps(value)
        elif name in _BOOL:
            value = int(bool(value))
        values.append(value)
    if record.terminal:
        orphan_at = None
    else:
        orphan_at = record.lease_expires_ms if record.lease_owner is not None else 0
    values.append(orphan_at)
    values.append(_rules.expires_at(record))
    return values


def _record(row: tuple[Any, ...]) -> TaskRecord:
    values: dict[str, Any] = {}
    for name, value in zip(_rules.FIELDS, row, strict=True):
        if name in _JSON:
            value = None if value is None else orjson.loads(value)
        elif name in _BOOL:
            value = bool(value)
        values[name] = value
    if values["arguments"] is None:
        values["arguments"] = {}
    return TaskRecord(**values)


_TRANSIENT = ("locked", "busy", "disk i/o error", "unable to open", "database or disk is full")


def _transient(exc: sqlite3.OperationalError) -> bool:
    """A failure of the file, not of the statement: another process holds the lock past the busy
    timeout, or the disk failed. (A wrong statement is a bug and stays an OperationalError.)"""
    text = str(exc).lower()
    return any(word in text for word in _TRANSIENT)


class SqliteTaskStore:
    """A `TaskStore` in one SQLite file, safe for several processes (and store objects) at once."""

    def __init__(
        self, path: str | os.PathLike[str], *, synchronous: str = "FULL", busy_timeout_ms: int = 10_000
    ) -> None:
        path = os.fspath(path)
        if not isinstance(path, str) or not path or path == ":memory:" or path.startswith("file:"):
            raise ValueError("SqliteTaskStore needs a file path (for one process use MemoryTaskStore)")
        synchronous = str(synchronous).upper()
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError("synchronous must be FULL, EXTRA or NORMAL")
        if type(busy_timeout_ms) is not int or busy_timeout_ms < 0:
            raise ValueError("busy_timeout_ms must be a non-negative int")
        self.path = path
        self.synchronous = synchronous
        self.busy_timeout_ms = busy_timeout_ms
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mcp-fastpath-tasks-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._close_lock = threading.Lock()

    # ---- the store's thread ------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = self._conn
        if conn is not None:
            return conn
        # isolation_level=None: no implicit transactions, every write below says BEGIN IMMEDIATE.
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout_ms / 1000, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"{self.path}: could not switch to WAL (journal_mode={mode})")
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version not in (0, SCHEMA_VERSION):
                    raise sqlite3.DatabaseError(
                        f"{self.path}: task store schema v{version}, this code knows v{SCHEMA_VERSION}"
                    )
                # statement by statement: executescript() would COMMIT the transaction first
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            out = fn(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return out

    @staticmethod
    def _load(conn: sqlite3.Connection, task_id: str, now_ms: int) -> TaskRecord | None:
        row = conn.execute(f"{_SELECT} WHERE task_id = ?", (task_id,)).fetchone()
        if row is None:
            return None
        record = _record(row)
        return None if _rules.expired(record, now_ms) else record

    @staticmethod
    def _store(conn: sqlite3.Connection, record: TaskRecord) -> None:
        values = _row(record)
        conn.execute(_UPDATE, values[1:] + [record.task_id])

    def _modify(self, task_id: str, now_ms: int, rule: Callable[[TaskRecord], TaskRecord | None]) -> TaskRecord | None:
        def body(conn: sqlite3.Connection) -> TaskRecord | None:
            record = self._load(conn, task_id, now_ms)
            new = None if record is None else rule(record)
            if new is not None:
                self._store(conn, new)
            return new

        return self._write(body)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise RuntimeError("the task store is closed")
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        except sqlite3.OperationalError as exc:
            if _transient(exc):
                raise StoreUnavailable(f"task store {self.path}: {exc}") from None
            raise

    # ---- TaskStore -----------------------------------------------------------------------------

    async def create(self, record: TaskRecord) -> None:
        _rules.check_record(record)
        values = _row(record)  # serialises (and checks) the JSON fields on the caller's side

        def body(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(_INSERT, values)
            except sqlite3.IntegrityError:
                raise ValueError(f"task {record.task_id!r} already exists") from None

        await self._run(self._write, body)

    async def get(self, task_id: str, *, now_ms: int) -> TaskRecord | None:
        def body() -> TaskRecord | None:
            return self._load(self._connect(), task_id, now_ms)

        return await self._run(body)

    async def transition(
        self, task_id: str, *, now_ms: int, expect: frozenset[str] | None = None, **changes: Any
    ) -> TaskRecord | None:
        _rules.check_changes(changes)
        for name in _JSON & changes.keys():
            _dumps(changes[name])  # refuse what cannot be stored before taking the write lock
        return await self._run(self._modify, task_id, now_ms, lambda r: _rules.transition(r, now_ms, expect, changes))

    async def add_input_responses(self, task_id: str, responses: dict[str, Any], *, now_ms: int) -> TaskRecord | None:
        responses = orjson.loads(orjson.dumps(dict(responses)))
        return await self._run(
            self._modify, task_id, now_ms, lambda r: _rules.add_input_responses(r, responses, now_ms)
        )

    async def take_input_responses(self, task_id: str, *, now_ms: int) -> dict[str, Any]:
        taken: dict[str, Any] = {}

        def rule(record: TaskRecord) -> TaskRecord | None:
            if record.terminal or not record.input_responses:
                return None
            taken.update(record.input_responses)
            return record.evolve(input_responses=None)

        await self._run(self._modify, task_id, now_ms, rule)
        return taken

    async def request_cancel(self, task_id: str, *, now_ms: int) -> TaskRecord | None:
        def body(conn: sqlite3.Connection) -> TaskRecord | None:
            record = self._load(conn, task_id, now_ms)
            if record is None:
                return None
            new = _rules.request_cancel(record, now_ms)
            if new is None:
                return record
            self._store(conn, new)
            return new

        return await self._run(self._write, body)

    async def renew_lease(self, task_id: str, node_id: str, *, lease_ms: int, now_ms: int) -> TaskRecord | None:
        _rules.check_lease_args(node_id, lease_ms)
        return await self._run(
            self._modify, task_id, now_ms, lambda r: _rules.renew_lease(r, node_id, lease_ms, now_ms)
        )

    async def claim_orphans(self, node_id: str, *, lease_ms: int, now_ms: int, limit: int = 100) -> list[TaskRecord]:
        _rules.check_lease_args(node_id, lease_ms)
        if limit < 1:
            return []

        def body(conn: sqlite3.Connection) -> list[TaskRecord]:
            rows = conn.execute(
                f"{_SELECT} WHERE orphan_at_ms IS NOT NULL AND orphan_at_ms <= ? ORDER BY orphan_at_ms LIMIT ?",
                (now_ms, limit),
            ).fetchall()
            claimed = []
            for row in rows:
                new = _rules.claim(_record(row), node_id, lease_ms, now_ms)
                self._store(conn, new)
                claimed.append(new)
            return claimed

        return await self._run(self._write, body)

    async def purge(self, *, now_ms: int, batch: int = 1000) -> int:
        """Delete expired finished tasks, `batch` rows per write transaction (so other processes
        are not kept waiting for the write lock behind one huge delete)."""

        def body(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "DELETE FROM tasks WHERE rowid IN (SELECT rowid FROM tasks"
                " WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= ? LIMIT ?)",
                (now_ms, batch),
            ).rowcount

        def purge_all() -> int:
            total = 0
            while True:
                deleted = self._write(body)
                total += deleted
                if deleted < batch:
                    return total

        return await self._run(purge_all)

    async def ping(self) -> None:
        """Readiness: raises `StoreUnavailable` when the file cannot be read."""

        def body() -> None:
            self._connect().execute("SELECT 1 FROM tasks LIMIT 1").fetchall()

        await self._run(body)

    async def close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True

        def body() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, body)
        finally:
            self._executor.shutdown(wait=False)

    def __repr__(self) -> str:
        return f"SqliteTaskStore({self.path!r}, synchronous={self.synchronous!r})"
