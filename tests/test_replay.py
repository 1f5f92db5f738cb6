"""Replay caches (`mcp_fastpath.replay`): memory and a real Redis started by the tests.

The caches do I/O and are shared by both backends; only the end-to-end test with a `Gate` goes
through the `backend` fixture.
"""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest
from mcp_fastpath.errors import Replayed
from mcp_fastpath.replay import (
    ANSWERED,
    BEFORE_EPOCH,
    NEW,
    RUNNING,
    SEEN,
    UNKNOWN,
    MemoryReplayCache,
    RedisReplayCache,
    StoreUnavailable,
    admit_once,
)

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


@pytest.mark.parametrize(
    ("kid", "nonce", "ttl", "error"),
    [(1, "n", 10, TypeError), ("k", None, 10, TypeError), ("k", "n", 0, ValueError), ("k", "n", 1.5, ValueError)],
)
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
    assert orjson.loads(exc.to_bytes()) == {
        "jsonrpc": "2.0",
        "id": 42,
        "error": {"code": -32012, "message": exc.message},
    }


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
    cache = MemoryReplayCache(wall_clock=lambda: int(NOW * 1000) - 1)  # this test's world starts at NOW

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


# ---- one window: the verifier's (issue: replay window shorter than the signature window) --------


class FakeClock:
    """Monotonic nanoseconds that move only when told."""

    def __init__(self) -> None:
        self.ns = 1_000_000_000

    def __call__(self) -> int:
        return self.ns

    def advance(self, seconds: float) -> None:
        self.ns += int(seconds * 1e9)


def _signed_call(backend, key):
    msg = {
        "jsonrpc": "2.0",
        "id": 9,
        "method": "tools/call",
        "params": {"name": "add", "arguments": {"a": 1, "b": 2}, "_meta": META},
    }
    body = backend.EnvelopeSigner(key).sign_bytes(msg)  # iat: now (real time)
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "Host": "127.0.0.1:8000",
        **backend.request_headers("tools/call", msg["params"]),
    }
    return body, headers


def _add_server(runs: list | None = None):
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("window")

    @server.tool()
    def add(a: int, b: int) -> int:
        if runs is not None:
            runs.append((a, b))
        return a + b

    return server


@pytest.mark.parametrize("outcomes", [False, True], ids=["seen-only", "outcomes"])
@pytest.mark.parametrize("front", ["fast_http_app", "EnvelopeGuard"])
def test_a_replay_is_refused_for_the_whole_signature_window(backend, front, outcomes):
    """`max_skew_s=300` on the verifier: a signature verifies for ±300 s, so its nonce must be
    remembered for 600 s. A replay 121 s later was served when the adapters kept their own 60 s
    (entries for 120 s); now it is not served again until the window closes: refused (-32012)
    without outcome memory, answered with the first reply (the tool did not run again) with it."""
    from mcp_fastpath.adapters.asgi import EnvelopeGuard
    from mcp_fastpath.adapters.sdk import fast_http_app

    from tests.asgi_driver import lifespan, post

    key = backend.HmacKey("client", SECRET)
    gate = backend.Gate(envelope=backend.EnvelopeVerifier(backend.KeyRing([key]), max_skew_s=300))
    clock = FakeClock()
    cache = MemoryReplayCache(clock=clock, outcomes=outcomes)
    runs = []
    if front == "fast_http_app":
        app = fast_http_app(_add_server(runs), gate=gate, replay=cache, json_response=True)
    else:
        app = EnvelopeGuard(_add_server(runs).streamable_http_app(json_response=True), gate=gate, replay=cache)
    body, headers = _signed_call(backend, key)

    async def scenario() -> list[tuple[int, int | None, str | None]]:
        outcomes = []
        async with lifespan(app):
            for advance in (0, 121, 478):  # t = 0, 121 s, 599 s: all inside the 600 s the nonce lives
                clock.advance(advance)
                status, reply_headers, payload = await post(app, "/mcp", body, headers)
                code = orjson.loads(payload).get("error", {}).get("code")
                outcomes.append((status, code, reply_headers.get("mcp-fastpath-outcome")))
            clock.advance(2)  # t = 601 s: forgotten (by now the signature itself would be stale)
            status, reply_headers, payload = await post(app, "/mcp", body, headers)
            code = orjson.loads(payload).get("error", {}).get("code")
            outcomes.append((status, code, reply_headers.get("mcp-fastpath-outcome")))
        return outcomes

    if outcomes:
        assert run(scenario()) == [(200, None, None), (200, None, "stored"), (200, None, "stored"), (200, None, None)]
    else:
        assert run(scenario()) == [(200, None, None), (401, -32012, None), (401, -32012, None), (200, None, None)]
    assert len(runs) == 2  # the first copy, then the one sent after the window closed


def test_the_adapters_take_no_window_of_their_own():
    from mcp_fastpath.adapters.sdk import fast_http_app

    with pytest.raises(TypeError, match="EnvelopeVerifier"):
        fast_http_app(_add_server(), max_skew_s=60)


# ---- epochs: memory that was lost does not say "new" --------------------------------------------


class Signed(Info):
    def __init__(self, kid: str, nonce: str, iat: int) -> None:
        super().__init__(kid, nonce)
        self.iat = iat


def test_memory_refuses_what_was_signed_before_it_began():
    cache = MemoryReplayCache(wall_clock=lambda: 1_000_000)

    async def scenario():
        assert await cache.check("k", "a", 60_000, iat_ms=999_999) == "before-epoch"
        assert await cache.check("k", "a", 60_000, iat_ms=1_000_000) == "new"
        assert await cache.check("k", "a", 60_000, iat_ms=1_000_000) == "seen"
        assert await cache.check("k", "b", 60_000) == "new"  # no iat: the nonce alone decides
        with pytest.raises(Replayed) as excinfo:
            await admit_once(cache, Signed("k", "c", 999_000), 60, request_id=3)
        return excinfo.value

    exc = run(scenario())
    # Nothing was served and a re-signed request is admitted: a retryable status, not a 401.
    assert (exc.code, exc.http_status, exc.request_id, exc.headers) == (-32012, 503, 3, {"Retry-After": "1"})
    assert "sign the request again" in exc.message


def test_redis_fails_closed_after_losing_its_memory(redis_process):
    """A Redis without persistence that restarts forgets every nonce. A request captured before is
    refused, not served again; one signed after the restart is fine."""
    from mcp_fastpath._redis import connect

    async def scenario():
        cache = RedisReplayCache(redis_process.url, prefix="epoch:")
        admin = connect(redis_process.url)  # with retries: its connection dies with the restart
        try:
            await _wait_uptime(admin, 1)
            captured = Signed("k", "Zm9vYmFyYmF6cXV4", int(time.time() * 1000))
            await admit_once(cache, captured, 60)
            with pytest.raises(Replayed) as seen:
                await admit_once(cache, captured, 60)
            assert seen.value.http_status == 401
            await asyncio.sleep(0.01)
            restarted = int(time.time() * 1000)
            redis_process.restart()  # comes back empty
            with pytest.raises(Replayed) as lost:
                await admit_once(cache, captured, 60)  # was served before the restart: must not be again
            assert (lost.value.code, lost.value.http_status) == (-32012, 503)
            # The marker lives in the nonce's bucket, without TTL: the moment that Redis started.
            marker = int(await admin.get(cache.epoch_key(captured.nonce)))
            assert captured.iat < restarted <= marker <= int(time.time() * 1000)
            assert await admin.pttl(cache.epoch_key(captured.nonce)) == -1
            await _wait_uptime(admin, 1)
            signed_after = Signed("k", "c2lnbmVkQWZ0ZXI", int(time.time() * 1000))
            await admit_once(cache, signed_after, 60)  # signed after: fine
        finally:
            await admin.aclose()
            await cache.aclose()

    run(scenario())


def test_redis_with_an_append_only_file_keeps_its_memory_across_a_restart(redis_process):
    """What persistence buys: after a restart with AOF, a request seen before is still a replay
    (and a kept answer still answers it), not "signed before the memory began"."""

    from mcp_fastpath._redis import connect

    async def scenario():
        redis_process.persist = True
        redis_process.restart()
        cache = RedisReplayCache(redis_process.url, prefix="aof:")
        admin = connect(redis_process.url)
        try:
            await _wait_uptime(admin, 1)  # a bucket first used in Redis's first second is stricter
            now = int(time.time() * 1000)
            seen = Signed("k", "c2VlbkJlZm9yZQ", now)
            await admit_once(cache, seen, 60)
            answered = await _claim(cache, "YW5zd2VyZWQ", iat_ms=now)
            await cache.settle(answered, 200, b"kept")
            redis_process.restart()  # SIGTERM: the AOF is written; the same data comes back
            with pytest.raises(Replayed) as replayed:
                await admit_once(cache, seen, 60)
            kept = await _claim(cache, "YW5zd2VyZWQ", iat_ms=now)
            return replayed.value.http_status, (kept.verdict, kept.body)
        finally:
            await admin.aclose()
            await cache.aclose()

    assert run(scenario()) == (401, (ANSWERED, b"kept"))


def test_redis_new_buckets_admit_requests_signed_since_redis_started(redis_url):
    """The epoch of a bucket seen for the first time is when its Redis started, not the moment of
    that first check: a request signed a moment before it reached a fresh bucket is admitted
    (a marker set to "now" refused the first request of each of the 4,096 buckets)."""
    import redis.asyncio as redis_asyncio

    async def scenario():
        cache = RedisReplayCache(redis_url, prefix=f"fresh-{time.time_ns()}:")
        admin = redis_asyncio.Redis.from_url(redis_url)
        try:
            await _wait_uptime(admin, 2)
            signed = int(time.time() * 1000) - 500  # half a second in flight
            verdicts = [await cache.check("k", f"{i:02x}nonce", 60_000, iat_ms=signed) for i in range(64)]
            claims = [(await _claim(cache, f"{i:02x}claim", iat_ms=signed)).verdict for i in range(64, 128)]
            return verdicts, claims
        finally:
            await admin.aclose()
            await cache.aclose()

    verdicts, claims = run(scenario())
    assert set(verdicts) == {NEW} and set(claims) == {NEW}


async def _wait_uptime(admin, seconds: int) -> None:
    """Until the Redis has been up for `seconds` (its epoch is its start, to the second)."""
    while (await admin.info("server"))["uptime_in_seconds"] < seconds:
        await asyncio.sleep(0.05)


def test_redis_keys_of_one_check_share_a_hash_slot(redis_url):
    """What a Lua script touches must live in one slot (Redis Cluster): the nonce key and its
    bucket's epoch marker carry the same hash tag."""
    cache = RedisReplayCache(redis_url, prefix="slots:")
    try:
        for kid, nonce in (("k", "abcdef"), ("a:b", "c{d}e"), ("kid", "zz")):
            key, epoch = cache.key(kid, nonce), cache.epoch_key(nonce)
            tag = key[key.index("{") + 1 : key.index("}")]
            assert tag == epoch[epoch.index("{") + 1 : epoch.index("}")] == nonce[:2]
    finally:
        run(cache.aclose())


# ---- outcome memory: at most once, without losing the answer --------------------------------------


async def _claim(cache, nonce="bm9uY2U", sig="sig-1", kid="k", iat_ms=None):
    return await cache.claim(kid, nonce, 60_000, iat_ms=iat_ms, signature=sig)


async def _outcome_lifecycle(cache) -> None:
    """The contract both caches keep (see `mcp_fastpath.replay`)."""
    first = await _claim(cache, "bGlmZWN5Y2xl")
    assert first.verdict == NEW and first.holder
    assert (await _claim(cache, "bGlmZWN5Y2xl")).verdict == RUNNING
    assert (await _claim(cache, "bGlmZWN5Y2xl", sig="another message")).verdict == SEEN
    await cache.settle(first, 200, b'{"jsonrpc":"2.0","id":1,"result":{}}')
    again = await _claim(cache, "bGlmZWN5Y2xl")
    assert (again.verdict, again.status, again.body) == (ANSWERED, 200, b'{"jsonrpc":"2.0","id":1,"result":{}}')
    assert (await _claim(cache, "bGlmZWN5Y2xl", sig="another message")).verdict == SEEN
    assert (await _claim(cache, "bGlmZWN5Y2xl", kid="other-kid")).verdict == NEW  # the pair is the key

    # An error reply is an answer like any other; an empty one (202) too.
    error = await _claim(cache, "ZXJyb3I")
    await cache.settle(error, 404, b'{"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"nope"}}')
    assert (await _claim(cache, "ZXJyb3I")).status == 404
    empty = await _claim(cache, "ZW1wdHk")
    await cache.settle(empty, 202, b"")
    assert ((await _claim(cache, "ZW1wdHk")).verdict, (await _claim(cache, "ZW1wdHk")).body) == (ANSWERED, b"")

    # 503 (nothing dispatched): released, so the same bytes are served once later.
    released = await _claim(cache, "cmVsZWFzZWQ")
    await cache.release(released)
    assert (await _claim(cache, "cmVsZWFzZWQ")).verdict == NEW

    # Ended without a reply, or a reply over the cap: duplicates learn the outcome is unknown.
    abandoned = await _claim(cache, "YWJhbmRvbmVk")
    await cache.abandon(abandoned, "abandoned")
    lost = await _claim(cache, "YWJhbmRvbmVk")
    assert (lost.verdict, lost.reason) == (UNKNOWN, "abandoned")
    big = await _claim(cache, "Ymln")
    await cache.settle(big, 200, b"x" * (cache.max_outcome_bytes + 1))
    too_large = await _claim(cache, "Ymln")
    assert (too_large.verdict, too_large.reason) == (UNKNOWN, "too-large")
    exact = await _claim(cache, "ZXhhY3Q")
    await cache.settle(exact, 200, b"x" * cache.max_outcome_bytes)
    assert (await _claim(cache, "ZXhhY3Q")).verdict == ANSWERED

    # A nonce the plain check remembered (no outcome memory for it) is a replay for claim.
    assert await cache.check("k", "cGxhaW4", 60_000) == NEW
    assert (await _claim(cache, "cGxhaW4")).verdict == SEEN


def test_memory_keeps_outcomes():
    cache = MemoryReplayCache(max_outcome_bytes=1000)
    run(_outcome_lifecycle(cache))


def test_redis_keeps_outcomes(redis_url):
    async def scenario():
        cache = RedisReplayCache(redis_url, prefix="outcomes:", max_outcome_bytes=1000)
        try:
            await _outcome_lifecycle(cache)
        finally:
            await cache.aclose()

    run(scenario())


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_outcomes_off_keeps_only_seen(kind, request):
    async def scenario():
        if kind == "memory":
            cache = MemoryReplayCache(outcomes=False)
        else:
            cache = RedisReplayCache(request.getfixturevalue("redis_url"), prefix="off:", outcomes=False)
        try:
            assert (await _claim(cache, "b2Zm")).verdict == NEW
            assert (await _claim(cache, "b2Zm")).verdict == SEEN
            assert (await _claim(cache, "b2xk", iat_ms=1)).verdict == BEFORE_EPOCH
        finally:
            await cache.aclose()

    run(scenario())


def test_memory_outcome_budget_drops_the_oldest_answers():
    cache = MemoryReplayCache(max_outcome_bytes=100, outcome_budget_bytes=250)

    async def scenario():
        claims = [await _claim(cache, f"bn{i}") for i in range(3)]
        for claim in claims:
            await cache.settle(claim, 200, b"y" * 100)
        dropped = await _claim(cache, "bn0")
        assert (dropped.verdict, dropped.reason) == (UNKNOWN, "dropped")
        assert [(await _claim(cache, f"bn{i}")).verdict for i in (1, 2)] == [ANSWERED, ANSWERED]

    run(scenario())


def test_memory_claims_before_the_epoch_are_refused():
    cache = MemoryReplayCache(wall_clock=lambda: 1_000_000)
    claim = run(_claim(cache, iat_ms=999_999))
    assert claim.verdict == BEFORE_EPOCH


def test_redis_running_claim_lapses_when_its_node_stops(redis_url):
    """A node killed mid-request stops renewing its claim's lease: once it lapses, a duplicate is
    told the outcome is unknown ("node-stopped"), not "running" for ever. A node that lives keeps
    its claim running past the lease (it renews); its late answer replaces the verdict."""

    async def scenario():
        alive = RedisReplayCache(redis_url, prefix="lease:", running_lease_ms=300)
        dying = RedisReplayCache(redis_url, prefix="lease:", running_lease_ms=300)
        other = RedisReplayCache(redis_url, prefix="lease:", running_lease_ms=300)
        try:
            kept = await _claim(alive, "a2VwdA")
            doomed = await _claim(dying, "ZG9vbWVk")
            assert (kept.verdict, doomed.verdict) == (NEW, NEW)
            await dying.aclose()  # its renewer stops, as a killed process's would
            await asyncio.sleep(1.0)  # three leases
            assert (await _claim(other, "a2VwdA")).verdict == RUNNING
            lost = await _claim(other, "ZG9vbWVk")
            assert (lost.verdict, lost.reason) == (UNKNOWN, "node-stopped")
            # The stopped node's answer, had it come after all, replaces the verdict.
            await alive.settle(doomed, 200, b"late")
            assert (await _claim(other, "ZG9vbWVk")).body == b"late"
            await alive.settle(kept, 200, b"kept")
            assert (await _claim(other, "a2VwdA")).body == b"kept"
        finally:
            await alive.aclose()
            await other.aclose()

    run(scenario())


def test_redis_claim_run_twice_by_a_retry_is_still_new(redis_url):
    """redis-py retries a command whose reply was lost: the claim script, run twice for the same
    holder, must not answer "running" to the request that holds the claim."""

    async def scenario():
        cache = RedisReplayCache(redis_url, prefix="retry:")
        try:
            keys = [cache.epoch_key("cmV0cnk"), cache.key("k", "cmV0cnk"), cache.lease_key("k", "cmV0cnk")]
            args = [60_000, "", "f" * 32, "holder-1", 5_000]
            assert (await cache._claim_script(keys=keys, args=args))[0] == 1
            assert (await cache._claim_script(keys=keys, args=args))[0] == 1
            assert (await cache._claim_script(keys=keys, args=[*args[:3], "holder-2", 5_000]))[0] == 3
        finally:
            await cache.aclose()

    run(scenario())


def test_redis_unreachable_is_a_503_with_retry_after_and_one_log_line(caplog):
    """Nothing listens on the port: every check is refused with -32603, HTTP 503, `Retry-After`
    (nothing was served), and the outage is logged once, not once per request."""
    import logging

    port = _closed_port()

    async def scenario():
        cache = RedisReplayCache(f"redis://127.0.0.1:{port}/0", prefix="down:")
        try:
            for i in range(5):
                with pytest.raises(StoreUnavailable) as excinfo:
                    await _claim(cache, f"ZG93bg{i}")
            with pytest.raises(StoreUnavailable):
                await admit_once(cache, Signed("k", "ZG93bg", 1), 60)
            return excinfo.value
        finally:
            await cache.aclose()

    with caplog.at_level(logging.WARNING, logger="mcp_fastpath.replay"):
        exc = run(scenario())
    assert (exc.code, exc.http_status, exc.headers) == (-32603, 503, {"Retry-After": "1"})
    assert orjson.loads(exc.to_bytes())["error"]["code"] == -32603
    lines = [r for r in caplog.records if r.name == "mcp_fastpath.replay"]
    assert len(lines) == 1 and "unreachable" in lines[0].getMessage(), [r.getMessage() for r in lines]
    assert lines[0].exc_info is None  # one line, no traceback


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_redis_cluster_keeps_outcomes_and_spreads_the_buckets(redis_cluster_url):
    """On a real Redis Cluster (three primaries): every script touches one slot (no CROSSSLOT),
    the outcome contract holds, and the nonce buckets land on every primary."""
    from mcp_fastpath._redis import connect

    async def scenario():
        cache = RedisReplayCache(redis_cluster_url, prefix=f"cluster-{time.time_ns()}:", max_outcome_bytes=1000)
        admin = connect(redis_cluster_url)
        try:
            await _outcome_lifecycle(cache)
            verdicts = await asyncio.gather(*(cache.check("k", f"{i:03x}-spread", 60_000) for i in range(300)))
            await admin.initialize()
            per_node = [await admin.execute_command("DBSIZE", target_nodes=node) for node in admin.get_primaries()]
            await cache.ping()
            return set(verdicts), per_node
        finally:
            await admin.aclose()
            await cache.aclose()

    verdicts, per_node = run(scenario())
    assert verdicts == {NEW}
    assert len(per_node) == 3 and all(count > 0 for count in per_node), per_node
