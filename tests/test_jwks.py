"""JwksSource against a real HTTP server on loopback: first fetch, rotation, failures keep keys."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from mcp_fastpath.errors import Unauthenticated
from mcp_fastpath.jwks import JwksFetchError, JwksSource

SECRET_A = b"a" * 32
SECRET_B = b"b" * 32


class _Jwks:
    def __init__(self) -> None:
        self.body: bytes = b""
        self.status = 200
        self.hits = 0


@pytest.fixture()
def jwks_server():
    state = _Jwks()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits += 1
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()
    server.server_close()


def jwks_of(backend, *keys) -> bytes:
    return json.dumps(backend.KeyRing(list(keys)).to_jwks(private=True)).encode()


def token(backend, key, exp_in=60) -> str:
    return backend.sign_jwt(
        key, {"iss": "https://auth", "aud": "https://mcp", "sub": "u1", "exp": time.time() + exp_in}
    )


def test_rotation_and_failures_keep_keys(backend, jwks_server):
    state, url = jwks_server
    key_a, key_b = backend.HmacKey("a", SECRET_A), backend.HmacKey("b", SECRET_B)

    async def scenario() -> None:
        state.body = jwks_of(backend, key_a)
        source = JwksSource(url, refresh_s=3600, backend=backend)
        async with source:
            verifier = source.jwt_verifier(issuer="https://auth", audience="https://mcp")
            assert verifier.verify(token(backend, key_a)).subject == "u1"
            assert source.jwt_verifier(issuer="https://auth", audience="https://mcp") is verifier  # unchanged keys
            with pytest.raises(Unauthenticated):
                verifier.verify(token(backend, key_b))

            # Rotation: the new key set is picked up on the next refresh; the verifier is rebuilt.
            state.body = jwks_of(backend, key_a, key_b)
            assert await source.refresh() is True
            rotated = source.jwt_verifier(issuer="https://auth", audience="https://mcp")
            assert rotated is not verifier and source.version == 2
            assert rotated.verify(token(backend, key_b)).subject == "u1"

            # A failing or unreadable fetch keeps what is held.
            for status, body in [(500, b"oops"), (200, b"not json"), (200, b'{"keys":[{"kty":"RSA","kid":"r"}]}')]:
                state.status, state.body = status, body
                assert await source.refresh() is False
                assert source.keyring.get("b") is not None

    asyncio.run(scenario())


def test_background_refresh(backend, jwks_server):
    state, url = jwks_server
    key_a, key_b = backend.HmacKey("a", SECRET_A), backend.HmacKey("b", SECRET_B)

    async def scenario() -> None:
        state.body = jwks_of(backend, key_a)
        async with JwksSource(url, refresh_s=0.05, backend=backend) as source:
            state.body = jwks_of(backend, key_b)
            for _ in range(100):
                if source.keyring.get("b") is not None:
                    break
                await asyncio.sleep(0.02)
            assert source.keyring.get("b") is not None and source.keyring.get("a") is None
            assert state.hits >= 2

    asyncio.run(scenario())


def test_no_keys_means_start_fails(backend, jwks_server):
    state, url = jwks_server
    state.status, state.body = 404, b"{}"

    async def scenario() -> None:
        source = JwksSource(url, backend=backend)
        with pytest.raises(JwksFetchError):
            await source.start()
        with pytest.raises(JwksFetchError):
            _ = source.keyring
        await source.aclose()

    asyncio.run(scenario())
