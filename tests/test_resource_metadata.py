"""OAuth 2.0 Protected Resource Metadata (RFC 9728) and the challenges that point to it
(RFC 6750 / the MCP authorization spec): the document at both well-known paths, and
`resource_metadata=` on every 401 and 403 the adapters send. Real servers on loopback (`serve`,
`EnvelopeGuard`), both backends; the document is read back with the SDK's own model."""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import httpx
import mcp_fastpath as fp
import pytest
from mcp.shared.auth import ProtectedResourceMetadata
from mcp_fastpath.adapters.asgi import EnvelopeGuard
from mcp_fastpath.demo.processes import free_port
from mcp_fastpath.keyfile import KeyFile
from mcp_fastpath.resource_metadata import ResourceMetadata, metadata_url, well_known_paths

from tests import asgi_driver
from tests.adapter_helpers import BACKENDS, ServerProcess, headers_for, message
from tests.test_gates import Serve

ISSUER = "https://auth.test"
POLICY = {"tools/call:add": ["tools.add"], "*": ["mcp"]}


# ---- the pieces ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "url"),
    [
        ("https://h.example/mcp", "https://h.example/.well-known/oauth-protected-resource/mcp"),
        ("https://h.example", "https://h.example/.well-known/oauth-protected-resource"),
        ("https://h.example/", "https://h.example/.well-known/oauth-protected-resource"),
        ("http://127.0.0.1:8443/a/b/", "http://127.0.0.1:8443/.well-known/oauth-protected-resource/a/b"),
    ],
)
def test_metadata_url_inserts_the_well_known_path(resource, url):
    assert metadata_url(resource) == url


def test_well_known_paths():
    assert well_known_paths("/mcp", "/mcp", "") == [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ]
    assert well_known_paths("/mcp", "/api/mcp/")[-1] == "/.well-known/oauth-protected-resource/api/mcp"


@pytest.mark.parametrize(
    "bad",
    [
        {"resource": "mcp.example.com"},
        {"resource": "https://h.example/mcp#frag"},
        {"authorization_servers": "https://auth.example"},
        {"authorization_servers": ["ftp://auth.example"]},
    ],
)
def test_resource_metadata_refuses_what_clients_would_refuse(bad):
    with pytest.raises((TypeError, ValueError)):
        ResourceMetadata(**bad)


def test_document_from_the_gate(backend):
    ring = backend.KeyRing([backend.HmacKey("k", b"k" * 32)])
    gate = backend.Gate(
        jwt=backend.JwtVerifier(ring, issuer=ISSUER, audience="https://mcp.example/mcp"),
        policy=backend.ScopePolicy({"tools/call:add": ["tools.add", "mcp"], "*": ["mcp"]}),
    )
    default = ResourceMetadata()
    assert default.fixed_resource(gate) == "https://mcp.example/mcp"
    assert default.document(gate, "https://mcp.example/mcp") == {
        "resource": "https://mcp.example/mcp",
        "authorization_servers": [ISSUER],
        "scopes_supported": ["tools.add", "mcp"],
        "bearer_methods_supported": ["header"],
    }
    custom = ResourceMetadata(
        resource="https://public.example/mcp",
        authorization_servers=["https://login.example"],
        scopes_supported=["read"],
        resource_name="calc",
        extra={"resource_documentation": "https://docs.example"},
    )
    doc = custom.document(gate, custom.fixed_resource(gate))
    assert doc["resource"] == "https://public.example/mcp" and doc["authorization_servers"] == ["https://login.example"]
    assert doc["scopes_supported"] == ["read"] and doc["resource_name"] == "calc"
    assert doc["resource_documentation"] == "https://docs.example"
    ProtectedResourceMetadata.model_validate(doc)


# ---- serve, for real --------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory):
    """`serve --keys` with a JWT key file whose audience is the server's own URL, and a policy."""
    tmp = tmp_path_factory.mktemp("prm")
    key = fp.HmacKey("k1", os.urandom(32))
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    path = tmp / "keys.json"
    KeyFile(
        jwks={"keys": [key.to_jwk(private=True)]}, issuer=ISSUER, audience=url, envelope=False, policy=POLICY
    ).write(path)
    proc = Serve(tmp, request.param, "--keys", str(path), "--legacy", "bearer", port=port)
    try:
        yield proc, key
    finally:
        proc.stop()


def bearer(key: Any, audience: str, scopes: str) -> str:
    now = int(time.time())
    return fp.sign_jwt(key, {"iss": ISSUER, "aud": audience, "sub": "u", "exp": now + 300, "scope": scopes})


def call(url: str, msg: dict[str, Any], token: str | None = None) -> httpx.Response:
    headers = headers_for(msg)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(url, content=json.dumps(msg), headers=headers, timeout=10)


def test_the_document_at_both_well_known_paths(server):
    proc, _ = server
    base = proc.url.removesuffix("/mcp")
    for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
        r = httpx.get(base + path, timeout=10)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.headers["access-control-allow-origin"] == "*"  # browser clients read it cross-origin
        assert r.json() == {
            "resource": proc.url,
            "authorization_servers": [ISSUER],
            "scopes_supported": ["tools.add", "mcp"],
            "bearer_methods_supported": ["header"],
        }
        ProtectedResourceMetadata.model_validate_json(r.content)
    preflight = httpx.options(base + "/.well-known/oauth-protected-resource/mcp", timeout=10)
    assert preflight.status_code == 204 and "GET" in preflight.headers["access-control-allow-methods"]
    assert httpx.get(base + "/.well-known/oauth-protected-resource/other", timeout=10).status_code == 404
    assert httpx.post(base + "/.well-known/oauth-protected-resource", timeout=10).status_code == 405


def test_every_401_names_the_metadata_and_the_scopes_needed(server):
    proc, key = server
    metadata = metadata_url(proc.url)
    add = message("tools/call", name="add", arguments={"a": 1, "b": 2})

    r = call(proc.url, add)  # no token
    assert r.status_code == 401 and r.json()["error"]["code"] == -32010
    assert r.headers["www-authenticate"] == f'Bearer resource_metadata="{metadata}", scope="tools.add"'

    r = call(proc.url, message("tools/list"))  # the "*" rule's scope
    assert r.headers["www-authenticate"] == f'Bearer resource_metadata="{metadata}", scope="mcp"'

    r = call(proc.url, add, "not.a.token")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == (
        f'Bearer error="invalid_token", resource_metadata="{metadata}", scope="tools.add"'
    )

    r = call(proc.url, add, bearer(key, "https://someone-else.example", "tools.add"))  # another audience
    assert r.status_code == 401 and f'resource_metadata="{metadata}"' in r.headers["www-authenticate"]


def test_403_is_an_insufficient_scope_challenge(server):
    proc, key = server
    add = message("tools/call", name="add", arguments={"a": 1, "b": 2})
    r = call(proc.url, add, bearer(key, proc.url, "mcp"))
    assert r.status_code == 403 and r.json()["error"]["code"] == -32011
    assert r.headers["www-authenticate"] == (
        f'Bearer error="insufficient_scope", scope="tools.add", resource_metadata="{metadata_url(proc.url)}"'
    )
    r = call(proc.url, add, bearer(key, proc.url, "mcp tools.add"))
    assert r.status_code == 200 and r.json()["result"]["structuredContent"] == {"result": 3}


def test_handshake_era_401_names_the_metadata_too(server):
    proc, _ = server
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    r = httpx.post(proc.url, content=json.dumps(init), headers=headers, timeout=10)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == f'Bearer resource_metadata="{metadata_url(proc.url)}"'


def test_serve_without_resource_metadata(tmp_path):
    key = fp.HmacKey("k1", os.urandom(32))
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    path = tmp_path / "keys.json"
    KeyFile(jwks={"keys": [key.to_jwk(private=True)]}, issuer=ISSUER, audience=url, envelope=False).write(path)
    proc = Serve(tmp_path, "native", "--keys", str(path), "--no-resource-metadata", port=port)
    try:
        assert httpx.get(url.removesuffix("/mcp") + "/.well-known/oauth-protected-resource").status_code == 404
        assert call(url, message("tools/list")).headers["www-authenticate"] == "Bearer"
    finally:
        proc.stop()


def test_serve_with_a_public_url_and_another_authorization_server(tmp_path):
    key = fp.HmacKey("k1", os.urandom(32))
    path = tmp_path / "keys.json"
    KeyFile(
        jwks={"keys": [key.to_jwk(private=True)]},
        issuer=ISSUER,
        audience="https://public.example/api/mcp",
        envelope=False,
    ).write(path)
    proc = Serve(
        tmp_path,
        "pure",
        *("--keys", str(path), "--authorization-server", "https://login.example/tenant"),
        *("--resource-url", "https://public.example/api/mcp"),
    )
    try:
        base = proc.url.removesuffix("/mcp")
        # Served at the MCP path's suffix and at the public URL's (a proxy may map /api/mcp here).
        for suffix in ("/mcp", "/api/mcp", ""):
            doc = httpx.get(f"{base}/.well-known/oauth-protected-resource{suffix}", timeout=10).json()
            assert doc["resource"] == "https://public.example/api/mcp"
            assert doc["authorization_servers"] == ["https://login.example/tenant"]
        challenge = call(proc.url, message("tools/list")).headers["www-authenticate"]
        assert (
            challenge
            == 'Bearer resource_metadata="https://public.example/.well-known/oauth-protected-resource/api/mcp"'
        )
    finally:
        proc.stop()


# ---- EnvelopeGuard ---------------------------------------------------------------------------------


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_guard_serves_the_metadata_and_challenges(backend_name):
    proc = ServerProcess("guard", backend_name, gate=True).wait()  # audience https://mcp.test, issuer https://auth.test
    try:
        base = proc.url.removesuffix("/mcp")
        doc = httpx.get(base + "/.well-known/oauth-protected-resource", timeout=10).json()
        assert doc == {
            "resource": "https://mcp.test",
            "authorization_servers": ["https://auth.test"],
            "scopes_supported": ["tools.add"],
            "bearer_methods_supported": ["header"],
        }
        r = call(proc.url, message("tools/call", name="add", arguments={"a": 1, "b": 2}))
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == (
            'Bearer resource_metadata="https://mcp.test/.well-known/oauth-protected-resource", scope="tools.add"'
        )
    finally:
        proc.stop()


def test_guard_derives_the_resource_from_the_request_when_the_audience_is_no_url(backend):
    key = backend.HmacKey("k", b"k" * 32)
    gate = backend.Gate(jwt=backend.JwtVerifier(backend.KeyRing([key]), issuer=ISSUER, audience="calc-api"))

    async def inner(scope, receive, send):  # never reached: every request here is refused
        raise AssertionError("the app ran")

    guard = EnvelopeGuard(inner, gate=gate)
    msg = message("tools/list")

    async def scenario() -> None:
        status, headers, _ = await asgi_driver.post(
            guard, "/mcp", json.dumps(msg).encode(), {**headers_for(msg), "Host": "mcp.internal:8080"}
        )
        assert status == 401
        assert headers["www-authenticate"] == (
            'Bearer resource_metadata="http://mcp.internal:8080/.well-known/oauth-protected-resource/mcp"'
        )
        # A Host that could break out of the quoted string is not used: the server address is.
        status, headers, _ = await asgi_driver.post(
            guard, "/mcp", json.dumps(msg).encode(), {**headers_for(msg), "Host": 'evil", x="y'}
        )
        assert headers["www-authenticate"] == (
            'Bearer resource_metadata="http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp"'
        )

    asyncio.run(scenario())


def test_metadata_needs_a_jwt_gate(backend):
    from mcp.server.mcpserver import MCPServer
    from mcp_fastpath.adapters.sdk import fast_http_app

    envelope_only = backend.Gate(envelope=backend.EnvelopeVerifier(backend.KeyRing([backend.HmacKey("k", b"k" * 32)])))
    # Not on by default without JWT checking (there is no authorization server to name)...
    app = fast_http_app(MCPServer("x"), gate=envelope_only)
    assert not any(getattr(r, "path", "").startswith("/.well-known") for r in app.routes)
    # ...and refused when asked for.
    with pytest.raises(ValueError):
        fast_http_app(MCPServer("y"), gate=envelope_only, resource_metadata=True)
    with pytest.raises(ValueError):
        fast_http_app(MCPServer("z"), resource_metadata=ResourceMetadata(authorization_servers=[ISSUER]))
