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
from mcp_fastpath import keyfile
from mcp_fastpath.demo.processes import free_port, wait_ready
from mcp_fastpath.keyfile import KeyFileError

from benches import e2e

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ["native", "pure"]


def env_for(backend: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "python"), str(ROOT)]),
        "MCP_FASTPATH_BACKEND": backend,
    }


def cli(
    *args: str, backend: str = "pure", stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
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
@pytest.mark.parametrize(
    "signer_backend,verifier_backend", [("native", "pure"), ("pure", "native"), ("native", "native"), ("pure", "pure")]
)
def test_keygen_sign_verify_round_trip(tmp_path: Path, alg: str, signer_backend: str, verifier_backend: str) -> None:
    keys = tmp_path / "keys.json"
    public = tmp_path / "public.json"
    r = cli(
        "keygen",
        "--alg",
        alg,
        "--kid",
        "cli-1",
        "--audience",
        "https://mcp.test",
        "--out",
        str(keys),
        "--public-out",
        str(public),
    )
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
    r = cli(
        "keygen", "--alg", "ed25519", "--kid", "x", "--issuer", "https://auth.test", "--audience", "https://mcp.test"
    )
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
    with pytest.raises(KeyFileError, match='needs "issuer" and "audience"'):
        kf = keyfile.generate("hmac", "k").to_dict()
        keyfile.KeyFile.from_dict({**kf, "token": True})
    with pytest.raises(KeyFileError, match="at least 32 bytes"):
        keyfile.KeyFile.from_dict({"jwks": {"keys": [{"kty": "oct", "kid": "k", "k": "c2hvcnQ"}]}})
    public_only = keyfile.generate("ed25519", "k").to_public()
    with pytest.raises(KeyFileError, match="no key that can sign"):
        public_only.signer()


# ---- serve + call -------------------------------------------------------------------------


def start_serve(*args: str, backend: str = "pure") -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcp_fastpath", "serve", *args, "--port", str(port), "--log-level", "warning"],
        env=env_for(backend),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_ready(port, proc)
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
    assert (
        cli(
            "keygen",
            "--alg",
            "ed25519",
            "--issuer",
            "https://auth.test",
            "--audience",
            "https://mcp.test",
            "--out",
            str(keys),
            "--public-out",
            str(public),
        ).returncode
        == 0
    )
    # The env says the other backend: --backend wins (the command re-runs itself).
    other = "pure" if backend == "native" else "native"
    proc, url = start_serve(
        "mcp_fastpath.demo.server:build_server", "--keys", str(public), "--backend", backend, backend=other
    )
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
    proc, url = start_serve("mcp_fastpath.demo.server:build_server", "--sdk")
    try:
        dead = f"http://127.0.0.1:{free_port()}/mcp"
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


FASTMCP_SERVER = (
    "from fastmcp import FastMCP\nmcp = FastMCP('mine')\n@mcp.tool\ndef add(a: int, b: int) -> int:\n    return a + b\n"
)


@pytest.mark.parametrize("backend", BACKENDS)
def test_serve_a_fastmcp_server_with_keys(tmp_path: Path, backend: str) -> None:
    server_file = tmp_path / "my_fastmcp.py"
    server_file.write_text(FASTMCP_SERVER)
    keys = tmp_path / "keys.json"
    generated = cli(
        "keygen", "--alg", "hmac", "--issuer", "https://a.test", "--audience", "https://m.test", "--out", str(keys)
    )
    assert generated.returncode == 0, generated.stderr
    proc, url = start_serve(f"{server_file}:mcp", "--keys", str(keys), "--backend", backend)
    try:
        r = cli("call", url, "tools/call", '{"name": "add", "arguments": {"a": 20, "b": 22}}', "--keys", str(keys))
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["structuredContent"] == {"result": 42}
        r = cli("call", url, "tools/list")
        assert r.returncode == 1 and "-32010" in r.stderr and "HTTP 401" in r.stderr
    finally:
        err = stop(proc)
    assert f"backend {backend}" in err, err


def test_serve_a_fastmcp_server_with_its_own_app(tmp_path: Path) -> None:
    server_file = tmp_path / "my_fastmcp.py"
    server_file.write_text(FASTMCP_SERVER)
    proc, url = start_serve(f"{server_file}:mcp", "--sdk")
    try:
        r = cli("call", url, "tools/call", '{"name": "add", "arguments": {"a": 1, "b": 2}}')
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["structuredContent"] == {"result": 3}
    finally:
        err = stop(proc)
    assert "FastMCP's own http_app" in err, err


def test_serve_bad_targets(tmp_path: Path) -> None:
    r = cli("serve", "no_such_module_xyz:mcp")
    assert r.returncode == 1 and "cannot import 'no_such_module_xyz'" in r.stderr
    r = cli("serve", "mcp_fastpath.demo.server:nothing")
    assert r.returncode == 1 and "has no attribute 'nothing'" in r.stderr
    r = cli("serve", "json:dumps")
    assert r.returncode == 1 and "is not an MCP server" in r.stderr
    r = cli("serve", "justaname")
    assert r.returncode == 1 and "module:attr" in r.stderr
    r = cli("serve", "mcp_fastpath.demo.server:build_server", "--sdk", "--keys", "k.json")
    assert r.returncode == 1 and "--keys configures the fast path" in r.stderr


def test_e2e_smoke() -> None:
    """The end-to-end harness runs and every contender answers correctly (no timing assertions)."""
    results = e2e.run(0.6, rounds=1, warmup_s=0.1, connections=4, jwt=True, backends=["pure"])
    rows = results["rows"]
    names = ("SDK", "fast pure", "fast pure inline", "FastMCP", "fast pure (FastMCP)")
    assert {(r["tool"], r["name"]) for r in rows} == {(tool, name) for tool in ("forecast", "add") for name in names}
    for row in rows:
        assert row["errors"] == 0, row
        assert row["requests"] > 0, row
    table = e2e.format_tables(results)
    assert "| SDK |" in table and "fast pure" in table and "distinct HS256 JWT" in table
    assert "| FastMCP |" in table and "vs FastMCP" in table


def test_budget_smoke() -> None:
    """The per-request budget runs for both tools and fills every stage (no timing assertions)."""
    from benches import budget

    for tool in ("forecast", "add"):
        results = budget.run(0.2, tool=tool, backends=("pure",), reps=1)
        assert set(results["rows"]) == {"SDK", "fast pure"}
        for row in results["rows"].values():
            assert set(row) == {*budget.STAGES, "total"} and row["total"] > 0
        assert "| dispatch |" in budget.format_table(results)


# ---- demo, bench ---------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_demo_quick_runs_the_signed_session_from_the_package(tmp_path: Path, backend: str) -> None:
    """`demo --quick` needs nothing from the checkout: the example server ships in the package."""
    r = subprocess.run(
        [sys.executable, "-m", "mcp_fastpath", "demo", "--quick"],
        capture_output=True,
        text=True,
        env=env_for(backend),
        cwd=tmp_path,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"backend {backend}" in r.stdout
    assert "mcp_fastpath.demo.server:mcp" in r.stdout
    for step in (
        "tampered: rejected with -32010",
        "second copy: the first one's answer",
        "replayed: rejected with -32012",
        "bad token: rejected with -32010",
    ):
        assert f"✓ {step}" in r.stdout, r.stdout
    assert "!!" not in r.stdout and "Throughput" not in r.stdout


def test_bench_without_a_checkout_says_where_the_benchmarks_are(monkeypatch: pytest.MonkeyPatch) -> None:
    from mcp_fastpath import _checkout
    from mcp_fastpath.errors import FastpathError

    monkeypatch.setattr(_checkout, "benches_dir", lambda: None)
    with pytest.raises(FastpathError, match="source checkout's benches/ directory"):
        _checkout.import_benches("codec")


def test_bench_finds_the_checkouts_benches(monkeypatch: pytest.MonkeyPatch) -> None:
    from mcp_fastpath import _checkout

    monkeypatch.setenv("MCP_FASTPATH_BENCHES", str(ROOT / "benches"))
    assert _checkout.benches_dir() == (ROOT / "benches").resolve()
    assert callable(_checkout.import_benches("codec").run)


@pytest.mark.parametrize("backend", BACKENDS)
def test_version_names_the_backend_and_the_native_build(backend: str) -> None:
    import mcp_fastpath
    from mcp_fastpath import _native

    result = cli("--version", backend=backend)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    info = _native._BUILD_INFO
    abi = f"abi3 for CPython >= {info['python']}" if info["abi3"] else f"CPython {info['python']} only"
    assert lines[0] == f"mcp-fastpath {mcp_fastpath.__version__}"
    assert lines[1] == f"backend: {backend} (MCP_FASTPATH_BACKEND={backend})"
    assert lines[2] == (
        f"native module: {info['version']}, {abi}, {info['profile']} profile (opt-level {info['opt_level']}), "
        f"{info['target']}, {info['rustc']}"
    )
    assert lines[3].startswith(f"python: CPython {sys.version.split()[0]} on ") and len(lines) == 4
