"""Proof of sameness: direct dispatch answers every `tools/call` exactly as the SDK's kernel.

Two fresh instances of the same server, each behind `fast_http_app` — one with direct dispatch
(`direct=True`, the default), one without (`direct=False`: every call through `serve_one`) —
get the same request bytes; the HTTP status, the headers and the body bytes must be identical.
Both in JSON mode and in the SDK's default SSE mode, on both backends (the `backend` fixture picks
the codec of the apps). Covered: every tool of `examples/everything.py` and of a purpose-built
server (tests/servers/direct_tools.py), hypothesis-generated valid and invalid arguments, unknown
tools, tools that raise, `ToolError`, structured output with and without a schema, Context
tools, images, embedded resources, malformed params and `_meta`. Each test also checks that the
direct path really served what it is meant to serve (`DirectTools.served`), so a dispatcher that
silently deferred everything to the kernel would fail here.

One difference is normalised: an `input_required` result's sealed `requestState` (each server
instance seals with its own ephemeral key and the current time).
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.asgi_driver import lifespan, post
from tests.servers import direct_tools

ROOT = Path(__file__).resolve().parent.parent
V = "2026-07-28"
META = {
    "io.modelcontextprotocol/protocolVersion": V,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "proof", "version": "1.0"},
}


class AppPair:
    """A direct and a kernel-only app over two instances of one server, served on a private loop."""

    def __init__(self, factory: Callable[[], Any], backend: Any, *, json_response: bool) -> None:
        from mcp_fastpath.adapters.sdk import fast_http_app

        self.backend = backend
        self.direct_app = fast_http_app(factory(), json_response=json_response, direct=True)
        self.kernel_app = fast_http_app(factory(), json_response=json_response, direct=False)
        self.direct = self.direct_app.state.mcp_fastpath.direct
        assert self.direct is not None and self.kernel_app.state.mcp_fastpath.direct is None
        self.loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._running = asyncio.run_coroutine_threadsafe(self._serve(), self.loop)
        self._ready.wait(10)

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with lifespan(self.direct_app), lifespan(self.kernel_app):
            self._ready.set()
            await self._stop.wait()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self._stop.set)
        self._running.result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def exchange(self, body: bytes, headers: dict[str, str]) -> tuple[Any, Any]:
        async def both() -> tuple[Any, Any]:
            direct = await post(self.direct_app, "/mcp", body, headers)
            kernel = await post(self.kernel_app, "/mcp", body, headers)
            return direct, kernel

        return asyncio.run_coroutine_threadsafe(both(), self.loop).result(30)

    def same(self, params: dict[str, Any], *, request_id: Any = 1, served: bool | None = None) -> dict[str, Any]:
        """Send one `tools/call` with `params` to both; assert identical answers; return the body."""
        message = {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}
        body = orjson.dumps(message)
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        headers["Host"] = "127.0.0.1:8000"
        try:
            headers.update(self.backend.request_headers("tools/call", params))
        except (ValueError, TypeError):
            headers.update({"MCP-Protocol-Version": V, "Mcp-Method": "tools/call"})
        before = self.direct.served
        direct, kernel = self.exchange(body, headers)
        assert _normalised(direct) == _normalised(kernel), (params, direct, kernel)
        if served is not None:
            assert (self.direct.served > before) is served, (params, direct)
        return orjson.loads(direct[2]) if direct[2] else {}


def _normalised(answer: tuple[int, dict[str, str], bytes]) -> tuple[int, dict[str, str], bytes]:
    status, headers, body = answer
    if b'"requestState"' in body:
        decoded = orjson.loads(body)
        decoded.get("result", {})["requestState"] = "<sealed>"
        body = orjson.dumps(decoded)
        headers = {k: v for k, v in headers.items() if k != "content-length"}
    return status, headers, body


def call(name: str, arguments: Any = None, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"name": name, "_meta": dict(META)}
    if arguments is not None:
        params["arguments"] = arguments
    params.update(extra)
    return params


@pytest.fixture(scope="module", params=[True, False], ids=["json", "sse"])
def pair(request: pytest.FixtureRequest, backend: Any):
    served = AppPair(direct_tools.build_server, backend, json_response=request.param)
    try:
        yield served
    finally:
        served.close()


# ---- the purpose-built server, tool by tool ------------------------------------------------

DIRECT_CALLS = [
    call("add", {"a": 2, "b": 3}),
    call("add", {"a": "2", "b": 3.0}),  # lax: a numeric string, an integral float
    call("add", {"a": 2, "b": 3, "extra": [1]}),  # unknown arguments are ignored
    call("forecast", {"place": {"city": "Paris", "days": 3}}),
    call("forecast", {"place": {"city": "Oslo"}}),
    call("echo", {"text": "hé ✓", "times": 3, "sep": "-"}),
    call("echo", {"text": "[1, 2]"}),  # a JSON-looking string for a str field: never pre-parsed
    call("optional_text", {"note": "plain"}),
    call("optional_text", {"note": "null"}),  # the SDK pre-parses this one to None: dict mode
    call("optional_text", {}),
    call("anything", {"value": '{"a": [1, 2]}'}),
    call("anything", {"value": [1, {"b": None}]}),
    call("choose", {"colour": "red", "mode": "safe", "flag": True}),
    call("when", {"at": "2026-07-28T12:00:00Z", "offset_s": 1.5}),
    call("person", {"who": {"firstName": "Ada", "age": 36}}),
    call("price", {"item": {"price": 0.10}}),
    call("numbers", {"values": [1, 2, 3], "scale": 0.5}),
    call("mapping", {"data": {"x": 1, "y": 2}}),
    call("pairs", {"pair": [6, 7]}),
    call("unstructured", {"x": "z"}),
    call("unstructured_model", {"x": "z"}),
    call("nothing"),
    call("image"),
    call("blocks"),
    call("raw_result"),
    call("bad_output"),
    call("unicode_text", {"text": "日本語 ✓ \u00e9"}),
    call("tool_error", {"why": "because ✓"}),
    call("crash"),
    call("protocol_error"),
    call("with_context", {"label": "ctx"}),
    call("sync_context"),
    call("sneaky_input_required"),
    call("ask"),  # input_required: the SDK's sieve and request-state seal, on what the tool returned
    call("add", {"a": 1, "b": 2}, _meta={**META, "dev.mcp-fastpath/token": "t"}),  # our own _meta members
]

KERNEL_CALLS = [
    call("add", {"a": "x", "b": 2}),  # invalid: the kernel answers, with its own error text
    call("add", None),  # no arguments at all (the SDK validates {}): invalid too
    call("forecast", {"place": {"days": 99}}),
    call("no_such_tool", {}),
    call("ask", requestState="anything", inputResponses={}),
    call("add", {"a": 1, "b": 2}, requestState="forged"),
    call("add", [1, 2]),  # arguments not an object
    call("add", "a=1"),
    call("add", {"a": 1, "b": 2}, _meta={**META, "io.modelcontextprotocol/clientInfo": {"name": 1}}),
    call("add", {"a": 1, "b": 2}, _meta={**META, "io.modelcontextprotocol/clientCapabilities": {"roots": 5}}),
    call("add", {"a": 1, "b": 2}, _meta={**META, "progressToken": [1]}),
    call("add", {"a": 1, "b": 2}, task={"ttl": 5}),  # a params member the plan does not know
]


@pytest.mark.parametrize("params", DIRECT_CALLS, ids=lambda p: p["name"])
def test_direct_calls_answer_as_the_kernel(pair: AppPair, params: dict[str, Any]) -> None:
    pair.same(params, served=True)


@pytest.mark.parametrize("params", KERNEL_CALLS, ids=lambda p: p["name"])
def test_what_the_plan_cannot_prove_goes_to_the_kernel(pair: AppPair, params: dict[str, Any]) -> None:
    pair.same(params, served=False)


def test_request_ids_and_failures_read_the_same(pair: AppPair) -> None:
    for request_id in (0, -7, 2**62, "abc", "ü"):
        answer = pair.same(call("add", {"a": 1, "b": 1}), request_id=request_id, served=True)
        assert answer["id"] == request_id
    failed = pair.same(call("crash"), served=True)["result"]
    assert failed["isError"] is True and "secret internals" not in failed["content"][0]["text"]
    error = pair.same(call("protocol_error"), served=True)["error"]
    assert error == {"code": -32042, "message": "custom protocol error", "data": {"x": 1}}


def test_a_state_sealed_on_the_direct_path_opens_on_the_kernel(pair: AppPair) -> None:
    """Round one of an MRTR exchange served directly; round two (it carries `requestState`) by the
    kernel of the same server, which must accept the state the direct path sealed."""
    first = pair.same(call("ask"), served=True)["result"]
    assert first["resultType"] == "input_required" and first["requestState"] != "round-1"
    answers = {"who": {"action": "accept", "content": {}}}
    second = call("ask", requestState=first["requestState"], inputResponses=answers)
    message = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": second}
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    headers.update(Host="127.0.0.1:8000", **pair.backend.request_headers("tools/call", second))

    async def round_two() -> tuple[int, dict[str, str], bytes]:
        return await post(pair.direct_app, "/mcp", orjson.dumps(message), headers)

    status, _, body = asyncio.run_coroutine_threadsafe(round_two(), pair.loop).result(30)
    assert status == 200 and orjson.loads(body)["result"]["content"][0]["text"] == "thanks", body


# ---- hypothesis: any arguments, valid or not --------------------------------------------------

JSON_STRINGS = st.sampled_from(["null", "[1]", '{"a": 1}', "5", "true", '"x"', "2026-07-28T00:00:00Z", "", "red"])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=8)
    | JSON_STRINGS
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
TOOL_NAMES = sorted(direct_tools.build_server()._tool_manager._tools)
FIELD_NAMES = ["a", "b", "place", "city", "days", "text", "times", "note", "value", "colour", "mode", "flag", "at"]
ARGUMENTS = st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=4), JSON_VALUES, max_size=4)


@settings(max_examples=150)
@given(name=st.sampled_from(TOOL_NAMES), arguments=ARGUMENTS)
def test_any_arguments_answer_as_the_kernel(pair: AppPair, name: str, arguments: dict[str, Any]) -> None:
    if name in ("crash", "bad_output") or name.startswith("sneaky"):
        arguments = {}  # these log a traceback per call; their shape is covered above
    pair.same(call(name, arguments))


@settings(max_examples=100)
@given(
    place=st.fixed_dictionaries(
        {"city": st.text(st.characters(exclude_categories=("Cs",)), max_size=10) | SCALARS},
        optional={"days": st.integers(-3, 10) | SCALARS},
    )
)
def test_pydantic_arguments_answer_as_the_kernel(pair: AppPair, place: dict[str, Any]) -> None:
    pair.same(call("forecast", {"place": place}))


# ---- examples/everything.py, every tool --------------------------------------------------------


def _load_everything(tag: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"everything_{tag}", ROOT / "examples" / "everything.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the module's annotations through it
    spec.loader.exec_module(module)
    return module.mcp


def _sample_arguments(schema: dict[str, Any]) -> dict[str, Any]:
    samples = {"string": "x", "integer": 1, "number": 0.01, "boolean": True, "object": {}, "array": []}
    out = {}
    for name in schema.get("required", []):
        prop = schema.get("properties", {}).get(name, {})
        out[name] = samples.get(prop.get("type"), "x")
    return out


@pytest.mark.parametrize("json_response", [True, False], ids=["json", "sse"])
def test_every_tool_of_the_conformance_server_answers_as_the_kernel(backend: Any, json_response: bool) -> None:
    counter = iter(range(1_000_000))
    served = AppPair(lambda: _load_everything(str(next(counter))), backend, json_response=json_response)
    try:
        tools = served.direct_app.state.mcp_fastpath.lowlevel  # the lowlevel Server
        server_tools = served.direct.tools.list_tools()
        assert len(server_tools) > 20
        slow = {"slow_compute": {"seconds": 0.01}, "failing_job": {}, "protocol_error_job": {}}
        for tool in server_tools:
            if tool.name in ("failing_job",):  # sleeps a second, task-required: the kernel's anyway
                continue
            arguments = slow.get(tool.name, _sample_arguments(tool.parameters))
            served.same(call(tool.name, arguments))
        assert tools is not None
        assert served.direct.served >= 10, "the direct path served none of the plain tools"
    finally:
        served.close()


def test_the_json_equivalence_rule() -> None:
    """Which argument models validate from JSON text (and which need the SDK's dict way)."""
    from mcp_fastpath.adapters._direct import json_equivalent

    server = direct_tools.build_server()
    mode = {t.name: json_equivalent(t.fn_metadata.arg_model) for t in server._tool_manager.list_tools()}
    for name in ("add", "forecast", "echo", "choose", "when", "person", "numbers", "mapping", "pairs"):
        assert mode[name] is True, name
    for name in ("optional_text", "anything", "price"):
        assert mode[name] is False, name
