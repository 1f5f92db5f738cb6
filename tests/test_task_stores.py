"""The `TaskStore` contract (`mcp_fastpath.tasks.store`), checked once per store.

Every contract test runs on `MemoryTaskStore`, `SqliteTaskStore` (a real file in `tmp_path`) and
`RedisTaskStore` (a real `redis-server` on a free loopback port, started here). Times are the
`now_ms` the tests pass; the only real concurrency is in the `claim_orphans`/CAS races (gathered
coroutines over several store objects, and two OS processes for SQLite and Redis).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from mcp_fastpath.tasks import MemoryTaskStore, TaskRecord, open_task_store

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_767_225_600_000  # 2026-01-01, Unix ms
LEASE = 30_000
TTL = 3_600_000


def run(coro):
    return asyncio.run(coro)


def make(task_id: str | None = None, **fields: Any) -> TaskRecord:
    values: dict[str, Any] = {
        "task_id": task_id or str(uuid.uuid4()),
        "owner": None,
        "status": "working",
        "created_at_ms": T0,
        "updated_at_ms": T0,
        "ttl_ms": TTL,
        "poll_interval_ms": 1_000,
        "tool": "echo",
        "arguments": {"text": "hi"},
        "lease_owner": "node-a",
        "lease_expires_ms": T0 + LEASE,
    }
    values.update(fields)
    return TaskRecord(**values)


# ---- a real redis-server -------------------------------------------------------------------------


# ---- one store backend per parameter -------------------------------------------------------------


class Backend:
    """Opens store objects on one shared storage (memory: the one object)."""

    def __init__(self, kind: str, spec: str, options: dict[str, Any]) -> None:
        self.kind = kind
        self.spec = spec
        self.options = options
        self.shared = kind != "memory"  # visible to other store objects and processes
        self._memory = MemoryTaskStore() if kind == "memory" else None

    def open(self):
        if self._memory is not None:
            return self._memory
        return open_task_store(self.spec, **self.options)

    async def close(self, store) -> None:
        if store is not self._memory:
            await store.close()

    def scenario(self, fn, *, stores: int = 1):
        """Run `await fn(*stores)` on fresh store objects in a fresh event loop."""

        async def main():
            opened = [self.open() for _ in range(stores)]
            try:
                return await fn(*opened)
            finally:
                for store in opened:
                    await self.close(store)

        return run(main())


def _backend(kind: str, request, tmp_path) -> Backend:
    if kind == "memory":
        return Backend("memory", "memory", {})
    if kind == "sqlite":
        return Backend("sqlite", f"sqlite:///{tmp_path / 'tasks.db'}", {})
    url = request.getfixturevalue("redis_cluster_url" if kind == "redis-cluster" else "redis_url")
    return Backend(kind, url, {"prefix": f"test:{uuid.uuid4().hex[:8]}:"})


@pytest.fixture(params=["memory", "sqlite", "redis", "redis-cluster"])
def stores(request, tmp_path) -> Backend:
    """Every store implementation (Redis also on a real Redis Cluster: every script must touch one
    hash slot)."""
    return _backend(request.param, request, tmp_path)


@pytest.fixture(params=["sqlite", "redis", "redis-cluster"])
def shared_stores(request, tmp_path) -> Backend:
    """The stores several processes (or store objects) share: durability and race tests."""
    return _backend(request.param, request, tmp_path)


# ---- create / get --------------------------------------------------------------------------------


def test_create_then_get_round_trips_every_field(stores):
    record = make(
        owner="https://issuer.example|alice",
        arguments={"big": 2**60, "empty_list": [], "empty": {}, "unicode": "héllo ☃", "float": 0.1},
        idempotent=True,
        status_message="starting",
        input_requests={"r1": {"method": "elicitation/create", "params": {"message": "name?"}}},
        input_responses={"r0": {"action": "accept", "content": {"n": []}}},
        status="input_required",
    )

    async def scenario(store):
        await store.create(record)
        got = await store.get(record.task_id, now_ms=T0 + 1)
        assert got == record
        got.arguments["big"] = 0  # a snapshot: mutating it does not change the store
        assert (await store.get(record.task_id, now_ms=T0 + 1)) == record
        assert await store.get("no-such-task", now_ms=T0) is None

    stores.scenario(scenario)


def test_create_refuses_a_duplicate_id(stores):
    record = make()

    async def scenario(store):
        await store.create(record)
        with pytest.raises(ValueError, match="already exists"):
            await store.create(make(record.task_id, tool="other"))
        assert (await store.get(record.task_id, now_ms=T0)).tool == "echo"

    stores.scenario(scenario)


def test_create_refuses_bad_records(stores):
    async def scenario(store):
        with pytest.raises(ValueError):
            await store.create(make(status="done"))
        with pytest.raises(ValueError):
            await store.create(make().evolve(task_id=""))
        with pytest.raises(TypeError):
            await store.create(make(arguments={"x": object()}))

    stores.scenario(scenario)


# ---- transitions ---------------------------------------------------------------------------------


def test_transitions_and_terminal_immutability(stores):
    record = make()

    async def scenario(store):
        await store.create(record)
        tid = record.task_id
        asked = await store.transition(
            tid, now_ms=T0 + 10, status="input_required", input_requests={"q1": {"method": "x"}}
        )
        assert (asked.status, asked.updated_at_ms, asked.input_requests) == (
            "input_required",
            T0 + 10,
            {"q1": {"method": "x"}},
        )
        back = await store.transition(
            tid, now_ms=T0 + 20, status="working", input_requests=None, status_message="resumed"
        )
        assert (back.status, back.input_requests, back.status_message) == ("working", None, "resumed")
        assert back.finished_at_ms is None
        done = await store.transition(tid, now_ms=T0 + 30, status="completed", result={"content": [], "isError": False})
        assert (done.status, done.finished_at_ms, done.updated_at_ms) == ("completed", T0 + 30, T0 + 30)
        assert done.lease_owner == "node-a"  # transition does not touch the lease
        assert await store.get(tid, now_ms=T0 + 31) == done
        # terminal: nothing changes any more
        for status in ("working", "failed", "cancelled", "completed"):
            assert await store.transition(tid, now_ms=T0 + 40, status=status) is None
        assert await store.transition(tid, now_ms=T0 + 40, status_message="late") is None
        assert await store.get(tid, now_ms=T0 + 41) == done

        failed = make()
        await store.create(failed)
        err = {"code": -32603, "message": "boom", "data": {"n": 2**55}}
        out = await store.transition(failed.task_id, now_ms=T0 + 5, status="failed", error=err)
        assert (out.status, out.error, out.finished_at_ms) == ("failed", err, T0 + 5)
        assert await store.transition(failed.task_id, now_ms=T0 + 6, status="completed", result={}) is None
        assert await store.transition("no-such-task", now_ms=T0, status="completed") is None

    stores.scenario(scenario)


def test_transition_can_set_updated_at_and_ttl(stores):
    record = make()

    async def scenario(store):
        await store.create(record)
        out = await store.transition(
            record.task_id, now_ms=T0 + 50, updated_at_ms=T0 + 7, ttl_ms=5_000, poll_interval_ms=250
        )
        assert (out.updated_at_ms, out.ttl_ms, out.poll_interval_ms) == (T0 + 7, 5_000, 250)
        done = await store.transition(record.task_id, now_ms=T0 + 60, status="cancelled")
        assert done.finished_at_ms == T0 + 60
        assert await store.get(record.task_id, now_ms=T0 + 60 + 4_999) is not None
        assert await store.get(record.task_id, now_ms=T0 + 60 + 5_000) is None

    stores.scenario(scenario)


def test_transition_refuses_bad_changes(stores):
    record = make()

    async def scenario(store):
        await store.create(record)
        with pytest.raises(TypeError):
            await store.transition(record.task_id, now_ms=T0, colour="red")
        with pytest.raises(ValueError):
            await store.transition(record.task_id, now_ms=T0, finished_at_ms=T0)
        with pytest.raises(ValueError):
            await store.transition(record.task_id, now_ms=T0, status="done")
        with pytest.raises(TypeError):
            await store.transition(record.task_id, now_ms=T0, tool=5)
        with pytest.raises(TypeError):
            await store.transition(record.task_id, now_ms=T0, result=["not", "an", "object"])
        with pytest.raises(ValueError):
            await store.transition(record.task_id, now_ms=T0, ttl_ms=-1)
        with pytest.raises(TypeError):
            await store.transition(record.task_id, now_ms=T0, result={"x": {1, 2}})  # not JSON
        assert await store.get(record.task_id, now_ms=T0) == record

    stores.scenario(scenario)


def test_expect_is_a_compare_and_set_on_the_status(stores):
    record = make()

    async def scenario(store):
        await store.create(record)
        tid = record.task_id
        assert (
            await store.transition(tid, now_ms=T0 + 1, expect=frozenset({"input_required"}), status="completed") is None
        )
        assert (await store.get(tid, now_ms=T0 + 1)).status == "working"
        out = await store.transition(tid, now_ms=T0 + 2, expect=frozenset({"working"}), status="input_required")
        assert out.status == "input_required"
        out = await store.transition(
            tid, now_ms=T0 + 3, expect=frozenset({"working", "input_required"}), status="working"
        )
        assert out.status == "working"
        assert await store.transition(tid, now_ms=T0 + 4, expect=frozenset({"completed"}), status="working") is None

    stores.scenario(scenario)


def test_concurrent_compare_and_set_has_one_winner(stores):
    record = make()

    async def scenario(*handles):
        await handles[0].create(record)
        results = await asyncio.gather(
            *(
                handles[i % len(handles)].transition(
                    record.task_id,
                    now_ms=T0 + 1,
                    expect=frozenset({"working"}),
                    status="completed",
                    result={"winner": i},
                )
                for i in range(20)
            )
        )
        winners = [r for r in results if r is not None]
        assert len(winners) == 1
        assert (await handles[0].get(record.task_id, now_ms=T0 + 2)).result == winners[0].result

    stores.scenario(scenario, stores=3)


# ---- input responses -----------------------------------------------------------------------------


def test_input_responses_merge_then_are_taken_once(stores):
    record = make(status="input_required", input_requests={"a": {}, "b": {}})

    async def scenario(store):
        await store.create(record)
        tid = record.task_id
        out = await store.add_input_responses(tid, {"a": {"action": "accept", "content": {"n": 2**60}}}, now_ms=T0 + 5)
        assert out.input_responses == {"a": {"action": "accept", "content": {"n": 2**60}}}
        assert out.updated_at_ms == T0 + 5
        out = await store.add_input_responses(tid, {"b": {"list": []}, "a": {"action": "decline"}}, now_ms=T0 + 6)
        assert out.input_responses == {"a": {"action": "decline"}, "b": {"list": []}}
        assert (await store.get(tid, now_ms=T0 + 6)).input_responses == out.input_responses
        assert await store.take_input_responses(tid, now_ms=T0 + 7) == {"a": {"action": "decline"}, "b": {"list": []}}
        assert await store.take_input_responses(tid, now_ms=T0 + 8) == {}
        got = await store.get(tid, now_ms=T0 + 8)
        assert got.input_responses is None and got.updated_at_ms == T0 + 6  # taking is not an update
        assert await store.add_input_responses("no-such-task", {"a": 1}, now_ms=T0) is None
        assert await store.take_input_responses("no-such-task", now_ms=T0) == {}
        await store.add_input_responses(tid, {"c": 3}, now_ms=T0 + 9)
        await store.transition(tid, now_ms=T0 + 10, status="completed", result={})
        assert await store.add_input_responses(tid, {"d": 4}, now_ms=T0 + 11) is None
        assert await store.take_input_responses(tid, now_ms=T0 + 11) == {}

    stores.scenario(scenario)


def test_transition_can_replace_input_responses(stores):
    record = make(input_responses={"a": 1})

    async def scenario(store):
        await store.create(record)
        out = await store.transition(record.task_id, now_ms=T0 + 1, input_responses={"b": 2})
        assert out.input_responses == {"b": 2}
        out = await store.transition(record.task_id, now_ms=T0 + 2, input_responses=None)
        assert out.input_responses is None
        assert await store.take_input_responses(record.task_id, now_ms=T0 + 3) == {}

    stores.scenario(scenario)


# ---- cancellation --------------------------------------------------------------------------------


def test_cancel_of_a_leased_task_flags_it_idempotently(stores):
    record = make()

    async def scenario(store):
        await store.create(record)
        tid = record.task_id
        first = await store.request_cancel(tid, now_ms=T0 + 5)
        assert (first.status, first.cancel_requested, first.updated_at_ms) == ("working", True, T0 + 5)
        again = await store.request_cancel(tid, now_ms=T0 + 6)
        assert again == first  # idempotent: nothing written
        renewed = await store.renew_lease(tid, "node-a", lease_ms=LEASE, now_ms=T0 + 7)
        assert renewed.cancel_requested  # the runner learns it on its next renewal
        done = await store.transition(tid, now_ms=T0 + 8, status="cancelled")
        assert (done.status, done.finished_at_ms) == ("cancelled", T0 + 8)
        assert await store.request_cancel(tid, now_ms=T0 + 9) == done
        assert await store.request_cancel("no-such-task", now_ms=T0) is None

    stores.scenario(scenario)


def test_cancel_settles_a_task_without_a_live_lease(stores):
    unleased = make(lease_owner=None, lease_expires_ms=0)
    lapsed = make(lease_expires_ms=T0 + 100)
    finished = make()

    async def scenario(store):
        for record in (unleased, lapsed, finished):
            await store.create(record)
        out = await store.request_cancel(unleased.task_id, now_ms=T0 + 1)
        assert (out.status, out.cancel_requested, out.finished_at_ms) == ("cancelled", True, T0 + 1)
        assert await store.request_cancel(unleased.task_id, now_ms=T0 + 2) == out
        out = await store.request_cancel(lapsed.task_id, now_ms=T0 + 100)  # expired exactly now
        assert (out.status, out.finished_at_ms) == ("cancelled", T0 + 100)
        assert await store.claim_orphans("node-b", lease_ms=LEASE, now_ms=T0 + 200) == []
        done = await store.transition(finished.task_id, now_ms=T0 + 3, status="completed", result={"ok": True})
        assert await store.request_cancel(finished.task_id, now_ms=T0 + 4) == done  # too late: unchanged

    stores.scenario(scenario)


def test_cancel_requested_then_lease_lapses_settles_on_the_next_request(stores):
    record = make(lease_expires_ms=T0 + 100)

    async def scenario(store):
        await store.create(record)
        assert (await store.request_cancel(record.task_id, now_ms=T0 + 10)).status == "working"
        out = await store.request_cancel(record.task_id, now_ms=T0 + 150)
        assert (out.status, out.finished_at_ms) == ("cancelled", T0 + 150)

    stores.scenario(scenario)


# ---- leases --------------------------------------------------------------------------------------


def test_lease_is_renewed_by_its_owner_only(stores):
    record = make()
    unleased = make(lease_owner=None, lease_expires_ms=0)

    async def scenario(store):
        await store.create(record)
        await store.create(unleased)
        tid = record.task_id
        out = await store.renew_lease(tid, "node-a", lease_ms=LEASE, now_ms=T0 + 1_000)
        assert (out.lease_owner, out.lease_expires_ms, out.updated_at_ms) == ("node-a", T0 + 1_000 + LEASE, T0)
        assert await store.renew_lease(tid, "node-b", lease_ms=LEASE, now_ms=T0 + 1_001) is None
        assert (await store.get(tid, now_ms=T0 + 1_001)).lease_expires_ms == T0 + 1_000 + LEASE
        # lapsed but not claimed yet: the owner may still renew
        late = T0 + 1_000 + LEASE + 5
        assert (await store.renew_lease(tid, "node-a", lease_ms=10, now_ms=late)).lease_expires_ms == late + 10
        # claimed by another node: the old owner has lost it
        claimed = await store.claim_orphans("node-b", lease_ms=LEASE, now_ms=late + 10)
        assert {r.task_id for r in claimed} == {tid, unleased.task_id}
        assert await store.renew_lease(tid, "node-a", lease_ms=LEASE, now_ms=late + 11) is None
        assert (await store.renew_lease(tid, "node-b", lease_ms=LEASE, now_ms=late + 11)).lease_owner == "node-b"
        await store.transition(tid, now_ms=late + 12, status="completed", result={})
        assert await store.renew_lease(tid, "node-b", lease_ms=LEASE, now_ms=late + 13) is None
        assert await store.renew_lease("no-such-task", "node-b", lease_ms=LEASE, now_ms=late) is None
        with pytest.raises(ValueError):
            await store.renew_lease(tid, "node-b", lease_ms=0, now_ms=late)

    stores.scenario(scenario)


def test_claim_orphans_takes_lapsed_and_unleased_tasks_only(stores):
    live = make(lease_expires_ms=T0 + 10_000)
    lapsed = make(lease_expires_ms=T0 + 1_000)
    unleased = make(lease_owner=None, lease_expires_ms=0)
    finished = make(lease_expires_ms=T0 + 1_000)

    async def scenario(store):
        for record in (live, lapsed, unleased, finished):
            await store.create(record)
        await store.transition(finished.task_id, now_ms=T0 + 1, status="failed", error={"code": -1, "message": "x"})
        now = T0 + 5_000
        assert len(await store.claim_orphans("node-b", lease_ms=LEASE, now_ms=now, limit=1)) == 1
        rest = await store.claim_orphans("node-b", lease_ms=LEASE, now_ms=now)
        assert len(rest) == 1
        got = {
            r.task_id: r
            for r in await asyncio.gather(*(store.get(t, now_ms=now) for t in (lapsed.task_id, unleased.task_id)))
        }
        for record in got.values():
            assert (record.lease_owner, record.lease_expires_ms) == ("node-b", now + LEASE)
        assert (await store.get(live.task_id, now_ms=now)).lease_owner == "node-a"
        assert await store.claim_orphans("node-c", lease_ms=LEASE, now_ms=now) == []
        assert await store.claim_orphans("node-c", lease_ms=LEASE, now_ms=now, limit=0) == []
        # the live one lapses later
        later = await store.claim_orphans("node-c", lease_ms=LEASE, now_ms=T0 + 10_000)
        assert [r.task_id for r in later] == [live.task_id]
        assert later[0].arguments == live.arguments and later[0].lease_owner == "node-c"

    stores.scenario(scenario)


async def _claim_all(store, node: str, now_ms: int, limit: int) -> list[str]:
    claimed: list[str] = []
    while True:
        batch = await store.claim_orphans(node, lease_ms=LEASE, now_ms=now_ms, limit=limit)
        if not batch:
            return claimed
        claimed += [r.task_id for r in batch]
        await asyncio.sleep(0)


def test_concurrent_claims_never_return_the_same_task(stores):
    records = [make(lease_expires_ms=T0 + i) for i in range(120)]

    async def scenario(*handles):
        await asyncio.gather(*(handles[0].create(r) for r in records))
        now = T0 + 1_000
        results = await asyncio.gather(*(_claim_all(h, f"node-{i}", now, 7) for i, h in enumerate(handles)))
        every = [tid for result in results for tid in result]
        assert len(every) == len(set(every)) == len(records)
        assert set(every) == {r.task_id for r in records}
        for i, result in enumerate(results):
            for tid in result[:3]:
                assert (await handles[0].get(tid, now_ms=now)).lease_owner == f"node-{i}"

    stores.scenario(scenario, stores=4)


WORKER = """
import asyncio, sys, orjson
from mcp_fastpath.tasks import open_task_store

async def main():
    spec, options, action = sys.argv[1], orjson.loads(sys.argv[2]), sys.argv[3]
    store = open_task_store(spec, **options)
    try:
        if action == "get":
            record = await store.get(sys.argv[4], now_ms=int(sys.argv[5]))
            print(orjson.dumps(None if record is None else record.__dict__).decode(), flush=True)
            return
        node, now = sys.argv[4], int(sys.argv[5])
        await store.get("warm-up", now_ms=now)  # connect (and open the schema) before the race
        print("ready", flush=True)
        sys.stdin.readline()
        claimed = []
        while True:
            batch = await store.claim_orphans(node, lease_ms=60_000, now_ms=now, limit=5)
            if not batch:
                break
            claimed += [r.task_id for r in batch]
        print(orjson.dumps(claimed).decode(), flush=True)
    finally:
        await store.close()

asyncio.run(main())
"""


def _worker(backend: Backend, *args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, backend.spec, orjson.dumps(backend.options).decode(), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_two_processes_never_claim_the_same_task(shared_stores):
    records = [make(lease_expires_ms=T0 + i) for i in range(300)]

    async def create_all(store):
        for record in records:
            await store.create(record)

    shared_stores.scenario(create_all)
    now = str(T0 + 1_000)
    procs = [_worker(shared_stores, "claim", f"proc-{i}", now) for i in range(2)]
    try:
        for proc in procs:
            line = proc.stdout.readline()
            assert line.strip() == "ready", proc.stderr.read()
        for proc in procs:  # start both races as close together as possible
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=60) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert all(proc.returncode == 0 for proc in procs), [err for _, err in outputs]
    claimed = [orjson.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    every = claimed[0] + claimed[1]
    assert len(every) == len(set(every)) == len(records)
    assert set(every) == {r.task_id for r in records}

    async def owners(store):
        got = await asyncio.gather(*(store.get(r.task_id, now_ms=T0 + 1_000) for r in records))
        return {r.task_id: r.lease_owner for r in got}

    by_owner = shared_stores.scenario(owners)
    for i in range(2):
        assert all(by_owner[tid] == f"proc-{i}" for tid in claimed[i])


# ---- expiry --------------------------------------------------------------------------------------


def test_finished_tasks_expire_after_their_ttl(stores):
    short = make(ttl_ms=60_000)  # long on the wall clock: Redis's own PEXPIRE must not race the test
    other = make(ttl_ms=300_000)
    running = make(ttl_ms=60_000, lease_expires_ms=T0 + 10**9)

    async def scenario(store):
        for record in (short, other, running):
            await store.create(record)
        await store.transition(short.task_id, now_ms=T0 + 100, status="completed", result={})
        await store.transition(other.task_id, now_ms=T0 + 100, status="failed", error={"code": -1, "message": "x"})
        assert (await store.get(short.task_id, now_ms=T0 + 60_099)).status == "completed"
        assert await store.purge(now_ms=T0 + 60_099) == 0
        assert await store.get(short.task_id, now_ms=T0 + 60_100) is None  # expired, even before a purge
        assert await store.request_cancel(short.task_id, now_ms=T0 + 60_100) is None
        assert await store.purge(now_ms=T0 + 60_100) == 1
        assert await store.purge(now_ms=T0 + 60_100) == 0
        assert await store.get(short.task_id, now_ms=T0 + 100) is None  # gone for good
        assert (await store.get(other.task_id, now_ms=T0 + 60_100)).status == "failed"
        # a task that never finishes does not expire (its runner or an orphan claim settles it)
        assert (await store.get(running.task_id, now_ms=T0 + 10**8)).status == "working"
        assert await store.purge(now_ms=T0 + 10**8) == 1
        assert (await store.get(running.task_id, now_ms=T0 + 10**8)) is not None

    stores.scenario(scenario)


def test_purge_in_batches(tmp_path, redis_url):
    from mcp_fastpath.tasks import RedisTaskStore, SqliteTaskStore

    async def scenario(store):
        # A TTL long on the wall clock: Redis also PEXPIREs finished tasks by itself, and a short one
        # would let it drop some before `purge` runs on a loaded machine (purge counts its own deletes).
        try:
            for i in range(7):
                record = make(ttl_ms=60_000)
                await store.create(record)
                await store.transition(record.task_id, now_ms=T0 + i, status="completed", result={})
            assert await store.purge(now_ms=T0 + 120_000, batch=2) == 7
            assert await store.purge(now_ms=T0 + 120_000, batch=2) == 0
        finally:
            await store.close()

    run(scenario(SqliteTaskStore(tmp_path / "batches.db")))
    run(scenario(RedisTaskStore(redis_url, prefix="batches:")))


# ---- durability ----------------------------------------------------------------------------------


def test_a_created_task_is_visible_to_another_store_object_at_once(shared_stores):
    record = make(arguments={"n": [1, 2, {"x": None}]})

    async def scenario(writer, reader):
        await reader.get("warm-up", now_ms=T0)  # the reader is already connected when the write lands
        await writer.create(record)
        assert await reader.get(record.task_id, now_ms=T0) == record
        done = await writer.transition(record.task_id, now_ms=T0 + 1, status="completed", result={"ok": 1})
        assert await reader.get(record.task_id, now_ms=T0 + 1) == done

    shared_stores.scenario(scenario, stores=2)


def test_a_created_task_is_visible_to_another_process_at_once(shared_stores):
    record = make(owner="alice", arguments={"n": 2**60})

    async def create(store):
        await store.create(record)

    shared_stores.scenario(create)
    proc = _worker(shared_stores, "get", record.task_id, str(T0))
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert TaskRecord(**orjson.loads(out)) == record


# ---- store specifics -----------------------------------------------------------------------------


def test_sqlite_uses_wal_full_sync_and_indexes(tmp_path):
    import sqlite3

    from mcp_fastpath.tasks import SqliteTaskStore

    path = tmp_path / "t.db"

    async def scenario():
        store = SqliteTaskStore(path)
        try:
            await store.create(make())

            def pragmas():  # on the store's own thread, with its connection
                conn = store._conn
                return [
                    conn.execute(f"PRAGMA {name}").fetchone()[0]
                    for name in ("journal_mode", "synchronous", "busy_timeout")
                ]

            assert await store._run(pragmas) == ["wal", 2, 10_000]  # synchronous=2 is FULL
        finally:
            await store.close()
        with pytest.raises(RuntimeError):
            await store.get("x", now_ms=T0)

    run(scenario())
    conn = sqlite3.connect(path)
    try:
        plan = " ".join(
            str(row)
            for row in conn.execute(
                "EXPLAIN QUERY PLAN SELECT task_id FROM tasks WHERE orphan_at_ms IS NOT NULL AND orphan_at_ms <= 5 ORDER BY orphan_at_ms LIMIT 3"
            )
        )
        assert "tasks_orphan_at" in plan
        plan = " ".join(
            str(row)
            for row in conn.execute(
                "EXPLAIN QUERY PLAN SELECT rowid FROM tasks WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= 5 LIMIT 9"
            )
        )
        assert "tasks_expires_at" in plan
    finally:
        conn.close()
    with pytest.raises(ValueError):
        SqliteTaskStore(":memory:")
    with pytest.raises(ValueError):
        SqliteTaskStore(path, synchronous="OFF")


def test_redis_finished_tasks_get_a_redis_ttl_and_leave_the_lease_index(redis_url):
    import redis.asyncio as redis_asyncio
    from mcp_fastpath.tasks import RedisTaskStore

    record = make(ttl_ms=60_000, input_responses={"a": 1})

    async def scenario():
        store = RedisTaskStore(redis_url, prefix="ttl-test:")
        client = redis_asyncio.Redis.from_url(redis_url)
        try:
            await store.create(record)
            key = store.task_key(record.task_id)
            tag = store.bucket_tag(store.bucket_of(record.task_id))  # the indexes of the task's bucket
            assert key == f"{tag}t:{record.task_id}" and tag.startswith("ttl-test:{b")
            assert await client.pttl(key) == -1  # running: no TTL
            assert await client.zscore(f"{tag}leases", record.task_id) == T0 + LEASE
            await store.transition(record.task_id, now_ms=T0 + 5, status="completed", result={})
            assert 0 < await client.pttl(key) <= 60_000
            assert 0 < await client.pttl(store.inputs_key(record.task_id)) <= 60_000
            assert await client.zscore(f"{tag}leases", record.task_id) is None
            assert await client.zscore(f"{tag}expiry", record.task_id) == T0 + 5 + 60_000
            # a very long ttl is passed to PEXPIRE as an integer
            forever = make(ttl_ms=10**13)
            await store.create(forever)
            done = await store.transition(forever.task_id, now_ms=T0, status="completed", result={})
            assert await client.pttl(store.task_key(forever.task_id)) > 10**12
            assert await store.get(forever.task_id, now_ms=T0 + 10**12) == done
            # Redis dropped it by itself: purge only cleans the index and counts nothing
            await client.delete(key)
            assert await store.purge(now_ms=T0 + 10**9) == 0
            assert await client.zscore(f"{tag}expiry", record.task_id) is None
            # a task id reused after Redis expired the old one is not purged by the stale index
            await store.create(record)
            assert await store.get(record.task_id, now_ms=T0) == record
        finally:
            await client.aclose()
            await store.close()

    run(scenario())


def test_redis_cancellations_are_published(redis_url):
    from mcp_fastpath.tasks import RedisTaskStore

    leased = make()
    unleased = make(lease_owner=None, lease_expires_ms=0)

    async def scenario():
        store = RedisTaskStore(redis_url, prefix="pubsub-test:")
        listener = RedisTaskStore(redis_url, prefix="pubsub-test:")
        try:
            await store.create(leased)
            await store.create(unleased)
            stream = listener.cancellations()
            first = asyncio.ensure_future(stream.__anext__())
            for _ in range(100):  # wait until the subscription is in place
                if (await store._client.pubsub_numsub(store.channel))[0][1]:
                    break
                await asyncio.sleep(0.01)
            await store.request_cancel(unleased.task_id, now_ms=T0)  # settled at once: nothing to publish
            await store.request_cancel(leased.task_id, now_ms=T0)
            assert await asyncio.wait_for(first, 5) == leased.task_id
            await stream.aclose()
        finally:
            await listener.close()
            await store.close()

    run(scenario())


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ("memory", "MemoryTaskStore"),
        (" MEMORY ", "MemoryTaskStore"),
        ("sqlite:///{tmp}/a.db", "SqliteTaskStore"),
        ("sqlite:///relative-test.db", "SqliteTaskStore"),
    ],
)
def test_open_task_store(spec, kind, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = open_task_store(spec.format(tmp=tmp_path))
    try:
        assert type(store).__name__ == kind
        if kind == "SqliteTaskStore":
            run(store.create(make("x")))
            assert Path(store.path).exists()
    finally:
        run(store.close())


def test_open_task_store_redis_url_is_lazy_and_passed_through():
    pytest.importorskip("redis.asyncio")
    store = open_task_store("redis://127.0.0.1:1/3", prefix="p:")
    assert type(store).__name__ == "RedisTaskStore" and store.prefix == "p:" and store.channel == "p:cancel"
    run(store.close())  # never connected
    assert type(open_task_store("rediss://example.invalid:6380/0")).__name__ == "RedisTaskStore"


@pytest.mark.parametrize(
    "spec",
    ["", "postgres://x", "sqlite://", "sqlite:///", "sqlite:///:memory:", "sqlite://host/x.db", "mem", "file:///x.db"],
)
def test_open_task_store_refuses_unknown_specs(spec):
    with pytest.raises(ValueError):
        open_task_store(spec)


def test_redis_cluster_spreads_tasks_over_its_primaries(redis_cluster_url):
    """Tasks live in hash-tagged buckets: on a real Redis Cluster each primary holds some."""
    from mcp_fastpath._redis import connect
    from mcp_fastpath.tasks import RedisTaskStore

    async def scenario():
        store = RedisTaskStore(redis_cluster_url, prefix=f"spread-{uuid.uuid4().hex[:6]}:")
        admin = connect(redis_cluster_url)
        try:
            records = [make() for _ in range(64)]
            await asyncio.gather(*(store.create(r) for r in records))
            assert [r.task_id for r in await store.claim_orphans("n", lease_ms=LEASE, now_ms=T0 + LEASE)] != []
            await admin.initialize()
            return [await admin.execute_command("DBSIZE", target_nodes=node) for node in admin.get_primaries()]
        finally:
            await admin.aclose()
            await store.close()

    per_node = run(scenario())
    assert len(per_node) == 3 and all(count > 0 for count in per_node), per_node
