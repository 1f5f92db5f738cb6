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
the client capabilities are the extension alone), any other settles `failed` with -32603 "task
lost". A `tasks/get` that finds a lapsed lease sweeps at once, so a dead node's task reaches a
terminal status within about one lease. The sweeper also calls `store.purge` every 30 s (finished
tasks expire `ttlMs` after they finished; the store enforces it on `get` too).

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
import contextvars
import logging
import os
import secrets
import socket
import time
import weakref
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .store import TaskRecord, TaskStore

if TYPE_CHECKING:  # the SDK adapter imports the SDK; the runtime imports it lazily
    from ..adapters.sdk import SilentDispatchContext

__all__ = [
    "TASKS_EXTENSION",
    "RunAsTask",
    "RunningTask",
    "TaskSupport",
    "TaskTool",
    "current_task",
    "run_as_task",
]

logger = logging.getLogger(__name__)

TASKS_EXTENSION = "io.modelcontextprotocol/tasks"
_MISSING_CAPABILITY = -32021
_INVALID_PARAMS = -32602
_INTERNAL_ERROR = -32603
_CAPS_META = "io.modelcontextprotocol/clientCapabilities"
_INFO_META = "io.modelcontextprotocol/clientInfo"
_VERSION_META = "io.modelcontextprotocol/protocolVersion"
_DEFAULT_VERSION = "2026-07-28"
_PURGE_EVERY_S = 30.0
_NOT_FOUND = "Failed to retrieve task: Task not found"

Support = Literal["optional", "required"]


def _now_ms() -> int:
    return int(time.time() * 1000)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _required_data() -> dict[str, Any]:
    return {"requiredCapabilities": {"extensions": {TASKS_EXTENSION: {}}}}


def _mcp_error(code: int, message: str, data: Any = None) -> Exception:
    from mcp.shared.exceptions import MCPError

    return MCPError(code=code, message=message, data=data)


# ---------------------------------------------------------------------------------------------
# Declaring task tools.


@dataclass(frozen=True)
class TaskTool:
    """How one tool runs as a task.

    - `support`: "optional" (a task when the request declares the extension, else synchronous) or
      "required" (a task, else -32021);
    - `idempotent`: may be re-run from the start on another node when its node dies (else such a
      task settles `failed`);
    - `sync_first`: call the tool synchronously first (MRTR rounds on `tools/call`); it becomes a
      task when it calls `run_as_task()` (see the module docstring)."""

    support: Support = "optional"
    idempotent: bool = False
    sync_first: bool = False

    def __post_init__(self) -> None:
        if self.support not in ("optional", "required"):
            raise ValueError(f"task support must be 'optional' or 'required', not {self.support!r}")


class _RunAsTaskBase(Exception):
    """Marker base (see `RunAsTask`)."""


def _make_run_as_task() -> type[Exception]:
    from mcp.shared.exceptions import MCPError

    class RunAsTask(MCPError, _RunAsTaskBase):
        """Raised by `run_as_task()` in a `sync_first` tool: "continue as a task". An `MCPError`
        (-32021, the tasks `requiredCapabilities`) so that where no `TaskSupport` catches it the
        client is told what it is missing."""

        def __init__(self, message: str = "This tool call can only continue as a task") -> None:
            super().__init__(code=_MISSING_CAPABILITY, message=message, data=_required_data())

    return RunAsTask


RunAsTask = _make_run_as_task()


@dataclass(slots=True)
class RunningTask:
    """The task a tool is running in (`current_task()`)."""

    task_id: str
    tool: str
    support: TaskSupport

    async def set_status_message(self, message: str | None) -> None:
        """Publish a `statusMessage` for this task (seen by the next `tasks/get`)."""
        await self.support._store().transition(
            self.task_id, now_ms=_now_ms(), expect=frozenset({"working", "input_required"}), status_message=message
        )


_CURRENT: contextvars.ContextVar[RunningTask | None] = contextvars.ContextVar("mcp_fastpath_task", default=None)


def current_task() -> RunningTask | None:
    """The task the calling tool runs in, or None when it runs for a plain request."""
    return _CURRENT.get()


def run_as_task() -> None:
    """In a `sync_first` task tool: continue this call as a task. Raises `RunAsTask` when the tool
    runs for a plain request; returns (and the tool goes on) when it already runs in its task."""
    if _CURRENT.get() is None:
        raise RunAsTask()


# ---------------------------------------------------------------------------------------------
# Wire params of the tasks/* methods.


class _TaskIdParams(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=False)
    meta: dict[str, Any] | None = Field(default=None, alias="_meta")
    task_id: str = Field(alias="taskId")


class _UpdateParams(_TaskIdParams):
    input_responses: dict[str, Any] = Field(alias="inputResponses")


# ---------------------------------------------------------------------------------------------
# The background request context.


@dataclass(slots=True)
class _Envelope:
    """What a task's tool calls need from the request that created the task."""

    protocol_version: str
    client_info: Any
    client_capabilities: Any
    lifespan_state: Any
    request: Any  # the Starlette request of the creating call (headers, scope), or None
    headers: Any


@dataclass(slots=True)
class _Run:
    record: TaskRecord
    spec: TaskTool
    params: Any  # the typed CallToolRequestParams of round one
    envelope: _Envelope
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # a local cancel, or an update
    cancel_seen: bool = False
    task: asyncio.Task[None] | None = None
    dispatch: SilentDispatchContext | None = None


def _dump(result: Any) -> dict[str, Any]:
    if result is None:
        return {}
    if isinstance(result, BaseModel):
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)
    if isinstance(result, Mapping):
        return dict(result)
    raise TypeError(f"the tools/call handler returned {type(result).__name__}")


def _error_object(exc: BaseException) -> dict[str, Any]:
    from mcp.server.runner import modern_error_data

    if not isinstance(exc, Exception):
        exc = RuntimeError(repr(exc))
    error = modern_error_data(exc)
    return error.model_dump(by_alias=True, mode="json", exclude_none=True)


def _declares(ctx: Any) -> bool:
    caps = getattr(ctx.session, "client_capabilities", None)
    extensions = getattr(caps, "extensions", None) if caps is not None else None
    return isinstance(extensions, Mapping) and TASKS_EXTENSION in extensions


def _owner() -> str | None:
    """The principal key of the calling request (see the module docstring)."""
    try:
        from ..adapters._context import current_admission
    except ImportError:  # pragma: no cover
        admission = None
    else:
        admission = current_admission()
    if admission is not None:
        principal = admission.principal
        if principal is not None:
            return f"jwt:{principal.issuer} {principal.subject or ''}"
        if admission.signature is not None:
            return f"key:{admission.signature.kid}"
    try:
        from mcp.server.auth.middleware.auth_context import get_access_token
    except ImportError:  # pragma: no cover
        return None
    token = get_access_token()
    if token is None:
        return None
    claims = getattr(token, "claims", None) or {}
    subject = getattr(token, "subject", None) or claims.get("sub") or token.client_id
    return f"jwt:{claims.get('iss', '')} {subject or ''}"


_ATTACHED: weakref.WeakKeyDictionary[Any, TaskSupport] = weakref.WeakKeyDictionary()


def _lowlevel(server: Any) -> Any:
    from mcp.server.lowlevel.server import Server

    if isinstance(server, Server):
        return server
    inner = getattr(server, "_lowlevel_server", None)  # MCPServer keeps its lowlevel Server here
    if isinstance(inner, Server):
        return inner
    raise TypeError(f"TaskSupport needs an MCPServer or a lowlevel Server, not {type(server).__name__}")


# ---------------------------------------------------------------------------------------------
# TaskSupport.


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
        self.lowlevel = _lowlevel(server)
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
        self._runs: dict[str, _Run] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lifespan_state: Any = None
        self._last_purge = 0.0

        entry = self.lowlevel.get_request_handler("tools/call")
        if entry is None:
            raise ValueError("the server has no tools/call handler to wrap (register its tools first)")
        self._call_params_type = entry.params_type
        self._call_tool = entry.handler
        self.lowlevel.add_request_handler("tools/call", entry.params_type, self._on_tools_call)
        self.lowlevel.add_request_handler("tasks/get", _TaskIdParams, self._on_get)
        self.lowlevel.add_request_handler("tasks/update", _UpdateParams, self._on_update)
        self.lowlevel.add_request_handler("tasks/cancel", _TaskIdParams, self._on_cancel)
        self.lowlevel.extensions[TASKS_EXTENSION] = {}
        self._wrap_lifespan()
        _ATTACHED[self.lowlevel] = self

    # -- configuration -----------------------------------------------------------------------------

    @classmethod
    def of(cls, server: Any) -> TaskSupport | None:
        """The `TaskSupport` attached to `server` (an MCPServer or lowlevel Server), if any."""
        return _ATTACHED.get(_lowlevel(server))

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
            from . import open_task_store

            support.use_store(open_task_store(store), owned=True)
        else:
            support.use_store(store)
        return support

    def use_store(self, store: TaskStore, *, owned: bool = False) -> None:
        """Serve tasks from `store` (before the app starts). `owned`: close it on shutdown."""
        if self._runs or self._sweeper is not None:
            raise RuntimeError("the task store cannot change while tasks run")
        self.store = store
        self._owns_store = owned

    def _store(self) -> TaskStore:
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

    async def aclose(self) -> None:
        """Stop the sweeper and this node's runners (their leases lapse; another node's sweeper
        settles or re-runs them), and close the store if this object opened it."""
        sweeper, self._sweeper = self._sweeper, None
        running = [run.task for run in self._runs.values() if run.task is not None]
        for task in [sweeper, *running]:
            if task is not None:
                task.cancel()
        for task in [sweeper, *running]:
            if task is not None:
                with contextlib.suppress(BaseException):
                    await task
        self._runs.clear()
        if self._owns_store and self.store is not None:
            with contextlib.suppress(Exception):
                await self.store.close()

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("task sweeper: a sweep failed")
            await asyncio.sleep(self.sweep_interval_s)

    async def sweep_once(self) -> int:
        """Claim orphaned tasks and settle (or re-run) them; purge expired ones now and then.
        Returns how many orphans were claimed."""
        store = self._store()
        now = _now_ms()
        claimed = await store.claim_orphans(self.node_id, lease_ms=self.lease_ms, now_ms=now)
        for record in claimed:
            await self._adopt(record)
        if time.monotonic() - self._last_purge >= _PURGE_EVERY_S:
            self._last_purge = time.monotonic()
            await store.purge(now_ms=now)
        return len(claimed)

    async def _adopt(self, record: TaskRecord) -> None:
        store = self._store()
        now = _now_ms()
        spec = self.tools.get(record.tool)
        if record.cancel_requested:
            await store.transition(record.task_id, now_ms=now, status="cancelled", status_message="Cancelled")
            return
        if spec is not None and record.idempotent:
            try:
                params = self._call_params_type.model_validate(
                    {"name": record.tool, "arguments": record.arguments}, by_name=False
                )
            except ValidationError:
                params = None
            if params is not None:
                fresh = await store.transition(
                    record.task_id, now_ms=now, status="working", input_requests=None, input_responses=None,
                    status_message="Restarted after its node stopped",
                )
                if fresh is not None:
                    envelope = _Envelope(
                        _DEFAULT_VERSION, None, {"extensions": {TASKS_EXTENSION: {}}}, self._lifespan_state, None, None
                    )
                    self._spawn(_Run(fresh, spec, params, envelope))
                return
        message = "Task lost: the server running it stopped before it finished"
        await store.transition(
            record.task_id,
            now_ms=now,
            status="failed",
            status_message=message,
            error={"code": _INTERNAL_ERROR, "message": message},
        )

    # -- tools/call --------------------------------------------------------------------------------

    async def _on_tools_call(self, ctx: Any, params: Any) -> Any:
        spec = self.tools.get(params.name)
        if spec is None:
            return await self._call_tool(ctx, params)
        if not _declares(ctx):
            if spec.support == "required":
                raise _mcp_error(_MISSING_CAPABILITY, "Missing required client capability", _required_data())
            return await self._call_tool(ctx, params)
        if spec.sync_first:
            try:
                return await self._call_tool(ctx, params)
            except _RunAsTaskBase:
                pass  # the tool asked to continue as a task
        return await self._create(ctx, params, spec)

    async def _create(self, ctx: Any, params: Any, spec: TaskTool) -> dict[str, Any]:
        store = self._store()
        self._ensure_started()
        now = _now_ms()
        record = TaskRecord(
            task_id=secrets.token_urlsafe(24),  # 192 random bits
            owner=_owner(),
            status="working",
            created_at_ms=now,
            updated_at_ms=now,
            ttl_ms=self.ttl_ms,
            poll_interval_ms=self.poll_interval_ms,
            tool=params.name,
            arguments=dict(params.arguments or {}),
            idempotent=spec.idempotent,
            lease_owner=self.node_id,
            lease_expires_ms=now + self.lease_ms,
        )
        await store.create(record)  # durable before the CreateTaskResult is sent
        caps = ctx.session.client_capabilities
        raw_meta = (ctx.params or {}).get("_meta") if isinstance(ctx.params, Mapping) else None
        info = raw_meta.get(_INFO_META) if isinstance(raw_meta, Mapping) else None
        envelope = _Envelope(
            ctx.protocol_version or _DEFAULT_VERSION,
            info,
            caps.model_dump(by_alias=True, mode="json", exclude_none=True) if caps is not None else None,
            ctx.lifespan_context,
            ctx.request,
            getattr(ctx.request, "headers", None),
        )
        self._spawn(_Run(record, spec, params, envelope))
        return self._view(record, "task", detailed=False)

    def _ensure_started(self) -> None:
        if self._sweeper is None or self._sweeper.done():
            self.start()

    # -- the runner --------------------------------------------------------------------------------

    def _spawn(self, run: _Run) -> None:
        self._runs[run.record.task_id] = run
        run.task = asyncio.get_running_loop().create_task(self._drive(run), name=f"mcp-fastpath-task-{run.record.task_id[:8]}")

    async def _drive(self, run: _Run) -> None:
        """Run the tool rounds while renewing the lease and watching for cancellation."""
        store = self._store()
        task_id = run.record.task_id
        from mcp.server.connection import Connection

        connection = Connection.from_envelope(
            run.envelope.protocol_version, run.envelope.client_info, run.envelope.client_capabilities
        )
        run.dispatch = self._dispatch(run)
        work = asyncio.ensure_future(self._rounds(run, connection))
        renew_every = max(self.lease_ms // 3, 1) / 1000
        next_renew = time.monotonic() + renew_every
        try:
            while not work.done():
                waker = asyncio.ensure_future(run.wake.wait())
                try:
                    await asyncio.wait({work, waker}, timeout=self.check_interval_s, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waker.cancel()
                run.wake.clear()
                if work.done():
                    break
                now = _now_ms()
                if run.cancel_seen:
                    record: TaskRecord | None = await store.get(task_id, now_ms=now)
                elif time.monotonic() >= next_renew:
                    record = await store.renew_lease(task_id, self.node_id, lease_ms=self.lease_ms, now_ms=now)
                    next_renew = time.monotonic() + renew_every
                else:
                    record = await store.get(task_id, now_ms=now)
                    if record is not None and record.lease_owner != self.node_id:
                        record = None  # claimed elsewhere: this node's lease lapsed
                if record is None or record.terminal:
                    work.cancel()  # settled elsewhere (cancelled, expired, claimed): stop quietly
                    return
                if record.cancel_requested or run.cancel_seen:
                    run.dispatch.cancel_requested.set()
                    work.cancel()
                    with contextlib.suppress(BaseException):
                        await work
                    await store.transition(
                        task_id, now_ms=_now_ms(), status="cancelled", status_message="Cancelled by the client"
                    )
                    return
            exc = work.exception() if not work.cancelled() else None
            if exc is not None:
                logger.error("task %s: the runner failed", task_id, exc_info=exc)
                await store.transition(
                    task_id, now_ms=_now_ms(), status="failed", status_message="Internal error", error=_error_object(exc)
                )
        except asyncio.CancelledError:
            work.cancel()
            raise
        except Exception:
            logger.exception("task %s: the lease/cancel watch failed", task_id)
            work.cancel()
        finally:
            self._runs.pop(task_id, None)
            from mcp.server.runner import aclose_shielded

            with contextlib.suppress(Exception):
                await aclose_shielded(connection)

    def _dispatch(self, run: _Run) -> SilentDispatchContext:
        from mcp.shared.message import ServerMessageMetadata

        from ..adapters.sdk import SilentDispatchContext
        from mcp.shared.transport_context import TransportContext as _Transport

        transport = _Transport(kind="streamable-http", can_send_request=False, headers=run.envelope.headers)
        return SilentDispatchContext(transport, f"task:{run.record.task_id}", ServerMessageMetadata(request_context=run.envelope.request))

    def _context(self, run: _Run, connection: Any, params: Any) -> Any:
        from mcp.server.context import ServerRequestContext
        from mcp.server.session import ServerSession

        assert run.dispatch is not None
        return ServerRequestContext(
            session=ServerSession(run.dispatch, connection),
            lifespan_context=run.envelope.lifespan_state,
            method="tools/call",
            params=params.model_dump(by_alias=True, mode="json", exclude_none=True),
            request_id=run.dispatch.request_id,
            meta=None,
            protocol_version=run.envelope.protocol_version,
            request=run.envelope.request,
        )

    async def _rounds(self, run: _Run, connection: Any) -> None:
        store = self._store()
        task_id = run.record.task_id
        token = _CURRENT.set(RunningTask(task_id, run.record.tool, self))
        try:
            params = run.params
            used: set[str] = set()
            while True:
                try:
                    result = _dump(await self._call_tool(self._context(run, connection, params), params))
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    error = _error_object(exc)
                    await store.transition(
                        task_id,
                        now_ms=_now_ms(),
                        expect=frozenset({"working"}),
                        status="failed",
                        status_message=f"Tool call failed: {error.get('message', '')}",
                        error=error,
                    )
                    return
                if result.get("resultType") != "input_required":
                    result.setdefault("resultType", "complete")
                    await store.transition(
                        task_id, now_ms=_now_ms(), expect=frozenset({"working"}), status="completed", result=result
                    )
                    return
                requests = result.get("inputRequests") or {}
                if not requests:  # requestState alone: retry at once, as an MRTR client would
                    params = self._next_params(run, {}, result.get("requestState"))
                    continue
                wire: dict[str, str] = {}  # wire key -> the tool's key
                for key in requests:
                    wire_key, n = key, 1
                    while wire_key in used:
                        n += 1
                        wire_key = f"{key}~{n}"
                    used.add(wire_key)
                    wire[wire_key] = key
                parked = await store.transition(
                    task_id,
                    now_ms=_now_ms(),
                    expect=frozenset({"working"}),
                    status="input_required",
                    input_requests={w: requests[k] for w, k in wire.items()},
                )
                if parked is None:
                    return
                answers = await self._await_answers(run, set(wire))
                if answers is None:
                    return
                params = self._next_params(
                    run, {wire[w]: answers[w] for w in wire if w in answers}, result.get("requestState")
                )
        finally:
            _CURRENT.reset(token)

    async def _await_answers(self, run: _Run, keys: set[str]) -> dict[str, Any] | None:
        """Wait until `tasks/update` delivered a response for every key; then back to working."""
        store = self._store()
        task_id = run.record.task_id
        while True:
            record = await store.get(task_id, now_ms=_now_ms())
            if record is None or record.terminal or record.status != "input_required":
                return None
            if keys <= set(record.input_responses or {}):
                resumed = await store.transition(
                    task_id, now_ms=_now_ms(), expect=frozenset({"input_required"}), status="working", input_requests=None
                )
                if resumed is None:
                    return None
                taken = await store.take_input_responses(task_id, now_ms=_now_ms())
                return {k: v for k, v in taken.items() if k in keys}
            await asyncio.sleep(self.check_interval_s)

    def _next_params(self, run: _Run, responses: dict[str, Any], request_state: Any) -> Any:
        body: dict[str, Any] = {"name": run.params.name, "arguments": run.params.arguments or {}}
        meta = run.params.meta
        if isinstance(meta, BaseModel):
            body["_meta"] = meta.model_dump(by_alias=True, mode="json", exclude_none=True)
        elif isinstance(meta, Mapping):
            body["_meta"] = dict(meta)
        if responses:
            body["inputResponses"] = responses
        if request_state is not None:
            body["requestState"] = request_state
        return self._call_params_type.model_validate(body, by_name=False)

    # -- tasks/get, tasks/update, tasks/cancel -----------------------------------------------------

    async def _visible(self, ctx: Any, task_id: str) -> TaskRecord:
        if not _declares(ctx):
            raise _mcp_error(_MISSING_CAPABILITY, "Missing required client capability", _required_data())
        self._ensure_started()
        record = await self._store().get(task_id, now_ms=_now_ms())
        if record is None or record.owner != _owner():
            raise _mcp_error(_INVALID_PARAMS, _NOT_FOUND)
        return record

    async def _on_get(self, ctx: Any, params: _TaskIdParams) -> dict[str, Any]:
        record = await self._visible(ctx, params.task_id)
        if not record.terminal and record.lease_expires_ms <= _now_ms() and record.task_id not in self._runs:
            # Its node stopped renewing: settle it now rather than at the next sweep.
            await self.sweep_once()
            record = await self._visible(ctx, params.task_id)
        return self._view(record, "complete", detailed=True)

    async def _on_update(self, ctx: Any, params: _UpdateParams) -> dict[str, Any]:
        record = await self._visible(ctx, params.task_id)
        if record.status == "input_required":
            outstanding = set(record.input_requests or {}) - set(record.input_responses or {})
            accepted = {k: v for k, v in params.input_responses.items() if k in outstanding}
            if accepted:
                try:  # the shapes the tool will be handed (ElicitResult, CreateMessageResult, ...)
                    self._call_params_type.model_validate({"name": record.tool, "inputResponses": accepted}, by_name=False)
                except ValidationError:
                    raise _mcp_error(_INVALID_PARAMS, f"Invalid inputResponses for {sorted(accepted)}") from None
                await self._store().add_input_responses(record.task_id, accepted, now_ms=_now_ms())
        return {"resultType": "complete"}

    async def _on_cancel(self, ctx: Any, params: _TaskIdParams) -> dict[str, Any]:
        record = await self._visible(ctx, params.task_id)
        if not record.terminal:
            await self._store().request_cancel(record.task_id, now_ms=_now_ms())
            run = self._runs.get(record.task_id)
            if run is not None:  # running here: no need to wait for the next poll
                run.cancel_seen = True
                run.wake.set()
        return {"resultType": "complete"}

    @staticmethod
    def _view(record: TaskRecord, result_type: str, *, detailed: bool) -> dict[str, Any]:
        view: dict[str, Any] = {
            "resultType": result_type,
            "taskId": record.task_id,
            "status": record.status,
            "createdAt": _iso(record.created_at_ms),
            "lastUpdatedAt": _iso(record.updated_at_ms),
            "ttlMs": record.ttl_ms,
            "pollIntervalMs": record.poll_interval_ms,
        }
        if record.status_message:
            view["statusMessage"] = record.status_message
        if detailed:
            if record.status == "completed" and record.result is not None:
                view["result"] = record.result
            elif record.status == "failed":
                view["error"] = record.error or {"code": _INTERNAL_ERROR, "message": "Task failed"}
            elif record.status == "input_required":
                answered = record.input_responses or {}
                view["inputRequests"] = {k: v for k, v in (record.input_requests or {}).items() if k not in answered}
        return view
