"""FastMCP servers on the fast path: `fast_http_app(FastMCP(...))`, proven the same as FastMCP.

Real parts: FastMCP 4.2 servers (tests/servers/fastmcp_app.py) on a real uvicorn server per
backend (native and pure), real HTTP. For each request the same bytes go to fresh instances of one
server behind
- `direct`: `fast_http_app(server)` (direct dispatch of `tools/call`, the default),
- `kernel`: `fast_http_app(server, direct=False)` (every call through the SDK's kernel),
- `stock`: FastMCP's own `http_app()`,
in JSON mode and in the default SSE mode. Direct and kernel answers must be identical in status,
headers and body bytes; the fast path and FastMCP's own app identical in status, content type and
JSON (and in bytes when the body is ASCII: the codec writes non-ASCII text as UTF-8 where the
SDK escapes it). Each call also checks whether the direct dispatcher ran it (`GET /served/…`), so
a dispatcher that silently left everything to the kernel would fail here.

Covered: tools of every shape (sync/async, pydantic models, structured and unstructured output,
Context, ToolError, crashes, MCPError, images and content blocks, ToolResult/CallToolResult,
timeouts, versions, a mounted server, a disabled tool, input_required), unknown tools, arguments
from hypothesis (valid or not), what falls back to the kernel, FastMCP middleware that rewrites,
answers, refuses and stamps calls, FastMCP's own JWT auth, and `EnvelopeGuard` around FastMCP's
own app (and a gated fast app) driven by the official `mcp` client.

One difference is normalised: an `input_required` result's sealed `requestState` (each server
instance seals with its own ephemeral key and the current time).
"""

from __future__ import annotations

import asyncio
import collections
import json
import threading
import time
from typing import Any

import httpx
import mcp_fastpath as fp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.adapter_helpers import BACKENDS, ServerSubprocess, meta
from tests.servers import fastmcp_app as app

pytest.importorskip("fastmcp")

MODES = {"json": "-json", "sse": ""}


class Served:
    """The variants of tests/servers/fastmcp_app.py on one uvicorn server."""

    def __init__(self, proc: ServerSubprocess) -> None:
        self.proc = proc
        self.base = f"http://127.0.0.1:{proc.port}"
        self.http = httpx.Client(timeout=30)
        # FastMCP logs every failing tool with its traceback: drain the server's stderr, or a full
        # pipe would stall it. The tail is kept for a failure's report.
        self.log: collections.deque[str] = collections.deque(maxlen=200)
        self._drain = threading.Thread(target=self.log.extend, args=(proc.proc.stderr,), daemon=True)
        self._drain.start()

    def url(self, variant: str) -> str:
        return f"{self.base}/{variant}/mcp"

    def served(self, variant: str) -> int:
        return self.http.get(f"{self.base}/served/{variant}").json()["served"]

    def post(self, variant: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        r = self.http.post(self.url(variant), content=body, headers=headers)
        kept = {k: v for k, v in r.headers.items() if k not in ("date", "server")}
        return r.status_code, kept, r.content

    def close(self) -> None:
        self.http.close()
        self.proc.stop()


@pytest.fixture(scope="module", params=BACKENDS)
def served(request: pytest.FixtureRequest):
    proc = ServerSubprocess("tests.servers.fastmcp_app", "fastmcp", request.param).wait()
    assert proc.backend == request.param
    out = Served(proc)
    try:
        yield out
    finally:
        out.close()


def call(name: str, arguments: Any = None, *, meta_extra: dict[str, Any] | None = None, **extra: Any) -> dict:
    params: dict[str, Any] = {"name": name, "_meta": meta(**(meta_extra or {}))}
    if arguments is not None:
        params["arguments"] = arguments
    params.update(extra)
    return params


def request_of(params: dict[str, Any], request_id: Any = 1) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    try:
        headers.update(fp.request_headers("tools/call", params))
    except (ValueError, TypeError):
        headers.update({"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call"})
    return body, headers


def _normalised(answer: tuple[int, dict[str, str], bytes]) -> tuple[int, dict[str, str], bytes]:
    status, headers, body = answer
    if b'"requestState"' in body:
        decoded = json.loads(body)
        decoded["result"]["requestState"] = "<sealed>"
        body = json.dumps(decoded, separators=(",", ":")).encode()
        headers = {k: v for k, v in headers.items() if k != "content-length"}
    return status, headers, body


def _parsed(answer: tuple[int, dict[str, str], bytes]) -> Any:
    """The JSON body; for an SSE stream, the list of its frames' JSON messages."""
    _, headers, body = answer
    if headers.get("content-type") == "text/event-stream":
        lines = body.decode().splitlines()
        return [json.loads(line[len("data: ") :]) for line in lines if line.startswith("data: ")]
    return json.loads(body) if body else None


def same_three(
    served: Served, params: dict[str, Any], *, mode: str = "json", suffix: str = "", direct: bool | None = None
) -> dict[str, Any]:
    """One `tools/call` to the direct, kernel and stock variants; assert they answer alike (see the
    module docstring) and, if `direct` is given, whether the direct dispatcher ran it."""
    tail = suffix or MODES[mode]
    body, headers = request_of(params)
    before = served.served(f"direct{tail}")
    fast = served.post(f"direct{tail}", body, headers)
    kernel = served.post(f"kernel{tail}", body, headers)
    stock = served.post(f"stock{tail}", body, headers)
    assert _normalised(fast) == _normalised(kernel), (params, fast, kernel)
    assert fast[0] == stock[0] and fast[1].get("content-type") == stock[1].get("content-type"), (fast, stock)
    parsed = _parsed(_normalised(fast))
    assert parsed == _parsed(_normalised(stock)), (params, fast, stock)
    if fast[2].isascii():
        assert _normalised(fast)[2] == _normalised(stock)[2]
    if direct is not None:
        assert (served.served(f"direct{tail}") > before) is direct, (params, fast)
    return parsed if isinstance(parsed, dict) else {}


# ---- every shape, JSON and SSE -----------------------------------------------------------------

DIRECT_CALLS = [
    call("add", {"a": 2, "b": 3}),
    call("add", {"a": "2", "b": 3.0}),  # lax: a numeric string, an integral float
    call("add", {"a": 2, "b": 3, "extra": [1]}),
    call("add", None),  # no arguments: FastMCP's own validation error, as a result
    call("add", {"a": "x", "b": 2}),  # invalid: FastMCP answers with an isError result
    call("forecast", {"place": {"city": "Paris", "days": 3}}),
    call("forecast", {"place": {"days": 99}}),
    call("echo", {"text": "[1, 2]", "times": 2, "sep": "-"}),
    call("optional_text", {"note": "null"}),
    call("anything", {"value": {"a": [1, None, 2.5]}}),
    call("choose", {"colour": "red", "mode": "safe", "flag": True}),
    call("when", {"at": "2026-07-28T12:00:00Z", "offset_s": 1.5}),
    call("numbers", {"values": [1, 2, 3], "scale": 0.5}),
    call("mapping", {"data": {"x": 1}}),
    call("unstructured", {"x": "z"}),
    call("nothing"),
    call("image"),
    call("blocks"),
    call("tool_result"),
    call("raw_result"),
    call("unicode_text", {"text": "日本語 ✓ é"}),
    call("tool_error", {"why": "because ✓"}),
    call("crash"),
    call("protocol_error"),
    call("nonfinite"),
    call("with_context", {"label": "ctx"}),
    call("sync_context"),
    call("headers"),
    call("timed", {"x": 7}),
    call("steps", {"n": 2}),  # progress without a progressToken: nothing is sent
    call("chatty"),  # log lines without a log level in _meta: nothing is sent
    call("versioned"),
    call("versioned", meta_extra={"fastmcp": {"version": "1"}}),
    call("sub_shout", {"text": "hey"}),
    call("hidden"),  # disabled: "Unknown tool"
    call("no_such_tool", {}),
    call("ask"),  # input_required: sealed by the SDK's request-state boundary
    call("add", {"a": 1, "b": 2}, meta_extra={"dev.mcp-fastpath/token": "t"}),  # our own _meta members
]

KERNEL_CALLS = [
    call("ask", requestState="anything", inputResponses={}),
    call("add", {"a": 1, "b": 2}, requestState="forged"),
    call("add", {"a": 1, "b": 2}, task={"ttl": 5}),  # a params member the direct path does not know
    call("add", [1, 2]),  # arguments not an object
    call("add", {"a": 1, "b": 2}, meta_extra={"io.modelcontextprotocol/clientInfo": {"name": 1}}),
    call("add", {"a": 1, "b": 2}, meta_extra={"io.modelcontextprotocol/clientCapabilities": {"roots": 5}}),
    # Trace context in `_meta`: FastMCP's seam span would parent the tool's spans on it.
    call(
        "add", {"a": 1, "b": 2}, meta_extra={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    ),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("params", DIRECT_CALLS, ids=lambda p: p["name"])
def test_tool_calls_answer_as_the_kernel_and_as_fastmcp(served: Served, params: dict, mode: str) -> None:
    same_three(served, params, mode=mode, direct=True)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("params", KERNEL_CALLS, ids=lambda p: p["name"])
def test_what_is_not_provably_the_same_goes_to_the_kernel(served: Served, params: dict, mode: str) -> None:
    same_three(served, params, mode=mode, direct=False)


@pytest.mark.parametrize("mode", MODES)
def test_progress_and_log_notifications_stream_as_fastmcp_streams_them(served: Served, mode: str) -> None:
    """A request that opted in to notifications (a progressToken, a log level): in SSE mode the
    SDK's deferral streams them (the kernel serves it, as the SDK does); in JSON mode they are
    dropped and the direct path serves it."""
    progress = call("steps", {"n": 2}, meta_extra={"progressToken": "p1"})
    logs = call("chatty", meta_extra={"io.modelcontextprotocol/logLevel": "info"})
    for params in (progress, logs):
        same_three(served, params, mode=mode, direct=mode == "json")
    if mode == "sse":
        body, headers = request_of(progress)
        status, response_headers, stream = served.post("direct", body, headers)
        assert response_headers["content-type"] == "text/event-stream" and stream.count(b"notifications/progress") == 2


def test_results_read_as_fastmcp_wrote_them(served: Served) -> None:
    add = same_three(served, call("add", {"a": 2, "b": 3}))["result"]
    assert add["structuredContent"] == {"result": 5} and add["_meta"]["fastmcp"] == {"wrap_result": True}
    crash = same_three(served, call("crash"))["result"]
    assert crash["isError"] is True and crash["content"][0]["text"] == "Error calling tool 'crash': secret internals"
    unknown = same_three(served, call("hidden"))["result"]
    assert unknown["isError"] is True and unknown["content"][0]["text"] == "Unknown tool: 'hidden'"
    versioned = same_three(served, call("versioned", meta_extra={"fastmcp": {"version": "1"}}))
    assert versioned["result"]["structuredContent"] == {"result": "v1"}
    headers = same_three(served, call("headers"))["result"]["structuredContent"]
    assert headers == {"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "headers"}


def test_a_state_sealed_on_the_direct_path_opens_on_the_kernel(served: Served) -> None:
    """MRTR round one served directly; round two (it carries `requestState`) by the kernel of the
    same server instance, which must accept the state the direct path sealed."""
    body, headers = request_of(call("ask"))
    first = json.loads(served.post("direct-json", body, headers)[2])["result"]
    assert first["resultType"] == "input_required" and first["requestState"] != "round-1"
    second = call("ask", requestState=first["requestState"], inputResponses={"who": {"action": "accept"}})
    body, headers = request_of(second, request_id=2)
    status, _, answer = served.post("direct-json", body, headers)
    assert status == 200 and json.loads(answer)["result"]["structuredContent"] == {"result": "thanks"}, answer


# ---- hypothesis: any arguments ------------------------------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=8)
    | st.sampled_from(["null", "[1]", '{"a": 1}', "5", "true", "2026-07-28T00:00:00Z", "", "red", "fast"])
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
TOOL_NAMES = ["add", "forecast", "echo", "optional_text", "anything", "choose", "when", "numbers", "mapping"]
TOOL_NAMES += ["unstructured", "with_context", "timed", "sub_shout", "tool_error", "versioned", "no_such_tool"]
FIELDS = ["a", "b", "place", "text", "times", "sep", "note", "value", "colour", "mode", "flag", "at", "values", "x"]
ARGUMENTS = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=4), JSON_VALUES, max_size=4)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(TOOL_NAMES), arguments=ARGUMENTS, mode=st.sampled_from(list(MODES)))
def test_any_arguments_answer_as_the_kernel_and_as_fastmcp(
    served: Served, name: str, arguments: dict[str, Any], mode: str
) -> None:
    same_three(served, call(name, arguments), mode=mode, direct=True)


# ---- FastMCP middleware ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(app.MIDDLEWARE_EFFECTS))
def test_fastmcp_middleware_is_honoured_on_the_direct_path(served: Served, name: str) -> None:
    """Middleware that rewrites, answers, refuses or stamps a call: the direct path runs
    FastMCP's own chain, so its answers are the kernel's and FastMCP's own, and differ from the
    same server's without the middleware."""
    arguments = {"add": {"a": 2, "b": 3}, "echo": {"text": "hi"}, "forecast": {"place": {"city": "Oslo"}}}
    params = call(name, arguments.get(name, {}))
    with_mw = same_three(served, params, suffix="-mw", direct=True)
    without = same_three(served, params, mode="json", direct=True)
    assert with_mw != without, name
    if name == "add":
        assert with_mw["result"]["structuredContent"] == {"result": 102}
    elif name == "echo":
        assert with_mw["result"]["content"] == [{"type": "text", "text": "answered by middleware"}]
    elif name == "crash":
        assert with_mw["result"]["isError"] and with_mw["result"]["content"][0]["text"] == "refused by policy"
    elif name == "nothing":
        assert with_mw["error"] == {"code": -32003, "message": "forbidden by policy"}
    else:
        assert with_mw["result"]["_meta"]["stamped"] == "by middleware"


# ---- FastMCP's own HTTP features, kept ---------------------------------------------------------


def _token(scope: str = "mcp") -> str:
    claims = {"iss": app.ISSUER, "aud": app.AUDIENCE, "sub": "alice", "scope": scope, "exp": int(time.time()) + 600}
    return fp.sign_jwt(fp.HmacKey(app.KID, app.SECRET), claims)


def test_fastmcp_auth_and_routes_are_kept(served: Served) -> None:
    """FastMCP's own bearer auth (its `JWTVerifier`) runs in front of the fast path: refused
    alike without a token, served alike with one; its custom routes answer."""
    body, headers = request_of(call("add", {"a": 2, "b": 3}))
    refused = [served.post(v, body, headers) for v in ("direct-auth", "stock-auth")]
    assert refused[0] == refused[1] and refused[0][0] == 401, refused
    before = served.served("direct-auth")
    authorised = {**headers, "Authorization": f"Bearer {_token()}"}
    answers = [served.post(v, body, authorised) for v in ("direct-auth", "stock-auth")]
    assert answers[0] == answers[1] and answers[0][0] == 200, answers
    assert json.loads(answers[0][2])["result"]["structuredContent"] == {"result": 5}
    assert served.served("direct-auth") == before + 1
    health = served.http.get(f"{served.base}/direct/health")
    assert (health.status_code, health.text) == (200, "ok")


async def _official_call(
    url: str, mode: str, bearer: str | None, tool: str = "add", arguments: dict[str, Any] | None = None
) -> Any:
    """One `call_tool` through the official `mcp` client: `(protocol version, result)`, or the
    MCPError it ended with."""
    import httpx2
    from mcp.client.client import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared.exceptions import MCPError

    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    try:
        async with httpx2.AsyncClient(headers=headers, timeout=15) as http:
            async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
                result = await client.call_tool(tool, {"a": 20, "b": 22} if arguments is None else arguments)
                return client.session.protocol_version, result
    except BaseException as exc:
        errors = [leaf for leaf in _leaves(exc) if isinstance(leaf, MCPError)]
        if not errors:
            raise
        return errors[0]


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


@pytest.mark.parametrize("front", ["guard", "gated"])
def test_a_gate_in_front_of_fastmcp_with_the_official_client(served: Served, front: str) -> None:
    """`EnvelopeGuard` around FastMCP's own `http_app()` (and `fast_http_app` with the same gate):
    the official client with a JWT is served at 2026-07-28; without one it is refused (-32010),
    and its handshake-era fallback is refused too (-32022)."""
    url = served.url(front)
    version, result = asyncio.run(_official_call(url, "2026-07-28", _token()))
    assert version == "2026-07-28" and result.structured_content == {"result": 42}
    version, who = asyncio.run(_official_call(url, "2026-07-28", _token(), tool="whoami", arguments={}))
    assert who.structured_content == {"subject": "alice"}  # current_admission() in a FastMCP tool
    refused = asyncio.run(_official_call(url, "2026-07-28", None))
    assert (refused.error.code, refused.error.message) == (-32010, "authentication required")
    fallback = asyncio.run(_official_call(url, "auto", None))
    assert fallback.error.code in (-32010, -32022), fallback


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_the_official_client_without_a_gate(served: Served, mode: str) -> None:
    """Without a gate, the fast app serves 2026-07-28 itself and hands handshake-era clients to
    FastMCP's own session manager, as FastMCP's app does."""
    for variant in ("direct", "stock"):
        version, result = asyncio.run(_official_call(served.url(variant), mode, None))
        assert version == ("2026-07-28" if mode == "auto" else "2025-11-25"), (variant, version)
        assert result.structured_content == {"result": 42}


def test_with_a_recording_tracer_fastmcps_spans_are_recorded_as_on_its_own_app() -> None:
    """An OpenTelemetry SDK tracer provider is installed: FastMCP's per-request SERVER span would
    be recorded, so the direct path leaves every call to the kernel, and the spans recorded for a
    call on the fast path are FastMCP's own app's."""
    proc = ServerSubprocess("tests.servers.fastmcp_app", "fastmcp-traced", BACKENDS[0], FASTMCP_APP_TRACING="1")
    traced = Served(proc.wait())
    try:
        body, headers = request_of(call("add", {"a": 2, "b": 3}))
        recorded = {}
        for variant in ("direct-json", "stock-json"):
            traced.http.get(f"{traced.base}/spans")  # cleared
            status, _, _ = traced.post(variant, body, headers)
            assert status == 200
            spans = traced.http.get(f"{traced.base}/spans").json()
            # Each request gets a fresh session id (2026-07-28 has no sessions): the one difference.
            assert all(len(span.pop("mcp.session.id")) == 36 for span in spans if span["kind"] == "SERVER")
            recorded[variant] = spans
        assert recorded["direct-json"] == recorded["stock-json"] != []
        assert any(span["kind"] == "SERVER" and span["name"] == "tools/call add" for span in recorded["stock-json"])
        assert traced.served("direct-json") == 0
    finally:
        traced.close()


# ---- in process: the options, and what the direct path refuses by the server's shape -----------


def test_fast_http_app_takes_fastmcp_options() -> None:
    from mcp.server.transport_security import TransportSecuritySettings
    from mcp_fastpath.adapters.sdk import fast_http_app

    starlette_app = fast_http_app(app.build_server(), path="/rpc", stateless_http=True)
    assert starlette_app.state.fastmcp_server is not None and starlette_app.state.path == "/rpc"
    with pytest.raises(TypeError, match="host_origin_protection"):
        fast_http_app(app.build_server(), security=TransportSecuritySettings())
    with pytest.raises(TypeError, match="sse"):
        fast_http_app(app.build_server(), transport="sse")
    with pytest.raises(TypeError, match="max_request_body_size"):
        fast_http_app(app.build_server(), max_request_body_size=1024)
    with pytest.raises(TypeError, match="run_in_thread"):
        fast_http_app(app.build_server(), inline_sync_tools=True)
    with pytest.raises(TypeError, match="FastMCP server"):
        fast_http_app(object())


def _in_process(server: Any, params: dict[str, Any]) -> tuple[int, int]:
    """(HTTP status, requests the direct dispatcher ran) for one call through `fast_http_app`."""
    from mcp_fastpath.adapters.sdk import fast_http_app

    from tests.asgi_driver import lifespan, post

    starlette_app = fast_http_app(server, json_response=True)
    body, headers = request_of(params)
    headers["Host"] = "127.0.0.1:8000"

    async def run() -> int:
        async with lifespan(starlette_app):
            status, _, _ = await post(starlette_app, "/mcp", body, headers)
            return status

    status = asyncio.run(run())
    return status, starlette_app.state.mcp_fastpath.direct.served


def test_a_server_shape_the_direct_path_does_not_know_goes_to_the_kernel() -> None:
    from mcp_types import CallToolRequestParams

    assert _in_process(app.build_server(), call("add", {"a": 1, "b": 2})) == (200, 1)
    replaced = app.build_server()
    lowlevel = replaced._mcp_server
    fastmcp_handler = lowlevel.get_request_handler("tools/call").handler

    async def on_call(ctx: Any, params: Any) -> Any:  # someone else's handler in front of FastMCP's
        return await fastmcp_handler(ctx, params)

    lowlevel.add_request_handler("tools/call", CallToolRequestParams, on_call)
    assert _in_process(replaced, call("add", {"a": 1, "b": 2})) == (200, 0)
    extra = app.build_server()

    async def observer(ctx: Any, call_next: Any) -> Any:
        return await call_next(ctx)

    extra._mcp_server.middleware.append(observer)  # SDK middleware of the user's: the kernel runs it
    assert _in_process(extra, call("add", {"a": 1, "b": 2})) == (200, 0)


def test_mounted_in_another_app_with_fastmcps_lifespan_recipe() -> None:
    """FastMCP's documented way to mount its app (`lifespan=mcp_app.lifespan` on the parent)
    starts the fast path too."""
    from mcp_fastpath.adapters.sdk import fast_http_app
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from tests.asgi_driver import lifespan, post

    fast = fast_http_app(app.build_server(), json_response=True)
    parent = Starlette(routes=[Mount("/tools", app=fast)], lifespan=fast.lifespan)
    body, headers = request_of(call("add", {"a": 4, "b": 5}))
    headers["Host"] = "127.0.0.1:8000"

    async def run() -> tuple[int, dict[str, str], bytes]:
        async with lifespan(parent):
            return await post(parent, "/tools/mcp", body, headers)

    status, _, answer = asyncio.run(run())
    assert status == 200 and json.loads(answer)["result"]["structuredContent"] == {"result": 9}
    assert fast.state.mcp_fastpath.direct.served == 1


@pytest.mark.parametrize("sdk", [False, True], ids=["fast", "own-app"])
def test_serve_allowed_hosts_become_fastmcps_own_guard(tmp_path: Any, sdk: bool) -> None:
    """`serve --allowed-host/--allowed-origin` on a FastMCP target turn FastMCP's own Host/Origin
    guard on (FastMCP turns the SDK's check off): a listed host is served, another gets FastMCP's
    421, on the fast path and on FastMCP's own app alike."""
    from mcp_fastpath.cli.serve import build_app

    from tests.asgi_driver import lifespan, post

    server_file = tmp_path / "guarded_fastmcp.py"
    server_file.write_text(
        "from fastmcp import FastMCP\nmcp = FastMCP('g')\n@mcp.tool\ndef add(a: int, b: int) -> int:\n    return a + b\n"
    )
    served, what = build_app(f"{server_file}:mcp", sdk=sdk, allowed_hosts=["api.example.com"], health=False)
    assert ("FastMCP's own http_app" in what) is sdk
    body, headers = request_of(call("add", {"a": 1, "b": 1}))

    async def run() -> list[int]:
        async with lifespan(served):
            statuses = []
            for host in ("api.example.com", "evil.example.com"):
                status, _, _ = await post(served, "/mcp", body, {**headers, "Host": host})
                statuses.append(status)
            return statuses

    assert asyncio.run(run()) == [200, 421]
