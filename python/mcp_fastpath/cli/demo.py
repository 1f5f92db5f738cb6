"""`mcp-fastpath demo`: the example server with fresh keys, a signed session, a throughput table."""

from __future__ import annotations

import argparse

from ._common import Subparsers, command, positive_float


@command
def _demo(sub: Subparsers) -> None:
    p = sub.add_parser(
        "demo",
        help="start the example server with fresh keys, run a signed session, then a short throughput table",
        description=(
            "Start the example server (mcp_fastpath.demo.server:mcp through `serve`, on a free port, with fresh dev "
            "keys and the in-memory replay cache), run a signed client session against it (discover, list tools, a "
            "tool call, then a tampered call, a replayed call and a bad token, each rejected) printing a transcript, "
            "then, from a source checkout, a short end-to-end throughput table: the SDK's stock app vs the fast "
            "path, native and pure."
        ),
    )
    p.add_argument("--target", help="server to demo, module:attr or path.py:attr (default: the built-in demo server)")
    p.add_argument("--alg", choices=("hmac", "ed25519"), default="ed25519", help="client key type (default ed25519)")
    p.add_argument(
        "--seconds", type=positive_float, default=3.0, metavar="S", help="throughput: seconds per server (default 3)"
    )
    p.add_argument("--no-bench", action="store_true", help="skip the throughput table")
    p.add_argument("--quick", action="store_true", help="the signed session only (no throughput table)")
    p.set_defaults(handler=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from .. import demo

    skip_bench = args.no_bench or args.quick
    ok = demo.run(args.target or demo.DEFAULT_TARGET, alg=args.alg, bench_seconds=None if skip_bench else args.seconds)
    return 0 if ok else 1
