"""A tiny stateless-MCP node for the client tests: a plain ASGI app over mcp_fastpath's public API,
served by real uvicorn on loopback. It does not use the SDK adapter.

Run as `python -m tests.servers.node` (with `PYTHONPATH=python:.`). Configured by env:
- `NODE_NAME`: returned by the `whoami` tool (default "node").
- `NODE_KEYS`: a key file (`mcp_fastpath.keyfile`) → the Gate plus a memory replay cache; the
  replay check runs before anything else can fail, so a retry with the same nonce is refused.
- `NODE_FAIL_FIRST=N`: answer the first N admitted `tools/call`s with HTTP 503 (after the replay
  check has stored their nonce).
- `NODE_SIGN_RESPONSES=1`: sign results with the key file's signing key.
- `MCP_FASTPATH_BACKEND`: native | pure.
The server binds 127.0.0.1 port 0 itself and prints `PORT <n>` on stdout once listening.
`GET /_stats` answers `{"requests", "tools_calls", "nonces", "backend", "name"}`.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from typing import Any

import mcp_fastpath as fp
import orjson
from mcp_fastpath import keyfile

TOOLS = [
    {
        "name": "add",
        "description": "a + b",
        "inputSchema": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        },
    },
    {"name": "whoami", "description": "the node's name", "inputSchema": {"type": "object"}},
]


class Node:
    def __init__(self) -> None:
        self.name = os.environ.get("NODE_NAME", "node")
        self.fail_first = int(os.environ.get("NODE_FAIL_FIRST", "0"))
        keys_path = os.environ.get("NODE_KEYS")
        self.keys = keyfile.load(keys_path) if keys_path else None
        self.gate = self.keys.gate() if self.keys else fp.Gate()
        self.replay = fp.MemoryReplayCache()
        self.response_signer = self.keys.signer() if self.keys and os.environ.get("NODE_SIGN_RESPONSES") else None
        self.requests = 0
        self.tools_calls = 0
        self.nonces: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if scope["method"] == "GET" and scope["path"] == "/_stats":
            stats = {
                "requests": self.requests,
                "tools_calls": self.tools_calls,
                "nonces": self.nonces,
                "backend": fp.BACKEND,
                "name": self.name,
            }
            await _respond(send, 200, orjson.dumps(stats))
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.requests += 1
        status, payload, extra = await self.handle(body, scope["headers"])
        await _respond(send, status, payload, extra)

    async def handle(self, body: bytes, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes, dict[str, str]]:
        try:
            admitted = self.gate.admit(body, headers)
            request = admitted.request
            if isinstance(request, fp.Notification):
                return 202, b"", {}
            if admitted.signature is not None:
                self.nonces.append(admitted.signature.nonce)
                await fp.admit_once(
                    self.replay, admitted.signature, self.gate.envelope.max_skew_s, request_id=request.id
                )
        except fp.Rejection as exc:
            return exc.http_status, exc.to_bytes(), dict(exc.headers)
        if request.method == "tools/call":
            self.tools_calls += 1
            if self.tools_calls <= self.fail_first:
                return 503, b"overloaded, try another node", {}
        try:
            result = self.dispatch(request)
        except LookupError as exc:
            return 404, fp.encode_error(request.id, -32601, str(exc)), {}
        except (KeyError, TypeError, ValueError) as exc:
            return 400, fp.encode_error(request.id, -32602, f"invalid params: {exc}"), {}
        if self.response_signer is not None:
            signed = self.response_signer.sign_response({"jsonrpc": "2.0", "id": request.id, "result": result})
            return 200, orjson.dumps(signed), {}
        return 200, fp.encode_response(request.id, result), {}

    def dispatch(self, request: Any) -> dict[str, Any]:
        method = request.method
        if method == "server/discover":
            extensions = {"dev.mcp-fastpath/signed-envelope": {}} if self.keys else {}
            return {
                "supportedVersions": ["2026-07-28"],
                "capabilities": {"tools": {}, "extensions": extensions},
                "_meta": {"io.modelcontextprotocol/serverInfo": {"name": self.name, "version": "0"}},
            }
        if method == "tools/list":
            return {"tools": TOOLS}
        if method == "tools/call":
            name = request.params["name"]
            args = request.params.get("arguments") or {}
            if name == "add":
                a, b = args["a"], args["b"]
                if type(a) is not int or type(b) is not int:
                    raise TypeError("a and b are integers")
                value: Any = a + b
            elif name == "whoami":
                value = self.name
            else:
                return {"content": [{"type": "text", "text": f"unknown tool {name}"}], "isError": True}
            return {
                "content": [{"type": "text", "text": str(value)}],
                "structuredContent": {"result": value},
                "isError": False,
            }
        raise LookupError(f"Method not found: {method}")


async def _respond(send: Any, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(Node(), log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)

    async def run() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            await asyncio.sleep(0.01)
        print(f"PORT {port}", flush=True)
        await task

    asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
