"""The adapters' side of RFC 9728: the metadata document at its well-known paths, and the
`resource_metadata` parameter on every 401 (and 403) challenge they send.

The gate's rejections carry `WWW-Authenticate: Bearer` (no token), `Bearer error="invalid_token"`
or `Bearer error="insufficient_scope", scope="…"` (RFC 6750). The gate does not know the server's
public URL; here it is known, so `challenge()` adds `resource_metadata="<metadata URL>"` to each,
and to a 401 without a `scope` it adds the scopes the request's method needs under the gate's
policy (the MCP authorization spec's scope guidance: a client asks for just those).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import orjson

from .. import routing_keys
from ..resource_metadata import WELL_KNOWN, ResourceMetadata, metadata_url, well_known_paths
from ._http import route_path, send_response

__all__ = ["ResourceMetadataService", "metadata_service"]

_HOST = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, OPTIONS",
    "Access-Control-Allow-Headers": "mcp-protocol-version",
}
_CACHE_LIMIT = 512


class ResourceMetadataService:
    """Serves the metadata document for the endpoint at `endpoint_path` and rewrites challenges.
    `gates` is the adapter's gate provider (the document follows the gate in force)."""

    def __init__(self, config: ResourceMetadata, gates: Any, endpoint_path: str) -> None:
        self.config = config
        self.gates = gates
        self.endpoint_path = endpoint_path
        self._headers: dict[tuple[str | None, str, str | None], str] = {}

    # -- the document ------------------------------------------------------------------------------

    @staticmethod
    def matches(scope: dict[str, Any]) -> bool:
        """A request under the well-known prefix (`serve` answers 404 for suffixes not ours)."""
        if scope["type"] != "http":
            return False
        path = route_path(scope)
        return path == WELL_KNOWN or path.startswith(WELL_KNOWN + "/")

    def paths(self, gate: Any) -> list[str]:
        """Where the document is: the root form, the MCP endpoint's path-suffixed form, and the
        resource URL's path-suffixed form when that differs (a proxy that mounts the app elsewhere)."""
        fixed = self.config.fixed_resource(gate)
        return well_known_paths(self.endpoint_path, *([urlsplit(fixed).path] if fixed else []))

    def resource_for(self, scope: dict[str, Any], gate: Any) -> str | None:
        """The resource URL: fixed by configuration or the audience, else this request's origin
        and the endpoint path (None when the request names no usable host)."""
        fixed = self.config.fixed_resource(gate)
        if fixed is not None:
            return fixed
        host = None
        for name, value in scope["headers"]:
            if name == b"host":
                host = value.decode("latin-1")
                break
        if host is None or not _HOST.fullmatch(host):
            server = scope.get("server")
            if not server:
                return None
            host = f"{server[0]}:{server[1]}" if ":" not in server[0] else f"[{server[0]}]:{server[1]}"
        scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
        return f"{scheme}://{host}{scope.get('root_path', '')}{self.endpoint_path}"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.serve(scope, receive, send)

    async def serve(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """GET/HEAD: the JSON document (CORS-readable: browser clients fetch it); OPTIONS: a CORS
        preflight answer; anything else 405."""
        method = scope["method"]
        if method == "OPTIONS":  # a preflight: no gate needed
            await send_response(send, 204, b"", _CORS, content_type=None)
            return
        if method not in ("GET", "HEAD"):
            await send_response(send, 405, b"", {"Allow": "GET, HEAD, OPTIONS"}, content_type=None)
            return
        gate = self.gates.current()
        if route_path(scope) not in self.paths(gate):
            await send_response(send, 404, b"Not Found", content_type=(b"content-type", b"text/plain; charset=utf-8"))
            return
        resource = self.resource_for(scope, gate)
        if resource is None:
            await send_response(send, 400, b"", content_type=None)
            return
        body = orjson.dumps(self.config.document(gate, resource))
        headers = {**_CORS, "Cache-Control": "max-age=300"}
        if method == "HEAD":
            await send({"type": "http.response.start", "status": 200, "headers": _raw(body, headers)})
            await send({"type": "http.response.body", "body": b""})
            return
        await send_response(send, 200, body, headers)

    # -- challenges --------------------------------------------------------------------------------

    def challenge(self, rejection: Any, scope: dict[str, Any], body: bytes | None, gate: Any) -> Any:
        """`rejection` with `resource_metadata` (and, on a 401, the scopes the request needs) in
        its `WWW-Authenticate`; other rejections unchanged."""
        status = rejection.http_status
        if status != 401 and status != 403:
            return rejection
        resource = self.resource_for(scope, gate)
        if resource is None:
            return rejection
        original = rejection.headers.get("WWW-Authenticate")
        if status == 403 and (original is None or "insufficient_scope" not in original):
            return rejection
        needed = None
        if status == 401 and body is not None and (original is None or "scope=" not in original):
            needed = _required_scopes(gate, body)
        key = (original, resource, needed)
        value = self._headers.get(key)
        if value is None:
            if len(self._headers) >= _CACHE_LIMIT:
                self._headers.clear()
            value = self._headers[key] = _with_metadata(original, metadata_url(resource), needed)
        challenged = rejection.with_request_id(rejection.request_id)
        challenged.headers = {**rejection.headers, "WWW-Authenticate": value}
        return challenged


def metadata_service(option: Any, gates: Any, endpoint_path: str) -> ResourceMetadataService | None:
    """The adapters' `resource_metadata=` option: None (on when the gate checks JWTs), True (on),
    False (off), a `ResourceMetadata` or a dict of its fields."""
    if option is False:
        return None
    if gates is None:
        if option is not None:
            raise ValueError("resource_metadata needs a gate that checks JWTs (there is nothing to protect)")
        return None
    if option is None or option is True:
        if not gates.checks_tokens:
            if option is True:
                raise ValueError("resource_metadata=True needs a gate that checks JWTs")
            return None
        option = ResourceMetadata()
    elif isinstance(option, dict):
        option = ResourceMetadata(**option)
    elif not isinstance(option, ResourceMetadata):
        raise TypeError("resource_metadata is None, True, False, a dict or a ResourceMetadata")
    return ResourceMetadataService(option, gates, endpoint_path)


def _with_metadata(original: str | None, url: str, scopes: str | None) -> str:
    params = (original or "Bearer").strip()
    scheme, _, rest = params.partition(" ")
    parts = [p for p in (rest.strip(),) if p]
    parts.append(f'resource_metadata="{url}"')
    if scopes:
        parts.append(f'scope="{scopes}"')
    return f"{scheme} {', '.join(parts)}"


def _required_scopes(gate: Any, body: bytes) -> str | None:
    policy = getattr(gate, "policy", None)
    if policy is None:
        return None
    try:
        keys = routing_keys(body)
    except Exception:  # a body that does not parse names no method: no scope guidance
        return None
    if not keys.method:
        return None
    required = policy.required(keys.method, keys.name)
    return " ".join(required) if required else None


def _raw(body: bytes, headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    raw = [(b"content-length", str(len(body)).encode("ascii")), (b"content-type", b"application/json")]
    raw.extend((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items())
    return raw
