"""The end-to-end benchmark's server: one official-SDK `MCPServer` with a tool `add(a: int, b: int) -> int`.

    mcp-fastpath serve benches/servers.py:mcp              # fast path
    mcp-fastpath serve benches/servers.py:mcp --sdk        # the SDK's stock app
    MCP_FASTPATH_E2E_KEYS=keys.json mcp-fastpath serve benches/servers.py:mcp_jwt --sdk
                                                           # SDK bearer auth, PyJWT TokenVerifier

The definitions live in `mcp_fastpath.e2e` (so `mcp-fastpath demo` and `bench --e2e` work from an
installed wheel); this file names them for `serve`.
"""

from mcp_fastpath.e2e import build_add_server, build_add_server_jwt

mcp = build_add_server()
mcp_jwt = build_add_server_jwt  # a factory: reads the key file named by $MCP_FASTPATH_E2E_KEYS

__all__ = ["mcp", "mcp_jwt"]
