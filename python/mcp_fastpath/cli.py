"""The `mcp-fastpath` command line (also `python -m mcp_fastpath`).

Subcommands are registered with `@command`: a function that receives argparse's subparsers object,
adds its parser and sets `handler=<function(args) -> int>` with `set_defaults`. The handler imports
what it needs itself, so `mcp-fastpath --help` stays fast and one subcommand's optional dependency
never breaks another. DESIGN §4 plans `serve`, `keygen`, `sign`, `verify`, `call`, `bench` and
`demo`, all registered below. To add one:

    @command
    def _serve(sub: Subparsers) -> None:
        p = sub.add_parser("serve", help="...", description="...")
        p.add_argument("target")
        p.set_defaults(handler=_run_serve)

    def _run_serve(args: argparse.Namespace) -> int:
        from .adapters import sdk
        ...
        return 0

Handlers return the exit status; a `FastpathError` escaping a handler is printed as
`mcp-fastpath: error: …` with status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["command", "main"]

PROG = "mcp-fastpath"

Subparsers = Any  # argparse._SubParsersAction (private in typeshed)
Registrar = Callable[[Subparsers], None]

_REGISTRARS: list[Registrar] = []


def command(register: Registrar) -> Registrar:
    """Register a subcommand (see the module docstring). Order of registration is help order."""
    _REGISTRARS.append(register)
    return register


def build_parser() -> argparse.ArgumentParser:
    from . import BACKEND, __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="The fast, verified request path for stateless (2026-07-28) MCP servers.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__} (backend: {BACKEND})")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for register in _REGISTRARS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv  # `serve --backend` re-runs the command with it
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    from .errors import FastpathError

    try:
        return int(handler(args) or 0)
    except FastpathError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


# ---------------------------------------------------------------------------------------------
# bench
# ---------------------------------------------------------------------------------------------


@command
def _bench(sub: Subparsers) -> None:
    p = sub.add_parser(
        "bench",
        help="codec benchmark: native vs pure vs the official SDK's path",
        description=(
            "Measure decode (and routing_keys) on three tools/call bodies (~350 B, ~1.4 KiB, ~45 KiB) "
            "for the native backend, the pure backend and the official SDK's own request path, "
            "interleaved in one run, and print a Markdown table of µs per call and ratios against targets. "
            "Progress goes to stderr, the table (or JSON) to stdout."
        ),
    )
    p.add_argument("--quick", action="store_true", help="short run (~0.5 s per body): rough numbers, for a smoke test")
    p.add_argument("--json", action="store_true", help="print the measurements as JSON instead of the table")
    p.add_argument("--seconds", type=_positive_float, metavar="S", help="seconds per body (default 3, or 0.5 with --quick); with --e2e, seconds per server (default 10, or 3 with --quick)")
    p.add_argument(
        "--e2e",
        action="store_true",
        help=(
            "end-to-end instead: one MCPServer with an add tool served (one uvicorn worker each) by the SDK's stock "
            "app and by the fast path on both backends, loaded over HTTP by a keep-alive load generator in another "
            "process; a second table with an HS256 JWT on every request (see mcp_fastpath/e2e.py)"
        ),
    )
    p.add_argument("--verify", action="store_true", help="the verification benchmark instead: JWT and envelopes, native vs pure vs PyJWT")
    p.add_argument("--connections", type=int, default=16, metavar="N", help="--e2e: concurrent keep-alive connections (default 16)")
    p.add_argument("--no-jwt", action="store_true", help="--e2e: skip the JWT table")
    p.set_defaults(handler=_run_bench)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text!r}")
    return value


def _run_bench(args: argparse.Namespace) -> int:
    if args.verify:
        from . import bench_verify

        seconds = args.seconds if args.seconds is not None else (0.5 if args.quick else 2.0)
        measured = bench_verify.run(seconds, stream=sys.stderr)
        print(json.dumps(measured, indent=2) if args.json else bench_verify.format_table(measured))
        return 0
    if args.e2e:
        from . import e2e

        seconds = args.seconds if args.seconds is not None else (3.0 if args.quick else 10.0)
        results = e2e.run(seconds, connections=args.connections, jwt=not args.no_jwt, rounds=3 if args.quick else 5, stream=sys.stderr)
        print(json.dumps(results, indent=2) if args.json else e2e.format_tables(results))
        return 0

    from . import bench

    seconds = args.seconds if args.seconds is not None else (0.5 if args.quick else 3.0)
    options: dict[str, Any] = {"inner_loop_s": 0.01, "min_reps": 5} if args.quick else {}
    rows = bench.run(seconds, stream=sys.stderr, **options)
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print(bench.format_table(rows))
    return 0


# ---------------------------------------------------------------------------------------------
# Shared helpers for the commands below
# ---------------------------------------------------------------------------------------------

KEYFILE_HELP = """\
key file (--keys): one JSON object, written by `mcp-fastpath keygen`:
  {
    "format": "mcp-fastpath/keys/v1",
    "jwks": {"keys": [<JWK>, ...]},   required: oct (HS256 / hmac-sha256) or OKP Ed25519 keys;
                                       a server needs the HMAC secret ("k") or the Ed25519 public
                                       "x"; a client signing requests needs "k" or "d"
    "audience": "https://mcp.example.com",  optional: envelope "aud" (signed, then required)
                                       and the JWT audience
    "issuer": "https://auth.example.com",   optional: turns JWT checking on (needs "audience")
    "envelope": true,                  optional (default true): require a signed envelope
    "token": true,                     optional (default: true when "issuer" is set)
    "max_skew_s": 60, "leeway_s": 30,  optional: envelope time window, JWT leeway
    "policy": {"tools/call:add": ["tools.add"], "*": []},   optional: ScopePolicy rules
    "signing_kid": "k1"                optional: the key a client signs with
  }
"""


def _read_json_input(source: str | None) -> tuple[bytes, Any]:
    """(raw bytes, parsed JSON) of a file, or stdin for None / "-"."""
    from .errors import FastpathError

    if source in (None, "-"):
        raw = sys.stdin.buffer.read()
    else:
        try:
            with open(source, "rb") as f:
                raw = f.read()
        except OSError as exc:
            raise FastpathError(f"cannot read {source}: {exc.strerror or exc}") from None
    try:
        return raw, json.loads(raw)
    except ValueError as exc:
        raise FastpathError(f"not JSON: {exc}") from None


def _ensure_backend(desired: str | None, argv: Sequence[str]) -> None:
    """Re-run this command in a fresh process when `--backend` differs from the loaded backend
    (the backend is chosen once, at import). `native` missing is an error, not a fallback."""
    import os

    from . import BACKEND, _backend

    if not desired:
        return
    env_choice = (os.environ.get("MCP_FASTPATH_BACKEND") or "auto").strip().lower()
    if desired == "native":
        _backend.load("native")  # raises BackendUnavailable with the build hint
    if desired == env_choice or (desired == BACKEND and desired != "auto"):
        return
    os.environ["MCP_FASTPATH_BACKEND"] = desired
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "mcp_fastpath", *argv])


def load_target(spec: str) -> Any:
    """The server named by `module:attr` or `path/to/file.py:attr` (a zero-argument callable is
    called: a factory). The current directory (or the file's directory) goes on `sys.path`."""
    import importlib
    import importlib.util
    import os

    from .errors import FastpathError

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
    if not hasattr(obj, "streamable_http_app") and _is_factory(obj):
        obj = obj()
    if not hasattr(obj, "streamable_http_app"):
        raise FastpathError(f"{spec} is not an MCP SDK server (no streamable_http_app): {type(obj).__name__}")
    return obj


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
) -> tuple[Any, str]:
    """The ASGI app `serve` runs, and a one-line description of it."""
    from . import BACKEND, MemoryReplayCache, RedisReplayCache
    from .errors import FastpathError

    server = load_target(target)
    if sdk:
        if keys:
            raise FastpathError("--keys configures the fast path's Gate; with --sdk configure the server's own token_verifier/auth")
        if task_store:
            from .tasks.runtime import TaskSupport

            TaskSupport.bind_store(server, task_store)
        # The SDK's own defaults, so the comparison is with what its users actually run.
        app = server.streamable_http_app(streamable_http_path=path, host=host)
        return app, "the SDK's stock streamable_http_app (its defaults)"
    try:
        from .adapters.sdk import fast_http_app
    except ImportError as exc:
        raise FastpathError(
            f"the fast path for SDK servers (mcp_fastpath.adapters.sdk.fast_http_app) is not available: {exc}; "
            "use --sdk to serve with the SDK's stock app"
        ) from None
    gate = replay_cache = None
    max_skew_s: float = 60
    what = "no gate"
    if keys:
        from .keyfile import load

        kf = load(keys)
        gate = kf.gate()
        max_skew_s = kf.max_skew_s
        replay_cache = RedisReplayCache(replay) if replay.startswith(("redis://", "rediss://", "unix://")) else MemoryReplayCache()
        parts = (["signed envelope"] if kf.envelope else []) + (["JWT"] if kf.wants_token else []) + (["scope policy"] if kf.policy else [])
        what = f"gate: {' + '.join(parts) or 'optional signatures'}, replay cache: {'redis' if isinstance(replay_cache, RedisReplayCache) else 'memory'}"
    app = fast_http_app(server, gate=gate, replay=replay_cache, max_skew_s=max_skew_s, host=host, path=path, task_store=task_store)
    if task_store:
        what += f", task store: {task_store.split('://', 1)[0]}"
    return app, f"the fast path (backend {BACKEND}; {what})"


_SERVE_ENV = "MCP_FASTPATH_SERVE"


def _app_from_env() -> Any:
    """uvicorn factory for `serve --workers N`: each worker builds the app from `$MCP_FASTPATH_SERVE`."""
    import os

    return build_app(**json.loads(os.environ[_SERVE_ENV]))[0]


# ---------------------------------------------------------------------------------------------
# serve
# ---------------------------------------------------------------------------------------------


@command
def _serve(sub: Subparsers) -> None:
    p = sub.add_parser(
        "serve",
        help="serve an official-SDK MCP server through the fast path (or the SDK's own app)",
        description=(
            "Serve TARGET (module:attr or path/to/file.py:attr naming an mcp SDK MCPServer, a lowlevel Server, "
            "or a zero-argument function returning one) with uvicorn (uvloop + httptools when installed). "
            "Stateless (2026-07-28) POSTs take mcp-fastpath's request path (mcp_fastpath.adapters.sdk.fast_http_app); "
            "--sdk serves the SDK's stock streamable_http_app instead, for comparison. --keys turns the Gate on "
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
    p.add_argument("--backend", choices=("native", "pure", "auto"), help="codec backend (default: $MCP_FASTPATH_BACKEND, else auto)")
    p.add_argument("--sdk", action="store_true", help="serve with the SDK's stock app (no fast path), for comparison")
    p.add_argument("--keys", metavar="FILE", help="key file: turns the Gate on (format below)")
    p.add_argument(
        "--replay",
        default="memory",
        metavar="memory|redis://…",
        help="replay cache for signed requests (default memory: one per worker; use Redis for several workers or nodes)",
    )
    p.add_argument(
        "--task-store",
        metavar="memory|sqlite:///PATH|redis://…",
        help="where the server's tasks (io.modelcontextprotocol/tasks, declared with mcp_fastpath.tasks.TaskSupport) "
        "live (default: process memory; use SQLite or Redis for several workers or nodes)",
    )
    p.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    p.set_defaults(handler=_run_serve)


def _run_serve(args: argparse.Namespace) -> int:
    import importlib.util
    import os

    _ensure_backend(args.backend, args.argv)
    import uvicorn

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    options = {"target": args.target, "sdk": args.sdk, "keys": args.keys, "replay": args.replay, "host": args.host, "path": args.path, "task_store": args.task_store}
    app, what = build_app(**options)  # also validates everything before workers start
    if args.workers > 1 and args.keys and args.replay == "memory":
        print(f"{PROG} serve: warning: each of the {args.workers} workers has its own memory replay cache; use --replay redis://…", file=sys.stderr)
    if args.workers > 1 and (args.task_store or "memory") == "memory" and "mcp_fastpath.tasks.runtime" in sys.modules:
        print(f"{PROG} serve: warning: with --workers, tasks are per worker unless --task-store is sqlite:///… or redis://…", file=sys.stderr)
    print(f"{PROG} serve: {args.target} via {what} on http://{args.host}:{args.port}{args.path} (loop {loop}, http {http})", file=sys.stderr, flush=True)
    config: dict[str, Any] = dict(host=args.host, port=args.port, loop=loop, http=http, log_level=args.log_level, access_log=False)
    if args.workers > 1:
        os.environ[_SERVE_ENV] = json.dumps(options)
        uvicorn.run("mcp_fastpath.cli:_app_from_env", factory=True, workers=args.workers, **config)
    else:
        uvicorn.run(app, **config)
    return 0


# ---------------------------------------------------------------------------------------------
# call
# ---------------------------------------------------------------------------------------------


@command
def _call(sub: Subparsers) -> None:
    p = sub.add_parser(
        "call",
        help="send one request through the signing, failing-over client",
        description=(
            "Send METHOD with PARAMS_JSON to URL (several URLs, comma-separated, fail over in order) as a "
            "2026-07-28 request: per-request _meta, routing headers, a signed envelope with --keys, a bearer token "
            "with --token (or minted from the key file when it names an issuer). Prints the result as JSON; "
            "a JSON-RPC error is printed to stderr with exit status 1."
        ),
        epilog=KEYFILE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("url", metavar="URL")
    p.add_argument("method", metavar="METHOD", help="e.g. server/discover, tools/list, tools/call")
    p.add_argument("params", metavar="PARAMS_JSON", nargs="?", default="{}", help='e.g. \'{"name": "add", "arguments": {"a": 1, "b": 2}}\'')
    p.add_argument("--keys", metavar="FILE", help="key file with a signing key (signs the request)")
    p.add_argument("--token", metavar="T", help="bearer token")
    p.add_argument("--scope", action="append", default=[], help="scope for a token minted from the key file (repeatable)")
    p.add_argument("--no-sign", action="store_true", help="with --keys: do not sign (only mint a token)")
    p.add_argument("--timeout", type=_positive_float, default=10.0, metavar="S")
    p.set_defaults(handler=_run_call)


def _run_call(args: argparse.Namespace) -> int:
    import asyncio

    from .client import Client, ClientError
    from .errors import FastpathError

    try:
        params = json.loads(args.params)
    except ValueError as exc:
        raise FastpathError(f"PARAMS_JSON is not JSON: {exc}") from None
    if not isinstance(params, dict):
        raise FastpathError("PARAMS_JSON must be a JSON object")
    signer = None
    token = args.token
    if args.keys:
        from .keyfile import load

        kf = load(args.keys)
        if not args.no_sign:
            signer = kf.signer()
        if token is None and kf.issuer is not None:
            token = kf.mint_token(scopes=args.scope)
    urls = [u for u in args.url.split(",") if u]

    async def run() -> dict[str, Any]:
        async with Client(urls, signer=signer, token=token, timeout_s=args.timeout) as client:
            return await client.request(args.method, params)

    try:
        result = asyncio.run(run())
    except ClientError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        if exc.data is not None:
            print(json.dumps(exc.data, indent=2, ensure_ascii=False), file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


# ---------------------------------------------------------------------------------------------
# keygen, sign, verify
# ---------------------------------------------------------------------------------------------


@command
def _keygen(sub: Subparsers) -> None:
    p = sub.add_parser(
        "keygen",
        help="generate a key file (a fresh HMAC secret or Ed25519 key)",
        description="Print a new key file (JSON) with one private key. Keep it secret: it can sign.",
        epilog=KEYFILE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--alg", choices=("hmac", "ed25519"), default="hmac", help="hmac (HMAC-SHA256 / HS256, 32-byte secret) or ed25519")
    p.add_argument("--kid", default="k1", help="key id (default k1)")
    p.add_argument("--audience", help='"audience": the server URI (envelope aud and JWT audience)')
    p.add_argument("--issuer", help='"issuer": turns JWT checking on for servers using the file')
    p.add_argument("--out", metavar="FILE", help="write the file (mode 0600) instead of printing it")
    p.add_argument("--public-out", metavar="FILE", help="also write the server's copy (Ed25519: public key only)")
    p.set_defaults(handler=_run_keygen)


def _run_keygen(args: argparse.Namespace) -> int:
    from .keyfile import generate

    kf = generate(args.alg, args.kid, audience=args.audience, issuer=args.issuer)
    if args.out:
        kf.write(args.out)
        print(f"{PROG} keygen: wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(kf.dumps())
    if args.public_out:
        kf.to_public().write(args.public_out)
        print(f"{PROG} keygen: wrote {args.public_out}", file=sys.stderr)
    return 0


@command
def _sign(sub: Subparsers) -> None:
    p = sub.add_parser(
        "sign",
        help="sign a JSON-RPC message (dev.mcp-fastpath/sig envelope)",
        description=(
            "Read a JSON-RPC request (or result response) from MESSAGE or stdin and print it signed with the key "
            "file's signing key (a fresh nonce, iat now, aud = the file's audience), as compact JSON."
        ),
    )
    p.add_argument("message", metavar="MESSAGE", nargs="?", help="a file (default: stdin)")
    p.add_argument("--keys", metavar="FILE", required=True, help="key file with a signing key")
    p.set_defaults(handler=_run_sign)


def _run_sign(args: argparse.Namespace) -> int:
    from .errors import FastpathError
    from .keyfile import load

    _, message = _read_json_input(args.message)
    if not isinstance(message, dict):
        raise FastpathError("the message must be a JSON object")
    signer = load(args.keys).signer()
    if "result" in message and "method" not in message:
        signed = signer.sign_response(message)
    else:
        signed = signer.sign(message)
    print(json.dumps(signed, separators=(",", ":"), ensure_ascii=False))
    return 0


@command
def _verify(sub: Subparsers) -> None:
    p = sub.add_parser(
        "verify",
        help="verify a signed JSON-RPC message against a key file",
        description=(
            "Read a signed 2026-07-28 request (or a signed result response) from MESSAGE or stdin, verify its "
            "envelope with the key file (keys, audience, max_skew_s) and print the SignatureInfo as JSON "
            '(exit 0), or the rejection {"valid": false, "code", "message"} (exit 1). No replay check (one message).'
        ),
    )
    p.add_argument("message", metavar="MESSAGE", nargs="?", help="a file (default: stdin)")
    p.add_argument("--keys", metavar="FILE", required=True, help="key file (verification keys)")
    p.set_defaults(handler=_run_verify)


def _run_verify(args: argparse.Namespace) -> int:
    from . import Rejection, decode
    from .keyfile import load

    raw, _ = _read_json_input(args.message)
    verifier = load(args.keys).envelope_verifier(require=True)
    try:
        info = verifier.verify(decode(raw))
    except Rejection as exc:
        print(json.dumps({"valid": False, "code": exc.code, "message": exc.message}))
        return 1
    fields = {name: getattr(info, name) for name in ("kid", "alg", "iat", "nonce", "aud")}
    print(json.dumps({"valid": True, **fields}))
    return 0


# ---------------------------------------------------------------------------------------------
# demo
# ---------------------------------------------------------------------------------------------


@command
def _demo(sub: Subparsers) -> None:
    p = sub.add_parser(
        "demo",
        help="start the example server with fresh keys, run a signed session, then a short throughput table",
        description=(
            "Start the example server (examples/everything.py:mcp through `serve`, on a free port, with fresh dev keys "
            "and the in-memory replay cache), run a signed client session against it (discover, list tools, a tool "
            "call, then a tampered call, a replayed call and a bad token, each rejected) printing a transcript, "
            "then a short end-to-end throughput table: the SDK's stock app vs the fast path, native and pure."
        ),
    )
    p.add_argument("--target", help="server to demo (default: examples/everything.py:mcp when present, else a built-in add server)")
    p.add_argument("--alg", choices=("hmac", "ed25519"), default="ed25519", help="client key type (default ed25519)")
    p.add_argument("--seconds", type=_positive_float, default=3.0, metavar="S", help="throughput: seconds per server (default 3)")
    p.add_argument("--no-bench", action="store_true", help="skip the throughput table")
    p.set_defaults(handler=_run_demo)


def _demo_target() -> str:
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "examples" / "everything.py"
    if example.is_file():
        return f"{example}:mcp"
    return "mcp_fastpath.e2e:build_add_server"


def _run_demo(args: argparse.Namespace) -> int:
    import asyncio
    import tempfile
    from pathlib import Path

    from . import e2e
    from .keyfile import generate

    target = args.target or _demo_target()
    out = sys.stdout
    with tempfile.TemporaryDirectory(prefix="mcp-fastpath-demo-") as tmp:
        port = e2e.free_port()
        url = f"http://127.0.0.1:{port}/mcp"
        client_keys = generate(args.alg, "demo-client", audience=url, issuer="https://auth.demo.invalid")
        server_keys_path = client_keys.to_public().write(Path(tmp) / "server-keys.json")
        # The server gets the public half only (Ed25519): it verifies envelopes and EdDSA JWTs.
        print(f"$ {PROG} serve {target} --port {port} --keys {server_keys_path}", file=out)
        proc = e2e.start_server([target, "--keys", str(server_keys_path)], port)
        try:
            e2e.wait_ready(port, proc)
            print(f"  server up on {url} (backend {_backend_name()}; signed envelope {client_keys.signer().alg} "
                  f"+ JWT, memory replay cache)\n", file=out)
            ok = asyncio.run(_demo_session(url, client_keys, out))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except Exception:
                proc.kill()
    if not args.no_bench:
        print("\nThroughput (short run; `mcp-fastpath bench --e2e` for the full tables):\n", file=out, flush=True)
        results = e2e.run(args.seconds, rounds=2, warmup_s=0.5, jwt=False, stream=sys.stderr)
        print(e2e.format_tables(results), file=out)
    return 0 if ok else 1


def _backend_name() -> str:
    from . import BACKEND

    return BACKEND


async def _demo_session(url: str, keys: Any, out: Any) -> bool:
    import httpx

    from .client import Client, ClientError

    token = keys.mint_token(subject="demo-user", scopes=["mcp"])
    signer = keys.signer()
    ok = True

    def show(arrow: str, text: str) -> None:
        print(f"  {arrow} {text}", file=out, flush=True)

    def expect_rejected(what: str, exc: ClientError | None, code: int) -> None:
        nonlocal ok
        if exc is None:
            ok = False
            show("!!", f"{what}: ACCEPTED (expected {code})")
        elif exc.code == code:
            show("✓", f"{what}: rejected with {exc.code} {exc.message!r} (HTTP {exc.http_status})")
        else:
            ok = False
            show("!!", f"{what}: {exc} (expected {code})")

    async with Client(url, signer=signer, token=token) as client:
        print("1. discover", file=out)
        info = await client.discover()
        server_info = (info.get("_meta") or {}).get("io.modelcontextprotocol/serverInfo", {})
        show("←", f"server {server_info.get('name')!r} {server_info.get('version', '')}, versions {info.get('supportedVersions')}, "
             f"capabilities {sorted((info.get('capabilities') or {}).keys())}")
        print("2. tools/list", file=out)
        tools = await client.list_tools()
        names = [t["name"] for t in tools]
        show("←", f"{len(tools)} tools: {', '.join(names[:6])}{' …' if len(names) > 6 else ''}")
        name, arguments = _demo_tool(tools)
        print(f"3. tools/call {name} {json.dumps(arguments)}  (signed, kid {signer.kid}, Bearer JWT)", file=out)
        result = await client.call_tool(name, arguments)
        text = result.get("structuredContent", None) or [c.get("text") for c in result.get("content", []) if c.get("type") == "text"]
        show("←", f"{json.dumps(text)[:200]} (isError: {result.get('isError', False)})")

        message = client.build_message("tools/call", {"name": name, "arguments": arguments})
        body, headers = client.encode(message)
        async with httpx.AsyncClient(timeout=10) as http:
            print("4. a tampered call (arguments changed after signing)", file=out)
            tampered = json.loads(body)
            tampered["params"]["arguments"] = {**arguments, "_tampered": True} if arguments else {"x": 1}
            r = await http.post(url, content=json.dumps(tampered).encode(), headers=headers)
            expect_rejected("tampered", _error_of(r), -32010)
            print("5. a replayed call (the same signed bytes sent twice)", file=out)
            first = await http.post(url, content=body, headers=headers)
            show("←", f"first copy: HTTP {first.status_code}")
            again = await http.post(url, content=body, headers=headers)
            expect_rejected("replayed", _error_of(again), -32012)
    print("6. a call with a bad token (signed by a key the server does not know)", file=out)
    from .keyfile import generate

    stranger = generate("hmac", "stranger", audience=keys.audience, issuer=keys.issuer)
    async with Client(url, signer=signer, token=stranger.mint_token(subject="mallory")) as bad:
        try:
            await bad.call_tool(name, arguments)
            err = None
        except ClientError as exc:
            err = exc
        expect_rejected("bad token", err, -32010)
    return ok


def _error_of(response: Any) -> Any:
    from .client import ClientError

    try:
        error = response.json()["error"]
    except Exception:
        return None if response.status_code < 300 else ClientError(None, response.text[:200], None, response.status_code)
    return ClientError(error.get("code"), error.get("message", ""), error.get("data"), response.status_code)


def _demo_tool(tools: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    names = {t["name"] for t in tools}
    if "add" in names:
        return "add", {"a": 2, "b": 3}
    if "test_structured_content" in names:
        return "test_structured_content", {"city": "Paris"}
    for tool in tools:
        if not (tool.get("inputSchema") or {}).get("required"):
            return tool["name"], {}
    return tools[0]["name"], {}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
