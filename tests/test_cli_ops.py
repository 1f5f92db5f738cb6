"""The command line as a new user meets it: `call`'s exit status on a tool error, the README's
`serve`/`call` example, `sign`'s documented input (examples/request.json), `keygen --jwt-only`
for stock clients, and `serve`'s warning when unauthenticated requests would be served beyond
loopback. Real subprocesses and servers."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from mcp_fastpath.cli._serve_auth import open_door_warning
from mcp_fastpath.demo.processes import free_port, wait_ready
from mcp_fastpath.gates import StaticGate
from mcp_fastpath.keyfile import load

from tests.adapter_helpers import headers_for, message
from tests.test_cli import BACKENDS, ROOT, env_for, stop

README = (ROOT / "README.md").read_text()


def cli(
    *args: str, backend: str = "pure", stdin: str | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mcp_fastpath", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env_for(backend),
        cwd=cwd,
        timeout=60,
    )


def start_serve(
    *args: str, port: int | None = None, backend: str = "pure", cwd: Path = ROOT
) -> tuple[subprocess.Popen[str], str]:
    port = port or free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcp_fastpath", "serve", *args, "--port", str(port), "--log-level", "warning"],
        env=env_for(backend),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_ready(port, proc)
    return proc, f"http://127.0.0.1:{port}/mcp"


def test_call_exits_non_zero_when_the_tool_fails():
    proc, url = start_serve("mcp_fastpath.demo.server:mcp")
    try:
        ok = cli("call", url, "tools/call", '{"name": "add", "arguments": {"a": 2, "b": 3}}')
        assert ok.returncode == 0 and json.loads(ok.stdout)["structuredContent"] == {"result": 5}
        failed = cli("call", url, "tools/call", '{"name": "add", "arguments": {"a": "two", "b": 3}}')
        assert failed.returncode == 1
        assert json.loads(failed.stdout)["isError"] is True  # the result is still printed
        assert "isError: true" in failed.stderr
        unknown = cli("call", url, "tools/call", '{"name": "nope", "arguments": {}}')
        assert unknown.returncode == 1 and json.loads(unknown.stdout)["isError"] is True
    finally:
        stop(proc)


def test_the_readme_call_example_runs_against_the_readme_server(tmp_path):
    """The `serve` / `keygen` / `call` lines of the README's quick reference, run as written (in a
    scratch directory, on a free port)."""
    block = README[README.index("## Drop-in for real servers") :]
    block = block[block.index("```sh") + 5 : block.index("```", block.index("```sh") + 5)]
    lines = [line.split(" #")[0].strip() for line in block.splitlines() if line.strip()]
    port = free_port()

    def argv(command: str) -> list[str]:
        """The first README line running `command` (for `serve`, the one with a key file)."""
        line = next(
            line
            for line in lines
            if line.split()[1] == command and (command != "serve" or "--keys" in line) and "|" not in line
        )
        words = shlex.split(line.replace("8000", str(port)))
        assert words[0] == "mcp-fastpath"
        return words[1:]

    keygen = cli(*argv("keygen"), cwd=tmp_path)
    assert keygen.returncode == 0, keygen.stderr
    serve_words = argv("serve")
    target = serve_words[1]
    proc, url = start_serve(*serve_words[1:], "--host", "127.0.0.1", port=port, cwd=tmp_path)
    try:
        assert url == f"http://127.0.0.1:{port}/mcp"
        call = cli(*argv("call"), cwd=tmp_path)
        assert call.returncode == 0, (target, call.stderr)
        assert json.loads(call.stdout)["isError"] is False
    finally:
        stop(proc)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sign_the_shipped_example_request(tmp_path, backend):
    keys, public = tmp_path / "keys.json", tmp_path / "public.json"
    assert (
        cli("keygen", "--audience", "https://mcp.test", "--out", str(keys), "--public-out", str(public)).returncode == 0
    )
    help_text = cli("sign", "--help").stdout
    assert "examples/request.json" in help_text and "io.modelcontextprotocol/protocolVersion" in help_text
    signed = cli("sign", "--keys", str(keys), str(ROOT / "examples" / "request.json"), backend=backend)
    assert signed.returncode == 0, signed.stderr
    message_out = json.loads(signed.stdout)
    assert message_out["params"]["arguments"] == {"a": 2, "b": 3}
    assert "dev.mcp-fastpath/sig" in message_out["params"]["_meta"]
    verified = cli("verify", "--keys", str(public), stdin=signed.stdout, backend=backend)
    assert verified.returncode == 0 and json.loads(verified.stdout)["valid"] is True


@pytest.mark.parametrize("backend", BACKENDS)
def test_keygen_jwt_only_serves_stock_clients(tmp_path, backend):
    port = free_port()
    audience = f"http://127.0.0.1:{port}/mcp"
    keys = tmp_path / "keys.json"
    r = cli("keygen", "--jwt-only", "--issuer", "https://auth.test", "--audience", audience, "--out", str(keys))
    assert r.returncode == 0, r.stderr
    kf = load(keys)
    assert kf.envelope is False and kf.wants_token
    proc, url = start_serve("mcp_fastpath.demo.server:mcp", "--keys", str(keys), port=port, backend=backend)
    try:
        # A stock client: a bearer token, no envelope.
        token = kf.mint_token(scopes=[])
        msg = message("tools/call", name="add", arguments={"a": 2, "b": 3})
        headers = {**headers_for(msg), "Authorization": f"Bearer {token}"}
        r = httpx.post(url, content=json.dumps(msg), headers=headers, timeout=10)
        assert r.status_code == 200 and r.json()["result"]["structuredContent"] == {"result": 5}
        # Without the token: refused (JWT-only is not "no checks").
        r = httpx.post(url, content=json.dumps(msg), headers=headers_for(msg), timeout=10)
        assert r.status_code == 401
        # The CLI client with the same file sends only the token (there is no envelope to require).
        assert cli("call", url, "tools/list", "--keys", str(keys), "--no-sign").returncode == 0
    finally:
        stop(proc)
    bad = cli("keygen", "--jwt-only", "--audience", audience)
    assert bad.returncode == 1 and "--jwt-only needs --issuer and --audience" in bad.stderr


def test_open_door_warning(tmp_path):
    import mcp_fastpath as fp
    from mcp_fastpath.keyfile import KeyFile

    key = fp.HmacKey("k", b"k" * 32)
    optional = KeyFile(jwks={"keys": [key.to_jwk(private=True)]}, envelope=False).gate()
    required = KeyFile(jwks={"keys": [key.to_jwk(private=True)]}).gate()
    assert "no request is authenticated" in open_door_warning(None, "0.0.0.0")
    assert "requires neither" in open_door_warning(StaticGate(optional), "10.0.0.5")
    assert open_door_warning(StaticGate(required), "0.0.0.0") is None
    for loopback in ("127.0.0.1", "localhost", "::1", "127.0.1.1"):
        assert open_door_warning(None, loopback) is None


def test_serve_warns_loudly_beyond_loopback():
    proc, _ = start_serve("mcp_fastpath.demo.server:mcp", "--host", "0.0.0.0")
    err = stop(proc)
    assert re.search(r"!{20,}\n.*WARNING: no --keys or --jwks-url.*\nAnyone who can reach 0\.0\.0\.0", err), err
    proc, _ = start_serve("mcp_fastpath.demo.server:mcp")
    assert "WARNING" not in stop(proc)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["--jwks-url", "http://127.0.0.1:9/jwks.json", "--issuer", "i", "--audience", "a", "--policy", "[1]"],
            "--policy",
        ),
        (
            [
                "--jwks-url",
                "http://127.0.0.1:9/jwks.json",
                "--issuer",
                "i",
                "--audience",
                "a",
                "--policy",
                '{"*": "mcp"}',
            ],
            "--policy",
        ),
        (["--issuer", "i"], "need --jwks-url"),
        (["--jwks-url", "http://127.0.0.1:9/jwks.json", "--sdk"], "--jwks-url configures the fast path"),
        (["--resource-url", "https://mcp.example/mcp"], "need JWT checking"),
    ],
)
def test_serve_refuses_auth_options_that_cannot_work(args, error):
    r = cli("serve", "mcp_fastpath.demo.server:mcp", "--port", str(free_port()), *args)
    assert r.returncode == 1 and error in r.stderr, r.stderr


def test_the_access_log_writes_in_batches() -> None:
    """Many lines, few writes: a line per request must not be a system call per request; and
    nothing waits longer than the interval, nor is lost at a flush."""
    import io
    import logging
    import time

    from mcp_fastpath.cli._serve_ops import BatchedStreamHandler

    class CountingStream(io.StringIO):
        writes = 0

        def write(self, text: str) -> int:
            self.writes += 1
            return super().write(text)

    stream = CountingStream()
    handler = BatchedStreamHandler(stream, interval_s=0.05, max_bytes=10_000)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("test.batched")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        for i in range(200):
            logger.info("line %d", i)
        deadline = time.monotonic() + 5
        while stream.getvalue().count("\n") < 200 and time.monotonic() < deadline:
            time.sleep(0.01)  # the handler's own timer flushes
        assert stream.getvalue().splitlines() == [f"line {i}" for i in range(200)]
        assert 1 <= stream.writes <= 10
        logger.info("last")
        handler.flush()
        assert stream.getvalue().splitlines()[-1] == "last"
    finally:
        logger.removeHandler(handler)
