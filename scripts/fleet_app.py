"""The MCP server of `scripts/fleet.sh`: tools whose every execution is counted in Redis.

`mcp-fastpath serve scripts/fleet_app.py:mcp …` on each node. The counter lives in its own Redis
(`FLEET_COUNTER_URL`, the application's database), not in the Redis the fleet's replay cache and
task store use, so the faults injected there never touch the count.

- `bump(call, work_ms)`: works for `work_ms`, then counts one execution of `call`
  (`HINCRBY fleet:runs <call> 1`) and answers how many times `call` has run. The work comes first,
  as in most tools (compute, then commit), so a node killed mid-call has usually not counted it.
- `bump_task(call, work_ms)`: the same as a task (`io.modelcontextprotocol/tasks`), not idempotent:
  when its node dies, another node settles it "failed" (it is never run twice).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp_fastpath.tasks import TaskSupport

RUNS_KEY = "fleet:runs"
COUNTER_URL = os.environ.get("FLEET_COUNTER_URL", "redis://127.0.0.1:6379/0")
TASK_LEASE_MS = int(os.environ.get("FLEET_TASK_LEASE_MS", "6000"))

mcp = MCPServer("fleet", version="1.0")
_counter: Any = None


def counter() -> Any:
    global _counter
    if _counter is None:
        import redis.asyncio as redis_asyncio

        _counter = redis_asyncio.Redis.from_url(COUNTER_URL)
    return _counter


async def _run(call: str, work_ms: int) -> int:
    if work_ms > 0:
        await asyncio.sleep(work_ms / 1000)
    return int(await counter().hincrby(RUNS_KEY, call, 1))


@mcp.tool()
async def bump(call: str, work_ms: int = 0) -> int:
    """Works for `work_ms`, then counts one execution of `call`; returns how many times it ran."""
    return await _run(call, work_ms)


@mcp.tool()
async def bump_task(call: str, work_ms: int = 1000) -> int:
    """`bump` as a task (not idempotent)."""
    return await _run(call, work_ms)


TaskSupport(mcp, tools={"bump_task": "optional"}, lease_ms=TASK_LEASE_MS, poll_interval_ms=200, ttl_ms=600_000)
