"""No request reaches a tool unauthenticated, whatever protocol version it claims.

The hole this closes: with a gate, a client that falls back to the handshake era (the official
`mcp` client in its default `auto` mode does, after a 401 on its 2026-07-28 probe) used to reach
every tool through the SDK's own session transport, unauthenticated.

Real parts: the official `mcp` 2.3 client in `auto`, `legacy` and pinned `2026-07-28` modes, with
and without a bearer JWT, against real uvicorn servers — `mcp-fastpath serve --keys` (the fast
path) and `EnvelopeGuard` around the SDK's stock app — in both `legacy` modes, on both backends.
Every tool execution leaves a line in a trace file, so "refused" means "never ran".
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import mcp_fastpath as fp
import orjson
import pytest
from mcp_fastpath.demo.processes import free_port, wait_ready

from tests.adapter_helpers import BACKENDS, ROOT, ServerSubprocess
from tests.servers import downgrade_app as app

FRONTS = ["serve", "guard"]
LEGACY = ["refuse", "bearer"]
INIT = {
    "jsonrpc": "2.0",
    "id": 7,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "old", "version": "1"}},
}
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def token(scope: str = "mcp") -> str:
    claims = {"iss": app.ISSUER, "aud": app.AUDIENCE, "sub": "alice", "scope": scope, "exp": int(time.time()) + 600}
    return fp.sign_jwt(fp.HmacKey(app.KID, app.SECRET), claims)


class Server:
    def __init__(self, url: str, log: Path, stop: Any) -> None:
        self.url = url
        self.log = log
        self.stop = stop

    def ran(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


def _start_serve(tmp: Path, legacy: str, backend: str, log: Path) -> Server:
    keys = tmp / "keys.json"
    keys.write_text(
        json.dumps(
            {
                "format": "mcp-fastpath/keys/v1",
                "jwks": {"keys": [{"kty": "oct", "kid": app.KID, "k": fp.b64url_encode(app.SECRET)}]},
                "issuer": app.ISSUER,
                "audience": app.AUDIENCE,
                "envelope": False,
                "policy": app.POLICY,
            }
        )
    )
    port = free_port()
    env = {
        **os.environ,
        "MCP_FASTPATH_BACKEND": backend,
        "DOWNGRADE_LOG": str(log),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "python"), str(ROOT)]),
    }
    target = f"{ROOT / 'tests' / 'servers' / 'downgrade_app.py'}:build_server"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcp_fastpath", "serve", target, "--keys", str(keys), "--legacy", legacy]
        + ["--port", str(port), "--log-level", "warning"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_ready(port, proc)

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()

    return Server(f"http://127.0.0.1:{port}/mcp", log, stop)


@pytest.fixture(scope="module", params=[(f, lg, b) for f in FRONTS for lg in LEGACY for b in BACKENDS], ids=str)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    front, legacy, backend = request.param
    tmp = tmp_path_factory.mktemp(f"{front}-{legacy}-{backend}")
    log = tmp / "ran.log"
    if front == "serve":
        served = _start_serve(tmp, legacy, backend, log)
    else:
        sub = ServerSubprocess(
            "tests.servers.downgrade_app", "guard", backend, DOWNGRADE_LEGACY=legacy, DOWNGRADE_LOG=str(log)
        ).wait()
        served = Server(sub.url, log, sub.stop)
    served.legacy = legacy
    try:
        yield served
    finally:
        served.stop()


def leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]


async def official_call(url: str, mode: str, bearer: str | None, tool: str = "record", label: str = "x") -> Any:
    """One `call_tool` through the official client; its result, or the MCPError it ended with."""
    import httpx2
    from mcp.client.client import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared.exceptions import MCPError

    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    try:
        async with httpx2.AsyncClient(headers=headers, timeout=15) as http:
            async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
                result = await client.call_tool(tool, {"label": label})
                return client.session.protocol_version, result
    except BaseException as exc:
        errors = [leaf for leaf in leaves(exc) if isinstance(leaf, MCPError)]
        if not errors:
            raise
        return errors[0]


MODES = ["auto", "legacy", "2026-07-28"]


@pytest.mark.parametrize("mode", MODES)
def test_without_credentials_nothing_runs(server: Server, mode: str) -> None:
    before = server.ran()
    outcome = asyncio.run(official_call(server.url, mode, None, label=f"anonymous {mode}"))
    assert not isinstance(outcome, tuple), outcome
    if mode == "legacy" and server.legacy == "refuse":
        # The handshake itself is refused, naming the version to use.
        assert outcome.error.code == -32022
        assert outcome.error.data == {"supported": ["2026-07-28"], "requested": "2025-11-25"}
        assert "2026-07-28" in outcome.error.message and "credentials" in outcome.error.message
    elif mode == "auto" and server.legacy == "refuse":
        # 401 on the probe, fallback to initialize, refused with -32022, re-probe: 401 again.
        assert outcome.error.code in (-32010, -32022)
    else:
        assert (outcome.error.code, outcome.error.message) == (-32010, "authentication required")
    assert server.ran() == before


@pytest.mark.parametrize("mode", ["auto", "2026-07-28"])
def test_with_credentials_the_modern_path_serves(server: Server, mode: str) -> None:
    outcome = asyncio.run(official_call(server.url, mode, token(), label=f"alice {mode}"))
    assert isinstance(outcome, tuple), outcome
    version, result = outcome
    assert version == "2026-07-28" and result.structured_content == {"result": f"recorded alice {mode}"}
    assert f"alice {mode}" in server.ran()


def test_handshake_with_credentials_follows_the_legacy_rule(server: Server) -> None:
    outcome = asyncio.run(official_call(server.url, "legacy", token(), label="alice legacy"))
    if server.legacy == "refuse":
        assert outcome.error.code == -32022
        assert "alice legacy" not in server.ran()
    else:
        version, result = outcome
        assert version == "2025-11-25" and result.structured_content == {"result": "recorded alice legacy"}
        assert "alice legacy" in server.ran()


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_the_scope_policy_holds_in_both_eras(server: Server, mode: str) -> None:
    if mode == "legacy" and server.legacy == "refuse":
        pytest.skip("the handshake is refused outright (test_handshake_with_credentials_follows_the_legacy_rule)")
    denied = asyncio.run(official_call(server.url, mode, token("mcp"), tool="secret", label=f"denied {mode}"))
    assert not isinstance(denied, tuple) and denied.error.code == -32011
    allowed = asyncio.run(official_call(server.url, mode, token("mcp admin"), tool="secret", label=f"admin {mode}"))
    assert isinstance(allowed, tuple), allowed
    assert f"secret denied {mode}" not in server.ran() and f"secret admin {mode}" in server.ran()


def test_raw_handshake_era_http(server: Server) -> None:
    before = server.ran()
    with httpx.Client(timeout=10) as http:
        no_header = http.post(server.url, json=INIT, headers=JSON_HEADERS)
        old_header = http.post(server.url, json=INIT, headers={**JSON_HEADERS, "MCP-Protocol-Version": "2025-06-18"})
        get = http.get(server.url, headers={"Accept": "text/event-stream"})
        delete = http.delete(server.url, headers={"Mcp-Session-Id": "guessed"})
        authorized = {"Authorization": f"Bearer {token()}"}
        get_with_token = http.get(server.url, headers={"Accept": "text/event-stream", **authorized})
    if server.legacy == "refuse":
        for response, requested in ((no_header, "2025-11-25"), (old_header, "2025-06-18")):
            assert response.status_code == 400
            assert response.json()["id"] == 7
            assert response.json()["error"]["code"] == -32022
            assert response.json()["error"]["data"] == {"supported": ["2026-07-28"], "requested": requested}
        for response in (get, delete, get_with_token):
            assert (response.status_code, response.headers["allow"]) == (405, "POST")
            assert response.json()["error"]["code"] == -32022
    else:
        for response in (no_header, old_header, get, delete):
            assert response.status_code == 401
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert response.json()["error"] == {"code": -32010, "message": "authentication required"}
        # With a token the SDK answers (a GET without a session is its own 4xx, not ours).
        assert get_with_token.status_code != 401
    assert server.ran() == before


def test_bearer_handshake_refuses_what_our_parser_refuses(server: Server) -> None:
    """The policy is checked on what our strict parser reads; a body it refuses (two `method`
    members: which one did the policy see?) is refused, never handed to the SDK's parser."""
    if server.legacy == "refuse":
        pytest.skip("bearer mode only")
    body = b'{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{}}'
    headers = {**JSON_HEADERS, "Authorization": f"Bearer {token()}", "MCP-Protocol-Version": "2025-11-25"}
    with httpx.Client(timeout=10) as http:
        response = http.post(server.url, content=body, headers=headers)
    assert response.status_code == 400 and response.json()["error"]["code"] == -32700


def test_legacy_bearer_needs_a_jwt_verifier() -> None:
    from mcp_fastpath.adapters.asgi import EnvelopeGuard

    key = fp.HmacKey("k", b"s" * 32)
    envelope_only = fp.Gate(envelope=fp.EnvelopeVerifier(fp.KeyRing([key])))
    with pytest.raises(ValueError, match="needs a gate with a JwtVerifier"):
        EnvelopeGuard(lambda *a: None, gate=envelope_only, legacy="bearer")
    with pytest.raises(ValueError, match="legacy must be one of"):
        EnvelopeGuard(lambda *a: None, gate=envelope_only, legacy="open")


def raw_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """A POST written byte for byte on a socket: HTTP clients refuse to send a padded header value,
    which is the point here (uvicorn with httptools hands such values over as sent)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    head = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {len(body)}", "Connection: close"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), orjson.loads(payload) if payload else {}


def test_padded_protocol_versions_route_by_their_value(server: Server) -> None:
    """SP/HTAB around `MCP-Protocol-Version` are not part of it (RFC 9110 §5.5; httptools keeps
    them): a padded handshake version is still the handshake era, a padded 2026-07-28 still modern."""
    before = server.ran()
    message = {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {
            "name": "record",
            "arguments": {"label": "padded"},
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
            },
        },
    }
    legacy_status, legacy = raw_post(
        server.url, orjson.dumps(INIT), {**JSON_HEADERS, "MCP-Protocol-Version": " 2025-11-25\t"}
    )
    modern_status, modern = raw_post(
        server.url,
        orjson.dumps(message),
        {
            **JSON_HEADERS,
            "MCP-Protocol-Version": "  2026-07-28 ",
            "Mcp-Method": "tools/call",
            "Mcp-Name": "record",
            "Authorization": f"Bearer {token()}",
        },
    )
    if server.legacy == "refuse":
        assert (legacy_status, legacy["error"]["code"]) == (400, -32022)
    else:
        assert legacy_status == 401
    assert modern_status == 200 and modern["result"]["structuredContent"] == {"result": "recorded padded"}
    assert server.ran() == [*before, "padded"]
