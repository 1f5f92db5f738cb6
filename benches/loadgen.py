"""The end-to-end benchmark's load generator, a process of its own: a JSON plan on stdin
(`targets`, `steps`, `connections`), JSON results on stdout (per step: elapsed time, latencies,
errors). Keep-alive HTTP/1.1 over raw asyncio streams, so the client costs as little as possible.

A target with a `jwt` member gets a distinct HS256 token on every request (a `jti` counter in
the claims, signed here with mcp_fastpath's `sign_jwt`, native when built), so no token cache on
the server side can help.

    python benches/loadgen.py < plan.json
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import socket
import sys
import time
from collections.abc import Callable
from typing import Any


def _request_maker(target: dict[str, Any]) -> Callable[[], bytes]:
    """A function returning the next request's bytes for `target`."""
    body = target["body"].encode()
    lines = ["POST /mcp HTTP/1.1", f"Host: 127.0.0.1:{target['port']}"]
    lines += [f"{k}: {v}" for k, v in target["headers"].items()]
    lines.append(f"Content-Length: {len(body)}")
    head = "\r\n".join(lines).encode("latin-1")
    jwt = target.get("jwt")
    if jwt is None:
        whole = head + b"\r\n\r\n" + body
        return lambda: whole
    from mcp_fastpath import _backend

    try:
        codec = _backend.load("native")[1]
    except ImportError:  # pragma: no cover - a pure-only installation
        codec = _backend.load("pure")[1]
    key = codec.HmacKey(jwt["kid"], base64.b64decode(jwt["secret"]))
    claims = dict(jwt["claims"])
    counter = itertools.count()
    sign = codec.sign_jwt

    def make() -> bytes:
        claims["jti"] = str(next(counter))
        token = sign(key, claims).encode("ascii")
        return head + b"\r\nAuthorization: Bearer " + token + b"\r\n\r\n" + body

    return make


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


async def _connection(
    port: int, make: Callable[[], bytes], deadline: float, lat: list[int], counts: dict[str, Any]
) -> None:
    perf = time.perf_counter_ns
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    deadline_ns = int(deadline * 1e9)
    try:
        while True:
            request = make()
            t0 = perf()
            if t0 >= deadline_ns:
                return
            writer.write(request)
            status, body = await _read_response(reader)
            t1 = perf()
            if status == 200 and b'"result"' in body and b'"isError":true' not in body:
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


async def _slice(target: dict[str, Any], make: Callable[[], bytes], seconds: float, connections: int) -> dict[str, Any]:
    lat: list[int] = []
    counts: dict[str, Any] = {"errors": 0}
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(*(_connection(target["port"], make, deadline, lat, counts) for _ in range(connections)))
    elapsed = time.perf_counter() - start
    return {
        "name": target["name"],
        "elapsed": elapsed,
        "latencies_ns": lat,
        "errors": counts["errors"],
        "samples": counts.get("samples", []),
    }


async def _run_plan(plan: dict[str, Any]) -> list[dict[str, Any]]:
    targets = {t["name"]: t for t in plan["targets"]}
    makers = {name: _request_maker(t) for name, t in targets.items()}
    out = []
    for step in plan["steps"]:
        name = step["name"]
        result = await _slice(targets[name], makers[name], step["seconds"], plan["connections"])
        result["warmup"] = step.get("warmup", False)
        out.append(result)
    return out


def main() -> int:
    plan = json.load(sys.stdin)
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - depends on the environment
        runner = asyncio.run
    results = runner(_run_plan(plan))
    json.dump(results, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
