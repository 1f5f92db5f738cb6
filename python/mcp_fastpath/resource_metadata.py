"""OAuth 2.0 Protected Resource Metadata (RFC 9728) for an MCP server that checks bearer JWTs.

MCP clients find out where to get a token from this document: a 401 names it in
`WWW-Authenticate: Bearer resource_metadata="…"`, and clients that get no such header try the
well-known URLs, first with the MCP endpoint's path appended
(`https://host/.well-known/oauth-protected-resource/mcp`), then the root
(`https://host/.well-known/oauth-protected-resource`). The adapters serve the document at both
whenever the gate checks JWTs (`fast_http_app(..., resource_metadata=...)`, `EnvelopeGuard`).

`ResourceMetadata()` with no arguments takes everything from the gate:
- `resource`: the server's canonical URL (RFC 8707), which is also the audience its tokens must
  carry: the gate's JWT audience when that is an http(s) URL; otherwise built per request from
  the request's scheme and `Host` (set it explicitly behind a proxy);
- `authorization_servers`: the gate's JWT issuer;
- `scopes_supported`: every scope the gate's scope policy names (omitted without a policy).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ["WELL_KNOWN", "ResourceMetadata", "metadata_url", "well_known_paths"]

WELL_KNOWN = "/.well-known/oauth-protected-resource"


@dataclass(frozen=True)
class ResourceMetadata:
    """What the metadata document says (None: from the gate, see the module docstring).

    `extra` adds further RFC 9728 members (`resource_documentation`, `resource_policy_uri`, …).
    """

    resource: str | None = None
    authorization_servers: Sequence[str] | None = None
    scopes_supported: Sequence[str] | None = None
    bearer_methods_supported: Sequence[str] = ("header",)
    resource_name: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.resource is not None and not is_http_url(self.resource):
            raise ValueError(f"resource must be an absolute http(s) URL without a fragment, not {self.resource!r}")
        for name in ("authorization_servers", "scopes_supported", "bearer_methods_supported"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise TypeError(f"{name} is a list of strings, not one string")
        for server in self.authorization_servers or ():
            if not is_http_url(server):
                raise ValueError(f"an authorization server is an absolute http(s) URL, not {server!r}")

    def document(self, gate: Any, resource: str) -> dict[str, Any]:
        """The JSON document for `resource` (the URL already chosen), filled in from `gate`."""
        jwt = getattr(gate, "jwt", None)
        servers = list(self.authorization_servers) if self.authorization_servers is not None else []
        if not servers and jwt is not None:
            servers = [jwt.issuer]
        doc: dict[str, Any] = {"resource": resource, "authorization_servers": servers}
        scopes = self.scopes_supported
        if scopes is None:
            policy = getattr(gate, "policy", None)
            if policy is not None:
                scopes = policy_scopes(policy)
        if scopes:
            doc["scopes_supported"] = list(scopes)
        doc["bearer_methods_supported"] = list(self.bearer_methods_supported)
        if self.resource_name is not None:
            doc["resource_name"] = self.resource_name
        doc.update(self.extra)
        return doc

    def fixed_resource(self, gate: Any) -> str | None:
        """The resource URL when it does not depend on the request: the configured one, else the
        gate's JWT audience when that is an http(s) URL; None when it must come from the request."""
        if self.resource is not None:
            return self.resource
        jwt = getattr(gate, "jwt", None)
        if jwt is not None and is_http_url(jwt.audience):
            return jwt.audience
        return None


def policy_scopes(policy: Any) -> list[str]:
    """Every scope a `ScopePolicy` names, in rule order, each once."""
    seen: dict[str, None] = {}
    for scopes in policy.rules.values():
        for scope in scopes:
            seen.setdefault(scope, None)
    return list(seen)


def is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.fragment and "#" not in value


def metadata_url(resource: str) -> str:
    """RFC 9728 §3.1: the well-known path inserted between the resource URL's host and its path
    (`https://h/mcp` → `https://h/.well-known/oauth-protected-resource/mcp`)."""
    parts = urlsplit(resource)
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, WELL_KNOWN + path, parts.query, ""))


def well_known_paths(*endpoint_paths: str) -> list[str]:
    """The paths the document is served at: the root form, and the path-suffixed form of each
    MCP endpoint path given (duplicates and empty paths dropped)."""
    out = [WELL_KNOWN]
    for path in endpoint_paths:
        path = path.rstrip("/")
        if path and not path.startswith("/"):
            path = "/" + path
        if path and WELL_KNOWN + path not in out:
            out.append(WELL_KNOWN + path)
    return out
