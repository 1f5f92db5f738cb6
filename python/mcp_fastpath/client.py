"""A signing, failing-over client for stateless (2026-07-28) MCP servers over HTTP.

    async with Client(["http://a:8000/mcp", "http://b:8000/mcp"], signer=signer, token=token) as c:
        info = await c.discover()
        tools = await c.list_tools()
        result = await c.call_tool("add", {"a": 2, "b": 3})

Every request is self-contained: `params._meta` carries the protocol version, client capabilities
and client info; the routing headers (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`) come from
`request_headers`; with a `signer` the message gets a `dev.mcp-fastpath/sig` envelope, with a
`token` an `Authorization: Bearer` header.

Failover: the client sticks to one node. A connection failure (refused, reset, closed before a
response) or an HTTP 5xx moves it to the NEXT url, after an exponential backoff
(`backoff_s`, `2 × backoff_s`, … capped at `max_backoff_s`), up to `retries` more attempts. A retry
keeps the request's `id` and `params` and is signed again, so it carries a fresh nonce (a node that
saw the first attempt would otherwise refuse it as a replay). A read timeout is not retried unless
`retry_timeouts=True` (the server may have run the request).

Errors: a JSON-RPC error answer raises `ClientError(code, message, data, http_status)`; an answer
that is not JSON-RPC (a proxy's HTML page, a bare 401 from other middleware) raises `ClientError`
with `code=None`; running out of attempts raises `Unreachable` (a `ClientError`).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from .errors import FastpathError, Rejection

__all__ = ["Client", "ClientError", "Unreachable", "PROTOCOL_VERSION", "DEFAULT_CLIENT_INFO"]

PROTOCOL_VERSION = "2026-07-28"
META_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
META_CLIENT_INFO = "io.modelcontextprotocol/clientInfo"
DEFAULT_CLIENT_INFO = {"name": "mcp-fastpath-client", "version": "0.1.0"}
_RETRY_STATUSES = frozenset({500, 502, 503, 504})


class ClientError(FastpathError):
    """A request that failed: the JSON-RPC error (`code`, `message`, `data`) when the server sent
    one (`code=None` otherwise), and the HTTP status (`None` when no response arrived)."""

    def __init__(
        self,
        code: int | None,
        message: str,
        data: Any = None,
        http_status: int | None = None,
        *,
        url: str | None = None,
        request_id: int | str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.http_status = http_status
        self.url = url
        self.request_id = request_id

    def __str__(self) -> str:
        where = f" (HTTP {self.http_status})" if self.http_status is not None else ""
        code = f"{self.code}: " if self.code is not None else ""
        return f"{code}{self.message}{where}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, data={self.data!r}, "
            f"http_status={self.http_status!r})"
        )


class Unreachable(ClientError):
    """Every attempt failed with a connection error or a 5xx; `attempts` lists `(url, why)`."""

    def __init__(self, message: str, attempts: list[tuple[str, str]], http_status: int | None = None, **kw: Any) -> None:
        super().__init__(None, message, None, http_status, **kw)
        self.attempts = attempts


class _Retry(Exception):
    def __init__(self, why: str, http_status: int | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.http_status = http_status


class Client:
    """See the module docstring. `urls`: one endpoint URL or several (failover order).

    - `signer`: an `EnvelopeSigner` (every request signed, re-signed on each attempt).
    - `token`: a bearer token, or a zero-argument callable returning one (called per attempt).
    - `response_verifier`: an `EnvelopeVerifier` for signed responses (`require=True` on it
      refuses unsigned ones).
    - `retries`: more attempts after the first (default: one per url, at least 2).
    - `headers`: extra HTTP headers on every request; `http_client`: your own `httpx.AsyncClient`.
    - `backend`: `"native"`, `"pure"` or a backend module for the codec (default: the active one).
    """

    def __init__(
        self,
        urls: str | Sequence[str],
        *,
        signer: Any = None,
        token: str | Callable[[], str] | None = None,
        timeout_s: float = 10,
        retries: int | None = None,
        backoff_s: float = 0.05,
        max_backoff_s: float = 2.0,
        retry_timeouts: bool = False,
        response_verifier: Any = None,
        client_info: dict[str, Any] | None = None,
        capabilities: dict[str, Any] | None = None,
        protocol_version: str = PROTOCOL_VERSION,
        headers: dict[str, str] | None = None,
        http_client: Any = None,
        max_connections: int = 100,
        backend: Any = None,
    ) -> None:
        import httpx

        from . import _backend

        # The codec used to build headers and read answers: the active backend, or the one named
        # ("native" | "pure") or given (a backend module) — tests run the client on both.
        if backend is None:
            import mcp_fastpath as backend
        elif isinstance(backend, str):
            backend = _backend.load(backend)[1]
        self._fp = backend

        self.urls = [urls] if isinstance(urls, str) else list(urls)
        if not self.urls or not all(isinstance(u, str) and u for u in self.urls):
            raise ValueError("urls: one URL or a non-empty list of URLs")
        self.signer = signer
        self.token = token
        self.timeout_s = timeout_s
        self.retries = max(2, len(self.urls)) if retries is None else int(retries)
        if self.retries < 0:
            raise ValueError("retries must be ≥ 0")
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.retry_timeouts = retry_timeouts
        self.response_verifier = response_verifier
        self.client_info = dict(client_info or DEFAULT_CLIENT_INFO)
        self.capabilities = dict(capabilities or {})
        self.protocol_version = protocol_version
        self.extra_headers = dict(headers or {})
        self._ids = itertools.count(1)
        self._node = 0
        self._own_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            http1=True,
            http2=False,
        )
        # Observability: how many attempts were retried, and on which node the last one landed.
        self.failovers = 0
        self.last_url: str | None = None

    # ---- lifecycle ----------------------------------------------------------------------

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    # ---- building messages --------------------------------------------------------------

    def next_id(self) -> int:
        return next(self._ids)

    def build_params(self, params: dict[str, Any] | None) -> dict[str, Any]:
        """`params` with the per-request `_meta` (version, capabilities, client info) filled in;
        members the caller already put in `_meta` win."""
        params = dict(params or {})
        meta = dict(params.get("_meta") or {})
        meta.setdefault(META_VERSION, self.protocol_version)
        meta.setdefault(META_CAPABILITIES, self.capabilities)
        meta.setdefault(META_CLIENT_INFO, self.client_info)
        params["_meta"] = meta
        return params

    def build_message(self, method: str, params: dict[str, Any] | None = None, *, id: int | str | None = None) -> dict[str, Any]:
        """The unsigned JSON-RPC request `request()` would send (a new id unless given)."""
        return {"jsonrpc": "2.0", "id": self.next_id() if id is None else id, "method": method, "params": self.build_params(params)}

    def encode(self, message: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """Body and headers for one attempt: signed now (fresh nonce) when there is a signer."""
        request_headers = self._fp.request_headers
        body = self.signer.sign_bytes(message) if self.signer is not None else orjson.dumps(message)
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            **self.extra_headers,
            **request_headers(message["method"], message.get("params")),
        }
        token = self.token() if callable(self.token) else self.token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return body, headers

    # ---- requests -----------------------------------------------------------------------

    async def request(self, method: str, params: dict[str, Any] | None = None, *, id: int | str | None = None) -> dict[str, Any]:
        """Send one request; return its `result` (raises `ClientError` / `Unreachable`)."""
        message = self.build_message(method, params, id=id)
        return await self.send(message)

    async def send(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send a prepared (unsigned) request message with failover; return its `result`."""
        attempts: list[tuple[str, str]] = []
        last_status: int | None = None
        start = self._node
        for attempt in range(self.retries + 1):
            if attempt:
                self.failovers += 1
                await asyncio.sleep(min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1)))
            node = (start + attempt) % len(self.urls)
            url = self.urls[node]
            try:
                result = await self._attempt(url, message)
            except _Retry as retry:
                # Later requests start on the next node (concurrent failures agree on it).
                if self._node == node:
                    self._node = (node + 1) % len(self.urls)
                attempts.append((url, retry.why))
                last_status = retry.http_status
            else:
                self._node = node
                return result
        tried = "; ".join(f"{u}: {why}" for u, why in attempts)
        raise Unreachable(
            f"no node answered {message['method']!r} after {len(attempts)} attempt(s): {tried}",
            attempts,
            http_status=last_status,
            request_id=message.get("id"),
        )

    async def _attempt(self, url: str, message: dict[str, Any]) -> dict[str, Any]:
        import httpx

        body, headers = self.encode(message)
        try:
            response = await self._http.post(url, content=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise _Retry(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from None
        except httpx.TimeoutException as exc:
            if self.retry_timeouts:
                raise _Retry(f"{type(exc).__name__}") from None
            raise ClientError(None, f"timed out after {self.timeout_s} s ({type(exc).__name__})", url=url, request_id=message["id"]) from None
        self.last_url = url
        if response.status_code in _RETRY_STATUSES:
            raise _Retry(f"HTTP {response.status_code}", response.status_code)
        return self._read(url, message, response)

    def _read(self, url: str, message: dict[str, Any], response: Any) -> dict[str, Any]:
        ErrorResponse, Response, decode = self._fp.ErrorResponse, self._fp.Response, self._fp.decode
        status = response.status_code
        body = response.content
        ctype = response.headers.get("content-type", "")
        if ctype.startswith("text/event-stream"):
            body = _sse_response(body, message["id"])
        if not body:
            raise ClientError(None, f"empty answer to {message['method']!r}", None, status, url=url, request_id=message["id"])
        try:
            decoded = decode(body)
        except Rejection:
            text = body[:200].decode("utf-8", "replace")
            raise ClientError(None, f"not a JSON-RPC answer: {text!r}", None, status, url=url, request_id=message["id"]) from None
        if isinstance(decoded, ErrorResponse):
            raise ClientError(decoded.code, decoded.message, decoded.data, status, url=url, request_id=decoded.id)
        if not isinstance(decoded, Response):
            raise ClientError(None, f"the server sent a {type(decoded).__name__}, not a response", None, status, url=url)
        if decoded.id != message["id"]:
            raise ClientError(None, f"answer id {decoded.id!r} does not match request id {message['id']!r}", None, status, url=url)
        if self.response_verifier is not None:
            try:
                self.response_verifier.verify(decoded)
            except Rejection as exc:
                raise ClientError(exc.code, f"response signature refused: {exc.message}", exc.data, status, url=url) from None
        return decoded.result

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send a notification (no id, no answer expected; HTTP 202)."""
        message = {"jsonrpc": "2.0", "method": method, "params": self.build_params(params)}
        body, headers = self.encode(message)
        response = await self._http.post(self.urls[self._node], content=body, headers=headers)
        if response.status_code >= 300:
            raise ClientError(None, "notification refused", None, response.status_code, url=self.urls[self._node])

    # ---- conveniences -------------------------------------------------------------------

    async def discover(self) -> dict[str, Any]:
        """`server/discover`: versions, capabilities and server info."""
        return await self.request("server/discover", {})

    async def list_tools(self) -> list[dict[str, Any]]:
        """Every tool, following `nextCursor`."""
        tools: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            result = await self.request("tools/list", {"cursor": cursor} if cursor else {})
            tools.extend(result.get("tools") or [])
            cursor = result.get("nextCursor")
            if not cursor:
                return tools

    async def call_tool(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        """`tools/call`; returns the `CallToolResult` (check `isError` for tool-level failures)."""
        return await self.request("tools/call", {"name": name, "arguments": dict(arguments or {})})

    def __repr__(self) -> str:
        return f"Client({self.urls!r}, signer={self.signer!r}, token={'…' if self.token else None})"


def _sse_response(body: bytes, request_id: Any) -> bytes:
    """The `data:` payload of the SSE event that answers `request_id` (b"" when none does)."""
    last = b""
    for event in body.replace(b"\r\n", b"\n").split(b"\n\n"):
        data = b"\n".join(line[5:].lstrip(b" ") for line in event.split(b"\n") if line.startswith(b"data:"))
        if not data:
            continue
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            continue
        if isinstance(obj, dict) and obj.get("id") == request_id and ("result" in obj or "error" in obj):
            return data
        last = data
    return last
