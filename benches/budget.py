"""Where the time goes: a per-request budget, in process, for the fast path and for the SDK.

One `tools/call` with a distinct HS256 JWT on every request (benches/servers.py's `forecast` or
`add`), split into stages, each timed on its own in a loop of CPU time (`time.process_time`, so
other processes on the machine weigh less), the contenders interleaved, the median of the
repetitions kept:

- decode: the body and routing headers into a request — `fp.decode`; for the SDK, `json.loads`,
  the pydantic envelope models and its inbound ladder (as `handle_modern_request` runs them);
- verify: the JWT — `Gate.admit` minus `decode`; for the SDK, its bearer middleware's
  `TokenVerifier` (PyJWT);
- dispatch: from the request to the tool's result dict, minus the tool — the direct path's plan
  (`DirectTools.call`); for the SDK, `serve_one`; a sync tool's thread hop is in here;
- tool: the tool's own body;
- encode: the JSON-RPC response bytes — `fp.encode_response`; for the SDK, `JSONRPCResponse` +
  `model_dump` + `json.dumps`;
- ASGI: the rest of the app's work on the request (reading the body, the transport checks,
  headers, sending the response): the whole in-process ASGI call minus the stages above.

Not included: the HTTP server's own parsing (uvicorn + httptools) and the socket, the same for
every contender; `mcp-fastpath bench --e2e` measures everything over real HTTP.

    mcp-fastpath bench --budget [--tool forecast|add] [--seconds S]
"""

from __future__ import annotations

import asyncio
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from mcp_fastpath._sdk import SilentDispatchContext

from tests.asgi_driver import lifespan, post

from .e2e import TOOLS, _body, _headers
from .servers import AUDIENCE, ISSUER, PyJwtTokenVerifier, build_server

__all__ = ["STAGES", "format_table", "run"]

STAGES = ("decode", "verify", "dispatch", "tool", "encode", "ASGI")
_SECRET = b"budget-secret-" + b"x" * 32
_POOL = 60_000  # distinct tokens; a token is never sent twice in one measured loop


def _tokens(codec: Any) -> list[str]:
    key = codec.HmacKey("k1", _SECRET)
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "budget", "scope": "mcp", "iat": now, "exp": now + 3600}
    return [codec.sign_jwt(key, {**claims, "jti": str(i)}) for i in range(_POOL)]


class _Cursor:
    """Hands out the pool's tokens in turn."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.i = 0

    def next(self) -> str:
        self.i = (self.i + 1) % len(self.tokens)
        return self.tokens[self.i]


def _loop_time(call: Callable[[], Any], n: int) -> float:
    start = time.process_time()
    for _ in range(n):
        call()
    return (time.process_time() - start) / n


def _aloop_time(loop: asyncio.AbstractEventLoop, make: Callable[[], Any], n: int) -> float:
    async def many() -> None:
        for _ in range(n):
            await make()

    start = time.process_time()
    loop.run_until_complete(many())
    return (time.process_time() - start) / n


class _Fast:
    """The fast path on one backend: `fast_http_app` with a JWT gate, direct dispatch."""

    def __init__(self, backend: str, tool: str, loop: asyncio.AbstractEventLoop) -> None:
        from mcp_fastpath import _backend
        from mcp_fastpath.adapters.sdk import fast_http_app

        self.name = f"fast {backend}"
        self.codec = codec = _backend.load(backend)[1]
        key = codec.HmacKey("k1", _SECRET)
        self.gate = codec.Gate(jwt=codec.JwtVerifier(codec.KeyRing([key]), issuer=ISSUER, audience=AUDIENCE))
        self.app = fast_http_app(build_server(), gate=self.gate)  # default settings (SSE mode, as `serve`)
        self.fast = self.app.state.mcp_fastpath
        self.loop = loop
        self.tool = tool
        self.body = _body(tool)
        self.tokens = _Cursor(_tokens(codec))
        self.http = _headers(tool) | {"Host": "127.0.0.1:8000"}

    def raw(self) -> list[tuple[bytes, bytes]]:
        headers = self.http | {"Authorization": f"Bearer {self.tokens.next()}"}
        return [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    def measure(self, n: int) -> dict[str, float]:
        codec, body, loop = self.codec, self.body, self.loop
        raws = [self.raw() for _ in range(n)]
        it = iter(range(10**12))
        decode = _loop_time(lambda: codec.decode(body, raws[next(it) % n]), n)
        it = iter(range(10**12))
        admit = _loop_time(lambda: self.gate.admit(body, raws[next(it) % n]), n)
        message = self.gate.admit(body, raws[0]).request
        direct = self.fast.direct
        state = self.fast._lifespan_state()
        dispatch = _aloop_time(loop, lambda: direct.call(message, SilentDispatchContext(message.id), state), n)
        tool_fn, validated = _tool_call(direct, message)
        if asyncio.iscoroutinefunction(tool_fn):
            tool = _aloop_time(loop, lambda: tool_fn(**validated), n)
        else:
            tool = _loop_time(lambda: tool_fn(**validated), n)
        result = loop.run_until_complete(direct.call(message, SilentDispatchContext(message.id), state))
        encode = _loop_time(lambda: codec.encode_response(1, result), n)
        headers = [{k.decode(): v.decode() for k, v in raws[i]} for i in range(n)]
        it = iter(range(10**12))
        total = _aloop_time(loop, lambda: post(self.app, "/mcp", body, headers[next(it) % n]), n)
        return _stages(decode, admit - decode, dispatch - tool, tool, encode, total)


class _Sdk:
    """The SDK's stock app with its bearer middleware and a PyJWT `TokenVerifier`."""

    name = "SDK"

    def __init__(self, tool: str, loop: asyncio.AbstractEventLoop) -> None:
        from mcp.server.auth.settings import AuthSettings
        from mcp_fastpath import _backend

        auth = AuthSettings.model_validate(
            {"issuer_url": ISSUER, "resource_server_url": AUDIENCE, "validate_token_resource": False}
        )
        self.verifier = PyJwtTokenVerifier(_SECRET, issuer=ISSUER, audience=AUDIENCE)
        self.server = build_server(token_verifier=self.verifier, auth=auth)
        self.app = self.server.streamable_http_app()  # its defaults, as its users run it
        self.loop = loop
        self.tool = tool
        self.body = _body(tool)
        self.tokens = _Cursor(_tokens(_backend.load("pure")[1]))
        self.http = _headers(tool) | {"Host": "127.0.0.1:8000"}

    def measure(self, n: int) -> dict[str, float]:
        from mcp.server.connection import Connection
        from mcp.server.runner import serve_one
        from mcp_types import JSONRPCResponse

        from .codec import sdk_path_call

        loop, body = self.loop, self.body
        decode = _loop_time(sdk_path_call(_sdk_body(body, self.http)), n)
        tokens = [self.tokens.next() for _ in range(n)]
        it = iter(range(10**12))
        verify = _aloop_time(loop, lambda: self.verifier.verify_token(tokens[next(it) % n]), n)
        message = json.loads(body)
        params = message["params"]
        meta = params["_meta"]
        lowlevel = self.server._lowlevel_server
        state = self.server._lowlevel_server.session_manager._lifespan_state

        def one() -> Any:
            connection = Connection.from_envelope(
                meta["io.modelcontextprotocol/protocolVersion"],
                meta.get("io.modelcontextprotocol/clientInfo"),
                meta["io.modelcontextprotocol/clientCapabilities"],
            )
            return serve_one(
                lowlevel, SilentDispatchContext(1), "tools/call", params, connection=connection, lifespan_state=state
            )

        dispatch = _aloop_time(loop, one, n)
        tool_fn, validated = _tool_call_sdk(self.server, params)
        if asyncio.iscoroutinefunction(tool_fn):
            tool = _aloop_time(loop, lambda: tool_fn(**validated), n)
        else:
            tool = _loop_time(lambda: tool_fn(**validated), n)
        result = loop.run_until_complete(one())

        def encode_once() -> bytes:
            reply = JSONRPCResponse(jsonrpc="2.0", id=1, result=result)
            return json.dumps(reply.model_dump(mode="json", by_alias=True, exclude_none=True), separators=(",", ":"))

        encode = _loop_time(encode_once, n)
        headers = [self.http | {"Authorization": f"Bearer {t}"} for t in tokens]
        it = iter(range(10**12))
        total = _aloop_time(loop, lambda: post(self.app, "/mcp", body, headers[next(it) % n]), n)
        return _stages(decode, verify, dispatch - tool, tool, encode, total)


def _sdk_body(body: bytes, headers: dict[str, str]) -> Any:
    """The codec benchmark's `Body` for the SDK path function."""
    from .codec import Body

    pairs = tuple((k.lower().encode(), v.encode()) for k, v in headers.items())
    return Body(key="budget", label="budget", description="", body=body, headers=pairs, tool="")


def _stages(
    decode: float, verify: float, dispatch: float, tool: float, encode: float, total: float
) -> dict[str, float]:
    stages = {"decode": decode, "verify": verify, "dispatch": dispatch, "tool": tool, "encode": encode}
    stages["ASGI"] = total - sum(stages.values())
    stages["total"] = total
    return {k: v * 1e6 for k, v in stages.items()}


def _tool_call(direct: Any, message: Any) -> tuple[Any, dict[str, Any]]:
    plan = direct.plan(message.params["name"])
    validated = plan.arg_model.model_validate(message.params.get("arguments") or {}).model_dump_one_level()
    return plan.fn, validated


def _tool_call_sdk(server: Any, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    tool = server._tool_manager.get_tool(params["name"])
    return tool.fn, tool.fn_metadata.validate_arguments(params.get("arguments") or {})


def _new_loop() -> asyncio.AbstractEventLoop:
    """The loop `serve` runs on: uvloop when installed."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - depends on the environment
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run(
    seconds: float = 3.0,
    *,
    tool: str = "forecast",
    backends: tuple[str, ...] | None = None,
    reps: int = 5,
    stream: TextIO | None = None,
) -> dict[str, Any]:
    """Measure every contender for about `seconds` in `reps` interleaved repetitions; return
    `{"tool", "rows": {contender: {stage: µs}}, "config"}`."""
    from mcp_fastpath import _backend

    if tool not in TOOLS:
        raise ValueError(f"tool must be one of {sorted(TOOLS)}")
    log = stream or sys.stderr
    if backends is None:
        backends = ("native", "pure")
        try:
            _backend.load("native")
        except ImportError:
            backends = ("pure",)
    loop = _new_loop()
    try:
        contenders: list[Any] = [_Sdk(tool, loop), *(_Fast(b, tool, loop) for b in backends)]
        apps = [c.app for c in contenders]
        stack = [lifespan(app) for app in apps]
        for ctx in stack:
            loop.run_until_complete(ctx.__aenter__())
        try:
            # Calibrate: about `seconds / reps / len(contenders)` per repetition and contender.
            per_call = max(1e-6, sum(c.measure(50)["total"] for c in contenders) / len(contenders) / 1e6)
            n = max(100, min(_POOL, int(seconds / reps / len(contenders) / per_call / 8)))
            print(f"budget: {tool}, {len(contenders)} contenders, {reps} repetitions of n={n}", file=log)
            samples: dict[str, list[dict[str, float]]] = {c.name: [] for c in contenders}
            for r in range(reps):
                order = contenders[r % len(contenders) :] + contenders[: r % len(contenders)]
                for c in order:
                    gc.collect()
                    samples[c.name].append(c.measure(n))
        finally:
            for ctx in reversed(stack):
                loop.run_until_complete(ctx.__aexit__(None, None, None))
    finally:
        loop.close()
    rows = {
        name: {stage: statistics.median(s[stage] for s in runs) for stage in (*STAGES, "total")}
        for name, runs in samples.items()
    }
    import platform

    return {"tool": tool, "rows": rows, "config": {"python": platform.python_version(), "reps": reps, "n": n}}


def format_table(results: dict[str, Any]) -> str:
    rows = results["rows"]
    names = list(rows)
    sdk = rows.get("SDK")
    out = [
        f"Per-request budget, in process, `{results['tool']}` with a distinct HS256 JWT per request "
        f"(µs of CPU, median of {results['config']['reps']} interleaved repetitions):",
        "",
        "| stage | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for stage in (*STAGES, "total"):
        cells = [f"{rows[name][stage]:.1f}" for name in names]
        label = f"**{stage}**" if stage == "total" else stage
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    if sdk:
        ratios = [f"{sdk['total'] / rows[name]['total']:.2f}×" for name in names]
        out.append("| SDK total / total | " + " | ".join(ratios) + " |")
    return "\n".join(out)
