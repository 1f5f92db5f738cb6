"""What operations cost per request, measured in process: the same `fast_http_app` (one
`MCPServer` with `add` run inline, an HS256 JWT gate, JSON responses) built four times — plain, with
Prometheus metrics, with the access log, with both — each driven by direct ASGI calls (no
network, no load generator: only the app's own work is timed), in interleaved rounds so drift on
the machine hits all four alike. The access log goes through a real `logging.StreamHandler` with
`serve`'s formatter into an in-memory text buffer (the record, formatting and the handler's lock
included; a disk or pipe write is the deployment's).

`mcp-fastpath bench --ops` from a checkout; `run(seconds)` / `format_table(results)` here.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import statistics
import sys
import time
from typing import Any, TextIO

__all__ = ["format_table", "run"]

ISSUER = "https://auth.bench.invalid"
AUDIENCE = "http://127.0.0.1:8000/mcp"
SECRET = b"ops-bench-secret-" + b"x" * 32
VARIANTS = ("plain", "metrics", "access log", "access log + metrics")


def _app(variant: str) -> Any:
    import mcp_fastpath as fp
    from mcp_fastpath.adapters.sdk import fast_http_app

    from .servers import build_server

    key = fp.HmacKey("k1", SECRET)
    gate = fp.Gate(jwt=fp.JwtVerifier(fp.KeyRing([key]), issuer=ISSUER, audience=AUDIENCE))
    return fast_http_app(
        build_server(),
        gate=gate,
        json_response=True,
        inline_sync_tools=True,  # no worker-thread hop: its GIL hand-off would drown what is measured
        access_log="access log" in variant,
        metrics="metrics" in variant,
    )


def _request() -> tuple[bytes, list[tuple[bytes, bytes]]]:
    import mcp_fastpath as fp

    now = int(time.time())
    token = fp.sign_jwt(fp.HmacKey("k1", SECRET), {"iss": ISSUER, "aud": AUDIENCE, "sub": "bench", "exp": now + 3600})
    params = {
        "name": "add",
        "arguments": {"a": 2, "b": 3},
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
        },
    }
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}).encode()
    headers = {
        "host": "127.0.0.1:8000",
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "authorization": f"Bearer {token}",
        **{k.lower(): v for k, v in fp.request_headers("tools/call", params).items()},
    }
    return body, [(k.encode(), v.encode()) for k, v in headers.items()]


async def _drive(app: Any, body: bytes, headers: list[tuple[bytes, bytes]], n: int) -> float:
    """CPU seconds of this process for `n` requests, one after another (CPU time, not wall time:
    everything runs on this thread, and time the machine gives to other processes is not ours)."""
    scope_base = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/mcp",
        "raw_path": b"/mcp",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    request = {"type": "http.request", "body": body, "more_body": False}
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return request

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    start = time.thread_time()
    for _ in range(n):
        await app(dict(scope_base, state={}), receive, send)
    elapsed = time.thread_time() - start
    if statuses.count(200) != n:
        raise RuntimeError(f"unexpected statuses: {sorted(set(statuses))}")
    return elapsed


async def _run(seconds: float, stream: TextIO) -> dict[str, Any]:
    from mcp_fastpath.adapters._observe import ACCESS_LOGGER
    from mcp_fastpath.cli._serve_ops import AccessFormatter

    sink = io.StringIO()
    logger = logging.getLogger(ACCESS_LOGGER)
    handler = logging.StreamHandler(sink)
    handler.setFormatter(AccessFormatter())  # what `serve` uses
    saved = (logger.handlers[:], logger.level, logger.propagate)
    logger.handlers, logger.level, logger.propagate = [handler], logging.INFO, False
    apps = {variant: _app(variant) for variant in VARIANTS}
    body, headers = _request()
    samples: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    try:
        async with contextlib.AsyncExitStack() as lifespans:
            for app in apps.values():  # the SDK's session manager runs inside the app's lifespan
                await lifespans.enter_async_context(app.router.lifespan_context(app))
            for app in apps.values():  # warm-up: caches, first-use label children
                await _drive(app, body, headers, 200)
            batch = 200
            rounds = max(5, int(seconds / (len(VARIANTS) * 0.05)))
            deadline = time.perf_counter() + seconds
            r = 0
            while r < rounds and (r < 5 or time.perf_counter() < deadline):
                order = VARIANTS[r % len(VARIANTS) :] + VARIANTS[: r % len(VARIANTS)]
                for variant in order:
                    samples[variant].append(await _drive(apps[variant], body, headers, batch) / batch)
                r += 1
            print(f"ops: {r} rounds × {batch} requests per variant", file=stream)
    finally:
        logger.handlers, logger.level, logger.propagate = saved
    base_median = statistics.median(samples["plain"])
    base_best = min(samples["plain"])
    rows = []
    for variant in VARIANTS:
        median, best = statistics.median(samples[variant]), min(samples[variant])
        q = statistics.quantiles(samples[variant], n=4)
        rows.append(
            {
                "variant": variant,
                "us_per_request": median * 1e6,
                "iqr_pct": 100 * (q[2] - q[0]) / median,
                "ratio": median / base_median,
                "best_us": best * 1e6,
                "best_ratio": best / base_best,
            }
        )
    return {"rows": rows, "batches": len(samples["plain"]), "log_lines": sink.getvalue().count("\n")}


def run(seconds: float = 10.0, *, stream: TextIO | None = None) -> dict[str, Any]:
    return asyncio.run(_run(seconds, stream or sys.stderr))


def format_table(results: dict[str, Any]) -> str:
    lines = [
        "Per-request cost of operations, in process (fast_http_app, HS256 JWT gate, JSON responses, "
        f"direct ASGI calls; CPU time of {results['batches']} interleaved batches of 200 requests per variant):",
        "",
        "| variant | median µs / request | ± IQR | vs plain | best batch µs / request | vs plain |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in results["rows"]:
        lines.append(
            f"| {row['variant']} | {row['us_per_request']:.1f} | {row['iqr_pct']:.0f}% | {row['ratio']:.3f}× | "
            f"{row['best_us']:.1f} | {row['best_ratio']:.3f}× |"
        )
    return "\n".join(lines)
