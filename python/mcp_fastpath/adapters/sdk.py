"""`fast_http_app`: the official MCP SDK's (`mcp` ≥ 2.3, < 2.4) HTTP app with mcp-fastpath's
request path for stateless (2026-07-28) POSTs.

```python
from mcp_fastpath.adapters.sdk import fast_http_app
app = fast_http_app(mcp_server)                       # an MCPServer, a lowlevel Server or a FastMCP server
app = fast_http_app(mcp_server, gate=fp.Gate(...), replay=fp.MemoryReplayCache())
uvicorn.run(app)
```

FastMCP (4.2): the app is FastMCP's own `http_app()` (its routes, its auth, its Host/Origin
guard, its lifespan), with the fast path in the place of its session manager's request entry,
installed each time the app's lifespan makes a new manager (`adapters/_server_kinds.py`);
`tools/call` goes into FastMCP's own handler (`adapters/_direct_fastmcp.py`). The rest of this
docstring holds for it too, with FastMCP's `http_app` in the place of the SDK's app.

What goes where
- A POST to `path` whose `MCP-Protocol-Version` header names a stateless-era version (anything but
  the handshake revisions; the SDK session manager's own routing rule) takes the fast path below.
- Everything else is the SDK's own `streamable_http_app` (same settings): handshake-era clients and
  `initialize`, sessions, GET / DELETE, the SDK's auth middleware and routes, custom routes,
  lifespan. The fast path is installed *inside* that app, in place of the session manager's request
  entry (`session_manager.asgi_app`): Starlette routing and any SDK auth middleware
  (`token_verifier`) still run first, exactly as for the stock app.
- With a `gate`, handshake-era traffic to `path` first meets the `legacy` rule
  (`adapters/_legacy.py`): refused (the default), or served only with a valid bearer JWT on every
  request. No request reaches a tool unauthenticated, whatever protocol version it claims.
- `subscriptions/listen` (a notification stream for as long as the client listens) is admitted
  and verified here, then handed to the SDK's own stateless-era handler with the body replayed.
- The gate may be a provider (`mcp_fastpath.gates`) whose keys change while the app runs; the
  admission of both paths is `adapters/_admit.py`. When the gate checks JWTs, the OAuth resource
  metadata (RFC 9728) is served at `/.well-known/oauth-protected-resource[<path>]` and named in
  every 401/403 challenge (`adapters/_resource_metadata.py`).
- `access_log` / `metrics`: an `ObservedApp` (`adapters/_observe.py`) around the whole app; without
  them the app is returned as before, with none of that code on the request path.

Responses: JSON or SSE, as the SDK's app with the same `json_response` (default False, the SDK's
default: SSE mode). In JSON mode every reply is one JSON object and request-scoped notifications
are dropped, as the SDK drops them. In SSE mode the SDK (`handle_modern_request`) runs the handler
and answers plain JSON (with the mapped status) when it finishes within the deferral window
(`SSE_PING_INTERVAL`, the SDK's 15 s) without emitting a notification; on the first notification,
or once the window elapses, it commits `text/event-stream`: one `event: message` frame per
notification, a `: ping` comment after every silent interval, the reply as the last frame (status
200). Here, by what the request lets the server send (`_sse.may_notify`):
- a request that may receive request-scoped notifications — `params._meta.progressToken` set
  (basic/patterns/progress; `ctx.report_progress`) or the `io.modelcontextprotocol/logLevel`
  `_meta` key present (server/utilities/logging: no `notifications/message` without it;
  `ctx.log`/`ctx.info`/…) — runs the SDK's deferral step for step (`_sse.serve_deferred`: handler task,
  zero-buffer notification stream, disconnect watch that cancels the handler);
- any other request is dispatched inline, as in JSON mode (`_sse.InlineStreamContext`): no task
  group, one loop timer. If its handler emits a notification anyway (list-change notifications
  are `subscriptions/listen` goods at this revision and the SDK drops them on a request's
  connection channel, but `ctx.notify(...)` / `send_notification(..., related_request_id=...)`
  still reach the request's stream), the stream is committed from the handler's task; if it runs
  silent for the window, a keepalive task commits it and pings. Same bytes either way. The one
  difference from the SDK: a client disconnect does not cancel that handler (it runs to the end;
  what it writes is discarded), as in JSON mode.
Frames are the SDK's: its headers (`text/event-stream`, `no-cache, no-transform`, `keep-alive`,
`X-Accel-Buffering: no`), notifications dumped as its `JSONRPCNotification`, the reply from the
codec (ASCII-identical to the SDK's `json.dumps`; non-ASCII text is written as UTF-8 where the SDK
escapes it, in JSON mode too). `tests/test_adapter_sdk.py` compares status, headers and bytes with
the stock app for progress, logging, errors after a notification, and the keepalive.

The fast path, step by step (the SDK's `handle_modern_request` order):
1. body read with the SDK's limit (`max_request_body_size`, 413 "Request body too large");
2. Content-Type, Host and Origin checks: the SDK's own `TransportSecurityMiddleware` with the same
   `TransportSecuritySettings` as the stock app (DNS-rebinding protection on by default for a
   loopback `host`); then the Accept check (406), the SDK's `check_accept_headers`;
3. `fp.decode(body, headers)` — or `gate.admit(body, headers)` with a `Gate` (+ `admit_once` on the
   replay cache): JSON parse, JSON-RPC shape, the 2026-07-28 ladder (duplicate routing headers,
   `_meta`, header/body agreement, version) in one call, instead of `json.loads`, two pydantic
   envelope models, `find_duplicated_routing_header` and `classify_inbound_request`;
   a `Rejection` is answered with its status, `Rejection.headers` and `to_bytes()`;
4. `Mcp-Param-*`: `fp.check_param_headers` with a per-tool input-schema cache (see `_param_headers.SchemaCache`);
5. dispatch: `mcp.server.runner.serve_one` — the SDK's own per-request kernel (spec-method params
   validation, the server middleware chain incl. request-state sealing and user middleware,
   handler lookup, tool-argument validation, result sieve, `serverInfo` stamp);
6. the reply: `fp.encode_response` / `fp.encode_error` with `fp.http_status`, errors mapped by
   the SDK's `modern_error_data` (so handler internals never reach the wire); in SSE mode,
   framed as above once the stream has been committed.

What is bypassed, and why that is safe
- Starlette's `Request`/`Response` objects and the pydantic `JSONRPCRequest`/`JSONRPCResponse`
  round trips on the request path: replaced by the codec, which enforces the same rules (and is
  stricter on duplicate keys, NaN, depth: the README's deliberate divergences). Tools still get a Starlette `Request` as
  `ctx.request_context.request` (built lazily-cheap from the scope; `await request.body()` works).
- The `RequestBodyLimitMiddleware` buffer-and-replay: the body is read once, with the same limit.
- The `tools/list` walk the SDK runs per `tools/call` when a lowlevel server has no
  `get_tool_input_schema`: cached only when `tool_schema_ttl_s > 0` (see `_param_headers.SchemaCache`).
- The OpenTelemetry server span (`OpenTelemetryMiddleware`, first in `server.middleware`), only
  while no OpenTelemetry SDK tracer provider is installed (the API's proxy/no-op provider: the
  span is never recorded, it only costs). Once a real provider is set, or with `trace=True`, the
  span runs as in the SDK; `trace=False` always skips it. Checked per request, cheaply.
Not bypassed: tool-argument validation (the tool's own pydantic model), params validation of spec
methods, every server middleware but that no-op span, the worker-thread hop for sync tools (a
sync tool may block; running it on the event loop would stall every other request).

Who called: with a `gate`, the principal (JWT) and signature (envelope) reach the tool as
`ctx.request_context.request.scope["mcp_fastpath"]` (`{"principal", "signature", "request"}`) and
through `mcp_fastpath.adapters.current_admission()` (a context variable, also set in the worker
thread of a sync tool). Without a gate both are None.

`FastTokenVerifier`: the SDK's `TokenVerifier` on `fp.JwtVerifier`, for servers that keep the SDK's
own transport and auth middleware (`MCPServer(token_verifier=FastTokenVerifier(...), auth=...)`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from mcp.server.auth.provider import AccessToken
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, TransportSecuritySettings

from .. import Rejection
from .._protocol import SIGNED_ENVELOPE_EXTENSION
from ..gates import as_gate_provider
from ..resource_metadata import WELL_KNOWN
from ._admit import Admitter
from ._fast_path import FastPath, FrontDoor, plain_route
from ._identity import access_token_for
from ._legacy import LegacyTraffic
from ._lifespan import hook_starlette
from ._observe import ObservedApp
from ._resource_metadata import ResourceMetadataService, metadata_service
from ._server_kinds import server_kind
from ._sync_hop import SyncHop

__all__ = ["FastTokenVerifier", "fast_http_app"]

logger = logging.getLogger(__name__)


def fast_http_app(
    server: Any,
    *,
    gate: Any = None,
    replay: Any = None,
    legacy: str = "refuse",
    json_response: bool | None = None,
    security: TransportSecuritySettings | None = None,
    path: str = "/mcp",
    host: str = "127.0.0.1",
    max_request_body_size: int = DEFAULT_MAX_REQUEST_BODY_SIZE,
    limits: Any = None,
    tool_schema_ttl_s: float = 0.0,
    trace: bool | None = None,
    inline_sync_tools: bool | Iterable[str] = False,
    direct: bool = True,
    sync_hop: str = "workers",
    task_store: Any = None,
    resource_metadata: Any = None,
    access_log: bool = False,
    metrics: Any = None,
    metrics_path: str = "/metrics",
    **sdk_options: Any,
) -> Any:
    """The SDK's `streamable_http_app` for `server` (an `MCPServer` or a lowlevel `Server`), or
    FastMCP's `http_app` for a FastMCP server, with stateless-era POSTs served by mcp-fastpath (see
    the module docstring).

    - `gate`: a `Gate` (JWT / signed envelope / scope policy) run on every stateless-era POST,
      or a gate provider (`mcp_fastpath.gates`: `JwksGate`, `KeyFileGate`) whose gate in force is
      taken per request, so rotated keys apply without a restart (the app's lifespan starts and
      closes the provider); `replay`: a replay cache for signed requests (`MemoryReplayCache`,
      `RedisReplayCache`); its entries live twice the gate's `EnvelopeVerifier.max_skew_s`.
    - `legacy`: with a gate, what handshake-era traffic (2025-11-25 and older, or no
      `MCP-Protocol-Version`: `initialize`, sessions, GET/DELETE) gets — `"refuse"` (default: 400
      with -32022 naming 2026-07-28, 405 for GET/DELETE) or `"bearer"` (served by the SDK only
      with a valid bearer JWT on every request, the gate's scope policy applied); see
      `adapters/_legacy.py`. Without a gate the SDK serves it as it would.
    - `json_response` (default: the server's own — False, SSE responses, for the SDK; FastMCP's
      `settings.json_response` — see the module docstring),
      `path` (`streamable_http_path`), `host`, `max_request_body_size` and
      `security` (`transport_security`) are the SDK's `streamable_http_app` options, shared by both
      paths; any other SDK option (`stateless_http`, `event_store`, `session_idle_timeout`, …, and
      for a lowlevel `Server` `auth` / `token_verifier`) goes through `**sdk_options`.
      For a FastMCP server, `**sdk_options` are `http_app`'s (`stateless_http`, `event_store`,
      `middleware`, `host_origin_protection`, `allowed_hosts`, `allowed_origins`, …); FastMCP guards
      Host/Origin itself (`security` is refused, `host` unused) and has no body-limit option (the
      SDK's default limit applies; another `max_request_body_size` is refused).
    - `limits`: `fp.Limits` for decoding without a gate (a gate carries its own).
    - `tool_schema_ttl_s`: see `_param_headers.SchemaCache` (lowlevel servers without `get_tool_input_schema`).
    - `trace`: None = the OpenTelemetry span only when a tracer provider is installed;
      True = always (exactly the SDK); False = never.
    - `inline_sync_tools`: opt-in, `True` or a set of tool names (an `MCPServer`'s tools registered
      by now): run those *sync* tools on the event loop instead of the SDK's worker-thread hop.
      Only for tools that never block (pure computation, well under a millisecond): a blocking
      tool run inline stalls every request this process serves. Applies on both paths (the tool
      itself is wrapped). A FastMCP tool has its own: `@mcp.tool(run_in_thread=False)`.
    - `direct` (default True): an `MCPServer`'s `tools/call` runs by a plan compiled once per tool,
      without the SDK's per-request kernel, wherever the outcome is the kernel's to the byte (see
      `adapters/_direct.py` for what qualifies; everything else takes the kernel); a FastMCP
      server's goes into FastMCP's own handler without the kernel (`adapters/_direct_fastmcp.py`).
    - `sync_hop`: how a sync tool leaves the event loop on the direct path: `"workers"` (default:
      a pool of long-lived worker threads on one queue, measured cheaper) or `"anyio"` (the SDK's
      `anyio.to_thread`); see `adapters/_sync_hop.py`.
    - `task_store`: where the server's tasks live (`io.modelcontextprotocol/tasks`): a `TaskStore`
      or a spec (`memory`, `sqlite:///PATH`, `redis://…`). The server declares its task tools with
      `mcp_fastpath.tasks.TaskSupport(server, tools={...})`, which serves the extension on both
      paths (it is SDK request handlers); this only picks the store (default: process memory).
    - `resource_metadata`: OAuth 2.0 Protected Resource Metadata (RFC 9728). None (default): served
      whenever the gate checks JWTs, everything taken from the gate (resource = the JWT audience,
      authorization server = its issuer, scopes = the policy's); a
      `mcp_fastpath.resource_metadata.ResourceMetadata` to set any of them; False: off. When on,
      the document is at `/.well-known/oauth-protected-resource` and
      `/.well-known/oauth-protected-resource<path>`, and every 401 (and 403 `insufficient_scope`)
      names it in `WWW-Authenticate: Bearer resource_metadata="…"`.
    - `access_log`: one line per HTTP request on the `mcp_fastpath.access` logger (INFO; see
      `adapters/_observe.py`); `metrics`: True or a `mcp_fastpath.metrics.Metrics` for Prometheus
      metrics served at `metrics_path` (`pip install 'mcp-fastpath[metrics]'`). Both off by
      default: then the request path carries none of their code.

    The result is the SDK's Starlette app (FastMCP's, for a FastMCP server). When it has no
    middleware of its own (no SDK auth), a wrapper in front of it serves the fast path without
    Starlette's routing; otherwise the fast path runs inside it, behind its middleware (FastMCP's
    app always has some: its request context, and its auth and Host/Origin guard when configured).
    """
    if replay is not None and gate is None:
        raise ValueError("replay needs a gate (it checks the signatures the gate verified)")
    if "max_skew_s" in sdk_options:
        raise TypeError("max_skew_s is not an option: the replay window is the gate's EnvelopeVerifier(max_skew_s=...)")
    gates = as_gate_provider(gate)
    # The SDK's own spellings are accepted too, so `streamable_http_app(**options)` ports as is.
    path = sdk_options.pop("streamable_http_path", path)
    security = sdk_options.pop("transport_security", security)
    kind = server_kind(server, "fast_http_app")
    lowlevel = kind.lowlevel
    metrics = _metrics(metrics)
    if task_store is not None:
        from ..tasks import TaskSupport

        TaskSupport.bind_store(server, task_store)
    if metrics is not None:
        _count_tasks(server, metrics)
    metadata = metadata_service(resource_metadata, gates, path)
    observed = access_log or metrics is not None
    admitter = Admitter(gates, replay=replay, limits=limits, metadata=metadata, metrics=metrics, observed=observed)
    legacy_traffic = LegacyTraffic(legacy, admitter, max_body=max_request_body_size) if gates is not None else None
    envelope = gates.envelope if gates is not None else None
    if envelope is not None:
        # Servers that verify signed envelopes say so in `server/discover` (docs/verification.md).
        lowlevel.extensions[SIGNED_ENVELOPE_EXTENSION] = {
            "algorithms": ["hmac-sha256", "ed25519"],
            "maxSkewMs": int(envelope.max_skew_s * 1000),
            "required": bool(gates.require_envelope),
            **({"audience": envelope.audience} if envelope.audience else {}),
        }
    starlette_app = kind.http_app(
        path=path,
        json_response=json_response,
        security=security,
        host=host,
        max_body=max_request_body_size,
        options=sdk_options,
    )
    fast = FastPath(
        lowlevel,
        admitter=admitter,
        legacy=legacy_traffic,
        direct=kind.direct_dispatcher(SyncHop(sync_hop)) if direct else None,
        tool_schema_ttl_s=tool_schema_ttl_s,
        trace=trace,
    )
    # The seam: the app's endpoint calls `session_manager.asgi_app`, an instance attribute; ours
    # serves stateless-era POSTs and hands everything else to the original.
    kind.on_session_manager(starlette_app, path, fast.attach)
    starlette_app.state.mcp_fastpath = fast
    if inline_sync_tools:
        kind.inline_sync_tools(inline_sync_tools)
    if metadata is not None:
        _add_metadata_routes(starlette_app, metadata)
    if gates is not None:
        hook_starlette(starlette_app, gates.start, gates.aclose)
    app: Any = starlette_app
    manager = fast.manager  # None until a FastMCP app's lifespan starts
    if manager is not None and not starlette_app.user_middleware and plain_route(starlette_app, path, manager):
        app = FrontDoor(starlette_app, fast, path)
    if observed:
        app = ObservedApp(app, log=access_log, metrics=metrics, metrics_path=metrics_path)
    return app


def _metrics(metrics: Any) -> Any:
    if metrics is None or metrics is False:
        return None
    if metrics is True:
        from ..metrics import Metrics

        return Metrics()
    return metrics


def _count_tasks(server: Any, metrics: Any) -> None:
    """Task-store errors and task statuses, counted by wrapping the store of the server's
    `TaskSupport` (if it has one)."""
    from ..tasks import TaskSupport

    support = TaskSupport.of(server)
    if support is None:
        return
    from ..metrics import InstrumentedTaskStore

    store = support.active_store()
    if not isinstance(store, InstrumentedTaskStore):
        support.store = InstrumentedTaskStore(store, metrics)


def _add_metadata_routes(starlette_app: Any, metadata: ResourceMetadataService) -> None:
    from starlette.routing import Route

    # The service is a raw ASGI endpoint (not a request/response function): it answers GET/HEAD/OPTIONS.
    routes = [
        Route(WELL_KNOWN, endpoint=metadata, methods=None),
        Route(WELL_KNOWN + "/{suffix:path}", endpoint=metadata, methods=None),
    ]
    starlette_app.router.routes[0:0] = routes


class FastTokenVerifier:
    """The SDK's `TokenVerifier` protocol (`mcp.server.auth.provider`) on `fp.JwtVerifier`.

    ```python
    verifier = FastTokenVerifier(fp.JwtVerifier(keyring, issuer=..., audience=...))
    MCPServer(..., token_verifier=verifier, auth=AuthSettings(issuer_url=..., resource_server_url=...))
    ```
    A token that does not verify (any `Rejection`) gives None: the SDK's bearer middleware then
    answers 401 with its own `WWW-Authenticate`. The `AccessToken` carries `client_id` (the
    `client_id` / `azp` claim, else `sub`, else ""), `scopes`, `expires_at` (int seconds),
    `resource` (the audience we verified against), `subject` and the full `claims`.
    """

    def __init__(self, verifier: Any) -> None:
        self.verifier = verifier

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            principal = self.verifier.verify(token)
        except Rejection:
            return None
        return access_token_for(principal, token)
