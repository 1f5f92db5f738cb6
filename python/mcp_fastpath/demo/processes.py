"""Server processes for the demo, the benchmarks and the tests: `mcp-fastpath serve` in a child
process on a free loopback port, and waiting until it accepts connections."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

__all__ = ["free_port", "start_server", "wait_ready"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, proc: Any, timeout_s: float = 30) -> None:
    """Until something accepts a connection on `port` (or the process dies)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            raise RuntimeError(f"server exited with status {proc.returncode}: {err[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start within {timeout_s} s")


def start_server(
    serve_args: Sequence[str], port: int, env: dict[str, str] | None = None, *, log_level: str = "warning"
) -> Any:
    """`python -m mcp_fastpath serve … --port PORT` in a subprocess (stderr kept for errors).
    With `log_level` info or debug the server writes an access line per request: its stderr then
    goes to a temporary file (read back on exit), not a pipe that would fill and stall it."""
    cmd = [
        sys.executable,
        "-m",
        "mcp_fastpath",
        "serve",
        *serve_args,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        log_level,
    ]
    full_env = {**os.environ, **(env or {})}
    stderr: Any = subprocess.PIPE
    if log_level in ("info", "debug"):
        stderr = tempfile.TemporaryFile("w+")
    return subprocess.Popen(cmd, env=full_env, stdout=subprocess.DEVNULL, stderr=stderr, text=True)
