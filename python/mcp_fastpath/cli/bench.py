"""`mcp-fastpath bench`: a thin command over the benchmarks, which live beside the package in the
source checkout's `benches/` directory (as orjson's `bench/` and pydantic-core's
`tests/benchmarks/` do), not inside it: an installed wheel carries no benchmark code.

It needs a checkout and the dev extra (`pip install -e '.[dev]'`: the SDK to compare with, PyJWT,
uvicorn); see `mcp_fastpath._checkout` for where `benches/` is looked for.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .._checkout import import_benches
from ._common import Subparsers, command, positive_float


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
    p.add_argument(
        "--seconds",
        type=positive_float,
        metavar="S",
        help="seconds per body (default 3, or 0.5 with --quick); with --e2e, seconds per server (default 10, or 3 with --quick)",
    )
    p.add_argument(
        "--e2e",
        action="store_true",
        help=(
            "end-to-end instead: one MCPServer (an async pydantic tool and a sync add) served, one uvicorn worker "
            "each, by the SDK's stock app and by the fast path on both backends, and the same tools on a FastMCP "
            "server by FastMCP's own http_app and by the fast path, loaded over HTTP by a keep-alive load generator "
            "in another process, a distinct HS256 JWT on every request (see benches/e2e.py)"
        ),
    )
    p.add_argument(
        "--budget",
        action="store_true",
        help="where the time goes: one tools/call with a JWT split into stages (decode, verify, dispatch, tool, "
        "encode, ASGI), in process, the SDK vs the fast path (see benches/budget.py)",
    )
    p.add_argument("--tool", choices=("forecast", "add"), default="forecast", help="--budget: which tool")
    p.add_argument(
        "--verify",
        action="store_true",
        help="the verification benchmark instead: JWT and envelopes, native vs pure vs PyJWT",
    )
    p.add_argument(
        "--connections", type=int, default=16, metavar="N", help="--e2e: concurrent keep-alive connections (default 16)"
    )
    p.add_argument(
        "--no-jwt", action="store_true", help="--e2e: no authentication (default: a distinct JWT per request)"
    )
    p.add_argument(
        "--server",
        action="append",
        choices=("sdk", "fastmcp"),
        help="--e2e: which servers (repeatable; default: both, FastMCP when installed): sdk = an MCPServer against "
        "the SDK's stock app, fastmcp = a FastMCP server against FastMCP's own http_app",
    )
    p.add_argument(
        "--variant",
        action="append",
        choices=("inline", "anyio-hop", "metrics", "access-log", "access-log+metrics"),
        help="--e2e: extra fast-path rows (repeatable; default: inline): inline = --inline-sync-tools, "
        "anyio-hop = the SDK's thread hop for sync tools, metrics = --metrics, access-log = the access log on",
    )
    p.add_argument(
        "--ops",
        action="store_true",
        help="the price of operations: alone, the access log's and metrics' per-request cost in process "
        "(fast_http_app driven by direct ASGI calls, plain vs metrics vs access log vs both; benches/ops.py); "
        "with --e2e, the rows metrics, access-log and access-log+metrics over HTTP",
    )
    p.set_defaults(handler=_run_bench)


def _run_bench(args: argparse.Namespace) -> int:
    if args.budget:
        budget = import_benches("budget")
        seconds = args.seconds if args.seconds is not None else (1.0 if args.quick else 6.0)
        measured = budget.run(seconds, tool=args.tool, reps=3 if args.quick else 5, stream=sys.stderr)
        print(json.dumps(measured, indent=2) if args.json else budget.format_table(measured))
        return 0
    if args.verify:
        bench_verify = import_benches("verify")
        seconds = args.seconds if args.seconds is not None else (0.5 if args.quick else 2.0)
        measured = bench_verify.run(seconds, stream=sys.stderr)
        print(json.dumps(measured, indent=2) if args.json else bench_verify.format_table(measured))
        return 0
    if args.ops and not args.e2e:
        bench_ops = import_benches("ops")
        seconds = args.seconds if args.seconds is not None else (1.0 if args.quick else 10.0)
        measured = bench_ops.run(seconds, stream=sys.stderr)
        print(json.dumps(measured, indent=2) if args.json else bench_ops.format_table(measured))
        return 0
    if args.e2e:
        e2e = import_benches("e2e")
        seconds = args.seconds if args.seconds is not None else (3.0 if args.quick else 10.0)
        results = e2e.run(
            seconds,
            connections=args.connections,
            jwt=not args.no_jwt,
            rounds=3 if args.quick else 5,
            variants=args.variant or (list(e2e.OPS_VARIANTS) if args.ops else ["inline"]),
            servers=args.server,
            stream=sys.stderr,
        )
        print(json.dumps(results, indent=2) if args.json else e2e.format_tables(results))
        return 0

    bench = import_benches("codec")
    seconds = args.seconds if args.seconds is not None else (0.5 if args.quick else 3.0)
    options: dict[str, Any] = {"inner_loop_s": 0.01, "min_reps": 5} if args.quick else {}
    rows = bench.run(seconds, stream=sys.stderr, **options)
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print(bench.format_table(rows))
    return 0
