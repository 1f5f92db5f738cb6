"""Shared builders for codec tests."""

from __future__ import annotations

import json
from typing import Any

V = "2026-07-28"
PV = "io.modelcontextprotocol/protocolVersion"
CAPS = "io.modelcontextprotocol/clientCapabilities"
INFO = "io.modelcontextprotocol/clientInfo"


def meta(**extra: Any) -> dict[str, Any]:
    return {PV: V, CAPS: {}, INFO: {"name": "test-client", "version": "1.0"}, **extra}


def request(method: str = "tools/call", id: Any = 1, **params: Any) -> dict[str, Any]:
    if method == "tools/call":
        params.setdefault("name", "add")
        params.setdefault("arguments", {"a": 1, "b": 2})
    params.setdefault("_meta", meta())
    return {"jsonrpc": "2.0", "id": id, "method": method, "params": params}


def body(message: Any) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


def headers_for(message: dict[str, Any], **overrides: str | None) -> dict[str, str]:
    params = message.get("params") or {}
    h = {"MCP-Protocol-Version": (params.get("_meta") or {}).get(PV), "Mcp-Method": message.get("method")}
    name = params.get("name", params.get("uri", params.get("taskId")))
    if isinstance(name, str):
        h["Mcp-Name"] = name
    h.update(overrides)
    return {k: v for k, v in h.items() if v is not None}


def outcome(call) -> tuple:
    """A comparable summary of a decode outcome: accepted fields, or the rejection's code/status/data/id."""
    from mcp_fastpath import Rejection

    try:
        result = call()
    except Rejection as r:
        return ("rejected", r.code, r.http_status, r.data, r.request_id)
    kind = type(result).__name__
    fields = {
        name: getattr(result, name)
        for name in (
            "id",
            "method",
            "params",
            "meta",
            "protocol_version",
            "client_info",
            "client_capabilities",
            "name",
            "result",
            "code",
            "message",
            "data",
        )
        if hasattr(result, name)
    }
    return ("accepted", kind, fields)


def skip_unless_ci(reason: str) -> None:
    """Skip on a developer's machine that lacks a service; under CI (`CI` set) fail instead, since
    `scripts/bootstrap.sh` installs everything the suite needs."""
    import os

    import pytest

    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)
