"""Small real HTTP servers for the tests, run by uvicorn in a thread on a free loopback port:
a JWKS endpoint whose keys, status and latency a test changes while it runs, and an OAuth
authorization server's metadata and registration endpoints (enough for a client's discovery)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


class ThreadedServer:
    """`with ThreadedServer(app) as server: server.url` — uvicorn serving `app` in a thread."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the loopback server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


class JwksEndpoint:
    """A JWK Set at `/jwks.json`: `keys` (JWK dicts), `status` (200 serves them, anything else an
    error), `delay_s` before answering; `hits` counts requests."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.status = 200
        self.delay_s = 0.0
        self.hits = 0
        self.app = Starlette(routes=[Route("/jwks.json", self._serve)])

    async def _serve(self, request: Request) -> Response:
        self.hits += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.status != 200:
            return Response("provider unavailable", status_code=self.status)
        return JSONResponse({"keys": self.keys})


class AuthorizationServer:
    """RFC 8414 metadata and RFC 7591 registration, and a log of what clients asked for
    (`requests`: "METHOD path" strings). Its issuer is its own URL, known once it listens."""

    def __init__(self) -> None:
        self.issuer = ""
        self.requests: list[str] = []
        self.registrations: list[dict[str, Any]] = []
        self.app = Starlette(
            routes=[
                Route("/.well-known/oauth-authorization-server", self._metadata),
                Route("/.well-known/openid-configuration", self._metadata),
                Route("/register", self._register, methods=["POST"]),
            ]
        )

    async def _metadata(self, request: Request) -> Response:
        self.requests.append(f"GET {request.url.path}")
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "registration_endpoint": f"{self.issuer}/register",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["none"],
            }
        )

    async def _register(self, request: Request) -> Response:
        self.requests.append(f"POST {request.url.path}")
        metadata = json.loads(await request.body())
        self.registrations.append(metadata)
        return JSONResponse(
            {**metadata, "client_id": f"client-{len(self.registrations)}", "token_endpoint_auth_method": "none"},
            status_code=201,
        )
