"""Who called, at the HTTP layer: the bearer token of a raw ASGI request, and a verified JWT's
`Principal` as the official SDK's `AccessToken` (what its auth middleware, session ownership and
`get_access_token()` read)."""

from __future__ import annotations

from typing import Any

from .. import Unauthenticated

__all__ = ["access_token_for", "bearer_token"]


def bearer_token(raw_headers: list[tuple[bytes, bytes]]) -> str | None:
    """The token of `Authorization: Bearer <token>` (scheme case-insensitive), or None without one.
    Two `Authorization` headers are refused, as the gate refuses them (a proxy may have read the
    other one)."""
    values = [value for name, value in raw_headers if name.lower() == b"authorization"]
    if len(values) > 1:
        raise Unauthenticated(-32010, "malformed token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    if not values:
        return None
    scheme, _, rest = values[0].decode("latin-1").strip(" \t").partition(" ")
    return rest.lstrip(" ") if scheme.lower() == "bearer" else None


def access_token_for(principal: Any, token: str) -> Any:
    """The SDK's `AccessToken` for a verified token: `client_id` (the `client_id` / `azp` claim, else
    `sub`, else ""), `scopes`, `expires_at` (int seconds), `resource` (the audience verified against),
    `subject` and the full `claims`."""
    from mcp.server.auth.provider import AccessToken

    claims = dict(principal.claims)
    client_id = claims.get("client_id") or claims.get("azp") or principal.subject or ""
    return AccessToken(
        token=token,
        client_id=str(client_id),
        scopes=list(principal.scopes),
        expires_at=int(principal.expires_at) if principal.expires_at is not None else None,
        resource=principal.audience if isinstance(principal.audience, str) else None,
        subject=principal.subject,
        claims=claims,
    )
