"""A signing, failing-over client for stateless (2026-07-28) MCP servers over HTTP.

    async with Client(["http://a:8000/mcp", "http://b:8000/mcp"], signer=signer, token=token) as c:
        info = await c.discover()
        tools = await c.list_tools()
        result = await c.call_tool("add", {"a": 2, "b": 3})

Every request is self-contained: `params._meta` carries the protocol version, client capabilities
and client info; the routing headers (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`) come from
`request_headers`; with a `signer` the message gets a `dev.mcp-fastpath/sig` envelope, with a
`token` an `Authorization: Bearer` header.

Failover and retries: the client sticks to one node and moves to the NEXT url when an attempt
fails, after an exponential backoff (`backoff_s`, `2 × backoff_s`, … capped at `max_backoff_s`; a
503's `Retry-After` within that cap), up to `retries` more attempts. What it sends again depends on
whether the failed attempt may have reached a server:
- it cannot have (connection refused, connect or pool timeout), or the server answered 503 (the
  fast path answers 503 only when nothing was dispatched: its replay or task store is down, or the
  request was signed before the replay memory began): the retry is signed again (a fresh nonce);
- it may have (the connection broke after the request was written, a proxy answered 502/504, a
  500, a read timeout with `retry_timeouts=True`): a signed request is sent again as the *same
  signed bytes*, to any node. A server with outcome memory (`mcp_fastpath.replay`) recognises the
  copy: it answers the first copy's reply, or 409 "still running" (the client asks again, with the
  same bytes, for up to `running_wait_s`), or 409 "outcome unknown" (the node serving it stopped:
  `InDoubt`). So a request runs at most once, and its answer is not lost when only the connection
  was. From then on the bytes never change (a 503 is retried with them too).
- an unsigned request cannot be recognised by the server, so after an attempt that may have been
  delivered it is sent again only when it is idempotent (`server/discover`, `ping`, the `*/list`
  methods, `resources/read`, `prompts/get`, `completion/complete`, `tasks/get`, `tasks/cancel`, or
  `idempotent=True` on `request`/`call_tool`); otherwise the client raises `InDoubt` at once.
  Idempotent requests are signed again on every attempt (running them twice is harmless).
A read timeout is not retried unless `retry_timeouts=True`; it raises `InDoubt` (the server may
have run the request).

Errors: a JSON-RPC error answer raises `ClientError(code, message, data, http_status)`; an answer
that is not JSON-RPC (a proxy's HTML page, a bare 401 from other middleware) raises `ClientError`
with `code=None`; running out of attempts raises `Unreachable` (a `ClientError`), or `InDoubt` (an
`Unreachable`) when an attempt may have run the request and its answer could not be had.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from .errors import FastpathError, Rejection

__all__ = ["Client", "ClientError", "InDoubt", "Unreachable", "PROTOCOL_VERSION", "DEFAULT_CLIENT_INFO"]

PROTOCOL_VERSION = "2026-07-28"
META_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
META_CLIENT_INFO = "io.modelcontextprotocol/clientInfo"
DEFAULT_CLIENT_INFO = {"name": "mcp-fastpath-client", "version": "0.1.0"}
# An answer with these statuses may come from a server (or proxy) that passed the request on.
_MAYBE_DELIVERED_STATUSES = frozenset({500, 502, 504})
# The duplicate answers of a server with outcome memory (mcp_fastpath.replay).
_IN_FLIGHT = -31001
_OUTCOME_UNKNOWN = -31002
_REPLAYED = -32012
# Methods that may run twice without harm: sent again (signed afresh) after any failure.
IDEMPOTENT_METHODS = frozenset(
    {
        "server/discover",
        "ping",
        "tools/list",
        "prompts/list",
        "prompts/get",
        "resources/list",
        "resources/templates/list",
        "resources/read",
        "completion/complete",
        "tasks/get",
        "tasks/cancel",
    }
)


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

    def __init__(
        self, message: str, attempts: list[tuple[str, str]], http_status: int | None = None, **kw: Any
    ) -> None:
        super().__init__(None, message, None, http_status, **kw)
        self.attempts = attempts


class InDoubt(Unreachable):
    """The request may have run and its answer cannot be had: the node serving it stopped, the
    server kept no answer, or (unsigned, not idempotent) it cannot safely be sent again. `code` and
    `data` are the server's when it said so (-31002, `data.reason`), else None."""

    def __init__(
        self,
        message: str,
        attempts: list[tuple[str, str]],
        http_status: int | None = None,
        *,
        code: int | None = None,
        data: Any = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, attempts, http_status, **kw)
        self.code = code
        self.data = data


class _Failed(Exception):
    """One attempt that did not produce an answer. `kind`: "not-sent" (it cannot have reached a
    server), "unavailable" (a 503: nothing was dispatched), "maybe" (it may have been delivered),
    "in-flight" (another copy is running: ask again)."""

    def __init__(
        self,
        kind: str,
        why: str,
        *,
        http_status: int | None = None,
        code: int | None = None,
        retry_after: float | None = None,
        body: bytes = b"",
    ) -> None:
        super().__init__(why)
        self.kind = kind
        self.why = why
        self.http_status = http_status
        self.code = code
        self.retry_after = retry_after
        self.body = body


class Client:
    """See the module docstring. `urls`: one endpoint URL or several (failover order).

    - `signer`: an `EnvelopeSigner` (every request signed, re-signed on each attempt).
    - `token`: a bearer token, or a zero-argument callable returning one (called per attempt).
    - `response_verifier`: an `EnvelopeVerifier` for signed responses (`require=True` on it
      refuses unsigned ones).
    - `retries`: more attempts after the first (default: one per url, at least 2).
    - `running_wait_s`: how long to keep asking for the answer of a request a server says is
      still running (409 with -31001), before giving up with `InDoubt`.
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
        running_wait_s: float = 30.0,
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
        self.running_wait_s = running_wait_s
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
        # Observability: how many attempts were retried, how many times a running copy was asked
        # for its answer, and on which node the last attempt landed.
        self.failovers = 0
        self.in_flight_polls = 0
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

    def build_message(
        self, method: str, params: dict[str, Any] | None = None, *, id: int | str | None = None
    ) -> dict[str, Any]:
        """The unsigned JSON-RPC request `request()` would send (a new id unless given)."""
        return {
            "jsonrpc": "2.0",
            "id": self.next_id() if id is None else id,
            "method": method,
            "params": self.build_params(params),
        }

    def encode(self, message: dict[str, Any], *, body: bytes | None = None) -> tuple[bytes, dict[str, str]]:
        """Body and headers for one attempt: signed now (fresh nonce) when there is a signer, or
        `body` as given (the bytes of an earlier attempt, sent again)."""
        request_headers = self._fp.request_headers
        if body is None:
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

    async def request(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        id: int | str | None = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """Send one request; return its `result` (raises `ClientError` / `Unreachable` / `InDoubt`).
        `idempotent`: whether running it twice is harmless (default: by method, see the module
        docstring)."""
        message = self.build_message(method, params, id=id)
        return await self.send(message, idempotent=idempotent)

    async def send(self, message: dict[str, Any], *, idempotent: bool | None = None) -> dict[str, Any]:
        """Send a prepared (unsigned) request message with failover; return its `result`."""
        if idempotent is None:
            idempotent = message["method"] in IDEMPOTENT_METHODS
        attempts: list[tuple[str, str]] = []
        last_status: int | None = None
        frozen: bytes | None = None  # the signed bytes, once an attempt may have been delivered
        delivered = False
        node = self._node
        failures = 0
        polls = 0
        polls_until: float | None = None
        while True:
            url = self.urls[node]
            try:
                result = await self._attempt(url, message, frozen)
            except _Failed as failed:
                attempts.append((url, failed.why))
                last_status = failed.http_status
                if failed.kind == "in-flight":
                    # These bytes are running on some node: ask again for the answer, with them.
                    frozen, delivered = failed.body, True
                    loop = asyncio.get_running_loop()
                    polls_until = polls_until or loop.time() + self.running_wait_s
                    if loop.time() >= polls_until:
                        raise InDoubt(
                            f"{message['method']!r} was still running after {self.running_wait_s:g} s",
                            attempts,
                            failed.http_status,
                            code=failed.code,
                            request_id=message.get("id"),
                        ) from None
                    self.in_flight_polls += 1
                    polls += 1
                    await asyncio.sleep(self._pause(polls, failed.retry_after, poll=True))
                    continue
                if failed.kind == "maybe" and not idempotent:
                    delivered = True
                    if self.signer is None:
                        raise InDoubt(
                            f"{message['method']!r} may have reached {url} ({failed.why}); an unsigned request "
                            "that is not idempotent is not sent again",
                            attempts,
                            failed.http_status,
                            request_id=message.get("id"),
                        ) from None
                    frozen = failed.body
                elif failed.kind == "unavailable" and frozen is not None and failed.code == _REPLAYED:
                    # Signed before the replay memory began: these bytes will never be served, and
                    # signing again could run the request a second time.
                    raise InDoubt(
                        f"{message['method']!r} may have run, and the server lost its replay memory since",
                        attempts,
                        failed.http_status,
                        code=failed.code,
                        request_id=message.get("id"),
                    ) from None
                # Later requests start on the next node (concurrent failures agree on it).
                if self._node == node:
                    self._node = (node + 1) % len(self.urls)
                failures += 1
                if failures > self.retries:
                    break
                self.failovers += 1
                node = (node + 1) % len(self.urls)
                await asyncio.sleep(self._pause(failures, failed.retry_after))
            else:
                self._node = node
                return result
        tried = "; ".join(f"{u}: {why}" for u, why in attempts)
        if delivered:
            raise InDoubt(
                f"{message['method']!r} may have run, but no node answered after {len(attempts)} attempt(s): {tried}",
                attempts,
                last_status,
                request_id=message.get("id"),
            )
        raise Unreachable(
            f"no node answered {message['method']!r} after {len(attempts)} attempt(s): {tried}",
            attempts,
            http_status=last_status,
            request_id=message.get("id"),
        )

    def _pause(self, n: int, retry_after: float | None, *, poll: bool = False) -> float:
        """The wait before attempt `n + 1`: exponential backoff, capped at `max_backoff_s`. A 503's
        `Retry-After` raises it (up to the cap); a running copy's lowers it (its answer may come
        much sooner than the server's whole-second hint)."""
        pause = min(self.max_backoff_s, self.backoff_s * 2 ** (n - 1))
        if retry_after is None:
            return pause
        if poll:
            return min(pause, retry_after)
        return max(pause, min(retry_after, self.max_backoff_s))

    async def _attempt(self, url: str, message: dict[str, Any], frozen: bytes | None) -> dict[str, Any]:
        import httpx

        body, headers = self.encode(message, body=frozen)
        try:
            response = await self._http.post(url, content=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise _Failed("not-sent", _describe(exc)) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise _Failed("maybe", _describe(exc), body=body) from None
        except httpx.TimeoutException as exc:
            if self.retry_timeouts:
                raise _Failed("maybe", _describe(exc), body=body) from None
            raise InDoubt(
                f"timed out after {self.timeout_s} s ({type(exc).__name__}): the server may have run it",
                [(url, _describe(exc))],
                request_id=message["id"],
            ) from None
        self.last_url = url
        status = response.status_code
        if status in _MAYBE_DELIVERED_STATUSES:
            raise _Failed("maybe", f"HTTP {status}", http_status=status, body=body)
        if status in (503, 409):
            code, error = _error_of(response)
            if status == 503:
                raise _Failed(
                    "unavailable",
                    f"HTTP 503{f' ({code})' if code else ''}",
                    http_status=503,
                    code=code,
                    retry_after=_retry_after(response),
                )
            if code == _IN_FLIGHT:
                raise _Failed(
                    "in-flight",
                    "HTTP 409 (still running)",
                    http_status=409,
                    code=code,
                    retry_after=_retry_after(response),
                    body=body,
                )
            if code == _OUTCOME_UNKNOWN:
                raise InDoubt(
                    error.get("message") or "the outcome of this request is unknown",
                    [(url, "HTTP 409 (outcome unknown)")],
                    409,
                    code=code,
                    data=error.get("data"),
                    url=url,
                    request_id=message["id"],
                )
        if frozen is not None and status == 401:
            code, _ = _error_of(response)
            if code == _REPLAYED:  # a node saw the first copy and kept no answer for it
                raise InDoubt(
                    f"{message['method']!r} reached a node that kept no answer for it: it may have run",
                    [(url, "HTTP 401 (-32012)")],
                    401,
                    code=code,
                    url=url,
                    request_id=message["id"],
                )
        return self._read(url, message, response)

    def _read(self, url: str, message: dict[str, Any], response: Any) -> dict[str, Any]:
        ErrorResponse, Response, decode = self._fp.ErrorResponse, self._fp.Response, self._fp.decode
        status = response.status_code
        body = response.content
        ctype = response.headers.get("content-type", "")
        if ctype.startswith("text/event-stream"):
            body = _sse_response(body, message["id"])
        if not body:
            raise ClientError(
                None, f"empty answer to {message['method']!r}", None, status, url=url, request_id=message["id"]
            )
        try:
            decoded = decode(body)
        except Rejection:
            text = body[:200].decode("utf-8", "replace")
            raise ClientError(
                None, f"not a JSON-RPC answer: {text!r}", None, status, url=url, request_id=message["id"]
            ) from None
        if isinstance(decoded, ErrorResponse):
            raise ClientError(decoded.code, decoded.message, decoded.data, status, url=url, request_id=decoded.id)
        if not isinstance(decoded, Response):
            raise ClientError(
                None, f"the server sent a {type(decoded).__name__}, not a response", None, status, url=url
            )
        if decoded.id != message["id"]:
            raise ClientError(
                None, f"answer id {decoded.id!r} does not match request id {message['id']!r}", None, status, url=url
            )
        if self.response_verifier is not None:
            try:
                self.response_verifier.verify(decoded)
            except Rejection as exc:
                raise ClientError(
                    exc.code, f"response signature refused: {exc.message}", exc.data, status, url=url
                ) from None
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

    async def call_tool(
        self, name: str, arguments: dict[str, Any] | None = None, *, idempotent: bool = False
    ) -> dict[str, Any]:
        """`tools/call`; returns the `CallToolResult` (check `isError` for tool-level failures).
        `idempotent=True`: the tool may run twice without harm (an unsigned call is then retried
        after a failure that may have reached a server)."""
        return await self.request(
            "tools/call", {"name": name, "arguments": dict(arguments or {})}, idempotent=idempotent
        )

    def __repr__(self) -> str:
        return f"Client({self.urls!r}, signer={self.signer!r}, token={'…' if self.token else None})"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _error_of(response: Any) -> tuple[int | None, dict[str, Any]]:
    """The JSON-RPC error code and object of an error answer (None, {} when it is not one)."""
    try:
        error = orjson.loads(response.content).get("error")
    except (orjson.JSONDecodeError, AttributeError):
        return None, {}
    if not isinstance(error, dict):
        return None, {}
    code = error.get("code")
    return (code if type(code) is int else None), error


def _retry_after(response: Any) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


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
