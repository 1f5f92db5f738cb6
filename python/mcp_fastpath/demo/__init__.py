"""`mcp-fastpath demo`: the example server (`demo.server`) started with fresh keys in a child
process (`demo.processes`), a signed client session against it (`demo.session`), then — from a
source checkout — a short throughput table from `benches/e2e.py`.

`run(...)` is what the command calls; the pieces are importable on their own (the server is a
normal `MCPServer`: `mcp-fastpath serve mcp_fastpath.demo.server:mcp`).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import TextIO

__all__ = ["DEFAULT_TARGET", "run"]

DEFAULT_TARGET = "mcp_fastpath.demo.server:mcp"


def run(
    target: str = DEFAULT_TARGET,
    *,
    alg: str = "ed25519",
    bench_seconds: float | None = 3.0,
    out: TextIO | None = None,
) -> bool:
    """Serve `target` with fresh keys, run the signed session (True when every step behaved), then
    print a short throughput table when `bench_seconds` is set and the benchmarks are at hand."""
    from .. import BACKEND
    from ..keyfile import generate
    from .processes import free_port, start_server, wait_ready
    from .session import run_session

    out = out or sys.stdout
    with tempfile.TemporaryDirectory(prefix="mcp-fastpath-demo-") as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}/mcp"
        client_keys = generate(alg, "demo-client", audience=url, issuer="https://auth.demo.invalid")
        # The server gets the public half only (Ed25519): it verifies envelopes and EdDSA JWTs.
        server_keys_path = client_keys.to_public().write(Path(tmp) / "server-keys.json")
        print(f"$ mcp-fastpath serve {target} --port {port} --keys {server_keys_path}", file=out)
        proc = start_server([target, "--keys", str(server_keys_path)], port)
        try:
            wait_ready(port, proc)
            print(
                f"  server up on {url} (backend {BACKEND}; signed envelope {client_keys.signer().alg} "
                "+ JWT, memory replay cache)\n",
                file=out,
            )
            ok = asyncio.run(run_session(url, client_keys, out))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except Exception:
                proc.kill()
    if bench_seconds:
        _throughput(bench_seconds, out)
    return ok


def _throughput(seconds: float, out: TextIO) -> None:
    from .._checkout import BenchesNotFound, import_benches

    try:
        e2e = import_benches("e2e")
    except BenchesNotFound as exc:
        print(f"\nThroughput: skipped ({exc})", file=out)
        return
    print("\nThroughput (short run; `mcp-fastpath bench --e2e` for the full tables):\n", file=out, flush=True)
    results = e2e.run(seconds, rounds=2, warmup_s=0.5, jwt=False, tools=("forecast",), variants=(), stream=sys.stderr)
    print(e2e.format_tables(results), file=out)
