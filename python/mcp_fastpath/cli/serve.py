"""`mcp-fastpath serve`: an official-SDK or FastMCP server through the fast path (or its own app)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ._common import KEYFILE_HELP, PROG, Subparsers, command, ensure_backend
from ._serve_auth import add_auth_arguments, auth_options, open_door_warning
from ._serve_ops import add_ops_arguments, ops_options, prepare_metrics

__all__ = ["SERVE_ENV", "app_from_env", "build_app", "fastmcp_host_guard", "load_target"]


def load_target(spec: str) -> Any:
    """The server named by `module:attr` or `path/to/file.py:attr` (a zero-argument callable is
    called: a factory). The current directory (or the file's directory) goes on `sys.path`."""
    import importlib
    import importlib.util
    import os

    from ..errors import FastpathError

    module_part, sep, attr = spec.rpartition(":")
    if not sep or not module_part or not attr:
        raise FastpathError(f"TARGET must be module:attr or path.py:attr, not {spec!r}")
    if module_part.endswith(".py") or os.sep in module_part or "/" in module_part:
        path = os.path.abspath(module_part)
        if not os.path.isfile(path):
            raise FastpathError(f"no such file: {module_part}")
        directory = os.path.dirname(path)
        if directory not in sys.path:
            sys.path.insert(0, directory)
        name = os.path.splitext(os.path.basename(path))[0]
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise FastpathError(f"cannot import {module_part}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules.setdefault(name, module)
        module_spec.loader.exec_module(module)
    else:
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(module_part)
        except ModuleNotFoundError as exc:
            raise FastpathError(f"cannot import {module_part!r}: {exc}") from None
    try:
        obj = getattr(module, attr)
    except AttributeError:
        raise FastpathError(f"{module_part} has no attribute {attr!r}") from None
    if not _is_server(obj) and _is_factory(obj):
        obj = obj()
    if not _is_server(obj):
        raise FastpathError(
            f"{spec} is not an MCP server (an SDK MCPServer or lowlevel Server, or a FastMCP server): "
            f"{type(obj).__name__}"
        )
    return obj


def _is_server(obj: Any) -> bool:
    """An official-SDK server (it has `streamable_http_app`) or a FastMCP one."""
    if hasattr(obj, "streamable_http_app"):
        return True
    module = sys.modules.get("fastmcp.server.server")  # imported by whoever made a FastMCP server
    cls = getattr(module, "FastMCP", None)
    return cls is not None and isinstance(obj, cls)


def _is_factory(obj: Any) -> bool:
    """A callable that can be called with no arguments (a server factory)."""
    import inspect

    if not callable(obj):
        return False
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return False
    return all(
        p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in signature.parameters.values()
    )


def build_app(
    target: str,
    *,
    sdk: bool = False,
    keys: str | None = None,
    replay: str = "memory",
    host: str = "127.0.0.1",
    path: str = "/mcp",
    task_store: str | None = None,
    legacy: str = "refuse",
    inline_sync_tools: bool = False,
    sync_hop: str = "workers",
    allowed_hosts: list[str] | tuple[str, ...] = (),
    allowed_origins: list[str] | tuple[str, ...] = (),
    replay_outcomes: bool = True,
    health: bool = True,
    access_log: bool = False,
    metrics: bool = False,
    metrics_path: str = "/metrics",
    **auth: Any,
) -> tuple[Any, str]:
    """The ASGI app `serve` runs, and a one-line description of it. `auth`: the options of
    `_serve_auth.auth_options` (JWKS, resource metadata, key reloading)."""
    from .. import BACKEND, MemoryReplayCache, RedisReplayCache
    from ..adapters._server_kinds import FastMCPKind, server_kind
    from ..errors import FastpathError
    from ._serve_auth import build_gate, resource_metadata_option

    server = load_target(target)
    kind = server_kind(server, "serve")
    options: dict[str, Any] = {}
    if isinstance(kind, FastMCPKind):
        # FastMCP turns the SDK's Host/Origin check off and guards in its own middleware.
        security = None
        options = fastmcp_host_guard(allowed_hosts, allowed_origins)
    else:
        security = transport_security(host, allowed_hosts, allowed_origins)
    if sdk:
        if keys or auth.get("jwks_url"):
            flag = "--keys configures" if keys else "--jwks-url configures"
            raise FastpathError(
                f"{flag} the fast path's Gate; with --sdk configure the server's own token_verifier/auth"
            )
        if task_store:
            from ..tasks import TaskSupport

            TaskSupport.bind_store(server, task_store)
        # The server's own app with its defaults, so the comparison is with what its users run.
        app = kind.stock_app(path=path, host=host, security=security, options=options)
        return _with_health(app, server, None, health), f"{kind.stock_description} (its defaults)"
    try:
        from ..adapters.sdk import fast_http_app
    except ImportError as exc:
        raise FastpathError(
            f"the fast path for SDK servers (mcp_fastpath.adapters.sdk.fast_http_app) is not available: {exc}; "
            "use --sdk to serve with the SDK's stock app"
        ) from None
    replay_cache = None
    what = "no gate"
    gate, parts = build_gate(keys=keys, **auth)
    if gate is not None:
        replay_cache = (
            RedisReplayCache(replay, outcomes=replay_outcomes)
            if replay.startswith(("redis://", "rediss://", "unix://", "redis+cluster://", "rediss+cluster://"))
            else MemoryReplayCache(outcomes=replay_outcomes)
        )
        if legacy == "bearer" and not gate.checks_tokens:
            raise FastpathError('--legacy bearer needs JWT checking: a key file with "issuer" and "audience"')
        handshake = "refused" if legacy == "refuse" else "bearer JWT required"
        cache = "redis" if isinstance(replay_cache, RedisReplayCache) else "memory"
        cache += " with outcomes" if replay_outcomes else ", seen-only"
        what = f"gate: {' + '.join(parts) or 'optional signatures'}, replay cache: {cache}, handshake-era clients: {handshake}"
    metadata = resource_metadata_option(**auth) if gate is not None and gate.checks_tokens else False
    if metadata is False and (auth.get("authorization_servers") or auth.get("resource_url")):
        raise FastpathError(
            "--authorization-server / --resource-url need JWT checking (--jwks-url, or a key file with an issuer)"
        )
    if access_log:
        from ._serve_ops import configure_access_log

        configure_access_log()
    app = fast_http_app(
        server,
        gate=gate,
        replay=replay_cache,
        legacy=legacy,
        host=host,
        path=path,
        task_store=task_store,
        inline_sync_tools=inline_sync_tools,
        sync_hop=sync_hop,
        security=security,
        resource_metadata=metadata,
        access_log=access_log,
        metrics=metrics,
        metrics_path=metrics_path,
        **options,
    )
    if metadata is not False:
        what += ", OAuth resource metadata at /.well-known/oauth-protected-resource"
    if metrics:
        what += f", metrics at {metrics_path}"
    if task_store:
        what += f", task store: {task_store.split('://', 1)[0]}"
    if health:
        what += ", probes: /healthz /livez"
    return _with_health(app, server, replay_cache, health), f"the fast path (backend {BACKEND}; {what})"


def transport_security(host: str, allowed_hosts: Any = (), allowed_origins: Any = ()) -> Any:
    """The SDK's `TransportSecuritySettings` for `--allowed-host` / `--allowed-origin`: None (the
    SDK's default for `host`: DNS-rebinding protection on a loopback bind) when neither is given;
    else protection on, with the given values plus, on a loopback bind, the loopback defaults.
    `--allowed-host '*'` turns the protection off (behind a proxy that checks Host itself)."""
    hosts, origins = list(allowed_hosts or ()), list(allowed_origins or ())
    if not hosts and not origins:
        return None
    from mcp.server.transport_security import TransportSecuritySettings

    if "*" in hosts:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    if host in ("127.0.0.1", "localhost", "::1"):
        hosts += ["127.0.0.1:*", "localhost:*", "[::1]:*"]
        origins += ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


def fastmcp_host_guard(allowed_hosts: Any = (), allowed_origins: Any = ()) -> dict[str, Any]:
    """FastMCP's own Host/Origin guard (`http_app` options) for `--allowed-host` / `--allowed-origin`:
    none given, or `--allowed-host '*'`, keeps FastMCP's default (its `http_host_origin_protection`
    setting); else the guard on, with the given values (FastMCP always admits the loopback names)."""
    hosts, origins = list(allowed_hosts or ()), list(allowed_origins or ())
    if "*" in hosts or not (hosts or origins):
        return {}
    return {"host_origin_protection": True, "allowed_hosts": hosts, "allowed_origins": origins}


def _with_health(app: Any, server: Any, replay_cache: Any, health: bool) -> Any:
    """`app` behind `/livez` and `/healthz` (readiness: the replay cache and the task store)."""
    if not health:
        return app
    from ..adapters.health import HealthCheck

    checks: dict[str, Any] = {}
    if replay_cache is not None:
        checks["replay"] = replay_cache.ping
    tasks = sys.modules.get("mcp_fastpath.tasks.support")  # loaded when the server declares task tools
    support = tasks.TaskSupport.of(server) if tasks is not None else None
    if support is not None:

        async def task_store() -> None:
            store = support.active_store()
            ping = getattr(store, "ping", None)
            if ping is not None:
                await ping()

        checks["tasks"] = task_store
    return HealthCheck(app, checks=checks)


SERVE_ENV = "MCP_FASTPATH_SERVE"


def app_from_env() -> Any:
    """uvicorn factory for `serve --workers N`: each worker builds the app from `$MCP_FASTPATH_SERVE`."""
    import os

    return build_app(**json.loads(os.environ[SERVE_ENV]))[0]


@command
def _serve(sub: Subparsers) -> None:
    p = sub.add_parser(
        "serve",
        help="serve an official-SDK or FastMCP server through the fast path (or the server's own app)",
        description=(
            "Serve TARGET (module:attr or path/to/file.py:attr naming an mcp SDK MCPServer, a lowlevel Server, "
            "a FastMCP server, or a zero-argument function returning one) with uvicorn (uvloop + httptools when "
            "installed). Stateless (2026-07-28) POSTs take mcp-fastpath's request path "
            "(mcp_fastpath.adapters.sdk.fast_http_app); --sdk serves the server's own app instead (the SDK's stock "
            "streamable_http_app, or FastMCP's http_app), for comparison. --keys turns the Gate on "
            "(signed envelopes and/or JWTs, replay cache)."
        ),
        epilog=KEYFILE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("target", metavar="TARGET", help="module:attr or path.py:attr")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--path", default="/mcp", help="endpoint path (default /mcp)")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    p.add_argument(
        "--backend",
        choices=("native", "pure", "auto"),
        help="codec backend (default: $MCP_FASTPATH_BACKEND, else auto)",
    )
    p.add_argument(
        "--sdk",
        action="store_true",
        help="serve with the server's own app (the SDK's stock app, or FastMCP's http_app; no fast path), for comparison",
    )
    p.add_argument("--keys", metavar="FILE", help="key file: turns the Gate on (format below)")
    p.add_argument(
        "--replay",
        default="memory",
        metavar="memory|redis://…",
        help="replay cache for signed requests (default memory: one per worker; use Redis for several workers or nodes, "
        "redis+cluster://HOST:PORT for Redis Cluster)",
    )
    p.add_argument(
        "--legacy",
        choices=("refuse", "bearer"),
        default="refuse",
        help="with --keys, handshake-era clients (initialize, 2025-11-25 and older): refuse (default) them, or serve "
        "them only with a valid bearer JWT on every request (needs a key file with issuer and audience)",
    )
    p.add_argument(
        "--inline-sync-tools",
        action="store_true",
        help="run sync tools on the event loop, without a thread hop: only for tools that never block",
    )
    p.add_argument(
        "--sync-hop",
        choices=("workers", "anyio"),
        default="workers",
        help="how a sync tool leaves the event loop: workers (default: a pool of worker threads on one queue) "
        "or anyio (the SDK's anyio.to_thread)",
    )
    p.add_argument(
        "--task-store",
        metavar="memory|sqlite:///PATH|redis://…",
        help="where the server's tasks (io.modelcontextprotocol/tasks, declared with mcp_fastpath.tasks.TaskSupport) "
        "live (default: process memory; use SQLite or Redis for several workers or nodes)",
    )
    fleet = p.add_argument_group("behind a proxy / in a fleet")
    fleet.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="HOST[:PORT|:*]",
        help="a Host header the endpoint accepts (repeat; DNS-rebinding protection, the SDK's TransportSecuritySettings). "
        "Behind a proxy that passes the client's Host, name the public host; '*' turns the check off",
    )
    fleet.add_argument(
        "--allowed-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="an Origin header the endpoint accepts (repeat), e.g. https://app.example.com or http://localhost:*",
    )
    fleet.add_argument(
        "--no-replay-outcomes",
        dest="replay_outcomes",
        action="store_false",
        help="keep only 'seen' in the replay cache: a duplicate of a signed request is refused (-32012) instead of "
        "answered with the first copy's reply (see mcp_fastpath.replay)",
    )
    fleet.add_argument(
        "--no-health",
        dest="health",
        action="store_false",
        help="do not serve GET /livez (liveness) and /healthz (readiness: replay cache and task store reachable)",
    )
    p.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    add_auth_arguments(p)
    add_ops_arguments(p)
    p.set_defaults(handler=_run_serve)


def _run_serve(args: argparse.Namespace) -> int:
    import importlib.util
    import os

    ensure_backend(args.backend, args.argv)
    import uvicorn

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    options = {
        "target": args.target,
        "sdk": args.sdk,
        "keys": args.keys,
        "replay": args.replay,
        "host": args.host,
        "path": args.path,
        "task_store": args.task_store,
        "legacy": args.legacy,
        "inline_sync_tools": args.inline_sync_tools,
        "sync_hop": args.sync_hop,
        "allowed_hosts": args.allowed_host,
        "allowed_origins": args.allowed_origin,
        "replay_outcomes": args.replay_outcomes,
        "health": args.health,
        **ops_options(args),
        **auth_options(args),
    }
    if args.metrics and not args.sdk:
        prepare_metrics(args.workers)
    app, what = build_app(**options)  # also validates everything before workers start
    if not args.sdk:
        warning = open_door_warning(app.state.mcp_fastpath.admitter.gates, args.host)
        if warning:
            print(warning, file=sys.stderr, flush=True)
    if args.workers > 1 and args.keys and args.replay == "memory":
        print(
            f"{PROG} serve: warning: each of the {args.workers} workers has its own memory replay cache; use --replay redis://…",
            file=sys.stderr,
        )
    if args.workers > 1 and (args.task_store or "memory") == "memory" and "mcp_fastpath.tasks.support" in sys.modules:
        print(
            f"{PROG} serve: warning: with --workers, tasks are per worker unless --task-store is sqlite:///… or redis://…",
            file=sys.stderr,
        )
    print(
        f"{PROG} serve: {args.target} via {what} on http://{args.host}:{args.port}{args.path} (loop {loop}, http {http})",
        file=sys.stderr,
        flush=True,
    )
    # The fast path writes its own access log (adapters/_observe.py); the SDK's app gets uvicorn's.
    uvicorn_access_log = args.sdk and not args.no_access_log
    config: dict[str, Any] = dict(
        host=args.host, port=args.port, loop=loop, http=http, log_level=args.log_level, access_log=uvicorn_access_log
    )
    if args.workers > 1:
        os.environ[SERVE_ENV] = json.dumps(options)
        uvicorn.run("mcp_fastpath.cli.serve:app_from_env", factory=True, workers=args.workers, **config)
    else:
        uvicorn.run(app, **config)
    return 0
