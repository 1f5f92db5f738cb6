"""The runner: a task's tool rounds as an asyncio task on the node that created (or adopted) it,
holding a lease in the store and watching for cancellation. See `mcp_fastpath.tasks.support` for
the whole lifecycle.

The lease is the runner's right to the task. It is renewed every third of `lease_ms`; when the
store cannot be reached (`StoreUnavailable`: Redis restarting, an SQLite lock held too long) the
runner keeps the tool running and retries every `check_interval`, for as long as the lease it last
renewed lasts — a blip shorter than the lease changes nothing. Only once that lease has really
lapsed (another node may now claim the task) does the runner stop the tool, and it says so in
the log; the node that claims the task settles or re-runs it. Writes of the tool's outcome (and
the reads of an `input_required` round) are retried the same way, within the lease."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.server.runner import aclose_shielded, modern_error_data
from mcp.server.session import ServerSession
from mcp.shared.message import ServerMessageMetadata
from mcp.shared.transport_context import TransportContext
from pydantic import BaseModel

from .._sdk import SilentDispatchContext
from ._wire import now_ms
from .store import StoreUnavailable, TaskRecord, TaskStore
from .tool_api import CURRENT, RunningTask, TaskTool

__all__ = ["CreatingRequest", "Run", "TaskRunner", "dump_result", "error_object"]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class CreatingRequest:
    """What a task's tool calls need from the request that created the task (or, for a task
    adopted from a dead node, the defaults)."""

    protocol_version: str
    client_info: Any
    client_capabilities: Any
    lifespan_state: Any
    request: Any  # the Starlette request of the creating call (headers, scope), or None
    headers: Any


@dataclass(slots=True)
class Run:
    """One task running on this node."""

    record: TaskRecord
    spec: TaskTool
    params: Any  # the typed CallToolRequestParams of round one
    origin: CreatingRequest
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # a local cancel, or an update
    cancel_seen: bool = False
    task: asyncio.Task[None] | None = None
    dispatch: SilentDispatchContext | None = None
    # When the lease this node last renewed lapses (monotonic seconds): until then the task is
    # this node's, whatever the store's availability.
    lease_until: float = 0.0


def dump_result(result: Any) -> dict[str, Any]:
    """A `tools/call` handler's result as a plain dict (the SDK's own dump)."""
    if result is None:
        return {}
    if isinstance(result, BaseModel):
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)
    if isinstance(result, Mapping):
        return dict(result)
    raise TypeError(f"the tools/call handler returned {type(result).__name__}")


def error_object(exc: BaseException) -> dict[str, Any]:
    """The JSON-RPC error object of a failed round (the SDK's `modern_error_data` mapping)."""
    if not isinstance(exc, Exception):
        exc = RuntimeError(repr(exc))
    error = modern_error_data(exc)
    return error.model_dump(by_alias=True, mode="json", exclude_none=True)


class TaskRunner:
    """Runs tasks on this node: `spawn` starts one, `runs` holds those still running."""

    def __init__(
        self,
        store: Callable[[], TaskStore],
        *,
        node_id: str,
        lease_ms: int,
        check_interval_s: float,
        call_tool: Any,
        call_params_type: Any,
    ) -> None:
        self.store = store
        self.node_id = node_id
        self.lease_ms = lease_ms
        self.check_interval_s = check_interval_s
        self.call_tool = call_tool  # the server's own tools/call handler
        self.call_params_type = call_params_type
        self.runs: dict[str, Run] = {}

    def cancel_locally(self, task_id: str) -> None:
        """A `tasks/cancel` that landed on this node: wake the runner now, not at its next poll."""
        run = self.runs.get(task_id)
        if run is not None:
            run.cancel_seen = True
            run.wake.set()

    async def stop(self) -> None:
        """Cancel every run (their leases lapse; another node's sweeper settles or re-runs them)."""
        running = [run.task for run in self.runs.values() if run.task is not None]
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(BaseException):
                await task
        self.runs.clear()

    def spawn(self, run: Run) -> None:
        self.runs[run.record.task_id] = run
        run.task = asyncio.get_running_loop().create_task(
            self._drive(run), name=f"mcp-fastpath-task-{run.record.task_id[:8]}"
        )

    async def _drive(self, run: Run) -> None:
        """Run the tool rounds while renewing the lease and watching for cancellation."""
        store = self.store()
        task_id = run.record.task_id
        connection = Connection.from_envelope(
            run.origin.protocol_version, run.origin.client_info, run.origin.client_capabilities
        )
        run.dispatch = self._dispatch(run)
        lease_s = self.lease_ms / 1000
        # The lease was taken (by `create` or `claim_orphans`) just before the run was spawned.
        run.lease_until = time.monotonic() + lease_s
        work = asyncio.ensure_future(self._rounds(run, connection))
        renew_every = max(self.lease_ms // 3, 1) / 1000
        next_renew = time.monotonic() + renew_every
        try:
            while not work.done():
                waker = asyncio.ensure_future(run.wake.wait())
                try:
                    await asyncio.wait(
                        {work, waker}, timeout=self.check_interval_s, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    waker.cancel()
                run.wake.clear()
                if work.done():
                    break
                now = now_ms()
                try:
                    if run.cancel_seen:
                        record: TaskRecord | None = await store.get(task_id, now_ms=now)
                    elif time.monotonic() >= next_renew:
                        asked = time.monotonic()
                        record = await store.renew_lease(task_id, self.node_id, lease_ms=self.lease_ms, now_ms=now)
                        if record is not None:
                            run.lease_until = asked + lease_s
                        next_renew = time.monotonic() + renew_every
                    else:
                        record = await store.get(task_id, now_ms=now)
                        if record is not None and record.lease_owner != self.node_id:
                            record = None  # claimed elsewhere: this node's lease lapsed
                except StoreUnavailable:
                    if time.monotonic() < run.lease_until:
                        continue  # the task is still ours: keep the tool running, ask again soon
                    logger.warning(
                        "task %s: its lease lapsed while the task store was unreachable: the tool is stopped "
                        "here, and the node that claims the task settles or re-runs it",
                        task_id,
                    )
                    work.cancel()
                    return
                if record is None or record.terminal:
                    work.cancel()  # settled elsewhere (cancelled, expired, claimed): stop quietly
                    return
                if record.cancel_requested or run.cancel_seen:
                    run.dispatch.cancel_requested.set()
                    work.cancel()
                    with contextlib.suppress(BaseException):
                        await work
                    await self._write(
                        run, store.transition, task_id, status="cancelled", status_message="Cancelled by the client"
                    )
                    return
            exc = work.exception() if not work.cancelled() else None
            if isinstance(exc, StoreUnavailable):
                logger.warning(
                    "task %s: its outcome could not be saved before its lease lapsed (the task store was "
                    "unreachable); the node that claims the task settles or re-runs it",
                    task_id,
                )
            elif exc is not None:
                logger.error("task %s: the runner failed", task_id, exc_info=exc)
                await self._write(
                    run,
                    store.transition,
                    task_id,
                    status="failed",
                    status_message="Internal error",
                    error=error_object(exc),
                )
        except asyncio.CancelledError:
            work.cancel()
            raise
        except StoreUnavailable:
            work.cancel()
            logger.warning(
                "task %s: its final status could not be saved before its lease lapsed (the task store was "
                "unreachable); the node that claims the task settles or re-runs it",
                task_id,
            )
        except Exception:
            logger.exception("task %s: the lease/cancel watch failed", task_id)
            work.cancel()
        finally:
            self.runs.pop(task_id, None)
            with contextlib.suppress(Exception):
                await aclose_shielded(connection)

    async def _write(self, run: Run, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`await method(*args, now_ms=<now>, **kwargs)` (a store call), retried while the store is
        unreachable and the task's lease lasts; past it, `StoreUnavailable` (the task is no longer
        this node's to write)."""
        pause = 0.05
        while True:
            try:
                return await method(*args, now_ms=now_ms(), **kwargs)
            except StoreUnavailable:
                if time.monotonic() + pause >= run.lease_until:
                    raise
                await asyncio.sleep(pause)
                pause = min(pause * 2, 1.0)

    def _dispatch(self, run: Run) -> SilentDispatchContext:
        transport = TransportContext(kind="streamable-http", can_send_request=False, headers=run.origin.headers)
        return SilentDispatchContext(
            f"task:{run.record.task_id}",
            transport=transport,
            message_metadata=ServerMessageMetadata(request_context=run.origin.request),
        )

    def _context(self, run: Run, connection: Any, params: Any) -> Any:
        assert run.dispatch is not None
        return ServerRequestContext(
            session=ServerSession(run.dispatch, connection),
            lifespan_context=run.origin.lifespan_state,
            method="tools/call",
            params=params.model_dump(by_alias=True, mode="json", exclude_none=True),
            request_id=run.dispatch.request_id,
            meta=None,
            protocol_version=run.origin.protocol_version,
            request=run.origin.request,
        )

    async def _rounds(self, run: Run, connection: Any) -> None:
        store = self.store()
        task_id = run.record.task_id
        token = CURRENT.set(RunningTask(task_id, run.record.tool, self.store()))
        try:
            params = run.params
            used: set[str] = set()
            while True:
                try:
                    result = dump_result(await self.call_tool(self._context(run, connection, params), params))
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    error = error_object(exc)
                    await self._write(
                        run,
                        store.transition,
                        task_id,
                        expect=frozenset({"working"}),
                        status="failed",
                        status_message=f"Tool call failed: {error.get('message', '')}",
                        error=error,
                    )
                    return
                if result.get("resultType") != "input_required":
                    result.setdefault("resultType", "complete")
                    await self._write(
                        run, store.transition, task_id, expect=frozenset({"working"}), status="completed", result=result
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
                parked = await self._write(
                    run,
                    store.transition,
                    task_id,
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
            CURRENT.reset(token)

    async def _await_answers(self, run: Run, keys: set[str]) -> dict[str, Any] | None:
        """Wait until `tasks/update` delivered a response for every key; then back to working."""
        store = self.store()
        task_id = run.record.task_id
        while True:
            record = await self._write(run, store.get, task_id)
            if record is None or record.terminal or record.status != "input_required":
                return None
            if keys <= set(record.input_responses or {}):
                resumed = await self._write(
                    run,
                    store.transition,
                    task_id,
                    expect=frozenset({"input_required"}),
                    status="working",
                    input_requests=None,
                )
                if resumed is None:
                    return None
                taken = await self._write(run, store.take_input_responses, task_id)
                return {k: v for k, v in taken.items() if k in keys}
            await asyncio.sleep(self.check_interval_s)

    def _next_params(self, run: Run, responses: dict[str, Any], request_state: Any) -> Any:
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
        return self.call_params_type.model_validate(body, by_name=False)

    # -- tasks/get, tasks/update, tasks/cancel -----------------------------------------------------
