"""Direct dispatch of an `MCPServer`'s `tools/call`: a plan compiled once per tool, run without the
SDK's per-request kernel (`serve_one`), only where the outcome is the kernel's to the byte.

What `serve_one` does for a `tools/call` on an `MCPServer` (mcp 2.3), and what the plan keeps:
1. `RequestParams` / surface / `CallToolRequestParams` validation of the params: the plan checks
   the same envelope with the SDK's own surface model, but on params whose `arguments` object is
   replaced by `{}` (its contents are not the envelope's business: they are `dict[str, Any]`);
2. the middleware chain: only the SDK's own `OpenTelemetryMiddleware` (bypassed while no tracer
   provider is installed, as on the rest of the fast path) and `RequestStateBoundary` (a no-op for
   a request without `requestState` whose result is not `input_required`) may be installed;
3. `MCPServer._handle_call_tool`: a pydantic `Context` (built only for a tool that takes one),
   argument validation — straight from the request's JSON text with `model_validate_json` when
   the argument model reads JSON exactly as it reads the SDK's pre-parsed dict (see
   `json_equivalent`), else the SDK's own `validate_arguments` on the decoded dict — the call (a
   sync tool leaves the event loop through `SyncHop`), the SDK's error mapping and logging;
4. result conversion and the outbound sieve: built as plain data for the shapes whose wire form
   is known (text content, structured content as the SDK's adapter dumps it); any other shape
   (content blocks, images, a returned `CallToolResult`, `input_required`) goes through the SDK's
   own functions on the value the tool returned — the tool never runs twice.

Anything else returns `NOT_DIRECT` *before* the tool runs, and the caller takes the SDK's path:
a server whose `tools/call` handler is not the `MCPServer`'s own (TaskSupport, extension
interceptors, a lowlevel `Server`), user middleware, cache hints on `tools/call`, params with
`requestState` or `inputResponses`, an unknown tool, resolver parameters, or arguments that do not
validate (the SDK then validates them again, so the error text is its own).
"""

from __future__ import annotations

import enum
import json
import logging
import types
import typing
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import orjson
import pydantic_core
from mcp.server._otel import OpenTelemetryMiddleware
from mcp.server.connection import Connection
from mcp.server.mcpserver.exceptions import ResourceError, ToolError, UnexpectedResourceError, UnexpectedToolError
from mcp.server.mcpserver.utilities.types import Audio, Image
from mcp.server.request_state import RequestStateBoundary
from mcp.server.runner import ServerRunner, _extract_meta, aclose_shielded
from mcp.shared.exceptions import MCPError
from mcp_types import SERVER_INFO_META_KEY as SERVER_INFO_META
from mcp_types import CallToolResult, ContentBlock, InputRequiredResult
from mcp_types import methods as _methods
from pydantic import BaseModel, ValidationError

from ._sync_hop import SyncHop

__all__ = ["NOT_DIRECT", "DirectTools", "EnvelopeCheck", "ToolPlan", "json_equivalent"]

# The SDK's logger for tool failures (mcp.server.mcpserver.server), so logs read the same.
_sdk_logger = logging.getLogger("mcp.server.mcpserver.server")

NOT_DIRECT: Any = object()  # "take the SDK's path"; returned only before the tool ran
_PLAIN: Any = object()  # the verdict "MCPServer's own handler, the SDK's own middleware"
_METHOD = "tools/call"
_ALLOWED_PARAMS = frozenset({"name", "arguments", "_meta"})
# Our envelope and token members: extra `_meta` members the SDK never types (and the envelope
# changes with every request, so it stays out of the envelope cache's key).
_OWN_META = ("dev.mcp-fastpath/sig", "dev.mcp-fastpath/token")
_BLOCK_TYPES = (*typing.get_args(ContentBlock), Image, Audio)


# ---------------------------------------------------------------------------------------------
# When JSON validation equals the SDK's: `pre_parse_json` + `model_validate` on the decoded dict.

# Types whose validation from a JSON value and from the same value decoded to Python agree, and
# which never accept a string that `pre_parse_json` would have turned into a list, dict, bool or
# None (the SDK pre-parses top-level string arguments of every field not annotated `str`).
_SCALARS = (int, float, bool, datetime, date, time, timedelta, uuid.UUID)
_CONTAINERS = (list, tuple, set, frozenset, dict)


def _pre_parsed(value: str) -> bool:
    """Whether `pre_parse_json` would replace the string `value` (it parses to a list/dict/bool/None)."""
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        return False
    return not isinstance(parsed, str | int | float) or isinstance(parsed, bool)


def _top_level_safe(annotation: Any) -> bool:
    """Whether a field annotated `annotation` validates the same with and without the SDK's
    top-level pre-parse of string arguments (conservative: False when unsure)."""
    if annotation is str:
        return True  # never pre-parsed
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _top_level_safe(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        arms = [arm for arm in typing.get_args(annotation) if arm is not type(None)]
        # One arm besides None, not str: a string the pre-parse turns into None fails the arm when
        # left a string too; unions of several arms may pick arms differently: not proven.
        return len(arms) == 1 and arms[0] is not str and _top_level_safe(arms[0])
    if origin is typing.Literal:
        return all(not (isinstance(v, str) and _pre_parsed(v)) for v in typing.get_args(annotation))
    if origin in _CONTAINERS:
        return True  # a string is not a list, tuple, set or dict in JSON mode: it fails, and falls back
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            return all(not (isinstance(m.value, str) and _pre_parsed(m.value)) for m in annotation)
        if issubclass(annotation, _SCALARS) or issubclass(annotation, BaseModel) or annotation in _CONTAINERS:
            return True
        if typing.is_typeddict(annotation):
            return True
    return False


def _core_schema_differs(schema: Any) -> bool:
    """Whether a pydantic core schema holds a part that reads JSON text and decoded values
    differently: decimals (exact digits vs the double the decoder made) and strict validation
    (JSON-mode strictness accepts what Python-mode strictness refuses, e.g. arrays for tuples)."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "decimal" or node.get("strict") is True:
                return True
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
    return False


def json_equivalent(arg_model: type[BaseModel]) -> bool:
    """Whether `arg_model.model_validate_json(text)` equals the SDK's
    `arg_model.model_validate(pre_parse_json(json.loads(text)))` for every text our decoder admits."""
    if _core_schema_differs(getattr(arg_model, "__pydantic_core_schema__", None)):
        return False
    return all(_top_level_safe(field.annotation) for field in arg_model.model_fields.values())


# ---------------------------------------------------------------------------------------------
# The plan of one tool.


@dataclass(slots=True, frozen=True)
class ToolPlan:
    """What calling one tool takes, compiled once (recompiled when the registry's `Tool` changes)."""

    tool: Any  # the SDK's `Tool`: the plan is valid while the registry returns this very object
    name: str
    fn: Any
    is_async: bool
    arg_model: type[BaseModel]
    validate_json: bool  # model_validate_json on the raw arguments, else the SDK's validate_arguments
    context_kwarg: str | None
    fn_metadata: Any
    output_model: Any  # the type structured output is validated against, or None (unstructured)
    output_adapter: Any  # the SDK's TypeAdapter for output_model (FuncMetadata._output_adapter)
    wrap_output: bool
    keywords: tuple[tuple[str, str], ...]  # (field, keyword): `ArgModelBase.model_dump_one_level`'s names

    def keyword_arguments(self, validated: BaseModel) -> dict[str, Any]:
        """`validated.model_dump_one_level()`: each field's value under its alias (else its name)."""
        return {keyword: getattr(validated, field) for field, keyword in self.keywords}

    @classmethod
    def compile(cls, tool: Any) -> ToolPlan | None:
        """The plan, or None when the tool needs what only the SDK's kernel does (resolvers)."""
        if tool.resolved_params:
            return None
        meta = tool.fn_metadata
        output_model = meta.output_model if meta.output_schema is not None else None
        return cls(
            tool=tool,
            name=tool.name,
            fn=tool.fn,
            is_async=tool.is_async,
            arg_model=meta.arg_model,
            validate_json=json_equivalent(meta.arg_model),
            context_kwarg=tool.context_kwarg,
            fn_metadata=meta,
            output_model=output_model,
            output_adapter=meta._output_adapter(output_model) if output_model is not None else None,
            wrap_output=meta.wrap_output,
            keywords=tuple((name, info.alias or name) for name, info in meta.arg_model.model_fields.items()),
        )


# ---------------------------------------------------------------------------------------------
# The params envelope.


class EnvelopeCheck:
    """Whether the SDK's params validation of a `tools/call` (the surface model, then the
    handler's own params type) passes params with a given `_meta`, a str `name` and an object of
    arguments: those are the only parts it reads there (the arguments are `dict[str, Any]`).
    Remembered by the `_meta` seen: clients send the same one request after request."""

    def __init__(self, lowlevel: Any) -> None:
        self.lowlevel = lowlevel
        self._known: dict[bytes, bool] = {}

    def valid(self, meta: Mapping[str, Any], version: str) -> bool:
        typed = meta
        if _OWN_META[0] in meta or _OWN_META[1] in meta:
            typed = {key: value for key, value in meta.items() if key not in _OWN_META}
        try:
            key = orjson.dumps(typed) + version.encode()
        except TypeError:
            return False
        known = self._known.get(key)
        if known is not None:
            return known
        params = {"name": "", "arguments": {}, "_meta": typed}
        try:
            _methods.validate_client_request(_METHOD, version, params)
            self.lowlevel.get_request_handler(_METHOD).params_type.model_validate(params, by_name=False)
            valid = True
        except (ValidationError, KeyError, ValueError):
            valid = False
        if len(self._known) > 1_000:
            self._known.clear()
        self._known[key] = valid
        return valid


# ---------------------------------------------------------------------------------------------
# The dispatcher.


class _Wire(dict):  # type: ignore[type-arg]
    """A result already in its wire form (no conversion or sieve left to run)."""


class DirectTools:
    """`tools/call` of one `MCPServer`, dispatched by plan (see the module docstring)."""

    def __init__(self, server: Any, lowlevel: Any, *, sync_hop: SyncHop) -> None:
        self.server = server
        self.lowlevel = lowlevel
        self.tools = server._tool_manager  # MCPServer's registry (mcp 2.3)
        self.handler = server._handle_call_tool
        self.sync_hop = sync_hop
        self._plans: dict[str, ToolPlan | None] = {}
        self.envelopes = EnvelopeCheck(lowlevel)
        self.served = 0  # tools/call requests this dispatcher ran (tests check that it did)
        self._seen: tuple[Any, ...] | None = None  # what `_verdict` was decided on
        self._verdict: Any = None

    @classmethod
    def of(cls, server: Any, lowlevel: Any, *, sync_hop: SyncHop) -> DirectTools | None:
        """A dispatcher for an `MCPServer` (its own registry and handler), else None."""
        if not (hasattr(server, "_tool_manager") and hasattr(server, "_handle_call_tool")):
            return None
        return cls(server, lowlevel, sync_hop=sync_hop)

    # -- eligibility ---------------------------------------------------------------------------

    def _kernel_runs_the_tool_as_is(self, name: str) -> bool:
        """The kernel would run exactly MCPServer's handler for tool `name`, behind the SDK's own
        middleware. Our `TaskSupport` wraps the handler, but hands a tool that is not a task tool
        straight to it: such a tool qualifies too."""
        entry = self.lowlevel.get_request_handler(_METHOD)
        if entry is None:
            return False
        # What the verdict rests on: the handler entry, the middleware chain and the cache hints.
        seen = (entry, tuple(self.lowlevel.middleware), _METHOD in self.lowlevel.cache_hints)
        if seen != self._seen:
            self._seen, self._verdict = seen, self._server_verdict(entry, seen[2])
        verdict = self._verdict
        if verdict is _PLAIN:
            return True
        return verdict is not None and name not in verdict  # TaskSupport: its task tools are its own

    def _server_verdict(self, entry: Any, hinted: bool) -> Any:
        """`_PLAIN`, the task tools of our `TaskSupport` (whose wrapper hands every other tool to
        MCPServer's handler as is), or None (the kernel serves every tools/call)."""
        if hinted or not all(
            type(m) in (OpenTelemetryMiddleware, RequestStateBoundary) for m in self.lowlevel.middleware
        ):
            return None
        if entry.handler == self.handler:
            return _PLAIN
        from ..tasks import TaskSupport

        support = TaskSupport.of(self.server)
        if support is None or entry.handler != support.handlers.on_tools_call or support.call_tool != self.handler:
            return None  # an extension interceptor, or a handler of someone else's
        return frozenset(support.tools)

    def plan(self, name: str) -> ToolPlan | None:
        tool = self.tools.get_tool(name)
        if tool is None:
            return None
        plan = self._plans.get(name)
        if plan is None or plan.tool is not tool:
            plan = ToolPlan.compile(tool)
            if len(self._plans) > 10_000:
                self._plans.clear()
            self._plans[name] = plan
        return plan

    # -- the call ------------------------------------------------------------------------------

    async def call(self, message: Any, exchange: Any, lifespan_state: Any) -> Any:
        """The `tools/call` result dict as `serve_one` returns it, raising what it raises; or
        `NOT_DIRECT` (before anything ran) when the SDK's path must serve this request."""
        params = message.params
        if type(params) is not dict or not params.keys() <= _ALLOWED_PARAMS:
            return NOT_DIRECT
        arguments = params.get("arguments")
        if arguments is not None and type(arguments) is not dict:
            return NOT_DIRECT  # the SDK's params validation answers
        name = params.get("name")
        if not isinstance(name, str) or not self._kernel_runs_the_tool_as_is(name):
            return NOT_DIRECT
        plan = self.plan(name)
        if plan is None or not self.envelopes.valid(message.meta, message.protocol_version):
            return NOT_DIRECT
        try:
            if plan.validate_json:
                raw = message.arguments_json if arguments is not None else "{}"
                validated = plan.keyword_arguments(plan.arg_model.model_validate_json(raw))
            else:
                validated = plan.fn_metadata.validate_arguments(arguments or {})
        except Exception:
            return NOT_DIRECT  # the SDK validates again and answers with its own error text
        self.served += 1
        outcome = await self._run(plan, validated, message, exchange, lifespan_state)
        if isinstance(outcome, _Wire):
            return dict(outcome)
        return self._serialize(outcome, message, exchange, lifespan_state)

    async def _run(self, plan: ToolPlan, arguments: dict[str, Any], message: Any, exchange: Any, state: Any) -> Any:
        """`MCPServer._handle_call_tool` + `Tool.run` for this plan: the converted result (a wire
        dict, or a model for `_serialize`), a tool failure as an `isError` result; `MCPError` raised."""
        connection = None
        kwargs = arguments
        if plan.context_kwarg is not None:
            connection, context = self._context(message, exchange, state)
            kwargs = arguments | {plan.context_kwarg: context}
        try:
            try:
                if plan.is_async:
                    result = await plan.fn(**kwargs)
                else:
                    result = await self.sync_hop.run(plan.fn, kwargs)
                return self._convert(plan, result)
            except MCPError:
                raise
            except (UnexpectedToolError, UnexpectedResourceError) as exc:
                raise UnexpectedToolError(f"Error executing tool {plan.name}: {exc}") from exc
            except (ToolError, ResourceError) as exc:
                raise ToolError(f"Error executing tool {plan.name}: {exc}") from exc
            except Exception as exc:
                raise UnexpectedToolError(f"Error executing tool {plan.name}") from exc
        except MCPError:
            raise
        except Exception as exc:  # MCPServer._handle_call_tool: a failure is a result
            _log_tool_failure(plan.name, exc)
            return self._stamped(
                {"content": [{"text": str(exc), "type": "text"}], "isError": True, "resultType": "complete"}
            )
        finally:
            if connection is not None:
                await aclose_shielded(connection)

    def _context(self, message: Any, exchange: Any, state: Any) -> tuple[Connection, Any]:
        """The SDK's own `Context` for a tool that takes one, built as the kernel builds it."""
        from mcp.server.mcpserver.context import Context

        params = message.params
        connection = Connection.from_envelope(
            message.protocol_version, message.client_info, message.client_capabilities
        )
        runner = ServerRunner(self.lowlevel, connection, state)
        ctx = runner._make_context(exchange, _METHOD, params, _extract_meta(params), message.protocol_version)
        typed = self.lowlevel.get_request_handler(_METHOD).params_type.model_validate(params, by_name=False)
        context = Context(
            request_context=ctx, mcp_server=self.server, input_params=typed, subscriptions=self.server._subscriptions
        )
        return connection, context

    # -- the result ----------------------------------------------------------------------------

    def _convert(self, plan: ToolPlan, result: Any) -> Any:
        """`FuncMetadata.convert_result`, as plain wire data for the shapes whose wire form is known
        (text content, structured content as the SDK's adapter dumps it); else the SDK's own model."""
        if _is_result_model(type(result)):
            return plan.fn_metadata.convert_result(result)
        content = _text_content(result)
        if content is None:
            return plan.fn_metadata.convert_result(result)
        if plan.output_model is None:
            return self._stamped({"content": content, "isError": False, "resultType": "complete"})
        value = {"result": result} if plan.wrap_output else result
        adapter = plan.output_adapter
        if plan.fn_metadata.output_model is not plan.output_model:  # reassigned since the plan was made
            adapter = plan.fn_metadata._output_adapter(plan.fn_metadata.output_model)
        validated = adapter.validate_python(value, by_alias=True, by_name=True)
        if isinstance(validated, BaseModel):
            structured = validated.model_dump(mode="json", by_alias=True)
        else:
            structured = adapter.dump_python(validated, mode="json", by_alias=True)
        if not isinstance(structured, dict):
            return plan.fn_metadata.convert_result(result)
        wire = {"content": content, "isError": False, "resultType": "complete", "structuredContent": structured}
        return self._stamped(wire)

    def _stamped(self, result: dict[str, Any]) -> _Wire:
        # ServerRunner._serialize of a `CallToolResult` without `_meta`: the sieve keeps these members
        # in this order, then `_stamp_server_info` appends the stamp. The SDK hands out a deep copy
        # of its once-per-server dump so that no caller can alias it; this dict is encoded at once
        # and never reaches user code, so the dump itself serves.
        result["_meta"] = {SERVER_INFO_META: self._stamp_source()}
        return _Wire(result)

    def _stamp_source(self) -> dict[str, Any]:
        source = getattr(self.lowlevel, "_server_info_stamp_source", None)  # mcp 2.3's cached dump
        return source if isinstance(source, dict) else self.lowlevel.server_info_stamp

    def _serialize(self, converted: Any, message: Any, exchange: Any, state: Any) -> dict[str, Any]:
        """The kernel's outbound steps on a converted result that is not plain text: the sieve and
        stamp (`ServerRunner._serialize`), then the request-state boundary, which seals the
        `requestState` of an `input_required` result."""
        params = message.params
        connection = Connection.from_envelope(
            message.protocol_version, message.client_info, message.client_capabilities
        )
        runner = ServerRunner(self.lowlevel, connection, state)
        serialized = runner._serialize(_METHOD, message.protocol_version, converted)
        if _methods.is_input_required(serialized):
            boundary = next((m for m in self.lowlevel.middleware if isinstance(m, RequestStateBoundary)), None)
            if boundary is not None:
                ctx = runner._make_context(exchange, _METHOD, params, _extract_meta(params), message.protocol_version)
                serialized = boundary._seal_result(ctx, serialized, None)
        return dict(serialized)


def _memo_subclass(classes: tuple[type, ...]) -> Any:
    """`issubclass(cls, classes)`, remembered per class: `isinstance` against pydantic models goes
    through `ABCMeta.__instancecheck__`, which costs on every call."""
    known: dict[type, bool] = {}

    def check(cls: type) -> bool:
        verdict = known.get(cls)
        if verdict is None:
            verdict = known[cls] = issubclass(cls, classes)
        return verdict

    return check


_is_block = _memo_subclass(_BLOCK_TYPES)
_is_result_model = _memo_subclass((InputRequiredResult, CallToolResult))


def _text_content(result: Any) -> list[dict[str, Any]] | None:
    """`_convert_to_content(result)` (mcp.server.mcpserver.utilities.func_metadata) as wire dicts,
    when every block is plain text; None for anything else (the SDK's functions take it)."""
    if type(result) is str:
        return [{"text": result, "type": "text"}]
    if result is None or _is_block(type(result)):
        return None
    if isinstance(result, list | tuple):
        blocks: list[dict[str, Any]] = []
        for item in result:
            inner = _text_content(item)
            if inner is None:
                return None
            blocks.extend(inner)
        return blocks
    text = result if isinstance(result, str) else pydantic_core.to_json(result, fallback=str, indent=2).decode()
    return [{"text": text, "type": "text"}]


def _log_tool_failure(name: str, exc: Exception) -> None:
    """`MCPServer._handle_call_tool`'s logging (argument failures never reach the direct path)."""
    if isinstance(exc, ToolError) and not isinstance(exc, UnexpectedToolError):
        _sdk_logger.info("Tool %r failed: %r", name, str(exc))
    else:
        _sdk_logger.error("Tool %r raised an unexpected exception", name, exc_info=exc)
