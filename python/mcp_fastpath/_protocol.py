"""Protocol constants shared by the adapters, the Tasks runtime and the client (no imports)."""

from __future__ import annotations

__all__ = [
    "CLIENT_CAPABILITIES_META",
    "CLIENT_INFO_META",
    "HANDSHAKE_VERSIONS",
    "LOG_LEVEL_META",
    "MODERN_VERSION",
    "PROTOCOL_VERSION_META",
    "SIGNED_ENVELOPE_EXTENSION",
    "TASKS_EXTENSION",
]

# The revision this package serves: every request self-contained, no handshake, no session.
MODERN_VERSION = "2026-07-28"

# The revisions served through the `initialize` handshake (mcp_types.version,
# HANDSHAKE_PROTOCOL_VERSIONS in mcp 2.3.0). A POST whose `MCP-Protocol-Version` header names
# anything else is routed as a stateless-era request, as the SDK's session manager routes it.
HANDSHAKE_VERSIONS = frozenset({"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"})

# `params._meta` keys of a 2026-07-28 request (basic/index: the per-request envelope).
PROTOCOL_VERSION_META = "io.modelcontextprotocol/protocolVersion"
CLIENT_CAPABILITIES_META = "io.modelcontextprotocol/clientCapabilities"
CLIENT_INFO_META = "io.modelcontextprotocol/clientInfo"
LOG_LEVEL_META = "io.modelcontextprotocol/logLevel"

# Extensions (`capabilities.extensions` of `server/discover`).
TASKS_EXTENSION = "io.modelcontextprotocol/tasks"
SIGNED_ENVELOPE_EXTENSION = "dev.mcp-fastpath/signed-envelope"
