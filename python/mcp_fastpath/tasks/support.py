"""`TaskSupport`: the Tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663) for an
official-SDK server (`MCPServer` or lowlevel `Server`, `mcp` 2.3), on a shared `TaskStore`.

```python
from mcp_fastpath.tasks import TaskSupport, TaskTool, run_as_task, current_task

tasks = TaskSupport(
    mcp,                                   # an MCPServer (or lowlevel Server), tools registered
    store,                                 # a TaskStore; None = MemoryTaskStore() (one process)
    tools={
        "slow_compute": "optional",        # a task when the request declares the extension, else sync
        "must_task": "required",           # a task, or -32021 when the request does not declare it
        "ask_then_work": TaskTool("required", sync_first=True),   # MRTR rounds first, see below
    },
    idempotent={"slow_compute"},           # may be re-run on another node when its node dies
    ttl_ms=3_600_000, poll_interval_ms=1000, lease_ms=15_000,
)
app = fast_http_app(mcp)                   # or fast_http_app(mcp, task_store=store) to pick the store
```

What it installs on the server (all through the SDK's public request-handler table, so it works
on the fast path and on the SDK's stock `streamable_http_app` alike):
- `capabilities.extensions["io.modelcontextprotocol/tasks"] = {}` (advertised by `server/discover`);
- a wrapper around the `tools/call` handler: for a task tool, when the request's
  `_meta["io.modelcontextprotocol/clientCapabilities"].extensions` declares the extension, the
  call is answered with a flat `CreateTaskResult` (`resultType: "task"`, `taskId`, `status`,
  `createdAt`, `lastUpdatedAt` (ISO 8601 UTC), `ttlMs`, `pollIntervalMs`) once `store.create`
  returned (durable); without the declaration an `"optional"` tool runs synchronously and a
  `"required"` one is refused with -32021 (`data.requiredCapabilities.extensions`). Other tools,
  and the legacy `task` param, are untouched;
- `tasks/get` (the `DetailedTask`, `resultType: "complete"`: `result` when completed, `error` when
  failed, the outstanding `inputRequests` when input_required), `tasks/update` (merges the
  `inputResponses` for outstanding keys; unknown or answered keys are ignored; empty ack) and
  `tasks/cancel` (cooperative, idempotent; empty ack). All three answer -32021 to a request that
  does not declare the extension and -32602 for an unknown, expired or someone else's `taskId`.
  `tasks/list` and `tasks/result` are not registered, so the SDK answers -32601.

Running a task: the work is an asyncio task on the node that created it, holding a lease in the
store (`lease_ms`, renewed every `lease_ms / 3`). It calls the server's own `tools/call` handler
(tool-argument validation, the SDK's tool-error mapping) with a request context of its own:
- a result → `completed` (a tool error is `completed` with `result.isError: true`);
- a JSON-RPC error (an `MCPError` the tool raised, or a handler failure) → `failed` with `error`;
- an `InputRequiredResult` (the MRTR shape) → `input_required` with its `inputRequests`; once
  `tasks/update` delivered a response for every outstanding key, the tool is called again with
  those `inputResponses` and the `requestState` it returned (kept in memory, never on the wire) —
  the same tool code serves MRTR retries and tasks. Keys are unique over the task's lifetime (a
  key the tool reuses is suffixed `~N` on the wire and mapped back).
Cancellation (`tasks/cancel` on any node) sets the store's flag; the runner sees it within
`check_interval_ms` (at once when the cancel lands on its own node), cancels the tool's coroutine
(and sets the SDK's `cancel_requested` event for tools that poll it) and settles `cancelled`.
A sync tool running in a worker thread cannot be interrupted: the task settles when it returns.

Orphans: a sweeper on every node (every `lease_ms / 4`, at most 1 s) calls `claim_orphans`; a
claimed task whose cancellation was requested settles `cancelled`, an `idempotent` one is re-run
from the start on the claiming node (no request context then: `current_admission()` is None and
the client capabilities are the extension alone; status message "Restarted: …"), any other
settles `failed` with -32603 "Task lost: …". The messages say what is known: the node running it
stopped renewing its lease — it stopped, or could not reach the task store for longer than the
lease (a shorter outage changes nothing: the runner keeps its task, see `runner`). A `tasks/get`
that finds a lapsed lease sweeps at once, so a dead node's task reaches a terminal status within
about one lease. The sweeper also calls `store.purge` every 30 s (finished tasks expire `ttlMs`
after they finished; the store enforces it on `get` too).

Store outages: a `tasks/*` call (or a task-creating `tools/call`) whose store cannot be reached is
answered -32603 "task store unavailable" with HTTP 503 and `Retry-After: 1` (nothing was done);
the store logs one line per outage, and the sweeper skips its rounds quietly until it is back.

Task-first MRTR (`TaskTool(..., sync_first=True)`): the tool is called synchronously first, so it
can gather input through ordinary MRTR rounds (`InputRequiredResult` on `tools/call`, no task);
once it has what it needs it calls `run_as_task()`, which raises `RunAsTask` (an `MCPError`
-32021 with the tasks `requiredCapabilities`, so a server without `TaskSupport` still answers
correctly) — the call then becomes a task that re-invokes the tool with the same `inputResponses`
and `requestState`; inside the task `run_as_task()` returns and the tool does the work.

Ownership: with a Gate, a task belongs to the principal that created it (`jwt:<issuer> <subject>`,
or `key:<kid>` for an envelope-only caller); any other principal gets the same -32602 as for an
unknown id. Without a Gate the SDK's own bearer auth (`get_access_token()`) is used when present,
else tasks are unowned (the >= 192-bit random id is the capability).

In a task, `current_task()` gives the `RunningTask` (its `task_id`, `tool`,
`set_status_message(...)`); outside one it is None.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
import weakref
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from .._protocol import MODERN_VERSION, TASKS_EXTENSION
from .._sdk import lowlevel_server
from ._wire import INTERNAL_ERROR, now_ms
from .handlers import TaskHandlers, TaskIdParams, UpdateParams
from .runner import CreatingRequest, Run, TaskRunner
from .store import StoreUnavailable, TaskRecord, TaskStore
from .tool_api import Support, TaskTool

__all__ = ["TaskSupport"]

logger = logging.getLogger(__name__)

_PURGE_EVERY_S = 30.0
_LEASE_LAPSED = (
    "the node running it stopped renewing its lease (it stopped, or lost the task store for longer than the lease)"
)


_ATTACHED: weakref.WeakKeyDictionary[Any, TaskSupport] = weakref.WeakKeyDictionary()


class TaskSupport:
    """The Tasks extension on `server` (see the module docstring). Attach it after the tools are
    registered (the `tools/call` handler it wraps must exist); one per server."""

    def __init__(
        self,
        server: Any,
        store: TaskStore | None = None,
        *,
        tools: Mapping[str, Support | TaskTool],
        idempotent: Iterable[str] = (),
        ttl_ms: int = 3_600_000,
        poll_interval_ms: int = 1_000,
        lease_ms: int = 15_000,
        check_interval_ms: int = 100,
        sweep_interval_ms: int | None = None,
        node_id: str | None = None,
    ) -> None:
        self.lowlevel = lowlevel_server(server, "TaskSupport")
        if self.lowlevel in _ATTACHED:
            raise ValueError("this server already has a TaskSupport")
        for name, number in (("ttl_ms", ttl_ms), ("poll_interval_ms", poll_interval_ms), ("lease_ms", lease_ms)):
            if type(number) is not int or number < 1:
                raise ValueError(f"{name} must be a positive int")
        idempotent = set(idempotent)
        specs: dict[str, TaskTool] = {}
        for name, declared in tools.items():
            spec = TaskTool(declared) if isinstance(declared, str) else declared
            if not isinstance(spec, TaskTool):
                raise TypeError(f"tools[{name!r}] must be 'optional', 'required' or a TaskTool")
            if name in idempotent and not spec.idempotent:
                spec = replace(spec, idempotent=True)
            specs[name] = spec
        unknown = idempotent - set(specs)
        if unknown:
            raise ValueError(f"idempotent names tools that are not task tools: {sorted(unknown)}")
        self.tools = specs
        self.store: TaskStore | None = store
        self._owns_store = False
        self.ttl_ms = ttl_ms
        self.poll_interval_ms = poll_interval_ms
        self.lease_ms = lease_ms
        self.check_interval_s = max(check_interval_ms, 10) / 1000
        sweep = sweep_interval_ms if sweep_interval_ms is not None else min(1000, max(50, lease_ms // 4))
        self.sweep_interval_s = sweep / 1000
        self.node_id = node_id or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._sweeper: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lifespan_state: Any = None
        self._last_purge = 0.0

        entry = self.lowlevel.get_request_handler("tools/call")
        if entry is None:
            raise ValueError("the server has no tools/call handler to wrap (register its tools first)")
        self.call_params_type = entry.params_type
        self.call_tool = entry.handler  # the server's own tools/call handler, wrapped below
        self.runner = TaskRunner(
            self.active_store,
            node_id=self.node_id,
            lease_ms=lease_ms,
            check_interval_s=self.check_interval_s,
            call_tool=self.call_tool,
            call_params_type=self.call_params_type,
        )
        self.handlers = handlers = TaskHandlers(self)
        self.lowlevel.add_request_handler("tools/call", entry.params_type, handlers.on_tools_call)
        self.lowlevel.add_request_handler("tasks/get", TaskIdParams, handlers.on_get)
        self.lowlevel.add_request_handler("tasks/update", UpdateParams, handlers.on_update)
        self.lowlevel.add_request_handler("tasks/cancel", TaskIdParams, handlers.on_cancel)
        self.lowlevel.extensions[TASKS_EXTENSION] = {}
        self._wrap_lifespan()
        _ATTACHED[self.lowlevel] = self

    # -- configuration -----------------------------------------------------------------------------

    @classmethod
    def of(cls, server: Any) -> TaskSupport | None:
        """The `TaskSupport` attached to `server` (an MCPServer or lowlevel Server), if any."""
        return _ATTACHED.get(lowlevel_server(server, "TaskSupport"))

    @classmethod
    def bind_store(cls, server: Any, store: TaskStore | str) -> TaskSupport:
        """Serve `server`'s tasks from `store`: a `TaskStore`, or a spec for `open_task_store`
        (`memory`, `sqlite:///PATH`, `redis://…`; opened here, closed on shutdown). The server
        needs a `TaskSupport` (which declares the task tools)."""
        support = cls.of(server)
        if support is None:
            raise ValueError(
                "a task store was given but the server has no TaskSupport: "
                "declare its task tools with mcp_fastpath.tasks.TaskSupport(server, tools={...})"
            )
        if isinstance(store, str):
            from .spec import open_task_store

            support.use_store(open_task_store(store), owned=True)
        else:
            support.use_store(store)
        return support

    def use_store(self, store: TaskStore, *, owned: bool = False) -> None:
        """Serve tasks from `store` (before the app starts). `owned`: close it on shutdown."""
        if self.runner.runs or self._sweeper is not None:
            raise RuntimeError("the task store cannot change while tasks run")
        self.store = store
        self._owns_store = owned

    def active_store(self) -> TaskStore:
        if self.store is None:
            from .memory import MemoryTaskStore

            self.store = MemoryTaskStore()
            self._owns_store = True
        return self.store

    # -- lifecycle ---------------------------------------------------------------------------------

    def _wrap_lifespan(self) -> None:
        inner = self.lowlevel.lifespan
        support = self

        @contextlib.asynccontextmanager
        async def lifespan(server: Any) -> AsyncIterator[Any]:
            async with inner(server) as state:
                support._lifespan_state = state
                support.start()
                try:
                    yield state
                finally:
                    await support.aclose()

        self.lowlevel.lifespan = lifespan

    def start(self) -> None:
        """Start the orphan sweeper on the running loop (idempotent; also done lazily)."""
        loop = asyncio.get_running_loop()
        if self._sweeper is not None and not self._sweeper.done() and self._loop is loop:
            return
        self._loop = loop
        self._sweeper = loop.create_task(self._sweep_forever(), name="mcp-fastpath-task-sweeper")

    def ensure_started(self) -> None:
        """Start the sweeper if it is not running (a request arrived before the lifespan ran)."""
        if self._sweeper is None or self._sweeper.done():
            self.start()

    async def aclose(self) -> None:
        """Stop the sweeper and this node's runners (their leases lapse; another node's sweeper
        settles or re-runs them), and close the store if this object opened it."""
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(BaseException):
                await sweeper
        await self.runner.stop()
        if self._owns_store and self.store is not None:
            with contextlib.suppress(Exception):
                await self.store.close()

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except asyncio.CancelledError:
                raise
            except StoreUnavailable:
                pass  # the store logs its outage once; try again next round
            except Exception:
                logger.exception("task sweeper: a sweep failed")
            await asyncio.sleep(self.sweep_interval_s)

    async def sweep_once(self) -> int:
        """Claim orphaned tasks and settle (or re-run) them; purge expired ones now and then.
        Returns how many orphans were claimed."""
        store = self.active_store()
        now = now_ms()
        claimed = await store.claim_orphans(self.node_id, lease_ms=self.lease_ms, now_ms=now)
        for record in claimed:
            await self._adopt(record)
        if time.monotonic() - self._last_purge >= _PURGE_EVERY_S:
            self._last_purge = time.monotonic()
            await store.purge(now_ms=now)
        return len(claimed)

    async def _adopt(self, record: TaskRecord) -> None:
        store = self.active_store()
        now = now_ms()
        spec = self.tools.get(record.tool)
        if record.cancel_requested:
            await store.transition(record.task_id, now_ms=now, status="cancelled", status_message="Cancelled")
            return
        if spec is not None and record.idempotent:
            try:
                params = self.call_params_type.model_validate(
                    {"name": record.tool, "arguments": record.arguments}, by_name=False
                )
            except ValidationError:
                params = None
            if params is not None:
                fresh = await store.transition(
                    record.task_id,
                    now_ms=now,
                    status="working",
                    input_requests=None,
                    input_responses=None,
                    status_message=f"Restarted from the beginning: {_LEASE_LAPSED}",
                )
                if fresh is not None:
                    origin = CreatingRequest(
                        MODERN_VERSION, None, {"extensions": {TASKS_EXTENSION: {}}}, self._lifespan_state, None, None
                    )
                    self.runner.spawn(Run(fresh, spec, params, origin))
                return
        message = f"Task lost: {_LEASE_LAPSED}, and the tool is not idempotent"
        await store.transition(
            record.task_id,
            now_ms=now,
            status="failed",
            status_message=message,
            error={"code": INTERNAL_ERROR, "message": message},
        )

    # -- tools/call --------------------------------------------------------------------------------
