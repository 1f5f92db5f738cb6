"""The conformance fixture server: an official-SDK `MCPServer` with every fixture the
`@modelcontextprotocol/conformance` server scenarios for protocol 2026-07-28 look for.

Serve it through the fast path or, for comparison, with the SDK's stock app:

    mcp-fastpath serve examples/everything.py:mcp --port 3001            # fast path
    mcp-fastpath serve examples/everything.py:mcp --port 3001 --sdk      # stock SDK app

`scripts/conformance.sh` runs the suite against it. The names and payloads below are the
ones the suite's scenarios ask for (tool, prompt and resource names, the `user_name` input
key, "state-ok", the JSON Schema 2020-12 fixture, ...), and the tasks-* fixtures (`greet`,
`slow_compute`, `failing_job`, `protocol_error_job`, `confirm_delete`, `multi_input`,
`test_tool_with_task`) served by `mcp_fastpath.tasks.TaskSupport`.

Stateless (2026-07-28) servers cannot send requests to the client, so elicitation, sampling
and roots all go through input-required results (MRTR): the tool returns an
`InputRequiredResult`, the client retries with `inputResponses` and the echoed
`requestState`, which the SDK seals (HMAC) so that a tampered echo is rejected.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from typing import Annotated, Any

from mcp.server.caching import CacheableMethod, CacheHint
from mcp.server.mcpserver import Context, MCPServer, RequestStateSecurity
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.prompts.base import UserMessage
from mcp.server.mcpserver.tools.base import Tool
from mcp.shared.exceptions import MCPError
from mcp.types import (
    MISSING_REQUIRED_CLIENT_CAPABILITY,
    AudioContent,
    Completion,
    CompletionArgument,
    CompletionContext,
    CreateMessageRequest,
    CreateMessageRequestParams,
    CreateMessageResult,
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitResult,
    EmbeddedResource,
    ImageContent,
    InputRequest,
    InputRequiredResult,
    ListRootsRequest,
    ListRootsResult,
    PromptReference,
    ResourceTemplateReference,
    SamplingMessage,
    TextContent,
    TextResourceContents,
)
from mcp_fastpath.tasks import TaskSupport, TaskTool, run_as_task
from pydantic import Field

__all__ = ["mcp", "tasks"]

# A 1x1 PNG and a tiny WAV header: valid base64 of the declared media types.
PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
WAV_EMPTY = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="

# requestState is sealed with this key. The fixture key is fixed so that every worker and
# every node (and a restarted server) accepts the states the others minted; set
# EVERYTHING_STATE_KEY (>= 32 bytes) to use another one.
_STATE_KEY = os.environ.get("EVERYTHING_STATE_KEY", "mcp-fastpath-everything-fixture-state-key!").encode()

# ---------------------------------------------------------------------------------------------
# JSON Schema 2020-12 (json-schema-2020-12, SEP-1613/SEP-2106): a tool whose inputSchema uses
# $schema, $defs + $anchor, $ref, allOf/anyOf, if/then/else and additionalProperties; every
# keyword must survive tools/list untouched.
# ---------------------------------------------------------------------------------------------
SCHEMA_2020_12: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "$anchor": "addressDef",
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}


def _contact(
    name: str | None = None,
    address: dict[str, Any] | None = None,
    contactMethod: str | None = None,
    phone: str | None = None,
    email: str | None = None,
) -> str:
    """Tool with JSON Schema 2020-12 features"""
    via = phone if contactMethod == "phone" else email
    return f"contact {name or 'anonymous'} via {contactMethod or 'email'}: {via}"


# The function gives the SDK its argument model; the advertised schema is the 2020-12 one.
_schema_tool = Tool.from_function(_contact, name="json_schema_2020_12_tool").model_copy(
    update={"parameters": SCHEMA_2020_12}
)


def test_simple_text() -> str:
    """Returns one text content block."""
    return "This is a simple text response for testing."


_CACHEABLE: tuple[CacheableMethod, ...] = (
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "server/discover",
)
_CACHE_HINTS = {method: CacheHint(ttl_ms=60_000, scope="public") for method in _CACHEABLE}

mcp = MCPServer(
    name="mcp-fastpath-everything",
    version="0.1.0",
    instructions="Conformance fixture server for mcp-fastpath.",
    # test_simple_text is listed first on purpose: http-header-validation calls the first
    # listed tool with no arguments.
    tools=[Tool.from_function(test_simple_text), _schema_tool],
    request_state_security=RequestStateSecurity(keys=[_STATE_KEY]),
    # caching (SEP-2549): every cacheable result carries ttlMs and cacheScope.
    cache_hints=_CACHE_HINTS,
)


# ---------------------------------------------------------------------------------------------
# Tools: content types
# ---------------------------------------------------------------------------------------------
@mcp.tool()
def test_image_content() -> list[ImageContent]:
    """Returns one image content block (PNG)."""
    return [ImageContent(type="image", data=PNG_1X1, mime_type="image/png")]


@mcp.tool()
def test_audio_content() -> list[AudioContent]:
    """Returns one audio content block (WAV)."""
    return [AudioContent(type="audio", data=WAV_EMPTY, mime_type="audio/wav")]


@mcp.tool()
def test_embedded_resource() -> list[EmbeddedResource]:
    """Returns one embedded text resource."""
    return [
        EmbeddedResource(
            type="resource",
            resource=TextResourceContents(
                uri="test://embedded-resource",
                mime_type="text/plain",
                text="This is an embedded resource content.",
            ),
        )
    ]


@mcp.tool()
def test_multiple_content_types() -> list[TextContent | ImageContent | EmbeddedResource]:
    """Returns text, image and embedded resource content together."""
    return [
        TextContent(type="text", text="Multiple content types test:"),
        ImageContent(type="image", data=PNG_1X1, mime_type="image/png"),
        EmbeddedResource(
            type="resource",
            resource=TextResourceContents(
                uri="test://mixed-content-resource",
                mime_type="application/json",
                text=json.dumps({"test": "data", "value": 123}),
            ),
        ),
    ]


@mcp.tool()
def test_structured_content(city: str = "Paris") -> dict[str, Any]:
    """Returns structured content (and its text rendering), with an output schema."""
    return {"city": city, "temperature_c": 21.5, "conditions": "sunny"}


@mcp.tool()
def test_error_handling() -> str:
    """Always fails: the result carries isError: true."""
    raise RuntimeError("This tool intentionally returns an error for testing")


# ---------------------------------------------------------------------------------------------
# Tools: progress and logging
# ---------------------------------------------------------------------------------------------
@mcp.tool()
async def test_tool_with_progress(ctx: Context) -> str:
    """Reports progress 0, 50 and 100 of 100 (when the request carries a progressToken)."""
    for step in (0, 50, 100):
        await ctx.report_progress(progress=step, total=100, message=f"Completed step {step} of 100")
        if step != 100:
            await asyncio.sleep(0.05)
    meta = ctx.request_context.meta
    token = meta.get("progress_token") if meta else None
    return f"progress done (token {token})"


@mcp.tool()
async def test_tool_with_logging(ctx: Context) -> str:
    """Emits three log messages (only delivered when the request sets a log level)."""
    for text in ("Tool execution started", "Tool processing data", "Tool execution completed"):
        await ctx.info(text)
        await asyncio.sleep(0.02)
    return "Tool with logging executed successfully"


@mcp.tool()
async def test_logging_tool(ctx: Context) -> str:
    """Logs at every level; with no `_meta` log level nothing may reach the client."""
    await ctx.debug("debug message")
    await ctx.info("info message")
    await ctx.warning("warning message")
    await ctx.error("error message")
    return "logged"


# ---------------------------------------------------------------------------------------------
# Tools: client capabilities and custom headers
# ---------------------------------------------------------------------------------------------
@mcp.tool()
async def test_missing_capability(ctx: Context) -> str:
    """Needs the client's `sampling` capability: without it, fails with -32021."""
    caps = ctx.client_capabilities
    if caps is None or caps.sampling is None:
        raise MCPError(
            code=MISSING_REQUIRED_CLIENT_CAPABILITY,
            message="This tool requires the client 'sampling' capability",
            data={"requiredCapabilities": {"sampling": {}}},
        )
    return "sampling capability declared"


@mcp.tool()
def test_x_mcp_header(
    region: Annotated[
        str,
        Field(description="Mirrored in the Mcp-Param-Region header", json_schema_extra={"x-mcp-header": "Region"}),
    ] = "unset",
) -> str:
    """Has an `x-mcp-header` parameter: the server checks `Mcp-Param-Region` against it."""
    return f"region={region}"


# ---------------------------------------------------------------------------------------------
# Tools: input-required results (MRTR, SEP-2322)
# ---------------------------------------------------------------------------------------------
def _ask_name(message: str = "What is your name?") -> ElicitRequest:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    return ElicitRequest(params=ElicitRequestFormParams(message=message, requested_schema=schema))


def _ask(message: str, field: str, kind: str = "string") -> ElicitRequest:
    schema = {"type": "object", "properties": {field: {"type": kind}}, "required": [field]}
    return ElicitRequest(params=ElicitRequestFormParams(message=message, requested_schema=schema))


def _sample(text: str, max_tokens: int = 100) -> CreateMessageRequest:
    return CreateMessageRequest(
        params=CreateMessageRequestParams(
            messages=[SamplingMessage(role="user", content=TextContent(type="text", text=text))],
            max_tokens=max_tokens,
        )
    )


def _accepted(answer: object, field: str) -> Any:
    """The `field` of an accepted elicitation answer, else None."""
    if isinstance(answer, ElicitResult) and answer.action == "accept" and answer.content:
        return answer.content.get(field)
    return None


@mcp.tool()
async def test_input_required_result_elicitation(ctx: Context) -> str | InputRequiredResult:
    """Asks the client for a name (elicitation), then greets it."""
    answer = (ctx.input_responses or {}).get("user_name")
    if isinstance(answer, ElicitResult):
        return f"Hello, {_accepted(answer, 'name') or 'stranger'}!"
    # First round, or a retry without (or with an unusable) answer: ask (again).
    return InputRequiredResult(input_requests={"user_name": _ask_name()})


@mcp.tool()
async def test_input_required_result_sampling(ctx: Context) -> str | InputRequiredResult:
    """Asks the client's model a question (sampling), then reports the answer."""
    answer = (ctx.input_responses or {}).get("capital_question")
    if isinstance(answer, CreateMessageResult):
        text = answer.content.text if answer.content.type == "text" else f"<{answer.content.type}>"
        return f"Model said: {text}"
    return InputRequiredResult(input_requests={"capital_question": _sample("What is the capital of France?")})


@mcp.tool()
async def test_input_required_result_list_roots(ctx: Context) -> str | InputRequiredResult:
    """Asks the client for its roots (roots/list), then counts them."""
    answer = (ctx.input_responses or {}).get("client_roots")
    if isinstance(answer, ListRootsResult):
        return f"Client exposed {len(answer.roots)} root(s)."
    return InputRequiredResult(input_requests={"client_roots": ListRootsRequest()})


@mcp.tool()
async def test_input_required_result_request_state(ctx: Context) -> str | InputRequiredResult:
    """Round-trips an opaque requestState; the second round answers "state-ok"."""
    if "confirm" in (ctx.input_responses or {}) and ctx.request_state == "awaiting-confirmation":
        return "state-ok: confirmation received with the echoed requestState"
    return InputRequiredResult(
        input_requests={"confirm": _ask("Please confirm", "ok", "boolean")},
        request_state="awaiting-confirmation",
    )


@mcp.tool()
async def test_input_required_result_multiple_inputs(ctx: Context) -> str | InputRequiredResult:
    """Asks for an elicitation, a sampling and a roots/list answer in one round."""
    wanted = {"user_name", "greeting", "client_roots"}
    if wanted <= (ctx.input_responses or {}).keys() and ctx.request_state == "multiple-inputs":
        return "All inputs received."
    return InputRequiredResult(
        input_requests={
            "user_name": _ask_name(),
            "greeting": _sample("Generate a greeting", 50),
            "client_roots": ListRootsRequest(),
        },
        request_state="multiple-inputs",
    )


@mcp.tool()
async def test_input_required_result_multi_round(ctx: Context) -> str | InputRequiredResult:
    """Three rounds: a name, then a colour (the state carries the name), then the answer."""
    state = json.loads(ctx.request_state) if ctx.request_state else {"round": 0}
    responses = ctx.input_responses or {}
    if state.get("round") == 1 and "step1" in responses:
        name = _accepted(responses["step1"], "name")
        return InputRequiredResult(
            input_requests={"step2": _ask("Step 2: What is your favorite color?", "color")},
            request_state=json.dumps({"round": 2, "name": name}),
        )
    if state.get("round") == 2 and "step2" in responses:
        return f"{state.get('name')} likes {_accepted(responses['step2'], 'color')}."
    # Round one, or an answer that does not fit the state: start over.
    return InputRequiredResult(
        input_requests={"step1": _ask_name("Step 1: What is your name?")},
        request_state=json.dumps({"round": 1}),
    )


@mcp.tool()
async def test_input_required_result_tampered_state(ctx: Context) -> str | InputRequiredResult:
    """Issues a requestState; the SDK's sealing rejects a tampered echo before we run."""
    if ctx.request_state is None:
        return InputRequiredResult(
            input_requests={"confirm": _ask("Please confirm", "ok", "boolean")}, request_state="round-1"
        )
    return f"state-ok: {ctx.request_state}"


@mcp.tool()
async def test_input_required_result_capabilities(ctx: Context) -> str | InputRequiredResult:
    """Asks only for what the client declared it can answer (sampling, elicitation, roots)."""
    responses = ctx.input_responses or {}
    if responses:
        return f"Received {', '.join(sorted(responses))}."
    caps = ctx.client_capabilities
    requests: dict[str, InputRequest] = {}
    if caps is not None and caps.sampling is not None:
        requests["sample"] = _sample("Say hello", 50)
    if caps is not None and caps.elicitation is not None:
        requests["ask"] = _ask_name()
    if caps is not None and caps.roots is not None:
        requests["roots"] = ListRootsRequest()
    if not requests:
        return "The client declared no capability this tool could ask through."
    return InputRequiredResult(input_requests=requests, request_state="capability-gated")


@mcp.tool()
async def test_streaming_elicitation(ctx: Context) -> str | InputRequiredResult:
    """Streams progress, then asks for input as an input-required result (never a request)."""
    answer = (ctx.input_responses or {}).get("user_name")
    if answer is not None:
        return f"Hello, {_accepted(answer, 'name') or 'stranger'}!"
    await ctx.report_progress(progress=1, total=2, message="about to ask")
    return InputRequiredResult(input_requests={"user_name": _ask_name()})


@mcp.tool()
async def test_trigger_tool_change(ctx: Context) -> str:
    """Adds and removes a tool, then tells subscriptions/listen streams the list changed."""
    mcp.add_tool(_dynamic, name="test_dynamic_tool")
    mcp.remove_tool("test_dynamic_tool")
    await ctx.notify_tools_changed()
    return "tool list changed"


@mcp.tool()
async def test_trigger_prompt_change(ctx: Context) -> str:
    """Adds and removes a prompt, then tells subscriptions/listen streams the list changed."""
    mcp.prompt(name="test_dynamic_prompt", description="dynamic")(_dynamic)
    mcp.remove_prompt("test_dynamic_prompt")
    await ctx.notify_prompts_changed()
    return "prompt list changed"


def _dynamic() -> str:
    """Registered and removed again by the test_trigger_* tools."""
    return "dynamic"


# ---------------------------------------------------------------------------------------------
# Tools: the Tasks extension (io.modelcontextprotocol/tasks, SEP-2663; the tasks-* scenarios)
# ---------------------------------------------------------------------------------------------
@mcp.tool()
def greet(name: str = "World") -> str:
    """Sync-only: greets `name`."""
    return f"Hello, {name}!"


@mcp.tool()
async def slow_compute(seconds: float = 1.0, label: str = "") -> str:
    """Task-supporting: sleeps `seconds`, then reports; cancellable while it sleeps."""
    await asyncio.sleep(max(0.0, seconds))
    return f"computed {label or 'result'} after {seconds:g}s"


@mcp.tool()
async def failing_job() -> str:
    """Task-required: fails as a tool (isError: true) after about a second."""
    await asyncio.sleep(1.0)
    raise ToolError("failing_job failed, as it always does")


@mcp.tool()
async def protocol_error_job() -> str:
    """Task-supporting: fails with a JSON-RPC error (the task settles failed)."""
    await asyncio.sleep(0.2)
    raise MCPError(code=-32603, message="protocol_error_job: simulated internal failure")


@mcp.tool()
async def confirm_delete(ctx: Context, filename: str) -> str | InputRequiredResult:
    """Task-supporting: asks for a confirmation (elicitation), then "deletes" `filename`."""
    answer = (ctx.input_responses or {}).get("confirm")
    if not isinstance(answer, ElicitResult):
        return InputRequiredResult(input_requests={"confirm": _ask(f"Delete {filename}?", "confirm", "boolean")})
    if answer.action == "accept":
        return f"Deleted {filename}"
    return f"Kept {filename} ({answer.action})"


@mcp.tool()
async def multi_input(ctx: Context) -> str | InputRequiredResult:
    """Task-supporting: asks two questions at once; answers when both came back."""
    answers = ctx.input_responses or {}
    first, second = answers.get("first"), answers.get("second")
    if isinstance(first, ElicitResult) and isinstance(second, ElicitResult):
        return f"Got both answers: {_accepted(first, 'name')} and {_accepted(second, 'name')}"
    return InputRequiredResult(
        input_requests={"first": _ask("First name?", "name"), "second": _ask("Second name?", "name")}
    )


@mcp.tool()
async def test_tool_with_task(ctx: Context) -> str | InputRequiredResult:
    """Task-required, MRTR first: asks for a name on tools/call, then continues as a task."""
    name = _accepted((ctx.input_responses or {}).get("user_name"), "name")
    if not name:
        return InputRequiredResult(input_requests={"user_name": _ask_name()})
    run_as_task()  # a plain call becomes a task here; in the task this returns
    await asyncio.sleep(0.2)
    return f"Hello, {name}! (from a task)"


# The store is the process's memory unless the app picks one (`fast_http_app(mcp, task_store=...)`,
# `mcp-fastpath serve ... --task-store sqlite:///tasks.db|redis://...`).
tasks = TaskSupport(
    mcp,
    tools={
        "slow_compute": TaskTool("optional", idempotent=True),
        "failing_job": "required",
        "protocol_error_job": "optional",
        "confirm_delete": "optional",
        "multi_input": "optional",
        "test_tool_with_task": TaskTool("required", sync_first=True),
    },
    ttl_ms=600_000,
    poll_interval_ms=200,
    lease_ms=int(os.environ.get("EVERYTHING_TASK_LEASE_MS", "10000")),
)


# ---------------------------------------------------------------------------------------------
# Resources and templates
# ---------------------------------------------------------------------------------------------
@mcp.resource("test://static-text", mime_type="text/plain")
def static_text() -> str:
    """A static text resource."""
    return "This is the content of the static text resource."


@mcp.resource("test://static-binary", mime_type="image/png")
def static_binary() -> bytes:
    """A static binary resource (a PNG image)."""
    return base64.b64decode(PNG_1X1)


@mcp.resource("test://watched-resource", mime_type="text/plain")
def watched_resource() -> str:
    """A resource clients may watch for updates."""
    return "Watched resource content"


@mcp.resource("test://template/{id}/data", mime_type="application/json")
def template_data(id: str) -> str:
    """A resource template: the id is substituted into the content."""
    return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"})


# ---------------------------------------------------------------------------------------------
# Prompts
# ---------------------------------------------------------------------------------------------
@mcp.prompt()
def test_simple_prompt() -> list[UserMessage]:
    """A prompt without arguments."""
    return [UserMessage(content=TextContent(type="text", text="This is a simple prompt for testing."))]


@mcp.prompt()
def test_prompt_with_arguments(arg1: str, arg2: str) -> list[UserMessage]:
    """A prompt with two required arguments."""
    text = f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"
    return [UserMessage(content=TextContent(type="text", text=text))]


@mcp.prompt()
def test_prompt_with_embedded_resource(resourceUri: str) -> list[UserMessage]:
    """A prompt whose first message embeds a resource."""
    resource = TextResourceContents(
        uri=resourceUri, mime_type="text/plain", text="Embedded resource content for testing."
    )
    return [
        UserMessage(content=EmbeddedResource(type="resource", resource=resource)),
        UserMessage(content=TextContent(type="text", text="Please process the embedded resource above.")),
    ]


@mcp.prompt()
def test_prompt_with_image() -> list[UserMessage]:
    """A prompt whose first message is an image."""
    return [
        UserMessage(content=ImageContent(type="image", data=PNG_1X1, mime_type="image/png")),
        UserMessage(content=TextContent(type="text", text="Please analyze the image above.")),
    ]


@mcp.prompt()
async def test_input_required_result_prompt(ctx: Context) -> list[UserMessage] | InputRequiredResult:
    """prompts/get that first asks the client for context (an input-required result)."""
    answer = (ctx.input_responses or {}).get("user_context")
    if isinstance(answer, ElicitResult):
        text = _accepted(answer, "context") or "(none given)"
        return [UserMessage(content=TextContent(type="text", text=f"Use the following context: {text}"))]
    return InputRequiredResult(input_requests={"user_context": _ask("What context should the prompt use?", "context")})


# ---------------------------------------------------------------------------------------------
# Completion
# ---------------------------------------------------------------------------------------------
_COMPLETIONS: dict[tuple[str, str], list[str]] = {
    ("test_prompt_with_arguments", "arg1"): ["test", "testing", "tested", "other"],
    ("test_prompt_with_arguments", "arg2"): ["alpha", "beta", "gamma"],
    ("test://template/{id}/data", "id"): ["1", "2", "42", "123"],
}


@mcp.completion()
async def complete(
    ref: PromptReference | ResourceTemplateReference,
    argument: CompletionArgument,
    context: CompletionContext | None,
) -> Completion:
    key = ref.name if isinstance(ref, PromptReference) else ref.uri
    values = [v for v in _COMPLETIONS.get((key, argument.name), []) if v.startswith(argument.value)]
    return Completion(values=values, total=len(values), has_more=False)
