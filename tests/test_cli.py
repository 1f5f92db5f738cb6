"""The `mcp-fastpath` command line, run for real in subprocesses: keygen → sign → verify round trips,
`call` through the client, `serve` (fast path and `--sdk`) on loopback, and an e2e smoke run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mcp_fastpath import e2e, keyfile
from mcp_fastpath.keyfile import KeyFileError

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ["native", "pure"]


def env_for(backend: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "python"), str(ROOT)]),
        "MCP_FASTPATH_BACKEND": backend,
    }


def cli(*args: str, backend: str = "pure", stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mcp_fastpath", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env_for(backend),
        cwd=ROOT,
        timeout=timeout,
    )


def request_message(**arguments: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {
            "name": "add",
            "arguments": arguments or {"a": 1, "b": 2},
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
            },
        },
    }


@pytest.mark.parametrize("alg", ["hmac", "ed25519"])
@pytest.mark.parametrize("signer_backend,verifier_backend", [("native", "pure"), ("pure", "native"), ("native", "native"), ("pure", "pure")])
def test_keygen_sign_verify_round_trip(tmp_path: Path, alg: str, signer_backend: str, verifier_backend: str) -> None:
    keys = tmp_path / "keys.json"
    public = tmp_path / "public.json"
    r = cli("keygen", "--alg", alg, "--kid", "cli-1", "--audience", "https://mcp.test", "--out", str(keys), "--public-out", str(public))
    assert r.returncode == 0, r.stderr
    assert oct(keys.stat().st_mode & 0o777) == "0o600"
    private_file = json.loads(keys.read_text())
    assert private_file["format"] == "mcp-fastpath/keys/v1"
    if alg == "ed25519":
        assert "d" in private_file["jwks"]["keys"][0]
        assert "d" not in json.loads(public.read_text())["jwks"]["keys"][0]

    message_file = tmp_path / "msg.json"
    message_file.write_text(json.dumps(request_message()))
    signed = cli("sign", str(message_file), "--keys", str(keys), backend=signer_backend)
    assert signed.returncode == 0, signed.stderr
    envelope = json.loads(signed.stdout)["params"]["_meta"]["dev.mcp-fastpath/sig"]
    assert envelope["kid"] == "cli-1" and envelope["aud"] == "https://mcp.test"

    # Verified with the public copy (Ed25519) / the shared secret (HMAC), from stdin.
    ok = cli("verify", "--keys", str(public), backend=verifier_backend, stdin=signed.stdout)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    info = json.loads(ok.stdout)
    assert info["valid"] is True and info["kid"] == "cli-1" and info["nonce"] == envelope["nonce"]

    # Tampered → exit 1 with the rejection.
    tampered = json.loads(signed.stdout)
    tampered["params"]["arguments"]["a"] = 100
    bad = cli("verify", "--keys", str(public), backend=verifier_backend, stdin=json.dumps(tampered))
    assert bad.returncode == 1
    assert json.loads(bad.stdout) == {"valid": False, "code": -32010, "message": "bad signature"}

    # Another key file's key → unknown key id.
    other = tmp_path / "other.json"
    assert cli("keygen", "--alg", alg, "--kid", "someone-else", "--out", str(other)).returncode == 0
    wrong = cli("verify", "--keys", str(other), backend=verifier_backend, stdin=signed.stdout)
    assert wrong.returncode == 1 and json.loads(wrong.stdout)["message"] == "unknown key id"


def test_keygen_prints_a_usable_key_file() -> None:
    r = cli("keygen", "--alg", "ed25519", "--kid", "x", "--issuer", "https://auth.test", "--audience", "https://mcp.test")
    assert r.returncode == 0, r.stderr
    kf = keyfile.KeyFile.from_dict(json.loads(r.stdout))
    assert kf.wants_token and kf.envelope and kf.signing_kid == "x"
    assert kf.gate() is not None


def test_sign_and_verify_errors(tmp_path: Path) -> None:
    keys = tmp_path / "k.json"
    keys.write_text(json.dumps({"jwks": {"keys": []}}))
    r = cli("sign", "--keys", str(keys), stdin=json.dumps(request_message()))
    assert r.returncode == 1 and "at least one key" in r.stderr
    r = cli("sign", "--keys", str(tmp_path / "missing.json"), stdin="{}")
    assert r.returncode == 1 and "cannot read the key file" in r.stderr
    good = tmp_path / "good.json"
    keyfile.generate("hmac", "k").write(good)
    r = cli("sign", "--keys", str(good), stdin="not json")
    assert r.returncode == 1 and "not JSON" in r.stderr
    r = cli("verify", "--keys", str(good), stdin=json.dumps(request_message()))
    assert r.returncode == 1 and json.loads(r.stdout)["message"] == "request is not signed"


def test_key_file_validation(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="unknown member"):
        keyfile.KeyFile.from_dict({"jwks": {"keys": [{}]}, "bogus": 1})
    with pytest.raises(KeyFileError, match="needs \"issuer\" and \"audience\""):
        kf = keyfile.generate("hmac", "k").to_dict()
        keyfile.KeyFile.from_dict({**kf, "token": True})
    with pytest.raises(KeyFileError, match="at least 32 bytes"):
        keyfile.KeyFile.from_dict({"jwks": {"keys": [{"kty": "oct", "kid": "k", "k": "c2hvcnQ"}]}})
    public_only = keyfile.generate("ed25519", "k").to_public()
    with pytest.raises(KeyFileError, match="no key that can sign"):
        public_only.signer()


# ---- serve + call -------------------------------------------------------------------------


def start_serve(*args: str, backend: str = "pure") -> tuple[subprocess.Popen[str], str]:
    port = e2e.free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcp_fastpath", "serve", *args, "--port", str(port), "--log-level", "warning"],
        env=env_for(backend),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    e2e.wait_ready(port, proc)
    return proc, f"http://127.0.0.1:{port}/mcp"


def stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err


@pytest.mark.parametrize("backend", BACKENDS)
def test_serve_fast_path_with_keys_and_call(tmp_path: Path, backend: str) -> None:
    keys = tmp_path / "keys.json"
    public = tmp_path / "public.json"
    assert cli("keygen", "--alg", "ed25519", "--issuer", "https://auth.test", "--audience", "https://mcp.test",
               "--out", str(keys), "--public-out", str(public)).returncode == 0
    # The env says the other backend: --backend wins (the command re-runs itself).
    other = "pure" if backend == "native" else "native"
    proc, url = start_serve("mcp_fastpath.e2e:build_add_server", "--keys", str(public), "--backend", backend, backend=other)
    try:
        r = cli("call", url, "tools/call", '{"name": "add", "arguments": {"a": 20, "b": 22}}', "--keys", str(keys))
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["structuredContent"] == {"result": 42}
        # No keys: refused by the Gate, the error on stderr, exit 1.
        r = cli("call", url, "tools/list")
        assert r.returncode == 1 and "-32010" in r.stderr and "HTTP 401" in r.stderr
        # A bad token with a good signature.
        r = cli("call", url, "tools/list", "--keys", str(keys), "--token", "a.b.c")
        assert r.returncode == 1 and "-32010" in r.stderr
    finally:
        err = stop(proc)
    assert f"backend {backend}" in err, err


def test_serve_sdk_and_call_with_failover() -> None:
    proc, url = start_serve("mcp_fastpath.e2e:build_add_server", "--sdk")
    try:
        dead = f"http://127.0.0.1:{e2e.free_port()}/mcp"
        r = cli("call", f"{dead},{url}", "tools/call", '{"name": "add", "arguments": {"a": 1, "b": 2}}')
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["structuredContent"] == {"result": 3}
        r = cli("call", url, "tools/call", '{"name": "add", "arguments": {"a": "x", "b": 2}}')
        assert r.returncode in (0, 1)  # a tool-argument error: isError result or JSON-RPC error, never a crash
    finally:
        err = stop(proc)
    assert "stock streamable_http_app" in err


def test_serve_path_target(tmp_path: Path) -> None:
    server_file = tmp_path / "my_server.py"
    server_file.write_text(
        "from mcp.server.mcpserver import MCPServer\n"
        "mcp = MCPServer('mine')\n"
        "@mcp.tool()\n"
        "def hello(name: str) -> str:\n"
        "    return f'hello {name}'\n"
    )
    proc, url = start_serve(f"{server_file}:mcp")
    try:
        r = cli("call", url, "tools/call", '{"name": "hello", "arguments": {"name": "you"}}')
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["structuredContent"] == {"result": "hello you"}
    finally:
        stop(proc)


def test_serve_bad_targets(tmp_path: Path) -> None:
    r = cli("serve", "no_such_module_xyz:mcp")
    assert r.returncode == 1 and "cannot import 'no_such_module_xyz'" in r.stderr
    r = cli("serve", "mcp_fastpath.e2e:nothing")
    assert r.returncode == 1 and "has no attribute 'nothing'" in r.stderr
    r = cli("serve", "json:dumps")
    assert r.returncode == 1 and "not an MCP SDK server" in r.stderr
    r = cli("serve", "justaname")
    assert r.returncode == 1 and "module:attr" in r.stderr
    r = cli("serve", "mcp_fastpath.e2e:build_add_server", "--sdk", "--keys", "k.json")
    assert r.returncode == 1 and "--keys configures the fast path" in r.stderr


def test_e2e_smoke() -> None:
    """The end-to-end harness runs and every contender answers correctly (no timing assertions)."""
    results = e2e.run(0.6, rounds=1, warmup_s=0.1, connections=4, jwt=True)
    rows = results["contenders"]
    assert {(r["table"], r["name"]) for r in rows} >= {("plain", "SDK"), ("jwt", "SDK"), ("plain", "fast pure"), ("jwt", "fast pure")}
    for row in rows:
        assert row["errors"] == 0, row
        assert row["requests"] > 0, row
    table = e2e.format_tables(results)
    assert "| SDK |" in table and "fast pure" in table
