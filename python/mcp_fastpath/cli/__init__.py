"""The `mcp-fastpath` command line (also `python -m mcp_fastpath`), one module per command group:
`serve` (serve.py), `call` (call.py), `keygen` / `sign` / `verify` (keys.py), `demo` (demo.py),
`bench` (bench.py, over the benchmarks in the source checkout's `benches/`).

Handlers return the exit status; a `FastpathError` escaping a handler is printed as
`mcp-fastpath: error: …` with status 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import bench, call, demo, keys, serve  # noqa: F401  (each registers its commands)
from ._common import PROG, registrars

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="The fast, verified request path for stateless (2026-07-28) MCP servers.",
    )
    parser.add_argument(
        "--version", action=_VersionReport, help="show the version, the backend and how the native module was built"
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for register in registrars():
        register(sub)
    return parser


class _VersionReport(argparse.Action):
    """`--version`: several lines (argparse's own version action would re-wrap them into one)."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from .. import BACKEND, __version__
        from .._backend import version_report

        print(version_report(__version__, BACKEND))
        parser.exit()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv  # `serve --backend` re-runs the command with it
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    from ..errors import FastpathError

    try:
        return int(handler(args) or 0)
    except FastpathError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
