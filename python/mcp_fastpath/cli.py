"""The `mcp-fastpath` command line (also `python -m mcp_fastpath`).

Subcommands are registered with `@command`: a function that receives argparse's subparsers object,
adds its parser and sets `handler=<function(args) -> int>` with `set_defaults`. The handler imports
what it needs itself, so `mcp-fastpath --help` stays fast and one subcommand's optional dependency
never breaks another. DESIGN §4 plans `serve`, `keygen`, `sign`, `verify`, `call`, `bench` and
`demo`; only those that exist are registered (today: `bench`). To add one:

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
    args = parser.parse_args(argv)
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
    p.add_argument("--seconds", type=_positive_float, metavar="S", help="seconds per body (default 3, or 0.5 with --quick)")
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
    from . import bench

    seconds = args.seconds if args.seconds is not None else (0.5 if args.quick else 3.0)
    options: dict[str, Any] = {"inner_loop_s": 0.01, "min_reps": 5} if args.quick else {}
    rows = bench.run(seconds, stream=sys.stderr, **options)
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print(bench.format_table(rows))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
