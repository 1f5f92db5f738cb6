"""Access log and metrics: one record per HTTP request, filled in as the request goes.

`ObservedApp` wraps the whole app (it is only there when logging or metrics are on; otherwise the
request path has none of this). Per HTTP request it starts a `Record` and puts it in the ASGI
scope (`scope[RECORD_KEY]`, where admission finds it: a dict entry, cheaper than a context
variable), watches `send` for the status and a JSON-RPC error code, and when the app returns
writes one log line and/or updates the metrics.

The access log (`mcp_fastpath.access`, INFO) is one logfmt line per request::

    POST /mcp status=200 method=tools/call name=add ms=1.84 admission_ms=0.21 kid=k1 sub=alice
    POST /mcp status=401 method=tools/call name=add code=-32010 ms=0.40 rejected="token expired"

with the same fields in `record.mcp_fastpath` (a dict) for structured formatters. It never
carries a token, a signature or any other credential: only the envelope's key id and the token's
subject. Values a client controls (method, name, subject, reason) are quoted and escaped when
they hold anything but plain characters, so a line cannot be forged.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import orjson

from .. import routing_keys

__all__ = ["ACCESS_LOGGER", "RECORD_KEY", "ObservedApp", "Record"]

ACCESS_LOGGER = "mcp_fastpath.access"
access_logger = logging.getLogger(ACCESS_LOGGER)

RECORD_KEY = "mcp_fastpath.record"

# The codec's replies start `{"jsonrpc":"2.0","id":<id>,` then `"result"` or `"error":{"code":N`.
_ID = rb'(?:-?[0-9]+|"(?:[^"\\]|\\.)*"|null)'
_JSON_ERROR = re.compile(rb'\{"jsonrpc":"2\.0","id":' + _ID + rb',"error":\{"code":(-?[0-9]+)')
_SSE_FRAME = b"event:"
_ERROR_MARK = b'"error":{"code":'
_ERROR_WINDOW = 512
_PLAIN = re.compile(r"[A-Za-z0-9_./:@+\-]+")
now = _now = time.perf_counter_ns  # `now` for admission, which stamps the record


class Record:
    """What is known of one request so far (monotonic nanoseconds). The class attributes are the
    defaults, so a request sets only what it learns (no `__slots__`: CPython's inline attribute
    values make the instance as cheap, and the defaults cost nothing per request)."""

    admitted_at = 0  # when admission ended (admitted or refused); 0 before
    status = 0
    code: int | None = None
    refused = False
    reason: str | None = None
    # Admitted: the objects, read only when a log line needs their fields.
    message: Any = None
    principal: Any = None
    signature: Any = None
    # Refused: what could be read of the request.
    refused_method: str | None = None
    refused_name: str | None = None

    start = 0  # set at once by `ObservedApp` (no `__init__`: creating a record runs no Python code)

    def rejected(self, rejection: Any, body: bytes | None) -> None:
        self.admitted_at = _now()
        self.refused = True
        self.code = rejection.code
        self.reason = rejection.message
        if body is not None:
            try:  # the refused request's method and target, for the log line (a refusal is rare)
                keys = routing_keys(body)
            except Exception:
                return
            self.refused_method, self.refused_name = keys.method, keys.name

    @property
    def method(self) -> str | None:
        message = self.message
        return message.method if message is not None else self.refused_method

    @property
    def name(self) -> str | None:
        message = self.message
        return getattr(message, "name", None) if message is not None else self.refused_name

    def sniff(self, body: bytes) -> None:
        """A JSON-RPC error code from the reply (the codec's shape), if there is one: the error
        member comes right after the id, so a success is told by a bounded `find` alone (an id
        longer than `_ERROR_WINDOW` allows is not looked for)."""
        if body.startswith(_SSE_FRAME):
            match = _JSON_ERROR.search(body)  # an SSE frame: `event: message`, `data: {...}`
        elif body.find(_ERROR_MARK, 0, _ERROR_WINDOW) != -1:
            match = _JSON_ERROR.match(body)
        else:
            return
        if match is not None:
            self.code = int(match.group(1))


class ObservedApp:
    """`app` with an access log (`log`) and/or `metrics` (a `mcp_fastpath.metrics.Metrics`),
    serving the metrics at `metrics_path`. Attribute access goes through to `app`."""

    def __init__(self, app: Any, *, log: bool, metrics: Any = None, metrics_path: str = "/metrics") -> None:
        self._app = app
        self._log = log
        self._metrics = metrics
        self._metrics_path = metrics_path if metrics is not None else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        if self._metrics_path is not None and scope["path"] == self._metrics_path:
            await self._scrape(scope, send)
            return
        record = scope[RECORD_KEY] = Record()
        record.start = _now()

        async def observed_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
            elif record.code is None:
                body = message.get("body")
                if body:
                    record.sniff(body)
            await send(message)

        try:
            await self._app(scope, receive, observed_send)
        finally:
            end = _now()
            if record.status == 0:
                record.status = 500  # the app raised before answering: the server answers 500
            metrics = self._metrics
            if metrics is not None:
                message = record.message
                metrics.request_done(
                    message.method if message is not None else record.refused_method,
                    record.refused,
                    record.code,
                    record.status,
                    record.start,
                    record.admitted_at,
                    end,
                )
            if self._log and access_logger.isEnabledFor(logging.INFO):
                _log_line(scope, record, end)

    async def _scrape(self, scope: dict[str, Any], send: Any) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await _send(send, 405, b"", [(b"allow", b"GET, HEAD")])
            return
        body, content_type = self._metrics.exposition()
        await _send(
            send, 200, body if scope["method"] == "GET" else b"", [(b"content-type", content_type.encode())], len(body)
        )


async def _send(
    send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]], length: int | None = None
) -> None:
    headers = [(b"content-length", str(len(body) if length is None else length).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _quote(value: Any) -> str:
    text = str(value)
    if _PLAIN.fullmatch(text):
        return text
    return orjson.dumps(text).decode()  # quoted, with control characters and quotes escaped


def _log_line(scope: dict[str, Any], record: Record, end: int) -> None:
    ms = (end - record.start) / 1e6
    fields: dict[str, Any] = {"http_method": scope["method"], "path": scope["path"], "status": record.status}
    line = f"{scope['method']} {_quote(scope['path'])} status={record.status}"
    method, name = record.method, record.name
    if method is not None:
        fields["method"] = method
        line += f" method={_quote(method)}"
    if name is not None:
        fields["name"] = name
        line += f" name={_quote(name)}"
    if record.code is not None:
        fields["code"] = record.code
        line += f" code={record.code}"
    fields["ms"] = ms
    line += f" ms={ms:.2f}"
    if record.admitted_at:
        fields["admission_ms"] = admission_ms = (record.admitted_at - record.start) / 1e6
        line += f" admission_ms={admission_ms:.2f}"
    signature = record.signature
    if signature is not None:
        fields["kid"] = kid = signature.kid
        line += f" kid={_quote(kid)}"
    principal = record.principal
    if principal is not None and principal.subject is not None:
        fields["sub"] = sub = principal.subject
        line += f" sub={_quote(sub)}"
    if record.refused:
        fields["rejected"] = record.reason
        line += f" rejected={_quote(record.reason)}"
    # `makeRecord` + `handle` is what `info()` does, minus `findCaller`'s walk up the stack: the
    # caller is always this function, and the walk is most of the logging module's cost here.
    access_logger.handle(
        access_logger.makeRecord(
            ACCESS_LOGGER, logging.INFO, __file__, 0, line, (), None, "access", {"mcp_fastpath": fields}
        )
    )
