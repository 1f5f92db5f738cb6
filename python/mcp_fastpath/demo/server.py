"""The demo's example server: an official-SDK `MCPServer` with a few tools that show what the fast
path carries — plain and structured results, a pydantic model in and out, a sync and an async
tool, and who called (the verified identity the gate hands to tools).

    mcp-fastpath serve mcp_fastpath.demo.server:mcp --port 8000
    mcp-fastpath call http://127.0.0.1:8000/mcp tools/call '{"name": "add", "arguments": {"a": 2, "b": 3}}'
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel, Field

from ..adapters import current_admission

__all__ = ["Forecast", "Place", "build_server", "mcp"]


class Place(BaseModel):
    city: str = Field(description="City name")
    days: int = Field(default=1, ge=1, le=7, description="How many days ahead")


class Forecast(BaseModel):
    city: str
    days: int
    summary: str
    high_c: float


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


async def forecast(place: Place) -> Forecast:
    """A (made-up, deterministic) weather forecast for a place."""
    high = 12.0 + (sum(map(ord, place.city)) % 15) + place.days / 2
    return Forecast(city=place.city, days=place.days, summary="mild, light wind", high_c=high)


def whoami() -> dict[str, Any]:
    """Who the gate admitted: the JWT subject and the envelope's key id (None without a gate)."""
    admission = current_admission()
    if admission is None:
        return {"subject": None, "kid": None}
    principal, signature = admission.principal, admission.signature
    return {
        "subject": principal.subject if principal is not None else None,
        "kid": signature.kid if signature is not None else None,
    }


def build_server() -> MCPServer:
    """A fresh demo server (the tools above)."""
    server = MCPServer("mcp-fastpath-demo", instructions="The mcp-fastpath demo server.")
    server.tool()(add)
    server.tool()(forecast)
    server.tool()(whoami)
    return server


mcp = build_server()
