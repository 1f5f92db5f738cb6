"""The official `mcp` client's OAuth discovery (`mcp.client.auth.OAuthClientProvider`) against
`mcp-fastpath serve` with JWT checking, on loopback, up to the point where it would open a
browser: the 401 names the resource metadata, the client reads it, finds the authorization
server (a small real one here: RFC 8414 metadata + RFC 7591 registration), registers, and builds
the authorization URL with PKCE, the resource (RFC 8707) and the scopes the challenge named. The
redirect handler records that URL and stops the flow. Then the step-up: a token without the
scope a tool needs gets a 403 `insufficient_scope`, and the client asks again for the union."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import mcp_fastpath as fp
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from mcp_fastpath.demo.processes import free_port
from mcp_fastpath.keyfile import KeyFile
from mcp_fastpath.resource_metadata import metadata_url

from tests.adapter_helpers import BACKENDS
from tests.loopback import AuthorizationServer, ThreadedServer
from tests.test_gates import Serve, until

POLICY = {"tools/call:add": ["tools.add"], "*": ["mcp"]}


class BrowserWouldOpen(Exception):
    """Raised by the redirect handler: the flow stops where a user would log in."""


class MemoryStorage:
    def __init__(self, tokens: OAuthToken | None = None, client: OAuthClientInformationFull | None = None) -> None:
        self.tokens, self.client = tokens, client

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


@pytest.fixture(scope="module", params=BACKENDS)
def stack(request, tmp_path_factory):
    """An authorization server and `serve` whose tokens it would issue; yields (server, AS, key)."""
    tmp = tmp_path_factory.mktemp("oauth")
    authz = AuthorizationServer()
    with ThreadedServer(authz.app) as as_server:
        authz.issuer = as_server.url
        key = fp.HmacKey("k1", os.urandom(32))
        port = free_port()
        path = tmp / "keys.json"
        KeyFile(
            jwks={"keys": [key.to_jwk(private=True)]},
            issuer=authz.issuer,
            audience=f"http://127.0.0.1:{port}/mcp",
            envelope=False,
            policy=POLICY,
        ).write(path)
        server = Serve(tmp, request.param, "--keys", str(path), port=port)
        try:
            yield server, authz, key
        finally:
            server.stop()


def client_for(url: str, storage: MemoryStorage, transcript: list[str], seen: list[str]) -> Client:
    async def redirect(authorization_url: str) -> None:
        seen.append(authorization_url)
        transcript.append(f"redirect handler: {authorization_url}")
        raise BrowserWouldOpen

    async def callback() -> Any:  # pragma: no cover - the flow stops before
        raise AssertionError("the callback runs after the browser")

    async def log_response(response: httpx2.Response) -> None:
        line = f"{response.request.method} {response.request.url} -> {response.status_code}"
        challenge = response.headers.get("www-authenticate")
        if challenge:
            line += f"  WWW-Authenticate: {challenge}"
        transcript.append(line)

    provider = OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            client_name="fastpath-test",
            redirect_uris=["http://127.0.0.1:9/callback"],
            grant_types=["authorization_code"],
        ),
        storage=storage,
        redirect_handler=redirect,
        callback_handler=callback,
    )
    http = httpx2.AsyncClient(auth=provider, event_hooks={"response": [log_response]}, timeout=10)
    return Client(streamable_http_client(url, http_client=http), mode="2026-07-28"), http


def contains(exc: BaseException, kind: type[BaseException]) -> bool:
    if isinstance(exc, kind):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return any(contains(e, kind) for e in exc.exceptions)
    return any(contains(e, kind) for e in (exc.__cause__, exc.__context__) if e is not None)


async def run_until_browser(client: Client, http: Any, action: Any) -> None:
    try:
        async with client:
            await asyncio.wait_for(action(client), 30)
    except BaseException as exc:  # the redirect handler's stop, however the client wraps it
        if not contains(exc, BrowserWouldOpen):
            raise
    else:
        raise AssertionError("the flow did not reach the browser step")
    finally:
        await http.aclose()


def test_discovery_up_to_the_browser(stack):
    server, authz, _ = stack
    transcript: list[str] = []
    seen: list[str] = []
    client, http = client_for(server.url, MemoryStorage(), transcript, seen)
    asyncio.run(run_until_browser(client, http, lambda c: c.list_tools()))
    print("\n" + "\n".join(transcript))

    metadata = metadata_url(server.url)
    # 1. The request without a token: 401 naming the metadata and the scope tools/list needs.
    assert transcript[0] == (
        f'POST {server.url} -> 401  WWW-Authenticate: Bearer resource_metadata="{metadata}", scope="mcp"'
    )
    # 2. The client fetched the metadata the header named, then the authorization server's.
    assert transcript[1] == f"GET {metadata} -> 200"
    assert f"GET {authz.issuer}/.well-known/oauth-authorization-server -> 200" in transcript
    assert authz.requests == ["GET /.well-known/oauth-authorization-server", "POST /register"]
    # 3. The authorization URL: our AS, PKCE, this server as the resource, the challenged scope.
    [url] = seen
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{authz.issuer}/authorize"
    assert query["resource"] == server.url
    assert query["scope"] == "mcp"
    assert query["client_id"] == "client-1" and query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    # The server logged the refusal with its reason (and no token: there was none). The access log
    # writes in batches, so the line may land a moment after the reply.
    assert until(lambda: "status=401 method=tools/list code=-32010" in server.stderr())


def test_step_up_after_insufficient_scope(stack):
    server, authz, key = stack
    now = int(time.time())
    token = fp.sign_jwt(key, {"iss": authz.issuer, "aud": server.url, "sub": "alice", "exp": now + 300, "scope": "mcp"})
    storage = MemoryStorage(
        tokens=OAuthToken(access_token=token, token_type="Bearer", expires_in=300, scope="mcp"),
        client=OAuthClientInformationFull(
            client_id="client-pre", redirect_uris=["http://127.0.0.1:9/callback"], issuer=authz.issuer
        ),
    )
    transcript: list[str] = []
    seen: list[str] = []
    client, http = client_for(server.url, storage, transcript, seen)

    async def list_then_add(c: Client) -> None:
        tools = await c.list_tools()  # "mcp" is enough for this
        assert "add" in [t.name for t in tools.tools]
        await c.call_tool("add", {"a": 1, "b": 2})  # needs tools.add: 403, step-up

    asyncio.run(run_until_browser(client, http, list_then_add))
    print("\n" + "\n".join(transcript))
    assert transcript[0] == f"POST {server.url} -> 200"
    assert transcript[1] == (
        f'POST {server.url} -> 403  WWW-Authenticate: Bearer error="insufficient_scope", scope="tools.add", '
        f'resource_metadata="{metadata_url(server.url)}"'
    )
    [url] = seen
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert set(query["scope"].split()) == {"mcp", "tools.add"}  # the union: no grant lost
    assert query["client_id"] == "client-pre" and query["resource"] == server.url
    assert until(lambda: 'rejected="insufficient scope: tools.add"' in server.stderr())  # batched writes
    log = server.stderr()
    assert "status=200 method=tools/list" in log and "sub=alice" in log
    assert 'rejected="insufficient scope: tools.add"' in log
    assert token not in log  # never a credential in the log
