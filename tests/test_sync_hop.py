"""The direct path's hop for sync tools (adapters/_sync_hop.py): off the event loop, several at
once, the caller's context carried over, results and exceptions handed back, in both modes."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest
from mcp_fastpath.adapters._sync_hop import SyncHop

MODES = ["workers", "anyio"]
WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


@pytest.mark.parametrize("mode", MODES)
def test_results_and_exceptions_come_back(mode: str) -> None:
    hop = SyncHop(mode)

    def divide(a: int, b: int) -> float:
        return a / b

    async def scenario() -> tuple[float, BaseException]:
        ok = await hop.run(divide, {"a": 6, "b": 3})
        with pytest.raises(ZeroDivisionError) as failed:
            await hop.run(divide, {"a": 1, "b": 0})
        return ok, failed.value

    ok, failed = asyncio.run(scenario())
    assert ok == 2.0 and isinstance(failed, ZeroDivisionError)


@pytest.mark.parametrize("mode", MODES)
def test_a_blocking_tool_leaves_the_loop_free(mode: str) -> None:
    """The tool blocks until the event loop itself sets an event: run on the loop, it would wait
    for ever (here: until its 5 s timeout, and report False)."""
    hop = SyncHop(mode)
    released = threading.Event()

    def wait_for_the_loop() -> tuple[bool, str]:
        return released.wait(5), threading.current_thread().name

    async def scenario() -> tuple[bool, str]:
        asyncio.get_running_loop().call_later(0.05, released.set)
        return await hop.run(wait_for_the_loop, {})

    got_it, thread = asyncio.run(scenario())
    assert got_it and thread != threading.main_thread().name


@pytest.mark.parametrize("mode", MODES)
def test_sync_tools_run_side_by_side(mode: str) -> None:
    """Eight tools that each wait for all eight at a barrier: they finish only if they all run at once."""
    hop = SyncHop(mode, workers=8) if mode == "workers" else SyncHop(mode)
    barrier = threading.Barrier(8, timeout=5)

    def meet(i: int) -> int:
        barrier.wait()
        return i

    async def scenario() -> list[int]:
        return await asyncio.gather(*(hop.run(meet, {"i": i}) for i in range(8)))

    assert asyncio.run(scenario()) == list(range(8))


@pytest.mark.parametrize("mode", MODES)
def test_the_callers_context_reaches_the_tool(mode: str) -> None:
    hop = SyncHop(mode)

    def who() -> str:
        WHO.set("changed in the tool")  # a copy: the caller's value stays
        return "seen"

    async def scenario() -> tuple[str, str, str]:
        WHO.set("alice")
        seen = await hop.run(lambda: WHO.get(), {})
        await hop.run(who, {})
        return seen, WHO.get(), await hop.run(lambda: WHO.get(), {})

    assert asyncio.run(scenario()) == ("alice", "alice", "alice")


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="sync hop mode"):
        SyncHop("threads")
    with pytest.raises(ValueError, match="workers"):
        SyncHop(workers=0)
