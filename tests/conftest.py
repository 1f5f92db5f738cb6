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

BACKENDS = [
    name.strip() for name in os.environ.get("MCP_FASTPATH_TEST_BACKENDS", "native,pure").split(",") if name.strip()
]


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


class RedisProcess:
    """A throwaway `redis-server` on a fixed free loopback port that a test may stop and start
    again (an outage), with or without persistence (`appendonly`, in its own directory)."""

    def __init__(self, binary: str, directory: str, *, persist: bool = False, extra: tuple[str, ...] = ()) -> None:
        self.binary = binary
        self.directory = directory
        self.persist = persist
        self.extra = extra
        self.port = _free_port()
        self.proc = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import subprocess
        import time

        argv = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.directory, "--save", ""]
        argv += ["--appendonly", "yes" if self.persist else "no", "--appendfsync", "always", *self.extra]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not _redis_answers(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        import subprocess

        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()


def _redis_binary() -> str:
    import shutil

    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not on PATH (scripts/bootstrap.sh installs it: apt-get install redis-server)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    pytest.importorskip("redis.asyncio", reason="the redis client package is not installed (pip install redis)")
    return binary


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A throwaway `redis-server` (no persistence) on a free loopback port; yields its URL.

    Skipped when the binary is missing on a developer's machine; under CI (`CI` set) that is a
    failure instead, since `scripts/bootstrap.sh` installs it."""
    server = RedisProcess(_redis_binary(), str(tmp_path_factory.mktemp("redis")))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_process(tmp_path):
    """A `RedisProcess` of this test's own, started (no persistence; `.persist = True` and
    `.restart()` for AOF), stopped at the end."""
    server = RedisProcess(_redis_binary(), str(tmp_path))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_cluster_url(tmp_path_factory):
    """A real Redis Cluster on loopback: three primaries (`redis-server --cluster-enabled yes`),
    joined with `redis-cli --cluster create`, every slot covered. Yields `redis+cluster://…` for
    `RedisReplayCache` / `RedisTaskStore`. Skipped like `redis_url` when redis-server is missing."""
    import shutil
    import subprocess
    import time

    binary = _redis_binary()
    cli = shutil.which("redis-cli")
    if cli is None:
        pytest.skip("redis-cli is not on PATH (it comes with redis-server)")
    directory = tmp_path_factory.mktemp("cluster")
    ports: list[int] = []
    while len(ports) < 3:  # the cluster bus listens on port + 10000
        port = _free_port()
        if port < 55_000 and port not in ports and _port_is_free(port + 10_000):
            ports.append(port)
    procs = []
    try:
        for port in ports:
            procs.append(
                subprocess.Popen(
                    [
                        binary,
                        "--port",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--dir",
                        str(directory),
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        f"nodes-{port}.conf",
                        "--cluster-node-timeout",
                        "5000",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        deadline = time.monotonic() + 10
        while not all(_redis_answers(port) for port in ports):
            if time.monotonic() > deadline:
                pytest.fail("the cluster's redis-servers did not start")
            time.sleep(0.02)
        create = subprocess.run(
            [
                cli,
                "--cluster",
                "create",
                *(f"127.0.0.1:{p}" for p in ports),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if create.returncode != 0:
            pytest.fail(f"redis-cli --cluster create failed: {create.stdout}{create.stderr}")
        deadline = time.monotonic() + 30
        while not all(_cluster_ok(cli, port) for port in ports):
            if time.monotonic() > deadline:
                pytest.fail("the cluster did not reach cluster_state:ok")
            time.sleep(0.1)
        yield f"redis+cluster://127.0.0.1:{ports[0]}"
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _port_is_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _cluster_ok(cli: str, port: int) -> bool:
    import subprocess

    info = subprocess.run([cli, "-p", str(port), "cluster", "info"], capture_output=True, text=True, timeout=10)
    return "cluster_state:ok" in info.stdout
