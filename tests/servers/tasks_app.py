"""A task-serving official-SDK server for tests/test_tasks.py, over real uvicorn on loopback.

Run as `python -m tests.servers.tasks_app` (with `PYTHONPATH=python:.`). Configured by env:
- `TASKS_STORE`: the task store spec (`memory`, `sqlite:///PATH`, `redis://…`); default memory.
- `TASKS_LEASE_MS`: the runner's lease (default 1500: short, so orphans are noticed quickly).
- `TASKS_GATE=1`: a JWT Gate (HS256, `tests.servers.sdk_app.SECRET`), so tasks have owners.
- `MCP_FASTPATH_BACKEND`: native | pure.
Prints `PORT <n> <backend>` once listening (the `tests.adapter_helpers.ServerProcess` protocol).
"""

from __future__ import annotations

import asyncio
import os
import sys

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp.types import ElicitRequest, ElicitRequestFormParams, ElicitResult, InputRequiredResult
from mcp_fastpath.tasks import TaskSupport, TaskTool, current_task

from tests.servers import serve_on_free_port


def build_server() -> MCPServer:
    server = MCPServer("tasks-test", version="1.0")

    @server.tool()
    async def sleep_for(seconds: float = 1.0) -> str:
        """Sleeps, then answers (not idempotent: lost when its node dies)."""
        await asyncio.sleep(seconds)
        return f"slept {seconds:g}s"

    @server.tool()
    async def sleep_idem(seconds: float = 1.0) -> str:
        """Sleeps, then answers (idempotent: re-run elsewhere when its node dies)."""
        await asyncio.sleep(seconds)
        return f"slept {seconds:g}s (pid {os.getpid()})"

    @server.tool()
    async def ask(ctx: Context, rounds: int = 1) -> str | InputRequiredResult:
        """Asks for `name` `rounds` times (the same key each round), then greets every answer."""
        answers = list((ctx.request_state or "").split(",")) if ctx.request_state else []
        answer = (ctx.input_responses or {}).get("name")
        if isinstance(answer, ElicitResult) and answer.content:
            answers.append(str(answer.content.get("name")))
        if len(answers) >= rounds:
            return "Hello, " + " & ".join(answers) + "!"
        schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
        request = ElicitRequest(params=ElicitRequestFormParams(message="name?", requested_schema=schema))
        return InputRequiredResult(input_requests={"name": request}, request_state=",".join(answers) or None)

    @server.tool()
    async def boom() -> str:
        """A JSON-RPC error (the task fails)."""
        raise MCPError(code=-32603, message="boom")

    @server.tool()
    async def oops() -> str:
        """A tool error (the task completes with isError)."""
        raise ToolError("oops")

    @server.tool()
    async def where() -> str:
        """Which task and process this runs in."""
        task = current_task()
        if task is not None:
            await task.set_status_message("reporting")
        return f"{task.task_id if task else None} {os.getpid()}"

    @server.tool()
    def plain(x: int = 1) -> int:
        """Not a task tool."""
        return x

    TaskSupport(
        server,
        tools={
            "sleep_for": "optional",
            "sleep_idem": TaskTool("optional", idempotent=True),
            "ask": "optional",
            "boom": "optional",
            "oops": "required",
            "where": "optional",
        },
        ttl_ms=60_000,
        poll_interval_ms=100,
        lease_ms=int(os.environ.get("TASKS_LEASE_MS", "1500")),
        check_interval_ms=50,
    )
    return server


def build_app():
    from mcp_fastpath.adapters.sdk import fast_http_app

    gate = None
    if os.environ.get("TASKS_GATE") == "1":
        import mcp_fastpath as fp

        from .sdk_app import AUDIENCE, ISSUER, KID, SECRET

        ring = fp.KeyRing([fp.HmacKey(KID, SECRET)])
        gate = fp.Gate(jwt=fp.JwtVerifier(ring, issuer=ISSUER, audience=AUDIENCE))
    return fast_http_app(
        build_server(), gate=gate, json_response=True, task_store=os.environ.get("TASKS_STORE") or "memory"
    )


async def main() -> None:
    await serve_on_free_port(build_app())


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
