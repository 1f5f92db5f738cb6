"""Replay caches (`mcp_fastpath.replay`): memory and a real Redis started by the tests.

The caches do I/O and are shared by both backends; only the end-to-end test with a `Gate` goes
through the `backend` fixture.
"""

from __future__ import annotations

import asyncio

import orjson
import pytest

from mcp_fastpath.errors import Replayed
from mcp_fastpath.replay import MemoryReplayCache, RedisReplayCache, admit_once

NOW = 1_767_225_600.0
SECRET = b"0123456789abcdef0123456789abcdef"
META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}


class Info:
    """Stands in for `SignatureInfo` (only `kid` and `nonce` are read)."""

    def __init__(self, kid: str, nonce: str) -> None:
        self.kid = kid
        self.nonce = nonce


def run(coro):
    return asyncio.run(coro)


# ---- Memory --------------------------------------------------------------------------------------


def test_memory_first_time_then_repeat():
    cache = MemoryReplayCache()

    async def scenario():
        assert await cache.check_and_store("k", "n1", 60_000) is True
        assert await cache.check_and_store("k", "n1", 60_000) is False
        assert await cache.check_and_store("k", "n2", 60_000) is True
        assert await cache.check_and_store("k2", "n1", 60_000) is True  # the pair is the key

    run(scenario())


def test_memory_entry_expires_after_its_ttl():
    cache = MemoryReplayCache()

    async def scenario():
        assert await cache.check_and_store("k", "n", 30) is True
        assert await cache.check_and_store("k", "n", 30) is False
        await asyncio.sleep(0.08)
        assert await cache.check_and_store("k", "n", 30) is True

    run(scenario())


def test_memory_evicts_the_oldest_when_full():
    cache = MemoryReplayCache(max_entries=3)

    async def scenario():
        for nonce in ("a", "b", "c", "d"):
            assert await cache.check_and_store("k", nonce, 60_000) is True
        assert len(cache) == 3
        assert await cache.check_and_store("k", "d", 60_000) is False
        assert await cache.check_and_store("k", "c", 60_000) is False
        assert await cache.check_and_store("k", "b", 60_000) is False
        assert await cache.check_and_store("k", "a", 60_000) is True  # the oldest was forgotten

    run(scenario())


def test_memory_evicts_expired_entries_before_the_oldest():
    cache = MemoryReplayCache(max_entries=3)

    async def scenario():
        assert await cache.check_and_store("k", "old-long", 60_000)
        assert await cache.check_and_store("k", "short", 20)
        assert await cache.check_and_store("k", "long", 60_000)
        await asyncio.sleep(0.06)
        assert await cache.check_and_store("k", "new", 60_000)  # room made by dropping `short`
        assert await cache.check_and_store("k", "old-long", 60_000) is False
        assert await cache.check_and_store("k", "long", 60_000) is False
        assert await cache.check_and_store("k", "new", 60_000) is False

    run(scenario())


def test_memory_never_forgets_before_ttl_under_max_entries():
    cache = MemoryReplayCache(max_entries=1_000)

    async def scenario():
        for i in range(999):
            assert await cache.check_and_store("k", f"n{i}", 60_000) is True
        for i in range(999):
            assert await cache.check_and_store("k", f"n{i}", 60_000) is False

    run(scenario())


def test_memory_concurrent_callers_see_one_first_time():
    cache = MemoryReplayCache()

    async def scenario():
        return await asyncio.gather(*(cache.check_and_store("k", "same", 60_000) for _ in range(50)))

    assert sorted(run(scenario())) == [False] * 49 + [True]


@pytest.mark.parametrize(("kid", "nonce", "ttl", "error"), [(1, "n", 10, TypeError), ("k", None, 10, TypeError), ("k", "n", 0, ValueError), ("k", "n", 1.5, ValueError)])
def test_memory_refuses_bad_arguments(kid, nonce, ttl, error):
    with pytest.raises(error):
        run(MemoryReplayCache().check_and_store(kid, nonce, ttl))


# ---- admit_once ----------------------------------------------------------------------------------


def test_admit_once_raises_replayed_on_a_repeat():
    cache = MemoryReplayCache()
    info = Info("k", "bm9uY2Vub25jZW5vbmNl")

    async def scenario():
        await admit_once(cache, info, 60)
        with pytest.raises(Replayed) as excinfo:
            await admit_once(cache, info, 60, request_id=42)
        return excinfo.value

    exc = run(scenario())
    assert (exc.code, exc.http_status, exc.request_id) == (-32012, 401, 42)
    assert orjson.loads(exc.to_bytes()) == {"jsonrpc": "2.0", "id": 42, "error": {"code": -32012, "message": exc.message}}


def test_admit_once_passes_an_unsigned_request():
    run(admit_once(MemoryReplayCache(), None, 60))


def test_admit_once_remembers_for_twice_the_skew():
    seen = []

    class Recorder:
        async def check_and_store(self, kid, nonce, ttl_ms):
            seen.append((kid, nonce, ttl_ms))
            return True

    run(admit_once(Recorder(), Info("k", "n"), 60))
    run(admit_once(Recorder(), Info("k", "m"), 0.5))
    assert seen == [("k", "n", 120_000), ("k", "m", 1_000)]


def test_gate_then_admit_once_refuses_the_replayed_body(backend):
    key = backend.HmacKey("client", SECRET)
    verifier = backend.EnvelopeVerifier(backend.KeyRing([key]), max_skew_s=60)
    gate = backend.Gate(envelope=verifier)
    msg = {"jsonrpc": "2.0", "id": 5, "method": "tools/list", "params": {"_meta": META}}
    body = backend.EnvelopeSigner(key).sign_bytes(msg, now=NOW)
    headers = backend.request_headers("tools/list", msg["params"])
    cache = MemoryReplayCache()

    async def scenario():
        first = gate.admit(body, headers, now=NOW)
        await admit_once(cache, first.signature, verifier.max_skew_s, request_id=first.request.id)
        again = gate.admit(body, headers, now=NOW + 1)  # the gate itself keeps no state
        with pytest.raises(Replayed) as excinfo:
            await admit_once(cache, again.signature, verifier.max_skew_s, request_id=again.request.id)
        # a re-signed retry (fresh nonce, same id and params) is fine
        retry = gate.admit(backend.EnvelopeSigner(key).sign_bytes(msg, now=NOW + 2), headers, now=NOW + 2)
        await admit_once(cache, retry.signature, verifier.max_skew_s, request_id=retry.request.id)
        return excinfo.value

    exc = run(scenario())
    assert (exc.code, exc.http_status, exc.request_id) == (-32012, 401, 5)


# ---- Redis ---------------------------------------------------------------------------------------




def test_redis_first_time_then_repeat(redis_url):
    async def scenario():
        cache = RedisReplayCache(redis_url, prefix="t1:")
        try:
            assert await cache.check_and_store("k", "n1", 60_000) is True
            assert await cache.check_and_store("k", "n1", 60_000) is False
            assert await cache.check_and_store("k", "n2", 60_000) is True
            assert await cache.check_and_store("k2", "n1", 60_000) is True
        finally:
            await cache.aclose()

    run(scenario())


def test_redis_uses_set_nx_px(redis_url):
    import redis.asyncio as redis_asyncio

    async def scenario():
        cache = RedisReplayCache(redis_url, prefix="t2:")
        client = redis_asyncio.Redis.from_url(redis_url)
        try:
            assert await cache.check_and_store("kid:with:colons", "bm9uY2U", 5_000)
            key = cache.key("kid:with:colons", "bm9uY2U")
            assert key.startswith("t2:")
            assert await client.get(key) == b"1"
            assert 0 < await client.pttl(key) <= 5_000
            assert cache.key("a:b", "c") != cache.key("a", "b:c")
        finally:
            await client.aclose()
            await cache.aclose()

    run(scenario())


def test_redis_entry_expires_after_its_ttl(redis_url):
    async def scenario():
        cache = RedisReplayCache(redis_url, prefix="t3:")
        try:
            assert await cache.check_and_store("k", "n", 100) is True
            assert await cache.check_and_store("k", "n", 100) is False
            await asyncio.sleep(0.3)
            assert await cache.check_and_store("k", "n", 100) is True
        finally:
            await cache.aclose()

    run(scenario())


def test_redis_is_shared_between_nodes_and_atomic(redis_url):
    async def scenario():
        nodes = [RedisReplayCache(redis_url, prefix="t4:") for _ in range(3)]
        try:
            results = await asyncio.gather(*(nodes[i % 3].check_and_store("k", "same", 60_000) for i in range(30)))
        finally:
            for node in nodes:
                await node.aclose()
        return results

    assert sorted(run(scenario())) == [False] * 29 + [True]


def test_redis_admit_once(redis_url):
    async def scenario():
        cache = RedisReplayCache(redis_url, prefix="t5:")
        try:
            await admit_once(cache, Info("k", "n"), 60, request_id="r-1")
            with pytest.raises(Replayed) as excinfo:
                await admit_once(cache, Info("k", "n"), 60, request_id="r-1")
            return excinfo.value
        finally:
            await cache.aclose()

    exc = run(scenario())
    assert (exc.code, exc.http_status, exc.request_id) == (-32012, 401, "r-1")
