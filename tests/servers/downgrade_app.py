"""The server of the downgrade tests (tests/test_downgrade.py): a gated official-SDK server whose
tools leave a trace of every execution, so a test can tell that a refused call never ran.

- `build_server()`: the `MCPServer` (`serve tests/servers/downgrade_app.py:build_server --keys …`);
- `python -m tests.servers.downgrade_app`: the same server behind `EnvelopeGuard` (the SDK's own
  stock app inside), with `DOWNGRADE_LEGACY=refuse|bearer`.
Every execution of `record` or `secret` appends a line to the file named by `$DOWNGRADE_LOG`.
"""

from __future__ import annotations

import asyncio
import os
import sys

from mcp.server.mcpserver import MCPServer

from tests.servers import serve_on_free_port

SECRET = b"downgrade-test-secret-0123456789abcdef"
KID = "k1"
ISSUER = "https://auth.downgrade.test"
AUDIENCE = "https://mcp.downgrade.test"
POLICY = {"tools/call:secret": ["admin"], "*": ["mcp"]}


def _trace(what: str) -> None:
    with open(os.environ["DOWNGRADE_LOG"], "a") as log:
        log.write(what + "\n")


def build_server() -> MCPServer:
    server = MCPServer("downgrade-test", version="1.0")

    @server.tool()
    def record(label: str) -> str:
        """Leave a trace of this execution."""
        _trace(label)
        return f"recorded {label}"

    @server.tool()
    def secret(label: str) -> str:
        """Only for principals holding the admin scope."""
        _trace(f"secret {label}")
        return "the secret"

    return server


def build_gate():
    import mcp_fastpath as fp

    key = fp.HmacKey(KID, SECRET)
    return fp.Gate(
        jwt=fp.JwtVerifier(fp.KeyRing([key]), issuer=ISSUER, audience=AUDIENCE), policy=fp.ScopePolicy(POLICY)
    )


def build_guarded_app():
    from mcp_fastpath.adapters.asgi import EnvelopeGuard

    inner = build_server().streamable_http_app(json_response=True)
    return EnvelopeGuard(inner, gate=build_gate(), legacy=os.environ.get("DOWNGRADE_LEGACY", "refuse"))


async def main() -> None:
    await serve_on_free_port(build_guarded_app())


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
