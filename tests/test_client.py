"""`mcp_fastpath.client.Client` against real uvicorn nodes (`tests/servers/node.py`) on loopback.

Each node is a subprocess with its own `MCP_FASTPATH_BACKEND`; the client runs on the `backend`
fixture's codec. Signing keys come from a key file shared by client and nodes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from mcp_fastpath import keyfile
from mcp_fastpath.client import Client, ClientError, Unreachable

ROOT = Path(__file__).resolve().parent.parent


def backend_name(backend: ModuleType) -> str:
    return "native" if backend.__name__.endswith("_native") else "pure"


class NodeProc:
    def __init__(self, proc: subprocess.Popen[str], port: int) -> None:
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}/mcp"

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"http://127.0.0.1:{self.port}/_stats", timeout=5).json()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)


def start_node(backend: str, **env: str) -> NodeProc:
    full_env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "python"), str(ROOT)]),
        "MCP_FASTPATH_BACKEND": backend,
        **env,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.servers.node"],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("PORT "):
        proc.kill()
        raise RuntimeError(f"node did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    return NodeProc(proc, int(line.split()[1]))


@pytest.fixture
def nodes() -> Iterator[Any]:
    started: list[NodeProc] = []

    def start(backend: str, **env: str) -> NodeProc:
        node = start_node(backend, **env)
        started.append(node)
        return node

    yield start
    for node in started:
        node.kill()


@pytest.fixture(params=["hmac", "ed25519"])
def keys(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[keyfile.KeyFile, Path]:
    """A client key file and the server's (public-only for Ed25519) copy of it."""
    kf = keyfile.generate(request.param, "client-1", audience="https://mcp.test")
    server_path = kf.to_public().write(tmp_path / "server-keys.json")
    return kf, server_path


def signer_for(kf: keyfile.KeyFile, backend: ModuleType) -> Any:
    jwk = kf.jwks["keys"][0]
    key = backend.KeyRing.from_jwks({"keys": [jwk]}).get(jwk["kid"])
    return backend.EnvelopeSigner(key, audience=kf.audience)


@pytest.mark.parametrize("server_backend", ["native", "pure"])
def test_signed_session(backend: ModuleType, server_backend: str, nodes: Any, keys: Any) -> None:
    kf, server_keys = keys
    node = nodes(server_backend, NODE_KEYS=str(server_keys), NODE_NAME="a")

    async def run() -> None:
        async with Client(node.url, signer=signer_for(kf, backend), backend=backend) as client:
            info = await client.discover()
            assert "dev.mcp-fastpath/signed-envelope" in info["capabilities"]["extensions"]
            tools = await client.list_tools()
            assert [t["name"] for t in tools] == ["add", "whoami"]
            result = await client.call_tool("add", {"a": 40, "b": 2})
            assert result["structuredContent"] == {"result": 42}
            with pytest.raises(ClientError) as err:
                await client.request("nope/nope", {})
            assert err.value.code == -32601 and err.value.http_status == 404

        # Without a signature the node refuses, with the Gate's error.
        async with Client(node.url, backend=backend) as unsigned:
            with pytest.raises(ClientError) as err:
                await unsigned.call_tool("add", {"a": 1, "b": 2})
            assert err.value.code == -32010 and err.value.http_status == 401
            assert "not signed" in err.value.message

    asyncio.run(run())
    assert node.stats()["backend"] == server_backend


def test_failover_when_a_node_dies_mid_run(backend: ModuleType, nodes: Any, tmp_path: Path) -> None:
    """200 sequential calls over two nodes; node A is killed after 50: every call succeeds."""
    kf = keyfile.generate("hmac", "k1", audience="https://mcp.test")
    path = kf.write(tmp_path / "keys.json")
    a = nodes("native", NODE_KEYS=str(path), NODE_NAME="a")
    b = nodes("pure", NODE_KEYS=str(path), NODE_NAME="b")

    async def run() -> list[tuple[int, str]]:
        served: list[tuple[int, str]] = []
        async with Client([a.url, b.url], signer=signer_for(kf, backend), backend=backend, backoff_s=0.01) as client:
            for i in range(200):
                if i == 50:
                    a.kill()
                result = await client.call_tool("add", {"a": i, "b": 1000})
                assert result["structuredContent"] == {"result": i + 1000}, i
                served.append((i, client.last_url or ""))
            assert client.failovers >= 1
        return served

    served = asyncio.run(run())
    assert len(served) == 200
    assert all(url == a.url for i, url in served[:50])
    assert all(url == b.url for i, url in served[50:])
    assert b.stats()["tools_calls"] == 150


def test_failover_on_5xx(backend: ModuleType, nodes: Any, tmp_path: Path) -> None:
    kf = keyfile.generate("ed25519", "k1", audience="https://mcp.test")
    path = kf.to_public().write(tmp_path / "keys.json")
    a = nodes(backend_name(backend), NODE_KEYS=str(path), NODE_NAME="a", NODE_FAIL_FIRST="1000")
    b = nodes(backend_name(backend), NODE_KEYS=str(path), NODE_NAME="b")

    async def run() -> None:
        async with Client([a.url, b.url], signer=signer_for(kf, backend), backend=backend, backoff_s=0.001) as client:
            for _ in range(5):
                assert (await client.call_tool("whoami"))["structuredContent"] == {"result": "b"}
            assert client.failovers == 1  # sticks to b after the first failover

    asyncio.run(run())
    assert a.stats()["tools_calls"] == 1
    assert b.stats()["tools_calls"] == 5


def test_retry_is_resigned_with_a_fresh_nonce(backend: ModuleType, nodes: Any, tmp_path: Path) -> None:
    """One node that answers 503 twice after storing the nonce in its replay cache: a retry with
    the same nonce would be refused as replayed (-32012); the client re-signs, so it succeeds."""
    kf = keyfile.generate("hmac", "k1", audience="https://mcp.test")
    path = kf.write(tmp_path / "keys.json")
    node = nodes(backend_name(backend), NODE_KEYS=str(path), NODE_FAIL_FIRST="2")

    async def run() -> None:
        async with Client(
            node.url, signer=signer_for(kf, backend), backend=backend, retries=3, backoff_s=0.001
        ) as client:
            result = await client.call_tool("add", {"a": 2, "b": 3})
            assert result["structuredContent"] == {"result": 5}
            assert client.failovers == 2

    asyncio.run(run())
    stats = node.stats()
    assert stats["tools_calls"] == 3
    assert len(stats["nonces"]) == 3 and len(set(stats["nonces"])) == 3


def test_replayed_body_is_refused(backend: ModuleType, nodes: Any, tmp_path: Path) -> None:
    kf = keyfile.generate("hmac", "k1", audience="https://mcp.test")
    path = kf.write(tmp_path / "keys.json")
    node = nodes(backend_name(backend), NODE_KEYS=str(path))
    client = Client(node.url, signer=signer_for(kf, backend), backend=backend)
    body, headers = client.encode(client.build_message("tools/call", {"name": "add", "arguments": {"a": 1, "b": 1}}))
    first = httpx.post(node.url, content=body, headers=headers)
    again = httpx.post(node.url, content=body, headers=headers)
    assert first.status_code == 200
    assert again.status_code == 401 and again.json()["error"]["code"] == -32012
    asyncio.run(client.aclose())


def test_unreachable_after_all_attempts(backend: ModuleType) -> None:
    async def run() -> None:
        # Port 9 (discard) on loopback: nothing listens there in a test sandbox.
        async with Client(
            ["http://127.0.0.1:9/mcp", "http://127.0.0.1:9/x"], backend=backend, retries=3, backoff_s=0.001
        ) as client:
            with pytest.raises(Unreachable) as err:
                await client.discover()
            assert len(err.value.attempts) == 4
            assert err.value.code is None and "ConnectError" in str(err.value)

    asyncio.run(run())


def test_bearer_token_and_signed_responses(backend: ModuleType, nodes: Any, tmp_path: Path) -> None:
    kf = keyfile.generate("hmac", "k1", audience="https://mcp.test", issuer="https://auth.test")
    path = kf.write(tmp_path / "keys.json")
    node = nodes(backend_name(backend), NODE_KEYS=str(path), NODE_SIGN_RESPONSES="1")
    ring = backend.KeyRing.from_jwks(kf.jwks)
    verifier = backend.EnvelopeVerifier(ring, audience="https://mcp.test")

    async def run() -> None:
        token = kf.mint_token(scopes=["mcp"])
        async with Client(
            node.url, signer=signer_for(kf, backend), token=lambda: token, response_verifier=verifier, backend=backend
        ) as client:
            result = await client.call_tool("add", {"a": 1, "b": 2})
            assert result["structuredContent"] == {"result": 3}
            assert "dev.mcp-fastpath/sig" in result["_meta"]
        async with Client(node.url, signer=signer_for(kf, backend), token="not.a.jwt", backend=backend) as client:
            with pytest.raises(ClientError) as err:
                await client.call_tool("add", {"a": 1, "b": 2})
            assert err.value.code == -32010 and err.value.http_status == 401
        async with Client(node.url, signer=signer_for(kf, backend), token=token, backend=backend) as client:
            # A verifier that requires signed responses refuses an answer with a bad signature.
            other = keyfile.generate("hmac", "k1", audience="https://mcp.test")
            client.response_verifier = backend.EnvelopeVerifier(
                backend.KeyRing.from_jwks(other.jwks), audience="https://mcp.test"
            )
            with pytest.raises(ClientError) as err:
                await client.call_tool("add", {"a": 1, "b": 2})
            assert "response signature refused" in err.value.message

    asyncio.run(run())


def test_meta_and_headers_are_built(backend: ModuleType) -> None:
    client = Client("http://127.0.0.1:1/mcp", backend=backend, token="t0k")
    message = client.build_message("tools/call", {"name": "add", "arguments": {}})
    meta = message["params"]["_meta"]
    assert meta["io.modelcontextprotocol/protocolVersion"] == "2026-07-28"
    assert meta["io.modelcontextprotocol/clientCapabilities"] == {}
    assert meta["io.modelcontextprotocol/clientInfo"]["name"] == "mcp-fastpath-client"
    body, headers = client.encode(message)
    assert headers["Mcp-Method"] == "tools/call" and headers["Mcp-Name"] == "add"
    assert headers["MCP-Protocol-Version"] == "2026-07-28"
    assert headers["Authorization"] == "Bearer t0k"
    assert isinstance(backend.decode(body, headers), backend.Request)
    asyncio.run(client.aclose())
