"""End-to-end load comparison: one official-SDK `MCPServer` (a single tool `add(a: int, b: int) -> int`)
served one uvicorn worker each by the SDK's stock app (`serve --sdk`) and by the fast path on the
native and the pure backend, loaded by a keep-alive HTTP/1.1 load generator in another process.

Two tables, measured in one run:
1. a 2026-07-28 `tools/call` with its routing headers, no authentication;
2. the same with an HS256 JWT on every request: the SDK with its bearer middleware and a
   PyJWT-based `TokenVerifier` (`MCPServer(token_verifier=..., auth=AuthSettings(...))`), ours with
   the `Gate` (`serve --keys`, a key file with `issuer`/`audience` and `"envelope": false`).

Fairness: every server runs at once (idle unless loaded); the load generator visits them in
rotation, `rounds` slices each (the first contender changes every round), after one discarded
warm-up slice each, so drift on the machine hits all alike. A contender's req/s is its completed
requests over its total measured time; p50/p99 are over all its latencies. Only 200 answers with a
`result` count; anything else is reported as errors.

Library: `results = run(duration_s=10)`, `print(format_tables(results))`. CLI:
`mcp-fastpath bench --e2e [--seconds S] [--connections N]`, or `python benches/e2e.py`.
The load generator is `python -m mcp_fastpath.e2e loadgen` (a JSON plan on stdin, JSON results on stdout).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

__all__ = ["Contender", "build_add_server", "build_add_server_jwt", "format_tables", "run"]

PROTOCOL_VERSION = "2026-07-28"
KEYS_ENV = "MCP_FASTPATH_E2E_KEYS"
ISSUER = "https://auth.e2e.invalid"
AUDIENCE = "https://mcp.e2e.invalid"


# ---------------------------------------------------------------------------------------------
# The server under test (imported by `serve` in the server processes)
# ---------------------------------------------------------------------------------------------


def _add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def build_add_server(**options: Any) -> Any:
    """An `MCPServer` with one tool, `add(a: int, b: int) -> int`."""
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("add", **options)
    server.tool(name="add")(_add)
    return server


class PyJwtTokenVerifier:
    """The SDK's `TokenVerifier` protocol with PyJWT (HS256): what an SDK user writes by hand."""

    def __init__(self, secret: bytes, *, issuer: str, audience: str, leeway_s: float = 30) -> None:
        self.secret = secret
        self.issuer = issuer
        self.audience = audience
        self.leeway_s = leeway_s

    async def verify_token(self, token: str) -> Any:
        import jwt
        from mcp.server.auth.provider import AccessToken

        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=["HS256"],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp"]},
            )
        except jwt.PyJWTError:
            return None
        scope = claims.get("scope")
        return AccessToken(
            token=token,
            client_id=str(claims.get("client_id") or claims.get("sub") or ""),
            scopes=scope.split() if isinstance(scope, str) else [],
            expires_at=int(claims["exp"]),
            resource=self.audience,
            subject=claims.get("sub"),
            claims=claims,
        )


def build_add_server_jwt() -> Any:
    """`build_add_server()` behind the SDK's bearer middleware, with a PyJWT `TokenVerifier` whose
    HS256 secret, issuer and audience come from the key file named by `$MCP_FASTPATH_E2E_KEYS`."""
    from mcp.server.auth.settings import AuthSettings

    from . import HmacKey
    from .keyfile import load

    path = os.environ.get(KEYS_ENV)
    if not path:
        raise RuntimeError(f"build_add_server_jwt needs ${KEYS_ENV} (a key file with an HMAC key)")
    kf = load(path)
    key = kf.signing_key()
    if not isinstance(key, HmacKey):
        raise RuntimeError("build_add_server_jwt needs an HMAC key")
    secret = _secret_of(kf)
    verifier = PyJwtTokenVerifier(secret, issuer=kf.issuer or ISSUER, audience=kf.audience or AUDIENCE)
    # validate_token_resource=False: the verifier checks `aud` itself.
    auth = AuthSettings.model_validate(
        {"issuer_url": kf.issuer or ISSUER, "resource_server_url": kf.audience or AUDIENCE, "validate_token_resource": False}
    )
    return build_add_server(token_verifier=verifier, auth=auth)


def _secret_of(kf: Any) -> bytes:
    from . import b64url_decode

    for jwk in kf.jwks["keys"]:
        if jwk.get("kty") == "oct":
            return b64url_decode(jwk["k"])
    raise RuntimeError("no oct key in the key file")


# ---------------------------------------------------------------------------------------------
# Load generator (its own process)
# ---------------------------------------------------------------------------------------------


def _request_bytes(port: int, body: bytes, headers: dict[str, str]) -> bytes:
    lines = ["POST /mcp HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = -1
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
        return status, body
    return status, await reader.readexactly(length) if length > 0 else b""


async def _connection(port: int, request: bytes, deadline: float, lat: list[int], counts: dict[str, Any]) -> None:
    perf = time.perf_counter_ns
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    deadline_ns = int(deadline * 1e9)
    try:
        while True:
            t0 = perf()
            if t0 >= deadline_ns:
                return
            writer.write(request)
            status, body = await _read_response(reader)
            t1 = perf()
            if status == 200 and b'"result"' in body:
                lat.append(t1 - t0)
            else:
                counts["errors"] += 1
                if counts["errors"] <= 3:
                    counts.setdefault("samples", []).append(f"{status} {body[:160]!r}")
    except (OSError, asyncio.IncompleteReadError) as exc:
        counts["errors"] += 1
        counts.setdefault("samples", []).append(repr(exc))
    finally:
        writer.close()


async def _slice(target: dict[str, Any], seconds: float, connections: int) -> dict[str, Any]:
    request = _request_bytes(target["port"], target["body"].encode(), target["headers"])
    lat: list[int] = []
    counts: dict[str, Any] = {"errors": 0}
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(*(_connection(target["port"], request, deadline, lat, counts) for _ in range(connections)))
    elapsed = time.perf_counter() - start
    return {"name": target["name"], "elapsed": elapsed, "latencies_ns": lat, "errors": counts["errors"], "samples": counts.get("samples", [])}


async def _run_plan(plan: dict[str, Any]) -> list[dict[str, Any]]:
    targets = {t["name"]: t for t in plan["targets"]}
    out = []
    for step in plan["steps"]:
        result = await _slice(targets[step["name"]], step["seconds"], plan["connections"])
        result["warmup"] = step.get("warmup", False)
        out.append(result)
    return out


def _loadgen_main() -> int:
    plan = json.load(sys.stdin)
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - depends on the environment
        runner = asyncio.run
    results = runner(_run_plan(plan))
    json.dump(results, sys.stdout)
    return 0


# ---------------------------------------------------------------------------------------------
# Orchestration
# ---------------------------------------------------------------------------------------------


@dataclass
class Contender:
    name: str  # "SDK", "fast native", "fast pure"
    table: str  # "plain" | "jwt"
    serve_args: list[str]
    headers: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: Any = None
    requests: int = 0
    seconds: float = 0.0
    latencies_ns: list[int] = field(default_factory=list)
    errors: int = 0
    samples: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.table}:{self.name}"

    def stats(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ns)

        def pct(p: float) -> float | None:
            if not lat:
                return None
            return lat[min(len(lat) - 1, int(p * len(lat)))] / 1e6

        return {
            "name": self.name,
            "table": self.table,
            "requests": len(lat),
            "seconds": round(self.seconds, 3),
            "rps": len(lat) / self.seconds if self.seconds else 0.0,
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "errors": self.errors,
            "error_samples": self.samples[:3],
        }


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


def start_server(serve_args: Sequence[str], port: int, env: dict[str, str] | None = None) -> Any:
    """`python -m mcp_fastpath serve … --port PORT` in a subprocess (stderr kept for errors)."""
    cmd = [sys.executable, "-m", "mcp_fastpath", "serve", *serve_args, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    full_env = {**os.environ, **(env or {})}
    pkg_root = str(Path(__file__).resolve().parent.parent)
    full_env["PYTHONPATH"] = os.pathsep.join([pkg_root, *filter(None, [full_env.get("PYTHONPATH")])])
    return subprocess.Popen(cmd, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _call_body() -> bytes:
    message = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {
            "name": "add",
            "arguments": {"a": 2, "b": 3},
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": PROTOCOL_VERSION,
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "mcp-fastpath-e2e", "version": "0.1.0"},
            },
        },
    }
    return json.dumps(message, separators=(",", ":")).encode()


def _sanity_check(c: Contender, body: bytes) -> None:
    import httpx

    r = httpx.post(f"http://127.0.0.1:{c.port}/mcp", content=body, headers=c.headers, timeout=10)
    if r.status_code != 200 or '"structuredContent":{"result":5}' not in r.text.replace(" ", ""):
        raise RuntimeError(f"{c.key}: unexpected answer to add(2, 3): HTTP {r.status_code} {r.text[:300]}")
    if c.table == "jwt":
        unauth = {k: v for k, v in c.headers.items() if k != "Authorization"}
        r = httpx.post(f"http://127.0.0.1:{c.port}/mcp", content=body, headers=unauth, timeout=10)
        if r.status_code != 401:
            raise RuntimeError(f"{c.key}: a request without a token got HTTP {r.status_code}, not 401")


def contenders(*, jwt: bool = True, backends: Sequence[str] = ("native", "pure")) -> list[Contender]:
    target = "mcp_fastpath.e2e:build_add_server"
    out = [Contender("SDK", "plain", [target, "--sdk"])]
    out += [Contender(f"fast {b}", "plain", [target, "--backend", b]) for b in backends]
    if jwt:
        out.append(Contender("SDK", "jwt", ["mcp_fastpath.e2e:build_add_server_jwt", "--sdk"]))
        out += [Contender(f"fast {b}", "jwt", [target, "--backend", b, "--keys", "{keys}"]) for b in backends]
    return out


def run(
    duration_s: float = 10.0,
    *,
    connections: int = 16,
    rounds: int = 5,
    warmup_s: float = 1.0,
    jwt: bool = True,
    backends: Sequence[str] | None = None,
    stream: TextIO | None = None,
) -> dict[str, Any]:
    """Start every contender, load each for `duration_s` in total (in `rounds` slices), and
    return `{"contenders": [stats...], "config": {...}}`."""
    from . import _backend
    from .keyfile import generate

    log = stream or sys.stderr
    if backends is None:
        backends = ["pure"]
        try:
            _backend.load("native")
            backends.insert(0, "native")
        except ImportError:
            print("e2e: the native module is not built; measuring pure only", file=log)
    body = _call_body()
    base_headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": PROTOCOL_VERSION,
        "Mcp-Method": "tools/call",
        "Mcp-Name": "add",
    }
    with tempfile.TemporaryDirectory(prefix="mcp-fastpath-e2e-") as tmp:
        kf = generate("hmac", "e2e", audience=AUDIENCE, issuer=ISSUER)
        kf.envelope = False  # table 2 compares bearer JWTs only
        keys_path = str(kf.write(Path(tmp) / "keys.json"))
        token = kf.mint_token(subject="e2e", scopes=["mcp"], ttl_s=3600)
        cs = contenders(jwt=jwt, backends=backends)
        try:
            for c in cs:
                c.port = free_port()
                args = [a.replace("{keys}", keys_path) for a in c.serve_args]
                c.proc = start_server(args, c.port, env={KEYS_ENV: keys_path})
                c.headers = dict(base_headers)
                if c.table == "jwt":
                    c.headers["Authorization"] = f"Bearer {token}"
            for c in cs:
                wait_ready(c.port, c.proc)
                _sanity_check(c, body)
            print(f"e2e: {len(cs)} servers up; {rounds} rounds × {duration_s / rounds:.2f} s each, {connections} connections", file=log)
            targets = [{"name": c.key, "port": c.port, "body": body.decode(), "headers": c.headers} for c in cs]
            steps: list[dict[str, Any]] = [{"name": c.key, "seconds": warmup_s, "warmup": True} for c in cs]
            for r in range(rounds):
                order = cs[r % len(cs):] + cs[: r % len(cs)]
                steps += [{"name": c.key, "seconds": duration_s / rounds} for c in order]
            plan = {"targets": targets, "steps": steps, "connections": connections}
            lg = subprocess.run(
                [sys.executable, "-m", "mcp_fastpath.e2e", "loadgen"],
                input=json.dumps(plan),
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")])},
            )
            if lg.returncode != 0:
                raise RuntimeError(f"load generator failed: {lg.stderr[-2000:]}")
            by_key = {c.key: c for c in cs}
            for result in json.loads(lg.stdout):
                if result["warmup"]:
                    continue
                c = by_key[result["name"]]
                c.seconds += result["elapsed"]
                c.latencies_ns += result["latencies_ns"]
                c.errors += result["errors"]
                c.samples += result["samples"]
        finally:
            for c in cs:
                if c.proc is not None and c.proc.poll() is None:
                    c.proc.terminate()
            for c in cs:
                if c.proc is not None:
                    try:
                        c.proc.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        c.proc.kill()
    import platform

    return {
        "contenders": [c.stats() for c in cs],
        "config": {
            "duration_s": duration_s,
            "rounds": rounds,
            "connections": connections,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "machine": platform.machine(),
        },
    }


def _fmt_ratio(value: float | None, base: float | None, lower_is_better: bool = False) -> str:
    if value is None or not base:
        return "–"
    ratio = (base / value) if lower_is_better else (value / base)
    return f"{ratio:.2f}×"


def format_tables(results: dict[str, Any]) -> str:
    cfg = results["config"]
    titles = {
        "plain": "tools/call add(2, 3) with routing headers, no auth",
        "jwt": "the same with an HS256 JWT on every request (SDK: bearer middleware + PyJWT TokenVerifier; fast path: Gate)",
    }
    out = [
        f"End to end, one uvicorn worker each (uvloop + httptools when installed), {cfg['connections']} keep-alive "
        f"connections, {cfg['duration_s']:g} s per server in {cfg['rounds']} interleaved slices, "
        f"{cfg['cpus']} CPUs, Python {cfg['python']}. Ratios are against the SDK in the same table "
        "(× faster: higher req/s, lower latency).",
    ]
    for table in ("plain", "jwt"):
        rows = [r for r in results["contenders"] if r["table"] == table]
        if not rows:
            continue
        sdk = next((r for r in rows if r["name"] == "SDK"), None)
        out += ["", f"**{titles[table]}**", "", "| server | req/s | vs SDK | p50 ms | vs SDK | p99 ms | vs SDK | errors |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in rows:
            p50 = f"{r['p50_ms']:.2f}" if r["p50_ms"] is not None else "–"
            p99 = f"{r['p99_ms']:.2f}" if r["p99_ms"] is not None else "–"
            out.append(
                f"| {r['name']} | {r['rps']:,.0f} | {_fmt_ratio(r['rps'], sdk and sdk['rps'])} | {p50} | "
                f"{_fmt_ratio(r['p50_ms'], sdk and sdk['p50_ms'], True)} | {p99} | {_fmt_ratio(r['p99_ms'], sdk and sdk['p99_ms'], True)} | {r['errors']} |"
            )
    return "\n".join(out)


if __name__ == "__main__":
    if sys.argv[1:2] == ["loadgen"]:
        sys.exit(_loadgen_main())
    print("usage: python -m mcp_fastpath.e2e loadgen < plan.json  (or: mcp-fastpath bench --e2e)", file=sys.stderr)
    sys.exit(2)
