"""The Tasks extension (`mcp_fastpath.tasks.TaskSupport`, SEP-2663) across real server processes.

Real parts: uvicorn servers (`tests/servers/tasks_app.py`, the fast path, `MCP_FASTPATH_BACKEND`
native or pure) sharing a task store — a throwaway `redis-server` (skipped when it is not on PATH),
an SQLite file, or process memory — driven over HTTP. A node is killed with SIGKILL to check that
another one settles (or re-runs) its tasks. The in-process tests at the end drive the runtime on a
`MemoryTaskStore` without HTTP (the sweeper, configuration errors).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from pathlib import Path
from typing import Any

import httpx
import mcp_fastpath as fp
import pytest

from tests.adapter_helpers import ServerSubprocess
from tests.helpers import skip_unless_ci

ROOT = Path(__file__).resolve().parent.parent
V = "2026-07-28"
EXT = "io.modelcontextprotocol/tasks"
WITH_EXT = {"extensions": {EXT: {}}}
LEASE_MS = 1500
TERMINAL = ("completed", "failed", "cancelled")
_ids = itertools.count(1)


# ------------------------------------------------------------------------------------------------
# Server processes.


class Node(ServerSubprocess):
    """One `tests.servers.tasks_app` process."""

    def __init__(self, label: str, backend: str, store: str, **env: str) -> None:
        super().__init__(
            "tests.servers.tasks_app", label, backend, TASKS_STORE=store, TASKS_LEASE_MS=str(LEASE_MS), **env
        )


@pytest.fixture(scope="module")
def fleet(request, tmp_path_factory):
    """Every node these tests use, started in parallel:
    - `redis-native`, `redis-pure`: two nodes on one Redis store (None without redis-server);
    - `victim-native`, `victim-pure`: more nodes on it, to be killed;
    - `sqlite-a` (native), `sqlite-b` (pure): two workers on one SQLite file;
    - `gate`: a JWT Gate, memory store (owners)."""
    try:
        redis_url = request.getfixturevalue("redis_url")  # tests/conftest.py; fails under CI if missing
    except pytest.skip.Exception:
        redis_url = None
    db = tmp_path_factory.mktemp("tasks") / "tasks.db"
    specs: dict[str, tuple[str, str, dict[str, str]]] = {
        "sqlite-a": ("native", f"sqlite:///{db}", {}),
        "sqlite-b": ("pure", f"sqlite:///{db}", {}),
        "gate": ("native", "memory", {"TASKS_GATE": "1"}),
    }
    if redis_url is not None:
        for backend in ("native", "pure"):
            specs[f"redis-{backend}"] = (backend, redis_url, {})
            specs[f"victim-{backend}"] = (backend, redis_url, {})
    nodes = {label: Node(label, backend, store, **env) for label, (backend, store, env) in specs.items()}
    try:
        for node in nodes.values():
            node.wait()
        yield nodes
    finally:
        for node in nodes.values():
            node.stop()


@pytest.fixture(scope="module")
def client():
    with httpx.Client(timeout=20) as c:
        yield c


def _redis_pair(fleet: dict[str, Node], backend: str) -> tuple[Node, Node]:
    if "redis-native" not in fleet:
        skip_unless_ci("redis-server (and the redis package) are needed for the multi-node Redis tests")
    other = "pure" if backend == "native" else "native"
    return fleet[f"redis-{backend}"], fleet[f"redis-{other}"]


# ------------------------------------------------------------------------------------------------
# A small client.


def rpc(
    client: httpx.Client,
    url: str,
    method: str,
    params: dict[str, Any] | None = None,
    *,
    caps: Any = WITH_EXT,
    token: str | None = None,
) -> tuple[int, dict[str, Any]]:
    params = dict(params or {})
    params["_meta"] = {
        "io.modelcontextprotocol/protocolVersion": V,
        "io.modelcontextprotocol/clientCapabilities": caps,
        "io.modelcontextprotocol/clientInfo": {"name": "test-tasks", "version": "1"},
    }
    msg = {"jsonrpc": "2.0", "id": next(_ids), "method": method, "params": params}
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    headers.update(fp.request_headers(method, params))
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    r = client.post(url, content=json.dumps(msg).encode(), headers=headers)
    return r.status_code, (r.json() if r.content else {})


def result(
    client: httpx.Client, url: str, method: str, params: dict[str, Any] | None = None, **kw: Any
) -> dict[str, Any]:
    status, body = rpc(client, url, method, params, **kw)
    assert status == 200 and "result" in body, (status, body)
    return body["result"]


def error(
    client: httpx.Client, url: str, method: str, params: dict[str, Any] | None = None, **kw: Any
) -> dict[str, Any]:
    status, body = rpc(client, url, method, params, **kw)
    assert "error" in body, (status, body)
    return body["error"]


def create(client: httpx.Client, url: str, tool: str, arguments: dict[str, Any] | None = None, **kw: Any) -> str:
    created = result(client, url, "tools/call", {"name": tool, "arguments": arguments or {}}, **kw)
    assert created["resultType"] == "task", created
    return created["taskId"]


def get(client: httpx.Client, url: str, task_id: str, **kw: Any) -> dict[str, Any]:
    return result(client, url, "tasks/get", {"taskId": task_id}, **kw)


def wait_for(
    client: httpx.Client, url: str, task_id: str, statuses: tuple[str, ...] = TERMINAL, timeout: float = 10, **kw: Any
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        task = get(client, url, task_id, **kw)
        if task["status"] in statuses:
            return task
        assert time.monotonic() < deadline, f"task {task_id} still {task['status']} after {timeout}s: {task}"
        time.sleep(0.05)


def text(task: dict[str, Any]) -> str:
    return task["result"]["content"][0]["text"]


BACKENDS = ["native", "pure"]


# ------------------------------------------------------------------------------------------------
# Several nodes on one Redis store.


@pytest.mark.parametrize("backend", BACKENDS)
def test_created_on_one_node_completed_on_another(fleet, client, backend):
    a, b = _redis_pair(fleet, backend)
    task_id = create(client, a.url, "sleep_for", {"seconds": 0.3})
    assert len(task_id) >= 22 and task_id.replace("-", "").replace("_", "").isalnum()  # >= 128 random bits
    first = get(client, b.url, task_id)  # durable before CreateTaskResult: B sees it at once
    assert first["status"] == "working" and first["resultType"] == "complete"
    assert first["createdAt"].endswith("Z") and first["ttlMs"] == 60_000 and first["pollIntervalMs"] == 100
    assert "result" not in first and "error" not in first
    done = wait_for(client, b.url, task_id)
    assert done["status"] == "completed" and text(done) == "slept 0.3s" and done["result"]["isError"] is False
    on_a = get(client, a.url, task_id)
    assert on_a["status"] == "completed" and on_a["result"] == done["result"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_cancel_on_another_node_settles_cancelled(fleet, client, backend):
    a, b = _redis_pair(fleet, backend)
    task_id = create(client, a.url, "sleep_for", {"seconds": 30})
    ack = result(client, b.url, "tasks/cancel", {"taskId": task_id})
    assert ack["resultType"] == "complete" and not {"taskId", "status"} & set(ack)
    task = wait_for(client, a.url, task_id, timeout=5)
    assert task["status"] == "cancelled"
    assert get(client, b.url, task_id)["status"] == "cancelled"
    again = result(client, a.url, "tasks/cancel", {"taskId": task_id})  # idempotent on a terminal task
    assert again["resultType"] == "complete" and "taskId" not in again


@pytest.mark.parametrize("backend", BACKENDS)
def test_input_rounds_across_nodes_with_unique_keys(fleet, client, backend):
    a, b = _redis_pair(fleet, backend)
    task_id = create(client, a.url, "ask", {"rounds": 2})
    parked = wait_for(client, b.url, task_id, ("input_required", *TERMINAL))
    assert parked["status"] == "input_required" and list(parked["inputRequests"]) == ["name"]
    assert parked["inputRequests"]["name"]["method"] == "elicitation/create"
    bad = error(client, b.url, "tasks/update", {"taskId": task_id, "inputResponses": {"name": 12345}})
    assert bad["code"] == -32602  # not an ElicitResult: refused, the key stays outstanding
    ack = result(
        client,
        b.url,
        "tasks/update",
        {
            "taskId": task_id,
            "inputResponses": {"name": {"action": "accept", "content": {"name": "Ada"}}, "never-asked": {"x": 1}},
        },
    )
    assert ack["resultType"] == "complete" and "status" not in ack
    # The tool asks again with the same key: on the wire it is a new one.
    second = wait_for(client, a.url, task_id, ("input_required", *TERMINAL))
    deadline = time.monotonic() + 5
    while second["status"] == "input_required" and "name" in second["inputRequests"] and time.monotonic() < deadline:
        second = get(client, a.url, task_id)
    assert second["status"] == "input_required" and list(second["inputRequests"]) == ["name~2"]
    result(
        client,
        a.url,
        "tasks/update",
        {
            "taskId": task_id,
            "inputResponses": {
                "name": {"action": "accept", "content": {"name": "stale"}},  # answered already: ignored
                "name~2": {"action": "accept", "content": {"name": "Grace"}},
            },
        },
    )
    done = wait_for(client, b.url, task_id)
    assert done["status"] == "completed" and text(done) == "Hello, Ada & Grace!"


@pytest.mark.parametrize("backend", BACKENDS)
def test_killed_node_tasks_settle_on_another_node(fleet, client, backend):
    """SIGKILL the node running two tasks: within about one lease another node settles the
    non-idempotent one `failed` and re-runs the idempotent one to completion."""
    _, survivor = _redis_pair(fleet, backend)
    victim = fleet[f"victim-{backend}"]
    lost = create(client, victim.url, "sleep_for", {"seconds": 30})
    rerun = create(client, victim.url, "sleep_idem", {"seconds": 0.5})
    assert get(client, survivor.url, lost)["status"] == "working"
    victim.kill()
    killed_at = time.monotonic()
    task = wait_for(client, survivor.url, lost, timeout=LEASE_MS / 1000 + 5)
    elapsed = time.monotonic() - killed_at
    assert task["status"] == "failed", task
    assert task["error"]["code"] == -32603 and "lost" in task["error"]["message"] and "result" not in task
    assert elapsed < LEASE_MS / 1000 + 2, f"settled {elapsed:.1f}s after the kill (lease {LEASE_MS} ms)"
    again = wait_for(client, survivor.url, rerun, timeout=LEASE_MS / 1000 + 5)
    assert again["status"] == "completed", again
    assert f"(pid {victim.proc.pid})" not in text(again)  # ran again, elsewhere


# ------------------------------------------------------------------------------------------------
# Two workers on one SQLite file.


def test_sqlite_workers_share_one_file(fleet, client):
    a, b = fleet["sqlite-a"], fleet["sqlite-b"]
    assert (a.backend, b.backend) == ("native", "pure")
    quick = create(client, a.url, "sleep_for", {"seconds": 0.2})
    slow = create(client, b.url, "sleep_for", {"seconds": 30})
    failing = create(client, a.url, "boom")
    tool_error = create(client, b.url, "oops")
    assert text(wait_for(client, b.url, quick)) == "slept 0.2s"
    result(client, a.url, "tasks/cancel", {"taskId": slow})
    assert wait_for(client, b.url, slow, timeout=5)["status"] == "cancelled"
    failed = wait_for(client, b.url, failing)
    assert failed["status"] == "failed" and failed["error"] == {"code": -32603, "message": "boom"}
    assert "boom" in failed["statusMessage"] and "result" not in failed
    completed = wait_for(client, a.url, tool_error)
    assert completed["status"] == "completed" and completed["result"]["isError"] is True and "error" not in completed


def test_status_message_from_the_tool(fleet, client):
    url = fleet["sqlite-a"].url
    task_id = create(client, url, "where")
    done = wait_for(client, url, task_id)
    assert done["status"] == "completed" and text(done).startswith(task_id)
    assert done["statusMessage"] == "reporting"


# ------------------------------------------------------------------------------------------------
# Protocol errors and negotiation (one node per backend: the SQLite pair).


@pytest.mark.parametrize("label", ["sqlite-a", "sqlite-b"])
def test_protocol_errors(fleet, client, label):
    url = fleet[label].url
    for method, params in (("tasks/list", {}), ("tasks/result", {"taskId": "x"})):
        assert error(client, url, method, params)["code"] == -32601, method
    for method, params in (
        ("tasks/get", {"taskId": "nope"}),
        ("tasks/cancel", {"taskId": "nope"}),
        ("tasks/update", {"taskId": "nope", "inputResponses": {}}),
    ):
        assert error(client, url, method, params)["code"] == -32602, method
        refused = error(client, url, method, params, caps={})
        assert refused["code"] == -32021 and refused["data"] == {"requiredCapabilities": {"extensions": {EXT: {}}}}
    assert error(client, url, "tasks/get", {})["code"] == -32602  # no taskId
    # Without the extension: optional task tools run synchronously, required ones are refused.
    sync = result(client, url, "tools/call", {"name": "sleep_for", "arguments": {"seconds": 0}}, caps={})
    assert sync["resultType"] == "complete" and "taskId" not in sync and sync["content"][0]["text"] == "slept 0s"
    refused = error(client, url, "tools/call", {"name": "oops", "arguments": {}}, caps={})
    assert refused["code"] == -32021 and EXT in refused["data"]["requiredCapabilities"]["extensions"]
    # A tool that is not a task tool stays synchronous with the extension, legacy `task` hint or not.
    plain = result(client, url, "tools/call", {"name": "plain", "arguments": {"x": 3}, "task": {"ttl": 1000}})
    assert plain["resultType"] == "complete" and plain["structuredContent"] == {"result": 3}
    ids = {create(client, url, "sleep_for", {"seconds": 0}) for _ in range(5)}
    assert len(ids) == 5


# ------------------------------------------------------------------------------------------------
# Owners (a Gate).


def _token(subject: str) -> str:
    from tests.servers.sdk_app import AUDIENCE, ISSUER, KID, SECRET

    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "exp": now + 300, "iat": now}
    return fp.sign_jwt(fp.HmacKey(KID, SECRET), claims)


def test_a_task_is_visible_only_to_its_owner(fleet, client):
    url = fleet["gate"].url
    alice, bob = _token("alice"), _token("bob")
    task_id = create(client, url, "ask", token=alice)
    parked = wait_for(client, url, task_id, ("input_required", *TERMINAL), token=alice)
    assert parked["status"] == "input_required"
    unknown = error(client, url, "tasks/get", {"taskId": "no-such-task"}, token=bob)
    for method, params in (
        ("tasks/get", {"taskId": task_id}),
        ("tasks/cancel", {"taskId": task_id}),
        (
            "tasks/update",
            {"taskId": task_id, "inputResponses": {"name": {"action": "accept", "content": {"name": "mallory"}}}},
        ),
    ):
        foreign = error(client, url, method, params, token=bob)
        assert foreign == unknown, method  # indistinguishable from an unknown id
    assert get(client, url, task_id, token=alice)["status"] == "input_required"  # bob changed nothing
    result(
        client,
        url,
        "tasks/update",
        {"taskId": task_id, "inputResponses": {"name": {"action": "accept", "content": {"name": "Alice"}}}},
        token=alice,
    )
    assert text(wait_for(client, url, task_id, token=alice)) == "Hello, Alice!"
    status, body = rpc(client, url, "tasks/get", {"taskId": task_id})  # no token: the Gate refuses
    assert status == 401 and "error" in body


# ------------------------------------------------------------------------------------------------
# In process: the runtime on a MemoryTaskStore.


def _support(**options: Any) -> Any:
    from mcp.server.mcpserver import MCPServer
    from mcp_fastpath.tasks import MemoryTaskStore, TaskSupport

    server = MCPServer("in-process")

    @server.tool()
    async def job(seconds: float = 0.0) -> str:
        await asyncio.sleep(seconds)
        return "done"

    @server.tool()
    async def safe_job() -> str:
        return "safe done"

    support = TaskSupport(
        server,
        MemoryTaskStore(),
        tools={"job": "optional", "safe_job": "optional"},
        idempotent={"safe_job"},
        lease_ms=1000,
        **options,
    )
    return server, support


def _record(task_id: str, tool: str, now: int, **changes: Any) -> Any:
    from mcp_fastpath.tasks import TaskRecord

    return TaskRecord(
        task_id=task_id,
        owner=None,
        status="working",
        created_at_ms=now - 5000,
        updated_at_ms=now - 5000,
        ttl_ms=60_000,
        poll_interval_ms=500,
        tool=tool,
        lease_owner="dead-node",
        lease_expires_ms=now - 1,
        **changes,
    )


def test_sweeper_settles_reruns_and_cancels_orphans():
    async def scenario() -> None:
        _, support = _support()
        store = support.store
        now = int(time.time() * 1000)
        await store.create(_record("lost", "job", now))
        await store.create(_record("again", "safe_job", now, idempotent=True))
        await store.create(_record("unwanted", "job", now, cancel_requested=True))
        await store.create(_record("alive", "job", now).evolve(lease_expires_ms=now + 60_000))
        assert await support.sweep_once() == 3
        lost = await store.get("lost", now_ms=now)
        assert lost.status == "failed" and lost.error["code"] == -32603
        assert (await store.get("unwanted", now_ms=now)).status == "cancelled"
        assert (await store.get("alive", now_ms=now)).status == "working"
        for _ in range(100):
            again = await store.get("again", now_ms=int(time.time() * 1000))
            if again.terminal:
                break
            await asyncio.sleep(0.02)
        assert again.status == "completed" and again.result["content"][0]["text"] == "safe done"
        assert again.lease_owner == support.node_id
        await support.aclose()

    asyncio.run(scenario())


def test_configuration_errors():
    from mcp.server.mcpserver import MCPServer
    from mcp_fastpath.tasks import RunAsTask, TaskSupport, TaskTool, run_as_task

    server, support = _support()
    assert TaskSupport.of(server) is support
    with pytest.raises(ValueError, match="already"):
        TaskSupport(server, tools={})
    with pytest.raises(ValueError, match="not task tools"):
        TaskSupport(MCPServer("x"), tools={"a": "optional"}, idempotent={"b"})
    with pytest.raises(ValueError):
        TaskTool("sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no TaskSupport"):
        TaskSupport.bind_store(MCPServer("y"), "memory")
    with pytest.raises(RunAsTask) as raised:  # outside a task: "continue as a task", i.e. -32021
        run_as_task()
    assert raised.value.code == -32021 and EXT in raised.value.data["requiredCapabilities"]["extensions"]
    assert server._lowlevel_server.extensions[EXT] == {}
