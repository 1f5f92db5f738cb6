"""The end-to-end benchmark's servers: two tools, served by an official-SDK `MCPServer` and by a
FastMCP server alike,

- `forecast(place: Place) -> Forecast`: async, a pydantic model in and out (a ~500 B request);
- `add(a: int, b: int) -> int`: sync (a worker-thread hop in the SDK, in FastMCP and on the
  default fast path).

    mcp-fastpath serve benches/servers.py:mcp --keys keys.json       # fast path, Gate (JWT)
    MCP_FASTPATH_E2E_KEYS=keys.json mcp-fastpath serve benches/servers.py:mcp_jwt --sdk
                                                                     # the SDK: its bearer middleware, a PyJWT verifier
    mcp-fastpath serve benches/servers.py:fastmcp_server --keys keys.json
                                                                     # FastMCP on the fast path, Gate (JWT)
    MCP_FASTPATH_E2E_KEYS=keys.json mcp-fastpath serve benches/servers.py:fastmcp_jwt --sdk
                                                                     # FastMCP's http_app with its own JWTVerifier
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "AUDIENCE",
    "ISSUER",
    "KEYS_ENV",
    "Forecast",
    "Place",
    "PyJwtTokenVerifier",
    "build_fastmcp",
    "build_server",
    "fastmcp_jwt",
    "fastmcp_server",
    "mcp",
    "mcp_jwt",
]

KEYS_ENV = "MCP_FASTPATH_E2E_KEYS"
ISSUER = "https://auth.e2e.invalid"
AUDIENCE = "https://mcp.e2e.invalid"


class Place(BaseModel):
    city: str = Field(description="City name")
    country: str = Field(default="", description="ISO country code")
    days: int = Field(default=1, ge=1, le=7, description="How many days ahead")
    units: str = Field(default="metric", description="metric or imperial")
    include: list[str] = Field(default_factory=list, description="Extra fields to include")


class Forecast(BaseModel):
    city: str
    country: str
    days: int
    summary: str
    high: float
    low: float
    wind_kph: float
    extras: dict[str, str]


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


async def forecast(place: Place) -> Forecast:
    """A deterministic made-up forecast."""
    seed = sum(map(ord, place.city)) % 17
    return Forecast(
        city=place.city,
        country=place.country,
        days=place.days,
        summary="mild, light wind",
        high=12.0 + seed / 2,
        low=4.0 + seed / 4,
        wind_kph=10.0 + seed,
        extras={name: "n/a" for name in place.include[:8]},
    )


def build_server(**options: Any) -> Any:
    """The benchmark's `MCPServer`: `forecast` and `add`."""
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("bench", **options)
    server.tool(name="forecast")(forecast)
    server.tool(name="add")(add)
    return server


class PyJwtTokenVerifier:
    """The SDK's `TokenVerifier` protocol with PyJWT (HS256): what an SDK user writes by hand."""

    def __init__(self, secret: bytes, *, issuer: str, audience: str, leeway_s: float = 30) -> None:
        self.secret = secret
        self.issuer = issuer
        self.audience = audience
        self.leeway_s = leeway_s

    async def verify_token(self, token: str) -> Any:
        import jwt
        from mcp.server.auth.provider import AccessToken

        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=["HS256"],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp"]},
            )
        except jwt.PyJWTError:
            return None
        scope = claims.get("scope")
        return AccessToken(
            token=token,
            client_id=str(claims.get("client_id") or claims.get("sub") or ""),
            scopes=scope.split() if isinstance(scope, str) else [],
            expires_at=int(claims["exp"]),
            resource=self.audience,
            subject=claims.get("sub"),
            claims=claims,
        )


def mcp() -> Any:
    """`serve benches/servers.py:mcp`: a factory, so importing this file builds nothing."""
    return build_server()


def _hmac_key_file(user: str) -> tuple[bytes, str, str]:
    """(HS256 secret, issuer, audience) of the key file named by `$MCP_FASTPATH_E2E_KEYS`."""
    from mcp_fastpath import b64url_decode
    from mcp_fastpath.keyfile import load

    path = os.environ.get(KEYS_ENV)
    if not path:
        raise RuntimeError(f"{user} needs ${KEYS_ENV} (a key file with an HMAC key)")
    kf = load(path)
    secret = next(b64url_decode(jwk["k"]) for jwk in kf.jwks["keys"] if jwk.get("kty") == "oct")
    return secret, kf.issuer or ISSUER, kf.audience or AUDIENCE


def mcp_jwt() -> Any:
    """`build_server()` behind the SDK's bearer middleware, with a PyJWT `TokenVerifier` whose
    HS256 secret, issuer and audience come from the key file named by `$MCP_FASTPATH_E2E_KEYS`."""
    from mcp.server.auth.settings import AuthSettings

    secret, issuer, audience = _hmac_key_file("mcp_jwt")
    verifier = PyJwtTokenVerifier(secret, issuer=issuer, audience=audience)
    # validate_token_resource=False: the verifier checks `aud` itself.
    auth = AuthSettings.model_validate(
        {"issuer_url": issuer, "resource_server_url": audience, "validate_token_resource": False}
    )
    return build_server(token_verifier=verifier, auth=auth)


def build_fastmcp(**options: Any) -> Any:
    """The benchmark's tools on a FastMCP server (`fastmcp.FastMCP`, its defaults)."""
    from fastmcp import FastMCP

    server = FastMCP("bench", **options)
    server.tool(name="forecast")(forecast)
    server.tool(name="add")(add)
    return server


def fastmcp_server() -> Any:
    """`serve benches/servers.py:fastmcp_server`: a factory, so importing this file builds nothing."""
    return build_fastmcp()


def fastmcp_jwt() -> Any:
    """`build_fastmcp()` with FastMCP's own bearer auth: its `JWTVerifier` (HS256), with the secret,
    issuer and audience of the key file named by `$MCP_FASTPATH_E2E_KEYS`."""
    from fastmcp.server.auth.providers.jwt import JWTVerifier

    secret, issuer, audience = _hmac_key_file("fastmcp_jwt")
    return build_fastmcp(auth=JWTVerifier(public_key=secret, algorithm="HS256", issuer=issuer, audience=audience))
