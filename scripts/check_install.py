"""Checks one installed mcp-fastpath, as a user got it (scripts/test-dist.sh runs it in every fresh
virtualenv, from a temporary directory, with that virtualenv's interpreter):

    python check_install.py native|pure

- the package is imported from the virtualenv, not from a checkout, and `BACKEND` is the one named;
- pip installed the wheel expected for that backend (the dist-info's WHEEL tags: a platform wheel,
  or py3-none-any), with LICENSE and the `py.typed` marker;
- native: `_BUILD_INFO` says abi3, release profile, no debug assertions;
  pure: there is no `_native`, and forcing `MCP_FASTPATH_BACKEND=native` fails with the clear
  message (no "circular import");
- `fast_http_app` over a real uvicorn server answers a `tools/call` from a real HTTP client, and
  refuses a request whose `Mcp-Name` header contradicts its body (-32020, HTTP 400): the fast path,
  not only the SDK, is serving.

Prints one summary line; exits non-zero with the reason on the first failed check.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

V = "2026-07-28"


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"check-install: {what}")


def main(expected: str) -> str:
    import mcp_fastpath as fp

    package = Path(fp.__file__).resolve().parent
    check(package.is_relative_to(Path(sys.prefix).resolve()), f"imported from {package}, not from {sys.prefix}")
    check(fp.BACKEND == expected, f"BACKEND is {fp.BACKEND}, expected {expected}")

    dist = importlib.metadata.distribution("mcp-fastpath")
    tags = [line[5:] for line in (dist.read_text("WHEEL") or "").splitlines() if line.startswith("Tag: ")]
    if expected == "native":
        check(bool(tags) and "py3-none-any" not in tags, f"installed wheel tags {tags}, expected a platform wheel")
    else:
        check(tags == ["py3-none-any"], f"installed wheel tags {tags}, expected py3-none-any")
    files = {str(f) for f in dist.files or []}
    check(any(f.endswith(".dist-info/licenses/LICENSE") for f in files), "no LICENSE in the installed dist-info")
    check((package / "py.typed").is_file(), "no py.typed marker")

    from mcp_fastpath._backend import native_build

    if expected == "native":
        info = fp._impl._BUILD_INFO
        check(info["abi3"] and info["profile"] == "release" and not info["debug_assertions"], f"native build {info}")
    else:
        check(importlib.util.find_spec("mcp_fastpath._native") is None, "a pure installation holds _native")
        forced = subprocess.run(
            [sys.executable, "-c", "import mcp_fastpath"],
            env={**os.environ, "MCP_FASTPATH_BACKEND": "native"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        last = forced.stderr.strip().splitlines()[-1] if forced.stderr.strip() else ""
        check(
            forced.returncode != 0 and "has no native module" in last and "circular import" not in forced.stderr,
            f"forcing native in a pure installation: {forced.stderr!r}",
        )

    answer = serve_one_call()
    return f"{fp.BACKEND} {fp.__version__} [{', '.join(tags)}] native build: {native_build()}; {answer}"


def serve_one_call() -> str:
    """Serve an SDK server through `fast_http_app` on uvicorn (a thread), call it over HTTP."""
    import httpx
    import mcp_fastpath as fp
    import uvicorn
    from mcp.server.mcpserver import MCPServer
    from mcp_fastpath.adapters.sdk import fast_http_app

    server = MCPServer("dist-check")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    web = uvicorn.Server(uvicorn.Config(fast_http_app(server, json_response=True), log_level="warning"))
    thread = threading.Thread(target=lambda: asyncio.run(web.serve(sockets=[sock])), daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if web.started:
                break
            thread.join(0.02)
        check(web.started, "uvicorn did not start")
        meta = {
            "io.modelcontextprotocol/protocolVersion": V,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "check-install", "version": "1"},
        }
        params = {"name": "add", "arguments": {"a": 2, "b": 3}, "_meta": meta}
        message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        headers.update(fp.request_headers("tools/call", params))
        url = f"http://127.0.0.1:{port}/mcp"
        with httpx.Client(timeout=30) as client:
            ok = client.post(url, content=json.dumps(message), headers=headers)
            check(ok.status_code == 200, f"tools/call answered HTTP {ok.status_code}: {ok.text}")
            result = ok.json()["result"]
            check(result.get("structuredContent") == {"result": 5}, f"tools/call result {result}")
            bad = client.post(url, content=json.dumps(message), headers={**headers, "Mcp-Name": "sub"})
            error = bad.json().get("error", {})
            check(bad.status_code == 400 and error.get("code") == -32020, f"mismatched Mcp-Name: {bad.text}")
    finally:
        web.should_exit = True
        thread.join(10)
    return "tools/call add(2, 3) = 5 via fast_http_app on uvicorn; a contradicting Mcp-Name got -32020/400"


if __name__ == "__main__":
    print(main(sys.argv[1]))
