"""Real fleet parts for the at-most-once tests: `mcp-fastpath serve scripts/fleet_app.py:mcp` nodes
sharing a Redis, and a TCP proxy that delivers a request and then drops the client's connection
(a network failure after delivery: the client cannot know whether the request ran)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mcp_fastpath.demo.processes import free_port

ROOT = Path(__file__).resolve().parent.parent


def _answers(port: int, probe: bytes, expect: bytes) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3) as sock:
            sock.sendall(probe)
            return sock.recv(64).startswith(expect)
    except OSError:
        return False


class ServeNode:
    """`mcp-fastpath serve scripts/fleet_app.py:mcp` on a free port (output in `log`)."""

    def __init__(self, log_dir: Path, name: str, *args: str, backend: str = "native", **env: str) -> None:
        self.port = free_port()
        self.name = name
        self.log = log_dir / f"{name}.log"
        self.argv = [
            sys.executable,
            "-m",
            "mcp_fastpath",
            "serve",
            "scripts/fleet_app.py:mcp",
            "--port",
            str(self.port),
            "--backend",
            backend,
            "--log-level",
            "warning",
            *args,
        ]
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "python"), str(ROOT)]),
            "PYTHONUNBUFFERED": "1",
            # With `rich` installed (FastMCP brings it), the SDK's MCPServer logs through rich's
            # RichHandler, which wraps messages at the console width (80 columns off a terminal):
            # a wide console keeps each message on one line for the tests that read the log.
            "COLUMNS": "10000",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def start(self) -> ServeNode:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def wait(self, timeout: float = 60) -> ServeNode:
        deadline = time.monotonic() + timeout
        probe = b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        while not _answers(self.port, probe, b"HTTP/1.1 200"):
            if self.proc is None or self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_nodes(nodes: list[ServeNode]) -> list[ServeNode]:
    for node in nodes:
        node.start()
    try:
        for node in nodes:
            node.wait()
    except Exception:
        for node in nodes:
            node.stop()
        raise
    return nodes


class DroppingProxy:
    """Forwards each HTTP request to `upstream_port` whole, then closes the client's connection
    without an answer; the upstream's answer is read and thrown away (the server finishes).

    With `fallback_port`, it behaves like nginx's `proxy_next_upstream error non_idempotent`
    instead: after the first upstream "failed", the same request goes to the fallback, whose
    answer the client gets (the client never sees the failure)."""

    def __init__(self, upstream_port: int, fallback_port: int | None = None, *, settle_s: float = 0.2) -> None:
        self.upstream_port = upstream_port
        self.settle_s = settle_s
        self.fallback_port = fallback_port
        self.port = 0
        self.delivered = 0
        self._server: asyncio.base_events.Server | None = None
        self._drains: set[asyncio.Task[Any]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    async def __aenter__(self) -> DroppingProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._drains:
            task.cancel()
        with contextlib.suppress(Exception):
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            up_writer.write(head + body)
            await up_writer.drain()
            self.delivered += 1
            task = asyncio.create_task(self._drain(up_reader, up_writer))
            self._drains.add(task)
            task.add_done_callback(self._drains.discard)
            # The failure shows a moment after delivery, as a real one does (nginx notices an
            # upstream's reset, a client its dropped connection): by then the first node has the
            # request, so the copy that follows meets its claim, whatever the machine's load.
            await asyncio.sleep(self.settle_s)
            if self.fallback_port is not None:
                writer.write(await self._exchange(self.fallback_port, head + body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()  # no answer: the client sees the connection closed after its request

    @staticmethod
    async def _exchange(port: int, request: bytes) -> bytes:
        """One request to `port` on a fresh connection: its whole answer (Content-Length bodies)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            return head + await reader.readexactly(length)
        finally:
            writer.close()

    @staticmethod
    async def _drain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(reader.read(), 30)
        writer.close()
