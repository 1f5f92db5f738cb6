"""Every codec/verify test runs on both backends: the `backend` fixture is the native module or
the pure twin (`MCP_FASTPATH_TEST_BACKENDS=native,pure` by default; a missing native module is a
failure, not a skip)."""

from __future__ import annotations

import os
from types import ModuleType

import pytest
from hypothesis import HealthCheck, settings

from mcp_fastpath import _backend

settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=False
)
settings.register_profile("soak", max_examples=20_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

BACKENDS = [name.strip() for name in os.environ.get("MCP_FASTPATH_TEST_BACKENDS", "native,pure").split(",") if name.strip()]


def load_backend(name: str) -> ModuleType:
    loaded, module = _backend.load(name)
    assert loaded == name
    return module


@pytest.fixture(params=BACKENDS, scope="session")
def backend(request: pytest.FixtureRequest) -> ModuleType:
    """The backend module under test (`mcp_fastpath._native` or `mcp_fastpath._pure`)."""
    return load_backend(request.param)


@pytest.fixture(scope="session")
def native() -> ModuleType:
    return load_backend("native")


@pytest.fixture(scope="session")
def pure() -> ModuleType:
    return load_backend("pure")


# ---- a real redis-server on loopback, shared by the replay-cache, task-store and tasks tests ----


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_answers(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url():
    """A throwaway `redis-server` (no persistence) on a free loopback port; yields its URL.

    Skipped when the binary is missing on a developer's machine; under CI (`CI` set) that is a
    failure instead, since `scripts/bootstrap.sh` installs it."""
    import shutil
    import subprocess
    import time

    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not on PATH (scripts/bootstrap.sh installs it: apt-get install redis-server)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    pytest.importorskip("redis.asyncio", reason="the redis client package is not installed (pip install redis)")
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not _redis_answers(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
