"""The adapters' outcome memory (`adapters/_outcomes.py`), in process with the ASGI driver: what
is kept of a streamed reply, "still running" while the first copy runs, a 503 that releases the
claim, a request that ends without a reply. Both backends; the fast path and `EnvelopeGuard`."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from mcp.server.mcpserver import Context, MCPServer
from mcp_fastpath.replay import MemoryReplayCache

from tests.asgi_driver import lifespan, post

SECRET = b"o" * 32
META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}


def _server(gate_open: asyncio.Event | None = None, runs: list[str] | None = None) -> Any:
    server = MCPServer("outcomes")

    @server.tool()
    async def steps(ctx: Context, n: int = 3) -> str:
        for i in range(1, n + 1):
            await ctx.report_progress(progress=i, total=n)
        if runs is not None:
            runs.append("steps")
        return f"{n} steps"

    @server.tool()
    async def held(key: str) -> str:
        if runs is not None:
            runs.append(key)
        assert gate_open is not None
        await gate_open.wait()
        return f"released {key}"

    return server


def _signed(backend: Any, key: Any, name: str, arguments: dict[str, Any], **meta: Any) -> tuple[bytes, dict]:
    msg = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments, "_meta": {**META, **meta}},
    }
    body = backend.EnvelopeSigner(key).sign_bytes(msg)
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "Host": "127.0.0.1:8000",
        **backend.request_headers("tools/call", msg["params"]),
    }
    return body, headers


def _gate(backend: Any) -> tuple[Any, Any]:
    key = backend.HmacKey("client", SECRET)
    return key, backend.Gate(envelope=backend.EnvelopeVerifier(backend.KeyRing([key]), max_skew_s=60))


def test_a_streamed_reply_is_kept_as_its_final_json(backend):
    """SSE mode, a request with a progressToken: the first copy streams its notifications and the
    reply; a copy gets the reply alone, as JSON, status 200; the tool ran once."""
    from mcp_fastpath.adapters.sdk import fast_http_app

    key, gate = _gate(backend)
    runs: list[str] = []
    app = fast_http_app(_server(runs=runs), gate=gate, replay=MemoryReplayCache())
    body, headers = _signed(backend, key, "steps", {"n": 3}, progressToken="p")

    async def scenario():
        async with lifespan(app):
            return await post(app, "/mcp", body, headers), await post(app, "/mcp", body, headers)

    (s1, h1, b1), (s2, h2, b2) = asyncio.run(scenario())
    assert (s1, h1["content-type"]) == (200, "text/event-stream")
    assert b1.count(b"notifications/progress") == 3
    final = orjson.loads(b1.rstrip().rsplit(b"data: ", 1)[1])
    assert final["result"]["content"][0]["text"] == "3 steps"
    assert (s2, h2["content-type"], h2["mcp-fastpath-outcome"]) == (200, "application/json", "stored")
    assert orjson.loads(b2) == final and runs == ["steps"]


@pytest.mark.parametrize("front", ["fast_http_app", "EnvelopeGuard"])
def test_a_copy_while_the_first_runs_is_told_to_ask_again(backend, front):
    from mcp_fastpath.adapters.asgi import EnvelopeGuard
    from mcp_fastpath.adapters.sdk import fast_http_app

    key, gate = _gate(backend)
    opened = asyncio.Event()
    runs: list[str] = []
    cache = MemoryReplayCache()
    server = _server(opened, runs)
    if front == "fast_http_app":
        app = fast_http_app(server, gate=gate, replay=cache, json_response=True)
    else:
        app = EnvelopeGuard(server.streamable_http_app(json_response=True), gate=gate, replay=cache)
    body, headers = _signed(backend, key, "held", {"key": "k1"})

    async def scenario():
        async with lifespan(app):
            first = asyncio.create_task(post(app, "/mcp", body, headers))
            while not runs:
                await asyncio.sleep(0.01)
            running = await post(app, "/mcp", body, headers)
            opened.set()
            answered = await first
            return running, answered, await post(app, "/mcp", body, headers)

    (s_run, h_run, b_run), (s1, _, b1), (s2, h2, b2) = asyncio.run(scenario())
    assert (s_run, h_run["retry-after"]) == (409, "1")
    error = orjson.loads(b_run)
    assert (error["id"], error["error"]["code"]) == (7, -31001)
    assert s1 == 200 and (s2, b2, h2["mcp-fastpath-outcome"]) == (200, b1, "stored")
    assert runs == ["k1"]


def test_a_request_that_ends_without_a_reply_leaves_its_copies_in_doubt(backend):
    """The client goes away from a streamed request and the handler is cancelled: no reply was
    sent, so a copy learns the outcome is unknown ("abandoned"), not "running" for ever."""
    from mcp_fastpath.adapters.sdk import fast_http_app

    key, gate = _gate(backend)
    server = MCPServer("abandon")
    started = asyncio.Event()

    @server.tool()
    async def forever(ctx: Context) -> str:
        await ctx.report_progress(progress=0)
        started.set()
        await asyncio.sleep(3600)
        return "never"

    app = fast_http_app(server, gate=gate, replay=MemoryReplayCache())
    body, headers = _signed(backend, key, "forever", {}, progressToken="p")

    async def leave() -> None:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        await queue.put({"type": "http.request", "body": body, "more_body": False})
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/mcp",
            "raw_path": b"/mcp",
            "root_path": "",
            "query_string": b"",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }

        async def send(message: dict[str, Any]) -> None:
            return None

        task = asyncio.create_task(app(scope, queue.get, send))
        await started.wait()
        await queue.put({"type": "http.disconnect"})
        await task

    async def scenario():
        async with lifespan(app):
            await leave()
            return await post(app, "/mcp", body, headers)

    status, reply_headers, payload = asyncio.run(scenario())
    error = orjson.loads(payload)["error"]
    assert (status, error["code"], error["data"]) == (409, -31002, {"reason": "abandoned"})
    assert "retry-after" not in reply_headers


def test_a_503_releases_the_claim_so_the_same_bytes_run_once_later(backend, redis_process):
    """A task-creating call while the task store is down is answered 503 (nothing ran): the claim
    is released, so the same signed bytes, sent again once the store is back, run, once."""
    from mcp_fastpath.adapters.sdk import fast_http_app
    from mcp_fastpath.tasks import TaskSupport

    key, gate = _gate(backend)
    server = MCPServer("release")
    runs: list[str] = []

    @server.tool()
    async def job() -> str:
        runs.append("job")
        return "done"

    TaskSupport(server, tools={"job": "required"})
    app = fast_http_app(server, gate=gate, replay=MemoryReplayCache(), task_store=redis_process.url, json_response=True)
    body, headers = _signed(
        backend,
        key,
        "job",
        {},
        **{"io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}}},
    )

    async def scenario():
        async with lifespan(app):
            redis_process.stop()
            down = await post(app, "/mcp", body, headers)
            redis_process.start()
            up = await post(app, "/mcp", body, headers)
            again = await post(app, "/mcp", body, headers)
            await asyncio.sleep(0.3)  # the task runs
            return down, up, again

    (s_down, h_down, b_down), (s_up, _, b_up), (s_again, h_again, b_again) = asyncio.run(scenario())
    assert (s_down, h_down["retry-after"], orjson.loads(b_down)["error"]["code"]) == (503, "1", -32603)
    assert s_up == 200 and orjson.loads(b_up)["result"]["resultType"] == "task"
    assert (s_again, b_again, h_again["mcp-fastpath-outcome"]) == (200, b_up, "stored")
    assert runs == ["job"]
