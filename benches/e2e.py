"""End-to-end load comparison: one official-SDK `MCPServer` (benches/servers.py: an async
`forecast` taking and returning pydantic models, a sync `add`) served one uvicorn worker each by
the SDK's stock app (`serve --sdk`) and by the fast path on the native and the pure backend,
loaded by a keep-alive HTTP/1.1 load generator in another process (benches/loadgen.py).

Every request carries a distinct HS256 JWT (a `jti` counter), so no token cache can help: the SDK
with its bearer middleware and a PyJWT `TokenVerifier` (what its users write), the fast path with
its `Gate` (`serve --keys`, a key file with `issuer`/`audience` and `"envelope": false`). With
`jwt=False`, no authentication at all.

Rows: per tool (async `forecast`, sync `add`), the SDK, `fast native`, `fast pure`, and extra fast
variants (`variants`): `inline` (`serve --inline-sync-tools`: sync tools on the event loop) and
`anyio-hop` (`serve --sync-hop anyio`, the SDK's thread hop instead of ours); and the price of
operations (`bench --e2e --ops`): `metrics` (`serve --metrics`), `access-log` (`--log-level info`,
the access log written to a file) and `access-log+metrics`.

Every table also has the server's CPU time per request: the server process's user + system CPU
time over the whole run (both tools, warm-up included) over the requests it answered. It moves
much less than req/s and latency when other processes load the machine.

FastMCP (`servers=("sdk", "fastmcp")`, the default when FastMCP is installed): the same two tools
on a FastMCP server, served by FastMCP's own `http_app()` with FastMCP's own bearer auth (its
`JWTVerifier`, HS256: `serve benches/servers.py:fastmcp_jwt --sdk`) and by `fast_http_app` on
both backends with the Gate. Their table's ratios are against FastMCP's own app.

Fairness: every server runs at once (idle unless loaded); the load generator visits them in
rotation, `rounds` slices each (the first contender changes every round), after one discarded
warm-up slice each, so drift on the machine hits all alike. A contender's req/s is its completed
requests over its total measured time; p50/p99 are over all its latencies. Only 200 answers with a
`result` that is not an error count; anything else is reported as errors.

Library: `results = run(duration_s=10)`, `print(format_tables(results))`. Command:
`mcp-fastpath bench --e2e [--seconds S] [--connections N] [--no-jwt]` from a source checkout.
"""

from __future__ import annotations

import base64
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from mcp_fastpath.demo.processes import free_port, start_server, wait_ready

from .servers import AUDIENCE, ISSUER, KEYS_ENV

__all__ = ["TOOLS", "VARIANTS", "Contender", "available_servers", "contenders", "format_tables", "run"]

PROTOCOL_VERSION = "2026-07-28"
HERE = Path(__file__).resolve().parent
SERVERS = str(HERE / "servers.py")
LOADGEN = str(HERE / "loadgen.py")

# The tool calls: name → (arguments, what the answer's structuredContent must hold).
TOOLS: dict[str, tuple[dict[str, Any], str]] = {
    "forecast": (
        {
            "place": {
                "city": "Saint-Malo",
                "country": "FR",
                "days": 3,
                "units": "metric",
                "include": ["humidity", "uv_index", "sunrise", "sunset", "pressure", "visibility"],
            }
        },
        '"city":"Saint-Malo"',
    ),
    "add": ({"a": 2, "b": 3}, '"structuredContent":{"result":5}'),
}
TOOL_TITLES = {
    "forecast": "async tool: `forecast(place: Place) -> Forecast` (pydantic in and out)",
    "add": "sync tool: `add(a: int, b: int) -> int`",
}
# Extra fast-path variants: name → serve arguments.
VARIANTS: dict[str, list[str]] = {
    "inline": ["--inline-sync-tools"],
    "anyio-hop": ["--sync-hop", "anyio"],
    "metrics": ["--metrics"],
    "access-log": [],
    "access-log+metrics": ["--metrics"],
}
OPS_VARIANTS = ("metrics", "access-log", "access-log+metrics")
LOGGED_VARIANTS = frozenset({"access-log", "access-log+metrics"})  # served with --log-level info


@dataclass
class Contender:
    name: str  # "SDK", "fast native", "fast pure", "fast native inline", "FastMCP", "fast native (FastMCP)", …
    serve_args: list[str]
    log_level: str = "warning"  # "info": the access log is on
    family: str = "SDK"  # the reference its ratios are against: "SDK" or "FastMCP"
    port: int = 0
    proc: Any = None
    seconds: dict[str, float] = field(default_factory=dict)
    latencies_ns: dict[str, list[int]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    served: int = 0  # every answer, warm-up included: what the server's CPU time was spent on
    cpu_s: float | None = None

    def stats(self, tool: str) -> dict[str, Any]:
        lat = sorted(self.latencies_ns.get(tool, []))
        seconds = self.seconds.get(tool, 0.0)

        def pct(p: float) -> float | None:
            return lat[min(len(lat) - 1, int(p * len(lat)))] / 1e6 if lat else None

        return {
            "name": self.name,
            "family": self.family,
            "tool": tool,
            "requests": len(lat),
            "seconds": round(seconds, 3),
            "rps": len(lat) / seconds if seconds else 0.0,
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "errors": self.errors.get(tool, 0),
            "error_samples": self.samples[:3],
            "cpu_us_per_request": self.cpu_s / self.served * 1e6 if self.cpu_s is not None and self.served else None,
        }


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process `pid` (Linux /proc), or None where that is not available."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _body(tool: str) -> bytes:
    message = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {
            "name": tool,
            "arguments": TOOLS[tool][0],
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": PROTOCOL_VERSION,
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "mcp-fastpath-e2e", "version": "0.1.0"},
            },
        },
    }
    return json.dumps(message, separators=(",", ":")).encode()


def _headers(tool: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": PROTOCOL_VERSION,
        "Mcp-Method": "tools/call",
        "Mcp-Name": tool,
    }


def contenders(
    *,
    jwt: bool = True,
    backends: Sequence[str] = ("native", "pure"),
    variants: Sequence[str] = (),
    servers: Sequence[str] = ("sdk",),
) -> list[Contender]:
    keys = ["--keys", "{keys}"] if jwt else []
    out: list[Contender] = []
    if "sdk" in servers:
        target = f"{SERVERS}:mcp"
        out.append(Contender("SDK", [f"{SERVERS}:mcp_jwt" if jwt else target, "--sdk"]))
        out += [Contender(f"fast {b}", [target, "--backend", b, *keys]) for b in backends]
        for variant in variants:
            out.append(
                Contender(
                    f"fast {backends[0]} {variant}",
                    [target, "--backend", backends[0], *keys, *VARIANTS[variant]],
                    log_level="info" if variant in LOGGED_VARIANTS else "warning",
                )
            )
    if "fastmcp" in servers:
        target = f"{SERVERS}:fastmcp_server"
        out.append(Contender("FastMCP", [f"{SERVERS}:fastmcp_jwt" if jwt else target, "--sdk"], family="FastMCP"))
        out += [Contender(f"fast {b} (FastMCP)", [target, "--backend", b, *keys], family="FastMCP") for b in backends]
    return out


def available_servers() -> list[str]:
    """The server kinds this environment can benchmark: the SDK's, and FastMCP's when installed."""
    import importlib.util

    return ["sdk", "fastmcp"] if importlib.util.find_spec("fastmcp") is not None else ["sdk"]


def _sanity_check(c: Contender, tool: str, token: str | None) -> None:
    import httpx

    url = f"http://127.0.0.1:{c.port}/mcp"
    headers = _headers(tool) | ({"Authorization": f"Bearer {token}"} if token else {})
    r = httpx.post(url, content=_body(tool), headers=headers, timeout=10)
    if r.status_code != 200 or TOOLS[tool][1] not in r.text.replace(" ", ""):
        raise RuntimeError(f"{c.name}: unexpected answer to {tool}: HTTP {r.status_code} {r.text[:300]}")
    if token:
        r = httpx.post(url, content=_body(tool), headers=_headers(tool), timeout=10)
        if r.status_code != 401:
            raise RuntimeError(f"{c.name}: a request without a token got HTTP {r.status_code}, not 401")


def run(
    duration_s: float = 10.0,
    *,
    connections: int = 16,
    rounds: int = 5,
    warmup_s: float = 1.0,
    jwt: bool = True,
    tools: Sequence[str] = ("forecast", "add"),
    variants: Sequence[str] = ("inline",),
    backends: Sequence[str] | None = None,
    servers: Sequence[str] | None = None,
    stream: TextIO | None = None,
) -> dict[str, Any]:
    """Start every contender, load each for `duration_s` per tool in total (in `rounds` slices),
    and return `{"rows": [stats...], "config": {...}}`."""
    from mcp_fastpath import _backend
    from mcp_fastpath.keyfile import generate

    log = stream or sys.stderr
    if backends is None:
        backends = ["pure"]
        try:
            _backend.load("native")
            backends.insert(0, "native")
        except ImportError:
            print("e2e: the native module is not built; measuring pure only", file=log)
    with tempfile.TemporaryDirectory(prefix="mcp-fastpath-e2e-") as tmp:
        kf = generate("hmac", "e2e", audience=AUDIENCE, issuer=ISSUER)
        kf.envelope = False  # bearer JWTs only: what the SDK's own auth compares with
        keys_path = str(kf.write(Path(tmp) / "keys.json"))
        secret = next(jwk["k"] for jwk in kf.jwks["keys"] if jwk.get("kty") == "oct")
        secret_b64 = base64.b64encode(base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))).decode()
        check_token = kf.mint_token(subject="e2e", scopes=["mcp"], ttl_s=3600) if jwt else None
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "e2e", "scope": "mcp", "iat": now, "exp": now + 3600}
        cs = contenders(
            jwt=jwt,
            backends=backends,
            variants=variants,
            servers=servers if servers is not None else available_servers(),
        )
        try:
            for c in cs:
                c.port = free_port()
                args = [a.replace("{keys}", keys_path) for a in c.serve_args]
                c.proc = start_server(args, c.port, env={KEYS_ENV: keys_path}, log_level=c.log_level)
            for c in cs:
                wait_ready(c.port, c.proc)
                for tool in tools:
                    _sanity_check(c, tool, check_token)
            print(
                f"e2e: {len(cs)} servers up; {len(tools)} tools × {rounds} rounds × {duration_s / rounds:.2f} s, "
                f"{connections} connections",
                file=log,
            )
            targets = [
                {
                    "name": f"{c.name}|{tool}",
                    "port": c.port,
                    "body": _body(tool).decode(),
                    "headers": _headers(tool),
                    **({"jwt": {"kid": "e2e", "secret": secret_b64, "claims": claims}} if jwt else {}),
                }
                for c in cs
                for tool in tools
            ]
            names = [t["name"] for t in targets]
            steps: list[dict[str, Any]] = [{"name": n, "seconds": warmup_s, "warmup": True} for n in names]
            for r in range(rounds):
                order = names[r % len(names) :] + names[: r % len(names)]
                steps += [{"name": n, "seconds": duration_s / rounds} for n in order]
            plan = {"targets": targets, "steps": steps, "connections": connections}
            cpu_before = {c.name: _cpu_seconds(c.proc.pid) for c in cs}
            lg = subprocess.run([sys.executable, LOADGEN], input=json.dumps(plan), capture_output=True, text=True)
            if lg.returncode != 0:
                raise RuntimeError(f"load generator failed: {lg.stderr[-2000:]}")
            for c in cs:
                before, after = cpu_before[c.name], _cpu_seconds(c.proc.pid)
                c.cpu_s = after - before if before is not None and after is not None else None
            by_name = {c.name: c for c in cs}
            for result in json.loads(lg.stdout):
                name, _, tool = result["name"].partition("|")
                by_name[name].served += len(result["latencies_ns"]) + result["errors"]
                if result["warmup"]:
                    continue
                c = by_name[name]
                c.seconds[tool] = c.seconds.get(tool, 0.0) + result["elapsed"]
                c.latencies_ns.setdefault(tool, []).extend(result["latencies_ns"])
                c.errors[tool] = c.errors.get(tool, 0) + result["errors"]
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
    return {
        "rows": [c.stats(tool) for tool in tools for c in cs],
        "config": {
            "duration_s": duration_s,
            "rounds": rounds,
            "connections": connections,
            "jwt": jwt,
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
    auth = (
        "a distinct HS256 JWT on every request (SDK: its bearer middleware + a PyJWT TokenVerifier; FastMCP: its "
        "own JWTVerifier; fast path: Gate)"
        if cfg.get("jwt", True)
        else "no authentication"
    )
    out = [
        f"End to end, one uvicorn worker each (uvloop + httptools when installed), {cfg['connections']} keep-alive "
        f"connections, {cfg['duration_s']:g} s per server and tool in {cfg['rounds']} interleaved slices, "
        f"{cfg['cpus']} CPUs, Python {cfg['python']}, {auth}. Ratios are against the server's own app in the same "
        "table (the SDK's or FastMCP's; × faster: higher req/s, lower latency, less CPU). Server CPU µs/req: the "
        "server process's CPU time over the whole run (all tools) per request answered; it moves much less than "
        "req/s and latency when other processes load the machine.",
    ]
    groups = dict.fromkeys((r.get("family", "SDK"), r["tool"]) for r in results["rows"])
    for family, tool in groups:
        rows = [r for r in results["rows"] if r["tool"] == tool and r.get("family", "SDK") == family]
        sdk = next((r for r in rows if r["name"] == family), None)
        title = TOOL_TITLES.get(tool, tool)
        out += [
            "",
            f"**{title}**" if family == "SDK" else f"**FastMCP — {title}**",
            "",
            f"| server | req/s | vs {family} | p50 ms | vs {family} | p99 ms | vs {family} | server CPU µs/req "
            f"| vs {family} | errors |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rows:
            p50 = f"{r['p50_ms']:.2f}" if r["p50_ms"] is not None else "–"
            p99 = f"{r['p99_ms']:.2f}" if r["p99_ms"] is not None else "–"
            cpu = r.get("cpu_us_per_request")
            out.append(
                f"| {r['name']} | {r['rps']:,.0f} | {_fmt_ratio(r['rps'], sdk and sdk['rps'])} | {p50} | "
                f"{_fmt_ratio(r['p50_ms'], sdk and sdk['p50_ms'], True)} | {p99} | "
                f"{_fmt_ratio(r['p99_ms'], sdk and sdk['p99_ms'], True)} | {f'{cpu:.0f}' if cpu is not None else '–'} | "
                f"{_fmt_ratio(cpu, sdk and sdk.get('cpu_us_per_request'), True)} | {r['errors']} |"
            )
    return "\n".join(out)
