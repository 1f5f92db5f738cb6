"""Shared by the adapter tests: real uvicorn servers (tests/servers/sdk_app.py) in subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
V = "2026-07-28"
PV = "io.modelcontextprotocol/protocolVersion"
CAPS = "io.modelcontextprotocol/clientCapabilities"
INFO = "io.modelcontextprotocol/clientInfo"
BACKENDS = [b.strip() for b in os.environ.get("MCP_FASTPATH_TEST_BACKENDS", "native,pure").split(",") if b.strip()]


class ServerSubprocess:
    """A `tests.servers.*` module run as a real uvicorn server in a subprocess; it prints
    `PORT <port> <backend>` once it listens."""

    def __init__(self, module: str, label: str, backend: str, **env: str) -> None:
        full = dict(os.environ)
        full.update(
            MCP_FASTPATH_BACKEND=backend,
            PYTHONPATH=os.pathsep.join([str(ROOT / "python"), str(ROOT), full.get("PYTHONPATH", "")]),
            **env,
        )
        self.label = label
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=ROOT,
            env=full,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.port: int | None = None
        self.backend: str | None = None

    def wait(self) -> ServerSubprocess:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(
                f"{self.label} did not start: {line!r} {self.proc.stderr.read() if self.proc.stderr else ''}"
            )
        _, port, backend = line.split()
        self.port, self.backend = int(port), backend
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class ServerProcess(ServerSubprocess):
    """`tests.servers.sdk_app`: an SDK server behind the fast, stock or guarded app."""

    def __init__(self, mode: str, backend: str = "pure", gate: bool = False, **extra_env: str) -> None:
        super().__init__(
            "tests.servers.sdk_app",
            f"{mode}/{backend}{'/gate' if gate else ''}",
            backend,
            ADAPTER_MODE=mode,
            ADAPTER_GATE="1" if gate else "0",
            **extra_env,
        )


def start_all(specs: list[tuple[str, str, bool]]) -> dict[tuple[str, str, bool], ServerProcess]:
    procs = {spec: ServerProcess(*spec) for spec in specs}  # start in parallel, then wait
    try:
        for proc in procs.values():
            proc.wait()
    except Exception:
        for proc in procs.values():
            proc.stop()
        raise
    return procs


def meta(version: str = V, **extra: Any) -> dict[str, Any]:
    return {PV: version, CAPS: {}, INFO: {"name": "adapter-test", "version": "1"}, **extra}


def message(method: str, id: Any = 1, version: str = V, **params: Any) -> dict[str, Any]:
    params.setdefault("_meta", meta(version))
    return {"jsonrpc": "2.0", "id": id, "method": method, "params": params}


def headers_for(msg: dict[str, Any], **extra: str) -> dict[str, str]:
    import mcp_fastpath as fp

    h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    h.update(fp.request_headers(msg["method"], msg.get("params")))
    h.update(extra)
    return h


def post(
    client: httpx.Client, url: str, msg: Any, headers: dict[str, str] | None = None, raw: bytes | None = None
) -> httpx.Response:
    if headers is None:
        headers = headers_for(msg)
    content = raw if raw is not None else json.dumps(msg).encode()
    return client.post(url, content=content, headers=headers)


def summary(response: httpx.Response) -> tuple[int, Any]:
    """(status, parsed JSON body or the raw text) for side-by-side comparison."""
    text = response.text
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = text
    return response.status_code, body
