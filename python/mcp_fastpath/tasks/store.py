"""The `TaskStore` contract every task store implements (memory, SQLite, Redis).

A task is the durable record of one task-augmented `tools/call` (ext-tasks, SEP-2663). Any node
of a fleet may create, poll, update or cancel it; the node running it holds a lease it renews,
and a task whose lease lapses is settled by whichever node notices (`claim_orphans`).

Rules every implementation keeps (tests/test_task_stores.py checks them once per store):
- `create` returns only when the record is durable (other processes can `get` it).
- Terminal statuses (`completed`, `failed`, `cancelled`) never change again: `transition` from a
  terminal status returns None and writes nothing (compare-and-set on the status).
- `request_cancel` is idempotent; it sets `cancel_requested` (the runner sees it on its next
  `get`/`renew_lease`), and a task with no live lease is settled `cancelled` right away.
- A finished task expires `ttl_ms` after it finished (`get` then returns None, `purge` removes it).
- All times are Unix milliseconds from the caller (`now_ms`), so tests are deterministic.

Details the three stores share (memory.py, sqlite.py, redis.py; `_rules.py` holds them as pure
functions):
- A lease is live while `lease_owner` is set and `lease_expires_ms > now_ms`; a non-terminal task
  without a live lease is an orphan (`claim_orphans` takes it; `request_cancel` settles it).
- `updated_at_ms` becomes `now_ms` on `transition` (unless `changes` set it), on
  `add_input_responses` and when `request_cancel` writes; lease renewal/claims and
  `take_input_responses` leave it alone (it is the task's `lastUpdatedAt`).
- `transition` may change any field but `task_id` and `finished_at_ms` (ValueError; an unknown
  field is a TypeError); it does not touch the lease, so a runner finishing a task need not
  release it.
- Records are snapshots: mutating a returned record's dicts does not change the stored task, and
  JSON fields must be JSON-serialisable (orjson).
- A finished task that has expired but was not purged yet still blocks `create` with its id
  (task ids are server-generated UUIDs, so this never matters in practice).
- A store whose backing service cannot be reached right now (Redis down or failing over, an
  SQLite file locked past its busy timeout) raises `StoreUnavailable`: the caller may retry later;
  the `tasks/*` handlers answer it with HTTP 503 and `Retry-After`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol

__all__ = ["TERMINAL", "STATUSES", "StoreUnavailable", "TaskRecord", "TaskStore"]

STATUSES = ("working", "input_required", "completed", "cancelled", "failed")
TERMINAL = frozenset({"completed", "cancelled", "failed"})


class StoreUnavailable(Exception):
    """The store's backing service cannot be reached right now: the call failed (or its reply was
    lost). Retry later."""


@dataclass(frozen=True)
class TaskRecord:
    task_id: str
    # Who may see the task: a stable principal key (issuer + subject) when a Gate is on, else None.
    owner: str | None
    status: str
    created_at_ms: int
    updated_at_ms: int
    ttl_ms: int
    poll_interval_ms: int
    # What to run: the tool and its arguments (re-run on another node when `idempotent`).
    tool: str
    arguments: dict[str, Any] = field(default_factory=dict)
    idempotent: bool = False
    status_message: str | None = None
    result: dict[str, Any] | None = None  # CallToolResult, status "completed"
    error: dict[str, Any] | None = None  # JSON-RPC error object, status "failed"
    input_requests: dict[str, Any] | None = None  # status "input_required" (MRTR inputRequests)
    input_responses: dict[str, Any] | None = None  # delivered by tasks/update, consumed by the runner
    cancel_requested: bool = False
    lease_owner: str | None = None  # node id of the runner
    lease_expires_ms: int = 0
    finished_at_ms: int | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def evolve(self, **changes: Any) -> TaskRecord:
        return replace(self, **changes)


class TaskStore(Protocol):
    async def create(self, record: TaskRecord) -> None:
        """Store a new task durably; a duplicate `task_id` raises `ValueError`."""

    async def get(self, task_id: str, *, now_ms: int) -> TaskRecord | None:
        """The task, or None when unknown or expired."""

    async def transition(
        self, task_id: str, *, now_ms: int, expect: frozenset[str] | None = None, **changes: Any
    ) -> TaskRecord | None:
        """Apply `changes` (TaskRecord fields) atomically if the task exists, is not terminal and
        (when given) its status is in `expect`; returns the new record, else None. Setting a
        terminal `status` also sets `finished_at_ms = now_ms`."""

    async def add_input_responses(self, task_id: str, responses: dict[str, Any], *, now_ms: int) -> TaskRecord | None:
        """Merge `responses` into `input_responses` (tasks/update); None when unknown/terminal."""

    async def take_input_responses(self, task_id: str, *, now_ms: int) -> dict[str, Any]:
        """Atomically read and clear `input_responses` (the runner consumes them); `{}` when there
        are none or the task is unknown or terminal."""

    async def request_cancel(self, task_id: str, *, now_ms: int) -> TaskRecord | None:
        """Mark cancellation requested (idempotent); None when unknown. Returns the current record:
        unchanged when terminal, `cancelled` when it had no live lease, else with
        `cancel_requested=True` for the runner to honour."""

    async def renew_lease(self, task_id: str, node_id: str, *, lease_ms: int, now_ms: int) -> TaskRecord | None:
        """Extend the lease held by `node_id` to `now_ms + lease_ms` (also when it lapsed but nobody
        claimed it yet); None when the task is unknown, terminal or leased to another node (or to
        no node: a lease is taken by `create` with `lease_owner` set, or by `claim_orphans`)."""

    async def claim_orphans(self, node_id: str, *, lease_ms: int, now_ms: int, limit: int = 100) -> list[TaskRecord]:
        """Non-terminal tasks whose lease lapsed, now leased to `node_id` (atomically, so two
        nodes never claim the same task); the caller fails them or re-runs idempotent ones."""

    async def purge(self, *, now_ms: int) -> int:
        """Delete expired finished tasks; the number deleted."""

    async def close(self) -> None: ...

    # Optional: `async def ping(self) -> None`, raising `StoreUnavailable` when the store cannot
    # be used (readiness probes; `mcp_fastpath.adapters.health`).
