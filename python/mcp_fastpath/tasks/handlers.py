"""The Tasks extension's request handlers: the `tools/call` wrapper that turns a task tool's call
into a task, and `tasks/get`, `tasks/update`, `tasks/cancel`. See `mcp_fastpath.tasks.support`."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .._admission import current_admission
from .._protocol import CLIENT_INFO_META, MODERN_VERSION, TASKS_EXTENSION
from ._outage import store_outage_is_503
from ._wire import INTERNAL_ERROR, INVALID_PARAMS, MISSING_CAPABILITY, NOT_FOUND, iso, mcp_error, now_ms, required_data
from .runner import CreatingRequest, Run
from .store import TaskRecord
from .tool_api import RunAsTask, TaskTool

if TYPE_CHECKING:
    from .support import TaskSupport

__all__ = ["TaskHandlers", "TaskIdParams", "UpdateParams", "declares_extension", "owner_of_request"]


class TaskIdParams(BaseModel):
    """`tasks/get` and `tasks/cancel` params."""

    model_config = ConfigDict(extra="allow", populate_by_name=False)
    meta: dict[str, Any] | None = Field(default=None, alias="_meta")
    task_id: str = Field(alias="taskId")


class UpdateParams(TaskIdParams):
    """`tasks/update` params."""

    input_responses: dict[str, Any] = Field(alias="inputResponses")


def declares_extension(ctx: Any) -> bool:
    caps = getattr(ctx.session, "client_capabilities", None)
    extensions = getattr(caps, "extensions", None) if caps is not None else None
    return isinstance(extensions, Mapping) and TASKS_EXTENSION in extensions


def owner_of_request() -> str | None:
    """The principal key of the calling request (see `mcp_fastpath.tasks.support`)."""
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


class TaskHandlers:
    """The handlers `TaskSupport` registers on the server (through the SDK's request-handler table)."""

    def __init__(self, support: TaskSupport) -> None:
        self.support = support

    @store_outage_is_503
    async def on_tools_call(self, ctx: Any, params: Any) -> Any:
        spec = self.support.tools.get(params.name)
        if spec is None:
            return await self.support.call_tool(ctx, params)
        if not declares_extension(ctx):
            if spec.support == "required":
                raise mcp_error(MISSING_CAPABILITY, "Missing required client capability", required_data())
            return await self.support.call_tool(ctx, params)
        if spec.sync_first:
            try:
                return await self.support.call_tool(ctx, params)
            except RunAsTask:
                pass  # the tool asked to continue as a task
        return await self._create(ctx, params, spec)

    async def _create(self, ctx: Any, params: Any, spec: TaskTool) -> dict[str, Any]:
        store = self.support.active_store()
        self.support.ensure_started()
        now = now_ms()
        record = TaskRecord(
            task_id=secrets.token_urlsafe(24),  # 192 random bits
            owner=owner_of_request(),
            status="working",
            created_at_ms=now,
            updated_at_ms=now,
            ttl_ms=self.support.ttl_ms,
            poll_interval_ms=self.support.poll_interval_ms,
            tool=params.name,
            arguments=dict(params.arguments or {}),
            idempotent=spec.idempotent,
            lease_owner=self.support.node_id,
            lease_expires_ms=now + self.support.lease_ms,
        )
        await store.create(record)  # durable before the CreateTaskResult is sent
        caps = ctx.session.client_capabilities
        raw_meta = (ctx.params or {}).get("_meta") if isinstance(ctx.params, Mapping) else None
        info = raw_meta.get(CLIENT_INFO_META) if isinstance(raw_meta, Mapping) else None
        origin = CreatingRequest(
            ctx.protocol_version or MODERN_VERSION,
            info,
            caps.model_dump(by_alias=True, mode="json", exclude_none=True) if caps is not None else None,
            ctx.lifespan_context,
            ctx.request,
            getattr(ctx.request, "headers", None),
        )
        self.support.runner.spawn(Run(record, spec, params, origin))
        return self.view(record, "task", detailed=False)

    async def _visible(self, ctx: Any, task_id: str) -> TaskRecord:
        if not declares_extension(ctx):
            raise mcp_error(MISSING_CAPABILITY, "Missing required client capability", required_data())
        self.support.ensure_started()
        record = await self.support.active_store().get(task_id, now_ms=now_ms())
        if record is None or record.owner != owner_of_request():
            raise mcp_error(INVALID_PARAMS, NOT_FOUND)
        return record

    @store_outage_is_503
    async def on_get(self, ctx: Any, params: TaskIdParams) -> dict[str, Any]:
        record = await self._visible(ctx, params.task_id)
        if (
            not record.terminal
            and record.lease_expires_ms <= now_ms()
            and record.task_id not in self.support.runner.runs
        ):
            # Its node stopped renewing: settle it now rather than at the next sweep.
            await self.support.sweep_once()
            record = await self._visible(ctx, params.task_id)
        return self.view(record, "complete", detailed=True)

    @store_outage_is_503
    async def on_update(self, ctx: Any, params: UpdateParams) -> dict[str, Any]:
        record = await self._visible(ctx, params.task_id)
        if record.status == "input_required":
            outstanding = set(record.input_requests or {}) - set(record.input_responses or {})
            accepted = {k: v for k, v in params.input_responses.items() if k in outstanding}
            if accepted:
                try:  # the shapes the tool will be handed (ElicitResult, CreateMessageResult, ...)
                    self.support.call_params_type.model_validate(
                        {"name": record.tool, "inputResponses": accepted}, by_name=False
                    )
                except ValidationError:
                    raise mcp_error(INVALID_PARAMS, f"Invalid inputResponses for {sorted(accepted)}") from None
                await self.support.active_store().add_input_responses(record.task_id, accepted, now_ms=now_ms())
        return {"resultType": "complete"}

    @store_outage_is_503
    async def on_cancel(self, ctx: Any, params: TaskIdParams) -> dict[str, Any]:
        record = await self._visible(ctx, params.task_id)
        if not record.terminal:
            await self.support.active_store().request_cancel(record.task_id, now_ms=now_ms())
            self.support.runner.cancel_locally(record.task_id)
        return {"resultType": "complete"}

    @staticmethod
    def view(record: TaskRecord, result_type: str, *, detailed: bool) -> dict[str, Any]:
        view: dict[str, Any] = {
            "resultType": result_type,
            "taskId": record.task_id,
            "status": record.status,
            "createdAt": iso(record.created_at_ms),
            "lastUpdatedAt": iso(record.updated_at_ms),
            "ttlMs": record.ttl_ms,
            "pollIntervalMs": record.poll_interval_ms,
        }
        if record.status_message:
            view["statusMessage"] = record.status_message
        if detailed:
            if record.status == "completed" and record.result is not None:
                view["result"] = record.result
            elif record.status == "failed":
                view["error"] = record.error or {"code": INTERNAL_ERROR, "message": "Task failed"}
            elif record.status == "input_required":
                answered = record.input_responses or {}
                view["inputRequests"] = {k: v for k, v in (record.input_requests or {}).items() if k not in answered}
        return view
