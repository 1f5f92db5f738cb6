"""Redis outages, for real: a `mcp-fastpath serve` node (`scripts/fleet_app.py`) whose replay cache
and task store live on a Redis this test stops and starts again (with its AOF, as a graceful
restart). The side-effect counter lives on another Redis, which never goes away.

Before: every signed request and every `tasks/*` call got a bare `text/plain` 500 with a traceback
logged per request; after Redis came back, the first request on each pooled connection failed; a
lease renewal that failed once abandoned a running task, later reported lost."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import orjson
import pytest
from mcp_fastpath import keyfile
from mcp_fastpath.client import Client

from tests.fleet_helpers import ServeNode, start_nodes

AUDIENCE = "https://outage.test/mcp"
TASKS = {"extensions": {"io.modelcontextprotocol/tasks": {}}}


@pytest.fixture
def node(redis_process, redis_url, tmp_path):
    """One signed node on `redis_process` (AOF on, so a restart keeps the data)."""
    redis_process.persist = True
    redis_process.restart()
    keys = keyfile.generate("hmac", "client", audience=AUDIENCE, issuer="https://auth.outage.test")
    path = keys.write(tmp_path / "keys.json")
    store = redis_process.url
    counter = redis_url.rsplit("/", 1)[0] + "/2"
    serve = ServeNode(
        tmp_path,
        "node",
        "--keys",
        str(path),
        "--replay",
        store,
        "--task-store",
        store,
        FLEET_COUNTER_URL=counter,
        FLEET_TASK_LEASE_MS="3000",
    )
    start_nodes([serve])
    try:
        yield {"node": serve, "keys": keys, "redis": redis_process, "counter": counter}
    finally:
        serve.stop()


def client(ctx: dict[str, Any], **options: Any) -> Client:
    keys = ctx["keys"]
    options.setdefault("backoff_s", 0.01)
    return Client(ctx["node"].url, signer=keys.signer(), token=keys.mint_token(subject="t", scopes=["mcp"]), **options)


async def runs(counter: str, call: str) -> int:
    import redis.asyncio as redis_asyncio

    admin = redis_asyncio.Redis.from_url(counter)
    try:
        return int(await admin.hget("fleet:runs", call) or 0)
    finally:
        await admin.aclose()


async def post_signed(c: Client, http: httpx.AsyncClient, method: str, params: dict[str, Any]) -> httpx.Response:
    body, headers = c.encode(c.build_message(method, params))
    return await http.post(c.urls[0], content=body, headers=headers)


def test_an_outage_is_a_json_rpc_503_then_nothing_fails_once_redis_is_back(node):
    ctx = node
    statuses: list[tuple[int, str | None]] = []

    async def record(response: httpx.Response) -> None:
        statuses.append((response.status_code, response.headers.get("retry-after")))

    async def scenario() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with client(ctx, capabilities=TASKS) as c, httpx.AsyncClient(timeout=20) as http:
            # Fill the node's connection pools: every pooled connection will be dead after the restart.
            await asyncio.gather(*(c.call_tool("bump", {"call": f"warm-{i}-{uuid.uuid4().hex}"}) for i in range(32)))
            task = await c.call_tool("bump_task", {"call": f"t-{uuid.uuid4().hex}", "work_ms": 10})
            ctx["redis"].stop()
            out["signed"] = [await post_signed(c, http, "tools/call", {"name": "bump", "arguments": {"call": "x"}})]
            out["signed"] += [await post_signed(c, http, "tools/list", {}) for _ in range(10)]
            out["tasks/get"] = await post_signed(c, http, "tasks/get", {"taskId": task["taskId"]})
            out["create"] = await post_signed(
                c, http, "tools/call", {"name": "bump_task", "arguments": {"call": "y", "work_ms": 10}}
            )
            await asyncio.sleep(0.5)  # the sweeper runs into the outage too
            ctx["redis"].start()
        # A burst right after the restart, on connections that died with the old Redis.
        calls = [f"burst-{i}-{uuid.uuid4().hex}" for i in range(64)]
        hooks = {"response": [record]}
        async with client(ctx, http_client=httpx.AsyncClient(timeout=20, event_hooks=hooks)) as c:
            results = await asyncio.gather(*(c.call_tool("bump", {"call": call}) for call in calls))
        out["burst"] = [r["structuredContent"]["result"] for r in results]
        out["burst runs"] = [await runs(ctx["counter"], call) for call in calls]
        return out

    out = asyncio.run(scenario())
    for response in [*out["signed"], out["tasks/get"], out["create"]]:
        body = orjson.loads(response.content)
        assert response.status_code == 503, (response.status_code, response.text)
        assert response.headers["content-type"] == "application/json" and response.headers["retry-after"] == "1"
        assert body["error"]["code"] == -32603 and "unavailable" in body["error"]["message"], body
    assert out["burst"] == [1] * 64 and out["burst runs"] == [1] * 64
    # Nothing failed once Redis was back: no 5xx but "sign again" (503 + Retry-After: 1), which
    # a request signed before Redis's first second was over may get, and the client re-signs.
    assert [s for s in statuses if s[0] >= 500 and s != (503, "1")] == []
    log = ctx["node"].log.read_text()
    assert "Traceback" not in log
    for store in ("replay cache", "task store"):
        assert log.count(f"{store} (redis://") == 2, log  # one line when it went, one when it came back
        assert f"{store} (redis://127.0.0.1:{ctx['redis'].port}/0) is back after" in log


def test_a_blip_shorter_than_the_lease_leaves_a_running_task_alone(node):
    """The task store goes away for 1.5 s while a task works (lease 3 s): the runner keeps
    renewing, the task completes once, with no "restarted" or "lost" story."""
    ctx = node
    call = f"blip-{uuid.uuid4().hex}"

    async def scenario() -> tuple[dict[str, Any], int]:
        async with client(ctx, capabilities=TASKS, retries=20, max_backoff_s=0.5) as c:
            created = await c.call_tool("bump_task", {"call": call, "work_ms": 3000})
            await asyncio.sleep(0.5)
            ctx["redis"].stop()
            await asyncio.sleep(1.5)
            ctx["redis"].start()
            while True:
                task = await c.request("tasks/get", {"taskId": created["taskId"]})
                if task["status"] not in ("working", "input_required"):
                    return task, await runs(ctx["counter"], call)
                await asyncio.sleep(0.2)

    task, ran = asyncio.run(scenario())
    assert task["status"] == "completed" and "statusMessage" not in task, task
    assert task["result"]["structuredContent"] == {"result": 1} and ran == 1


def test_an_outage_longer_than_the_lease_is_reported_as_what_it_was(node):
    """The store is gone for longer than the lease: the runner stops the tool once its lease has
    really lapsed, and the node that claims the task (here the same one) says so truthfully."""
    ctx = node
    call = f"long-{uuid.uuid4().hex}"

    async def scenario() -> tuple[dict[str, Any], int]:
        async with client(ctx, capabilities=TASKS, retries=20, max_backoff_s=0.5) as c:
            created = await c.call_tool("bump_task", {"call": call, "work_ms": 8000})
            await asyncio.sleep(0.3)
            ctx["redis"].stop()
            await asyncio.sleep(4.0)
            ctx["redis"].start()
            while True:
                task = await c.request("tasks/get", {"taskId": created["taskId"]})
                if task["status"] not in ("working", "input_required"):
                    return task, await runs(ctx["counter"], call)
                await asyncio.sleep(0.2)

    task, ran = asyncio.run(scenario())
    assert task["status"] == "failed" and ran == 0, task
    assert task["statusMessage"].startswith("Task lost: the node running it stopped renewing its lease")
    assert "lost the task store for longer than the lease" in task["statusMessage"]
    assert "lease lapsed while the task store was unreachable" in ctx["node"].log.read_text()
