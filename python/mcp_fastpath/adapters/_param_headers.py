"""`Mcp-Param-*` headers on the fast path: the per-tool input schema the check needs, cached.

`SchemaCache.rejection` runs `fp.check_param_headers` for a `tools/call` with the tool's input
schema, read from the server's registry (`get_tool_input_schema`) or, for a lowlevel server
without one, from its own `tools/list` handler — as the SDK does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from mcp.server.connection import Connection
from mcp.server.lowlevel.server import Server
from mcp.server.runner import serve_one

from .. import Rejection, check_param_headers
from .._protocol import CLIENT_CAPABILITIES_META, CLIENT_INFO_META, PROTOCOL_VERSION_META
from .._sdk import HttpParts, SilentDispatchContext

__all__ = ["SchemaCache"]

logger = logging.getLogger(__name__)

_LIST_PAGE_CAP = 100


def _declares_headers(schema: Any) -> bool:
    """Whether any subschema carries `x-mcp-header`: without one, `Mcp-Param-*` headers validate
    nothing (SDK: `validate_mcp_param_headers` walks annotated positions only), so the check
    can be skipped."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "x-mcp-header" in node:
                return True
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


class SchemaCache:
    """Per-tool input schemas for the `Mcp-Param-*` check, keyed by tool name.

    - With `get_tool_input_schema` (every `MCPServer`; a lowlevel `Server` that passes one) the
      registry lookup itself is a dict read, so it runs on every call; what is cached is the derived
      fact "does this schema declare any `x-mcp-header`", keyed by tool name and valid while the
      registry returns the *same schema object* (`is`). Adding, replacing or removing a tool gives
      a new object (or None), so the entry refreshes itself the next call: no stale schema, and no
      schema walk per call.
    - Without it, the SDK asks the server's own `tools/list` handler on every `tools/call` (through
      `serve_one`, so a caller-scoped catalog answers for this caller). That stays the default
      here (`ttl_s=0`). With `ttl_s > 0` the listing's schemas are kept, by tool name, for that many
      seconds and the whole cache is dropped when it expires — only for servers whose catalog is
      the same for every caller; a changed tool list is seen within `ttl_s`.
    """

    __slots__ = ("_lowlevel", "_lookup", "_flags", "_ttl_s", "_listed", "_listed_at")

    def __init__(self, lowlevel: Server[Any], ttl_s: float) -> None:
        self._lowlevel = lowlevel
        self._lookup = lowlevel.get_tool_input_schema
        self._flags: dict[str, tuple[Any, bool]] = {}
        self._ttl_s = ttl_s
        self._listed: dict[str, Any] = {}
        self._listed_at = 0.0

    def declared(self, name: str, schema: Any) -> bool:
        entry = self._flags.get(name)
        if entry is not None and entry[0] is schema:
            return entry[1]
        flag = _declares_headers(schema)
        if len(self._flags) > 10_000:
            self._flags.clear()
        self._flags[name] = (schema, flag)
        return flag

    async def rejection(
        self, message: Any, params: Mapping[str, Any], raw_headers: Any, parts: HttpParts, lifespan_state: Any
    ) -> Rejection | None:
        """The `Rejection` for a `tools/call` whose `Mcp-Param-*` headers disagree with its
        arguments (as the SDK's `validate_mcp_param_headers` decides), else None."""
        lowlevel = self._lowlevel
        if lowlevel.get_tool_input_schema is None and lowlevel.get_request_handler("tools/list") is None:
            return None
        name = params.get("name")
        if not isinstance(name, str):
            return None
        arguments = params.get("arguments")
        if arguments is None:
            arguments = {}
        elif not isinstance(arguments, Mapping):
            return None
        if not arguments and not any(key.startswith(b"mcp-param-") for key, _ in raw_headers):
            return None
        schema = await self.schema(name, (message, parts, lifespan_state))
        if schema is None or not self.declared(name, schema):
            return None
        try:
            check_param_headers(schema, arguments, raw_headers)
        except Rejection as rejection:
            return rejection.with_request_id(message.id) if rejection.request_id is None else rejection
        return None

    async def schema(self, name: str, exchange: Any) -> Any:
        if self._lookup is not None:
            try:
                return self._lookup(name)
            except Exception:
                # Fail-open like the SDK: header validation must never break a working call path.
                logger.exception("Mcp-Param header validation skipped: get_tool_input_schema raised")
                return None
        if self._ttl_s > 0:
            now = time.monotonic()
            if now - self._listed_at > self._ttl_s:
                self._listed = {}
                self._listed_at = now
            elif name in self._listed:
                return self._listed[name]
            schema = await _list_schema(self._lowlevel, name, exchange, self._listed)
            self._listed.setdefault(name, schema)
            return schema
        return await _list_schema(self._lowlevel, name, exchange, None)


async def _list_schema(lowlevel: Server[Any], name: str, exchange: Any, into: dict[str, Any] | None) -> Any:
    """`name`'s inputSchema from the server's own `tools/list` handler (the SDK's fallback when
    there is no `get_tool_input_schema`); fail-open. `into` collects every listed schema."""
    message, parts, lifespan_state = exchange
    # The SDK's own listing context: no progress token, no sink (what the listing emits is dropped).
    dctx = SilentDispatchContext(message.id, parts=parts)
    meta: dict[str, Any] = {
        PROTOCOL_VERSION_META: message.protocol_version,
        CLIENT_CAPABILITIES_META: message.client_capabilities,
    }
    if message.client_info is not None:
        meta[CLIENT_INFO_META] = message.client_info
    list_params: dict[str, Any] = {"_meta": meta}
    seen: set[str] = set()
    found = None
    for _ in range(_LIST_PAGE_CAP):
        connection = Connection.from_envelope(
            message.protocol_version, message.client_info, message.client_capabilities
        )
        try:
            result = await serve_one(
                lowlevel, dctx, "tools/list", list_params, connection=connection, lifespan_state=lifespan_state
            )
        except Exception:
            logger.debug("Mcp-Param header validation skipped: the tools/list listing failed", exc_info=True)
            return None
        for tool in result.get("tools", []):
            if into is not None and isinstance(tool.get("name"), str):
                into.setdefault(tool["name"], tool.get("inputSchema"))
            if tool.get("name") == name and found is None:
                found = tool.get("inputSchema")
                if into is None:
                    return found
        cursor = result.get("nextCursor")
        if not isinstance(cursor, str) or cursor in seen:
            return found
        seen.add(cursor)
        list_params = {"_meta": meta, "cursor": cursor}
    return found
