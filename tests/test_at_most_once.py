"""At most once, without losing the answer: the project's `Client` against real `mcp-fastpath
serve` nodes (`scripts/fleet_app.py`, whose tools count every execution in Redis) sharing a real
Redis replay cache, with real failures: a connection dropped after the request was delivered,
and a node killed mid-request.

Before: the client re-signed every retry, so a request that had reached a node ran again on the
next one. Now a retry after an attempt that may have been delivered sends the same signed bytes,
and the server answers the copy from the replay cache."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from mcp_fastpath import keyfile
from mcp_fastpath.client import Client, InDoubt

from tests.fleet_helpers import DroppingProxy, ServeNode, start_nodes

AUDIENCE = "https://fleet.test/mcp"


@pytest.fixture(scope="module")
def fleet(redis_url, tmp_path_factory):
    """Two signed nodes (native and pure) on one Redis, and two unsigned ones; the counter in
    Redis db 1, the stores in db 0."""
    directory = tmp_path_factory.mktemp("at-most-once")
    keys = keyfile.generate("hmac", "client", audience=AUDIENCE, issuer="https://auth.fleet.test")
    path = keys.write(directory / "keys.json")
    store = redis_url
    counter = redis_url.rsplit("/", 1)[0] + "/1"
    signed = ["--keys", str(path), "--replay", store, "--task-store", store]
    nodes = start_nodes(
        [
            ServeNode(directory, "a", *signed, backend="native", FLEET_COUNTER_URL=counter),
            ServeNode(directory, "b", *signed, backend="pure", FLEET_COUNTER_URL=counter),
            ServeNode(directory, "open-a", FLEET_COUNTER_URL=counter),
            ServeNode(directory, "open-b", FLEET_COUNTER_URL=counter),
        ]
    )
    try:
        yield {"keys": keys, "counter": counter, "dir": directory, **{node.name: node for node in nodes}}
    finally:
        for node in nodes:
            node.stop()


async def runs(counter_url: str, call: str) -> int:
    import redis.asyncio as redis_asyncio

    client = redis_asyncio.Redis.from_url(counter_url)
    try:
        return int(await client.hget("fleet:runs", call) or 0)
    finally:
        await client.aclose()


def signed_client(fleet: dict[str, Any], urls: list[str], **options: Any) -> Client:
    keys = fleet["keys"]
    options.setdefault("backoff_s", 0.01)
    return Client(urls, signer=keys.signer(), token=keys.mint_token(subject="t", scopes=["mcp"]), **options)


def test_a_dropped_connection_gets_the_first_answer_not_a_second_run(fleet):
    """The request reaches node a, the connection drops before the answer: the client sends the
    same bytes to node b, which answers "still running" while a works, then a's answer. The
    tool ran once, and the caller has its result."""
    call = f"drop-{uuid.uuid4().hex[:8]}"

    async def scenario() -> tuple[Any, int, int, int]:
        async with DroppingProxy(fleet["a"].port) as proxy:
            async with signed_client(fleet, [proxy.url, fleet["b"].url]) as client:
                result = await client.call_tool("bump", {"call": call, "work_ms": 1000})
                return result, client.in_flight_polls, proxy.delivered, await runs(fleet["counter"], call)

    result, polls, delivered, ran = asyncio.run(scenario())
    assert result["structuredContent"] == {"result": 1}  # the first (and only) run's answer
    assert (delivered, ran) == (1, 1)
    assert polls >= 1  # b said "still running" at least once while a worked


def test_a_proxy_that_retries_by_itself_still_gets_one_run(fleet):
    """A proxy retries a request whose upstream failed after delivery (nginx's `proxy_next_upstream
    error non_idempotent`): the client's first answer is b's 409 "still running", without ever
    seeing a failure. The client must ask again with the same bytes (a re-signed copy would be a
    new request, run a second time)."""
    call = f"proxy-{uuid.uuid4().hex[:8]}"

    async def scenario() -> tuple[Any, int, int]:
        async with DroppingProxy(fleet["a"].port, fallback_port=fleet["b"].port) as proxy:
            async with signed_client(fleet, [proxy.url]) as client:
                result = await client.call_tool("bump", {"call": call, "work_ms": 1000})
                await asyncio.sleep(0.3)
                return result, client.in_flight_polls, await runs(fleet["counter"], call)

    result, polls, ran = asyncio.run(scenario())
    assert (result["structuredContent"], ran) == ({"result": 1}, 1)
    assert polls >= 1


def test_a_node_killed_mid_request_leaves_it_in_doubt_not_run_twice(fleet, tmp_path):
    """Node c is killed while it runs the request: the client sends the same bytes to b, which
    says "still running" until c's claim lapses (c stopped renewing it), then that the outcome is
    unknown. The client raises InDoubt; the tool did not run a second time."""
    store = fleet["a"].argv[fleet["a"].argv.index("--replay") + 1]
    keys_path = fleet["a"].argv[fleet["a"].argv.index("--keys") + 1]
    victim = ServeNode(
        tmp_path,
        "victim",
        "--keys",
        keys_path,
        "--replay",
        store,
        "--task-store",
        store,
        FLEET_COUNTER_URL=fleet["counter"],
    )
    start_nodes([victim])
    call = f"kill-{uuid.uuid4().hex[:8]}"

    async def scenario() -> tuple[InDoubt, int]:
        async with signed_client(fleet, [victim.url, fleet["b"].url], running_wait_s=20) as client:
            pending = asyncio.create_task(client.call_tool("bump", {"call": call, "work_ms": 1500}))
            await asyncio.sleep(0.7)  # the request is in the tool's work
            victim.kill()
            with pytest.raises(InDoubt) as excinfo:
                await pending
            return excinfo.value, await runs(fleet["counter"], call)

    try:
        error, ran = asyncio.run(scenario())
    finally:
        victim.stop()
    assert (error.code, error.http_status, error.data) == (-31002, 409, {"reason": "node-stopped"})
    assert ran == 0  # killed during its work; and never run again


def test_an_unsigned_call_that_may_have_run_is_not_sent_again(fleet):
    """Without a signature the server cannot recognise a copy: a tools/call whose connection
    dropped after delivery raises InDoubt at once; an idempotent request is sent again."""
    call = f"open-{uuid.uuid4().hex[:8]}"

    async def scenario() -> tuple[InDoubt, list[Any], dict[str, int], int]:
        async with DroppingProxy(fleet["open-a"].port) as proxy:
            urls = [proxy.url, fleet["open-b"].url]
            async with Client(urls, backoff_s=0.01) as client:
                with pytest.raises(InDoubt) as excinfo:
                    await client.call_tool("bump", {"call": call})
            async with Client(urls, backoff_s=0.01) as client:
                tools = await client.list_tools()  # idempotent by method: sent again, to open-b
            async with Client(urls, backoff_s=0.01) as client:
                twice = await client.call_tool("bump", {"call": call + "-i"}, idempotent=True)
            await asyncio.sleep(0.5)  # what open-a got finishes there
            counted = {key: await runs(fleet["counter"], key) for key in (call, call + "-i")}
            return excinfo.value, [tools, twice], counted, proxy.delivered

    error, (tools, twice), counted, delivered = asyncio.run(scenario())
    assert error.code is None and len(error.attempts) == 1 and "not sent again" in error.message
    assert {t["name"] for t in tools} >= {"bump", "bump_task"}
    assert twice["structuredContent"]["result"] in (1, 2)
    assert delivered == 3  # each of the three requests reached open-a once
    # The dropped call did run (the caller was right not to send it again); the one declared
    # idempotent ran on both nodes, as its caller allowed.
    assert counted == {call: 1, call + "-i": 2}
